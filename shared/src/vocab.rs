//! The closed vocabularies of the domain (docs/domain.md, Vocabularies), stored as
//! lowercase strings.
//!
//! A value this build does not know (written by a newer client) reads as `Unknown`
//! and is written back unchanged, so an old tablet never destroys a newer value.

use automerge::ObjId;
use autosurgeon::ReadDoc;
use autosurgeon::{Hydrate, HydrateError, Prop, Reconcile, Reconciler};

/// A value with a label in each of the app's languages.
pub trait Label {
    fn label(&self, english: bool) -> String;
}

/// `Label` for a type with `label_zh` and `label_en` (each `(self)`, any
/// string type).
#[macro_export]
macro_rules! labelled {
    ($($t:ty),+) => {
        $(impl $crate::vocab::Label for $t {
            fn label(&self, english: bool) -> String {
                if english { self.label_en().to_string() } else { self.label_zh().to_string() }
            }
        })+
    };
}

impl<T: Label + ?Sized> Label for &T {
    fn label(&self, english: bool) -> String {
        (**self).label(english)
    }
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident default $default:ident { $($variant:ident = $text:literal / $zh:literal / $en:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)+
            /// A value this build does not know; kept as written.
            Unknown(String),
        }

        impl $name {
            /// Every known value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored (and wire) form.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(s) => s,
                }
            }

            /// The Simplified Chinese label the operator's documents use.
            pub fn label_zh(&self) -> &str {
                match self {
                    $($name::$variant => $zh,)+
                    $name::Unknown(s) => s,
                }
            }

            /// The English label (the app's English mode).
            pub fn label_en(&self) -> &str {
                match self {
                    $($name::$variant => $en,)+
                    $name::Unknown(s) => s,
                }
            }

            /// Reads the stored form; anything else is `Unknown`.
            pub fn parse(s: &str) -> Self {
                match s {
                    $($text => $name::$variant,)+
                    other => $name::Unknown(other.to_string()),
                }
            }

            /// Whether this is one of the known values.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        #[cfg(feature = "schema")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "enum": [$($text,)+],
                    "description": "Known values; a value a newer version writes is kept as it is."
                })
            }
        }

        $crate::labelled!($name);

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Hydrate for $name {
            fn hydrate<D: ReadDoc>(doc: &D, obj: &ObjId, prop: Prop<'_>) -> Result<Self, HydrateError> {
                Ok(Self::parse(crate::flex::read_string(doc, obj, prop)?.as_str()))
            }
        }

        impl Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
                r.str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

vocabulary! {
    /// Customer nature 客户性质.
    Nature default Enterprise {
        Enterprise = "enterprise" / "企业" / "Enterprise",
        Individual = "individual" / "个人" / "Individual",
        Government = "government" / "政府机构" / "Government body",
    }
}

vocabulary! {
    /// Business line 业务类型.
    Line default Delivery {
        Delivery = "delivery" / "寄递" / "Delivery",
        Finance = "finance" / "金融" / "Finance",
        Postal = "postal" / "邮务" / "Postal services",
        Letter = "letter" / "函件" / "Letters",
    }
}

vocabulary! {
    /// How a visit was made.
    VisitKind default Onsite {
        Onsite = "onsite" / "上门拜访" / "On-site visit",
        Phone = "phone" / "电话询访" / "Phone call",
        Event = "event" / "客户活动" / "Customer event",
    }
}

vocabulary! {
    /// A customer contact's role.
    ContactRole default Other {
        DecisionMaker = "decision_maker" / "决策者" / "Decision maker",
        Handler = "handler" / "经办人" / "Handler",
        FinanceHead = "finance_head" / "财务负责人" / "Head of finance",
        Other = "other" / "其他" / "Other",
    }
}

vocabulary! {
    /// Where a follow-up 督办 stands: raised, being handled, handed to a
    /// line's office (转专业局/专业公司) and supervised from there, or done.
    FollowUpState default Open {
        Open = "open" / "待办" / "Open",
        InProgress = "in_progress" / "处理中" / "In progress",
        Forwarded = "forwarded" / "已转办" / "Forwarded",
        Done = "done" / "已办结" / "Done",
    }
}

vocabulary! {
    /// A Fieldbook user's role.
    Role default Manager {
        Manager = "manager" / "客户经理" / "Account manager",
        Head = "head" / "首席客户经理" / "Chief account manager",
        Admin = "admin" / "大客中心管理员" / "Key-account center admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_unknown_values() {
        for l in Line::ALL {
            assert_eq!(&Line::parse(l.as_str()), l);
        }
        let u = Line::parse("parcel-lockers");
        assert_eq!(u, Line::Unknown("parcel-lockers".into()));
        assert_eq!(u.as_str(), "parcel-lockers");
        assert!(!u.is_known());
        assert_eq!(serde_json::to_string(&Role::Head).unwrap(), "\"head\"");
    }
}
