//! Book documents: the server writes each user's list of customer documents.

use std::collections::BTreeSet;

use automerge::Automerge;
use fieldbook_shared::book::{
    ApprovedGrade, Book, CustomerNumber, LeftCustomer, ManagedTier, MonthReview,
    RegistrationNotice, RegistrationStatus, SpotCheckNote,
};
use fieldbook_shared::grading::{Grade, Level, ManagedWhy};
use samod::DocumentId;

use crate::error::ServerError;
use crate::state::AppState;
use crate::store::by_customer::ByCustomer;

/// The `automerge:` URL of a document id.
pub fn url_of(doc_id: &str) -> String {
    format!("automerge:{doc_id}")
}

/// Creates a book for every user who has none, and brings every book up to date.
///
/// Managers' books first, the center's last: a manager's book is a few
/// hundred customers and their tablets are most of those waiting (new rules,
/// a new month), while a head's or the center's book lists whole units.
pub async fn ensure_all(state: &AppState) -> Result<usize, ServerError> {
    let users: Vec<i64> = state
        .db
        .call(|c| {
            let mut stmt = c.prepare(
                "SELECT id FROM users
                 ORDER BY CASE role WHEN 'manager' THEN 0 WHEN 'head' THEN 1 ELSE 2 END, id",
            )?;
            let ids = stmt
                .query_map((), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .await?;
    let n = users.len();
    for user in users {
        ensure(state, user).await?;
    }
    Ok(n)
}

/// Makes sure `user_id` has a book listing what they may open; returns its id.
pub async fn ensure(state: &AppState, user_id: i64) -> Result<String, ServerError> {
    let (username, book): (String, Option<String>) = state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT username, book_doc FROM users WHERE id = ?1",
                [user_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await?;
    let doc_id = match book {
        Some(id) => id,
        None => {
            let mut doc = Automerge::new();
            let book = Book::new(&username);
            doc.transact(|tx| book.save(tx))
                .map_err(|e| ServerError::Internal(format!("{e:?}")))?;
            let handle = state.create_stored(doc).await?;
            let id = handle.document_id().to_string();
            let stored = id.clone();
            // Only set it if still empty: two logins at once must not make two books.
            let id = state
                .db
                .call(move |c| {
                    c.execute(
                        "UPDATE users SET book_doc = ?1 WHERE id = ?2 AND book_doc IS NULL",
                        crate::sql_params![stored, user_id],
                    )?;
                    Ok(
                        c.query_row("SELECT book_doc FROM users WHERE id = ?1", [user_id], |r| {
                            r.get::<_, String>(0)
                        })?,
                    )
                })
                .await?;
            state.acl.set_book(&id, user_id);
            id
        }
    };
    refresh(state, user_id, &doc_id).await?;
    Ok(doc_id)
}

/// Rewrites a user's book from the access-control tables, if it differs.
pub async fn refresh(state: &AppState, user_id: i64, book_doc: &str) -> Result<(), ServerError> {
    // Worked out once: for the center it is every customer.
    let visible = std::sync::Arc::new(state.acl.visible_customers(user_id));
    let urls: Vec<String> = visible.iter().map(|d| url_of(d)).collect();
    let of = visible.clone();
    let since = (chrono::Utc::now() - chrono::Duration::days(120))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // Every table in one read transaction on the reader connection: one
    // snapshot for the whole book, the customers' set built once (a head's
    // or the center's book is read by scan: store::by_customer), and the
    // application's connection left to the projection and the requests
    // while a pass over every book runs.
    let read = state
        .db
        .read(move |c| {
            let tx = c.transaction()?;
            let read = read_book(&tx, user_id, &of, &since)?;
            tx.commit()?;
            Ok(read)
        })
        .await?;
    let BookRead {
        notices,
        grades,
        managed,
        numbers,
        left,
        desks,
        registrations,
        reviews,
        spot_checks,
    } = read;
    let left: Vec<LeftCustomer> = left
        .into_iter()
        .filter(|l| visible.binary_search(&l.url).is_err())
        .map(|l| LeftCustomer {
            url: url_of(&l.url),
            ..l
        })
        .collect();
    let rules = state.rules.get().to_tablet_json();
    let id: DocumentId = book_doc
        .parse()
        .map_err(|_| ServerError::Internal(format!("bad book id {book_doc}")))?;
    let Some(handle) = state.repo.find(id).await? else {
        return Err(ServerError::Internal(format!(
            "book {book_doc} is missing from storage"
        )));
    };
    let want = Book {
        customers: urls,
        notices,
        grades,
        managed,
        numbers,
        left,
        desks,
        registrations,
        reviews,
        spot_checks,
        rules,
        ..Book::default()
    };
    // Apart from the runtime's workers: comparing and writing the center's
    // book of every customer takes a while, and the sync tasks queued behind
    // it would wait (the storm's latency during a rule change).
    tokio::task::spawn_blocking(move || {
        handle.with_document(|doc| -> Result<(), ServerError> {
            let before = Book::load(doc)?;
            let after = Book {
                doc_type: before.doc_type.clone(),
                schema: before.schema,
                user: before.user.clone(),
                ..want
            };
            if after != before {
                doc.transact(|tx| after.save_changed(&before, tx))
                    .map_err(|e| ServerError::Internal(format!("{e:?}")))?;
            }
            Ok(())
        })
    })
    .await
    .map_err(|e| ServerError::Internal(format!("writing a book failed: {e}")))?
}

/// What a book lists besides its customers and rules, as read from the tables.
struct BookRead {
    notices: Vec<RegistrationNotice>,
    grades: Vec<ApprovedGrade>,
    managed: Vec<ManagedTier>,
    numbers: Vec<CustomerNumber>,
    /// Hand-overs away from the user (document ids, not yet urls).
    left: Vec<LeftCustomer>,
    desks: Vec<String>,
    registrations: Vec<RegistrationStatus>,
    reviews: Vec<MonthReview>,
    spot_checks: Vec<SpotCheckNote>,
}

/// Reads what `user_id`'s book lists about the customers `of` (sorted; as
/// `Acl::visible_customers` gives them); spot checks since `since`.
fn read_book(
    c: &crate::store::sql::Connection,
    user_id: i64,
    of: &[String],
    since: &str,
) -> Result<BookRead, ServerError> {
    let mut stmt = c.prepare_cached(
        "SELECT r.doc_id, r.same_as, r.owned_lines, r.duplicate_lines
         FROM registrations r JOIN customers c ON c.doc_id = r.doc_id
         WHERE c.registered_by = ?1 AND (r.same_as IS NOT NULL OR r.duplicate_lines <> '')
         ORDER BY r.doc_id",
    )?;
    let notices = stmt
        .query_map([user_id], |r| {
            let split = |s: String| {
                s.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            Ok(RegistrationNotice {
                url: url_of(&r.get::<_, String>(0)?),
                same_as: r
                    .get::<_, Option<String>>(1)?
                    .map(|d| url_of(&d))
                    .unwrap_or_default(),
                owned: split(r.get(2)?),
                duplicate: split(r.get(3)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    drop(stmt);

    let by = ByCustomer::new(c, of)?;
    let mut numbers = Vec::new();
    by.each(
        c,
        "SELECT doc_id, number FROM customer_numbers",
        "doc_id",
        "",
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        |i, (doc, number)| {
            numbers.push((
                i,
                CustomerNumber {
                    url: url_of(&doc),
                    number,
                },
            ))
        },
    )?;
    let mut grades = Vec::new();
    by.each(
        c,
        "SELECT doc_id, level, grade FROM grade_approvals",
        "doc_id",
        "",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
        |i, (doc, level, grade)| {
            grades.push((
                i,
                ApprovedGrade {
                    url: url_of(&doc),
                    level: Level::parse(&level),
                    grade: Grade::parse(&grade),
                },
            ))
        },
    )?;
    let mut managed = Vec::new();
    by.each(
        c,
        "SELECT doc_id, managed_as, managed_why, managed_rank FROM customer_index",
        "doc_id",
        "",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        },
        |i, (doc, grade, why, rank)| {
            if why != "threshold" {
                managed.push((
                    i,
                    ManagedTier::new(
                        url_of(&doc),
                        Grade::parse(&grade),
                        ManagedWhy::from_stored(&why, rank),
                    ),
                ))
            }
        },
    )?;

    // The latest hand-over of each customer this user was taken off.
    let mut stmt = c.prepare_cached(
        "SELECT h.doc_id, COALESCE(ci.name, ''), t.username, h.at FROM handovers h
         JOIN users t ON t.id = h.to_primary
         LEFT JOIN customer_index ci ON ci.doc_id = h.doc_id
         WHERE h.id IN (SELECT MAX(id) FROM handovers
                        WHERE from_primary = ?1 OR from_assistant = ?1 GROUP BY doc_id)
         ORDER BY h.id DESC LIMIT 50",
    )?;
    let left = stmt
        .query_map([user_id], |r| {
            Ok(LeftCustomer {
                url: r.get(0)?,
                name: r.get(1)?,
                to: r.get(2)?,
                at: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    drop(stmt);

    let desks: Vec<String> = crate::desks::of_user(c, user_id)?
        .iter()
        .map(|d| url_of(d))
        .collect();
    let mut registrations = Vec::new();
    by.each(
        c,
        "SELECT r.doc_id, r.status, r.reason, COALESCE(u.display_name, ''),
                COALESCE(r.decided_at, ''), cu.registered_by, r.decided_by IS NOT NULL
         FROM registrations r JOIN customers cu ON cu.doc_id = r.doc_id
         LEFT JOIN users u ON u.id = r.decided_by",
        "r.doc_id",
        "",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)? == user_id && r.get::<_, bool>(6)?,
            ))
        },
        |i, (doc, status, reason, by, at, mine)| {
            if status != "approved" || mine {
                registrations.push((
                    i,
                    RegistrationStatus {
                        url: url_of(&doc),
                        status,
                        reason,
                        decided_by: by,
                        decided_at: at,
                    },
                ));
            }
        },
    )?;

    let mut stmt = c.prepare_cached(
        "SELECT r.month, u.display_name, r.comment, r.reviewed_at FROM month_reviews r
         JOIN users u ON u.id = r.reviewer_id
         WHERE r.user_id = ?1 ORDER BY r.month DESC LIMIT 12",
    )?;
    let reviews = stmt
        .query_map([user_id], |r| {
            Ok(MonthReview {
                month: r.get(0)?,
                by: r.get(1)?,
                comment: r.get(2)?,
                at: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    drop(stmt);
    let mut checks = Vec::new();
    by.each(
        c,
        "SELECT s.doc_id, s.visit_id, u.display_name, s.comment, s.checked_at
         FROM spot_checks s JOIN users u ON u.id = s.reviewer_id",
        "s.doc_id",
        "ORDER BY s.checked_at",
        |r| {
            Ok(SpotCheckNote {
                url: url_of(&r.get::<_, String>(0)?),
                visit_id: r.get(1)?,
                by: r.get(2)?,
                comment: r.get(3)?,
                at: r.get(4)?,
            })
        },
        |i, note| {
            // The last 120 days (RFC 3339 in UTC compares as text).
            if note.at.as_str() >= since {
                checks.push((i, note));
            }
        },
    )?;

    // In the order of `of`, whichever way they were read; a stable sort
    // keeps each customer's spot checks oldest first (the ORDER BY).
    fn ordered<T>(mut v: Vec<(usize, T)>) -> Vec<T> {
        v.sort_by_key(|(i, _)| *i);
        v.into_iter().map(|(_, x)| x).collect()
    }
    Ok(BookRead {
        notices,
        grades: ordered(grades),
        managed: ordered(managed),
        numbers: ordered(numbers),
        left,
        desks,
        registrations: ordered(registrations),
        reviews,
        spot_checks: ordered(checks),
    })
}

/// Brings one user's book up to date (creating it if the user has none yet).
pub async fn refresh_user(state: &AppState, user: i64) -> Result<(), ServerError> {
    let book: Option<String> = state
        .db
        .call(move |c| {
            Ok(
                c.query_row("SELECT book_doc FROM users WHERE id = ?1", [user], |r| {
                    r.get(0)
                })?,
            )
        })
        .await?;
    match book {
        Some(b) => refresh(state, user, &b).await,
        None => ensure(state, user).await.map(|_| ()),
    }
}

/// Refreshes the books of everyone who may now open `doc_id`.
pub async fn refresh_for_customer(state: &AppState, doc_id: &str) -> Result<(), ServerError> {
    refresh_for_customers(state, std::slice::from_ref(&doc_id.to_string())).await
}

/// Refreshes, once each, the book of every user who sees any of `docs`. Once
/// per user, not per customer and user: the center sees them all, and its
/// book of 10,000 refreshed for each of 10,000 new customers was quadratic.
pub async fn refresh_for_customers(state: &AppState, docs: &[String]) -> Result<(), ServerError> {
    for user in users_who_see_any(state, docs) {
        refresh_user(state, user).await?;
    }
    Ok(())
}

/// Every user who sees at least one of `docs`, each once.
pub fn users_who_see_any(state: &AppState, docs: &[String]) -> BTreeSet<i64> {
    docs.iter()
        .flat_map(|d| state.acl.users_who_see(d))
        .collect()
}
