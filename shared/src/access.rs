//! Who may open which customer (docs/domain.md, Visibility): a manager the customers
//! they are primary or assistant for, a unit head everything in the unit's
//! subtree, the center's administrators everything.

use crate::vocab::Role;

/// What a user may do with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    None,
    Read,
    Write,
}

/// The facts about a user that decide access.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub user_id: i64,
    pub role: &'a Role,
    pub unit: &'a str,
}

/// The server-owned assignment of a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub primary: i64,
    pub assistant: Option<i64>,
    pub unit: String,
}

/// Access of `viewer` to a customer with `assignment`. `is_within(unit, ancestor)`
/// tells whether `unit` lies in the subtree rooted at `ancestor` (itself included).
pub fn customer_access(
    viewer: Viewer<'_>,
    assignment: &Assignment,
    is_within: impl Fn(&str, &str) -> bool,
) -> Access {
    if assignment.primary == viewer.user_id || assignment.assistant == Some(viewer.user_id) {
        return Access::Write;
    }
    match viewer.role {
        Role::Admin => Access::Write,
        Role::Head if is_within(&assignment.unit, viewer.unit) => Access::Write,
        _ => Access::None,
    }
}

/// Access of `viewer` to a book document that belongs to `owner`: books are
/// written by the server alone.
pub fn book_access(viewer: Viewer<'_>, owner: i64) -> Access {
    if viewer.user_id == owner {
        Access::Read
    } else {
        Access::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(unit: &str, ancestor: &str) -> bool {
        // A toy tree: center > co1 > so1, so2.
        let parent = |u: &str| match u {
            "so1" | "so2" => Some("co1"),
            "co1" => Some("center"),
            _ => None,
        };
        let mut cur = Some(unit);
        while let Some(u) = cur {
            if u == ancestor {
                return true;
            }
            cur = parent(u);
        }
        false
    }

    #[test]
    fn managers_heads_and_admins() {
        let a = Assignment {
            primary: 1,
            assistant: Some(2),
            unit: "so1".into(),
        };
        let v = |id, role, unit| {
            customer_access(
                Viewer {
                    user_id: id,
                    role,
                    unit,
                },
                &a,
                within,
            )
        };
        assert_eq!(v(1, &Role::Manager, "so1"), Access::Write);
        assert_eq!(v(2, &Role::Manager, "so2"), Access::Write);
        assert_eq!(v(3, &Role::Manager, "so1"), Access::None);
        assert_eq!(v(4, &Role::Head, "so1"), Access::Write);
        assert_eq!(v(5, &Role::Head, "co1"), Access::Write);
        assert_eq!(v(6, &Role::Head, "so2"), Access::None);
        assert_eq!(v(7, &Role::Admin, "center"), Access::Write);
        assert_eq!(
            book_access(
                Viewer {
                    user_id: 1,
                    role: &Role::Manager,
                    unit: "so1"
                },
                1
            ),
            Access::Read
        );
        assert_eq!(
            book_access(
                Viewer {
                    user_id: 7,
                    role: &Role::Admin,
                    unit: "center"
                },
                1
            ),
            Access::None
        );
    }
}
