//! `GET /api/alerts`: revenue alerts 异动/流失 on the customers the caller sees.

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use fieldbook_shared::anomaly::Alert;
use fieldbook_shared::api::AlertRow;

use super::openapi::{Endpoint, NO, ep, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::projection::books;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/alerts", "Revenue alerts on the caller's customers", true, NO, None, schema::<Vec<AlertRow>>, get(alerts)),
    ]
}

/// `GET /api/alerts`: revenue alerts (falls and lost customers first) for the
/// customers the caller may see: a manager's own, a head's whole subtree.
pub async fn alerts(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<AlertRow>>, ServerError> {
    let visible = state.acl.visible_customers(user.id);
    let mut rows = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT a.doc_id, i.name, c.unit, u.username, a.alert
                 FROM alerts a
                 JOIN customers c ON c.doc_id = a.doc_id
                 JOIN users u ON u.id = c.primary_user
                 LEFT JOIN customer_index i ON i.doc_id = a.doc_id
                 WHERE a.doc_id = ?1 ORDER BY a.n",
            )?;
            let mut out = Vec::new();
            for doc in &visible {
                let found = stmt.query_map([doc], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })?;
                for row in found {
                    let (id, name, unit, owner, json) = row?;
                    match serde_json::from_str::<Alert>(&json) {
                        Ok(alert) => out.push(AlertRow {
                            url: books::url_of(&id),
                            id,
                            name,
                            unit,
                            owner,
                            alert,
                        }),
                        Err(e) => tracing::error!(error = %e, doc = %id, "unreadable stored alert"),
                    }
                }
            }
            Ok(out)
        })
        .await?;
    rows.sort_by(|a, b| (&a.alert, &a.name).cmp(&(&b.alert, &b.name)));
    Ok(Json(rows))
}
