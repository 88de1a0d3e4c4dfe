//! `GET /api/export/{name}.csv|.xlsx`: customers, visits, ledger and each report,
//! for the office, with Chinese headers. Only what the caller may see.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fieldbook_shared::customer::Customer;
use fieldbook_shared::grading::{Grade, Level};
use samod::DocumentId;

use super::openapi::{Endpoint, ep, file};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::http::reports::{self, ReportQuery};
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/export/{file}", "customers, visits, ledger, followups, scorecard or report-{compliance,grades,growth,plans}, as .csv (UTF-8 with BOM) or .xlsx; only what the caller sees", true, &[("unit", "reports, followups, scorecard: unit code"), ("from", "reports: YYYY-MM"), ("to", "reports: YYYY-MM"), ("quarter", "reports: YYYY-Qn instead of from and to"), ("state", "followups: open | overdue | done | all"), ("period", "scorecard: YYYY-MM | YYYY-Qn | YYYY")], None, file, get(export)),
    ]
}

/// A sheet to write.
pub struct Sheet {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

fn yuan(fen: i64) -> String {
    format!(
        "{}{}.{:02}",
        if fen < 0 { "-" } else { "" },
        fen.abs() / 100,
        fen.abs() % 100
    )
}

fn level_zh(s: &str) -> String {
    Level::ALL
        .iter()
        .find(|l| l.as_str() == s)
        .map(|l| l.label_zh().to_string())
        .unwrap_or_default()
}

fn grade_zh(s: &str) -> String {
    Grade::ALL
        .iter()
        .find(|g| g.as_str() == s)
        .map(|g| g.label_zh().to_string())
        .unwrap_or_default()
}

/// A cell as text a spreadsheet program will not run: one that starts like a
/// formula (`=`, `+`, `-`, `@`, a tab or a carriage return) and is not a plain
/// number gets a leading apostrophe, so a customer named `=HYPERLINK(…)` opens
/// as that text. Amounts such as `-12.50` stay numbers.
pub fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    let formula_like = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula_like && cell.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese.
pub fn to_csv(sheet: &Sheet) -> Result<Vec<u8>, ServerError> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let io = |e: csv::Error| ServerError::Internal(format!("CSV: {e}"));
    w.write_record(&sheet.headers).map_err(io)?;
    for r in &sheet.rows {
        w.write_record(r.iter().map(|c| inert(c).into_owned()))
            .map_err(io)?;
    }
    w.into_inner()
        .map_err(|e| ServerError::Internal(format!("CSV: {e}")))
}

pub fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, ServerError> {
    let x = |e: rust_xlsxwriter::XlsxError| ServerError::Internal(format!("XLSX: {e}"));
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in sheet.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(x)?;
    }
    for (r, row) in sheet.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            // Written as text, never as a formula; and inert for whoever
            // edits the cell and presses enter.
            ws.write_string(r as u32 + 1, c as u16, inert(v))
                .map_err(x)?;
        }
    }
    book.save_to_buffer().map_err(x)
}

async fn customers(state: &AppState, user: &AuthUser) -> Result<Sheet, ServerError> {
    let visible = state.acl.visible_customers(user.id);
    let rows = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT i.name, i.credit_code, i.nature, i.lines, i.address, i.industry, p.username, c.unit,
                        i.last_visit, i.annual_revenue_fen, i.level_proposed, i.grade_proposed, i.managed_as,
                        COALESCE(n.number, '')
                 FROM customers c JOIN users p ON p.id = c.primary_user
                 JOIN customer_index i ON i.doc_id = c.doc_id
                 LEFT JOIN customer_numbers n ON n.doc_id = c.doc_id WHERE c.doc_id = ?1",
            )?;
            let mut out = Vec::new();
            for doc in &visible {
                let row = stmt.query_row([doc], |r| {
                    let nature: String = r.get(2)?;
                    let lines: String = r.get(3)?;
                    Ok(vec![
                        r.get(0)?,
                        r.get(1)?,
                        fieldbook_shared::vocab::Nature::parse(&nature).label_zh().to_string(),
                        lines
                            .split(',')
                            .filter(|l| !l.is_empty())
                            .map(|l| fieldbook_shared::vocab::Line::parse(l).label_zh().to_string())
                            .collect::<Vec<_>>()
                            .join("、"),
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                        yuan(r.get(9)?),
                        level_zh(&r.get::<_, String>(10)?),
                        grade_zh(&r.get::<_, String>(11)?),
                        grade_zh(&r.get::<_, String>(12)?),
                        r.get(13)?,
                    ])
                });
                if let Ok(row) = row {
                    out.push(row);
                }
            }
            out.sort();
            Ok(out)
        })
        .await?;
    Ok(Sheet {
        headers: vec![
            "客户名称",
            "统一社会信用代码",
            "客户性质",
            "业务类型",
            "地址",
            "行业",
            "客户经理",
            "所属单位",
            "最近走访",
            "近12月收入(元)",
            "建议级别",
            "建议等级",
            "管理等级",
            "客户编号",
        ],
        rows,
    })
}

async fn visits(state: &AppState, user: &AuthUser) -> Result<Sheet, ServerError> {
    let visible = state.acl.visible_customers(user.id);
    let rows = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT i.name, v.date, v.kind, v.visitors FROM visit_index v
                 JOIN customer_index i ON i.doc_id = v.doc_id WHERE v.doc_id = ?1 ORDER BY v.date",
            )?;
            let mut out = Vec::new();
            for doc in &visible {
                for row in stmt.query_map([doc], |r| {
                    let kind: String = r.get(2)?;
                    Ok(vec![
                        r.get(0)?,
                        r.get(1)?,
                        fieldbook_shared::vocab::VisitKind::parse(&kind)
                            .label_zh()
                            .to_string(),
                        r.get(3)?,
                    ])
                })? {
                    out.push(row?);
                }
            }
            out.sort_by(|a: &Vec<String>, b| (&a[1], &a[0]).cmp(&(&b[1], &b[0])));
            Ok(out)
        })
        .await?;
    Ok(Sheet {
        headers: vec!["客户名称", "日期", "方式", "走访人"],
        rows,
    })
}

/// Follow-ups 督办 as `GET /api/followups` lists them (its `state` and `unit`).
async fn followups(
    state: &AppState,
    user: &AuthUser,
    q: ReportQuery,
) -> Result<Sheet, ServerError> {
    let rows = super::followups::rows(state, user, q.state.as_deref(), q.unit).await?;
    let yes_no = |b: bool| if b { "是" } else { "否" }.to_string();
    Ok(Sheet {
        headers: vec![
            "客户名称",
            "所属单位",
            "走访日期",
            "督办事项",
            "责任人",
            "完成期限",
            "状态",
            "逾期",
            "转交给",
            "处理结果",
            "已告知客户",
            "告知日期",
            "办结人",
            "办结时间",
        ],
        rows: rows
            .into_iter()
            .map(|r| {
                vec![
                    r.customer,
                    r.unit_name,
                    r.visit_date,
                    r.action,
                    r.owner_name,
                    r.due,
                    r.state.label_zh().to_string(),
                    yes_no(r.overdue),
                    r.forwarded_to,
                    r.result,
                    yes_no(r.told_customer),
                    r.told_on,
                    r.closed_by,
                    r.closed_at,
                ]
            })
            .collect(),
    })
}

async fn ledger(state: &AppState, user: &AuthUser) -> Result<Sheet, ServerError> {
    let mut rows = Vec::new();
    for doc in state.acl.visible_customers(user.id) {
        let Ok(id) = doc.parse::<DocumentId>() else {
            continue;
        };
        let Some(handle) = state.repo.find(id).await? else {
            continue;
        };
        let Ok(c) = handle.with_document(|d| Customer::load(d)) else {
            continue;
        };
        for e in &c.ledger {
            rows.push(vec![
                c.name.clone(),
                c.credit_code.clone(),
                e.month.clone(),
                e.line.label_zh().to_string(),
                yuan(e.amount_fen),
                yuan(e.disbursed_fen),
                yuan(e.cross_city_fen),
            ]);
        }
    }
    rows.sort();
    Ok(Sheet {
        headers: vec![
            "客户名称",
            "统一社会信用代码",
            "月份",
            "业务类型",
            "收入(元)",
            "代发金额(元)",
            "异地邮件(元)",
        ],
        rows,
    })
}

async fn report(
    state: &AppState,
    user: &AuthUser,
    which: &str,
    q: ReportQuery,
) -> Result<Sheet, ServerError> {
    let r = reports::compute(state, user, q).await?;
    let pct = |p: Option<i64>| p.map(|p| format!("{p}%")).unwrap_or_default();
    Ok(match which {
        "compliance" => Sheet {
            headers: vec!["客户经理", "所属单位", "月份", "应访", "已访", "达标率"],
            rows: r
                .compliance
                .iter()
                .map(|c| {
                    vec![
                        c.manager.clone(),
                        c.unit.clone(),
                        c.month.clone(),
                        c.due.to_string(),
                        c.visited.to_string(),
                        format!("{}%", c.rate_percent),
                    ]
                })
                .collect(),
        },
        "grades" => Sheet {
            headers: vec!["级别", "等级", "客户数", "收入(元)", "收入占比"],
            rows: r
                .grades
                .iter()
                .map(|g| {
                    vec![
                        level_zh(&g.level),
                        grade_zh(&g.grade),
                        g.customers.to_string(),
                        yuan(g.revenue_fen),
                        format!("{:.1}%", g.share_permille as f64 / 10.0),
                    ]
                })
                .collect(),
        },
        "growth" => Sheet {
            headers: vec![
                "客户名称",
                "所属单位",
                "本期收入(元)",
                "上期收入(元)",
                "增长",
                "状态",
            ],
            rows: r
                .growth
                .iter()
                .map(|g| (g, ""))
                .chain(r.lost.iter().map(|g| (g, "流失")))
                .map(|(g, state)| {
                    vec![
                        g.name.clone(),
                        g.unit.clone(),
                        yuan(g.revenue_fen),
                        yuan(g.previous_fen),
                        pct(g.growth_percent),
                        state.to_string(),
                    ]
                })
                .collect(),
        },
        "plans" => Sheet {
            headers: vec![
                "客户名称",
                "所属单位",
                "年度",
                "目标收入(元)",
                "实际收入(元)",
                "完成率",
            ],
            rows: r
                .plans
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.unit.clone(),
                        p.year.clone(),
                        yuan(p.target_fen),
                        yuan(p.actual_fen),
                        format!("{}%", p.percent),
                    ]
                })
                .collect(),
        },
        other => {
            return Err(ServerError::NotFound(format!(
                "没有报表 {other}：可用 compliance、grades、growth 或 plans / no report {other}: use compliance, grades, growth or plans"
            )));
        }
    })
}

/// The scorecard 考核 (`/api/scorecard`'s `unit` and `period`): one line per
/// manager, then per unit.
async fn scorecard(
    state: &AppState,
    user: &AuthUser,
    q: ReportQuery,
) -> Result<Sheet, ServerError> {
    let card = super::scorecard::compute(
        state,
        user,
        super::scorecard::ScoreQuery {
            unit: q.unit,
            period: q.period,
        },
    )
    .await?;
    let pct = |p: Option<i64>| p.map(|p| format!("{p}%")).unwrap_or_default();
    let line = |r: &fieldbook_shared::scorecard::ScoreRow| {
        vec![
            card.period.clone(),
            r.unit.clone(),
            r.manager.clone(),
            r.name.clone(),
            r.customers.to_string(),
            r.registered.to_string(),
            yuan(r.revenue_fen),
            pct(r.growth_percent),
            pct(r.yoy_percent),
            format!("{:.1}%", r.key_share_permille as f64 / 10.0),
            format!("{}%", r.compliance_percent),
            format!("{}/{}", r.follow_ups_on_time, r.follow_ups_closed),
            format!("{}/{}", r.complaints_on_time, r.complaints),
            if r.satisfaction_x10 > 0 {
                format!("{:.1}", r.satisfaction_x10 as f64 / 10.0)
            } else {
                String::new()
            },
            if r.plan_target_fen > 0 {
                format!("{}%", r.plan_percent)
            } else {
                String::new()
            },
            r.lost.to_string(),
            if r.surveys > 0 {
                format!("{:.1}", r.survey_x10 as f64 / 10.0)
            } else {
                String::new()
            },
        ]
    };
    Ok(Sheet {
        headers: vec![
            "期间",
            "单位",
            "客户经理",
            "姓名",
            "客户数",
            "新增报备",
            "收入(元)",
            "环比",
            "同比",
            "重点客户收入占比",
            "走访达标率",
            "督办按时办结",
            "投诉按时处理",
            "满意度",
            "计划完成率",
            "流失客户",
            "调查满意度",
        ],
        rows: card
            .managers
            .iter()
            .chain(card.units.iter())
            .map(line)
            .collect(),
    })
}

/// `GET /api/export/{file}`: `customers`, `visits`, `ledger`, `followups` or
/// `report-{compliance|grades|growth|plans}`, as `.csv` or `.xlsx`; reports take
/// the same `unit`, `from` and `to` as `/api/reports`, follow-ups the `state`
/// and `unit` of `/api/followups`.
pub async fn export(
    State(state): State<AppState>,
    user: AuthUser,
    Path(file): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ServerError> {
    let Some((name, ext)) = file.rsplit_once('.') else {
        return Err(ServerError::NotFound(format!(
            "{file}：请写明格式，如 customers.csv 或 customers.xlsx / {file}: name the format, e.g. customers.csv or customers.xlsx"
        )));
    };
    let sheet = match name {
        "customers" => customers(&state, &user).await?,
        "visits" => visits(&state, &user).await?,
        "ledger" => ledger(&state, &user).await?,
        "followups" => followups(&state, &user, q).await?,
        "scorecard" => scorecard(&state, &user, q).await?,
        _ => match name.strip_prefix("report-") {
            Some(which) => report(&state, &user, which, q).await?,
            None => {
                return Err(ServerError::NotFound(format!(
                    "没有导出 {name}：可用 customers、visits、ledger、followups、scorecard 或 report-… / no export {name}: use customers, visits, ledger, followups, scorecard or report-…"
                )));
            }
        },
    };
    let (bytes, mime) = match ext {
        "csv" => (to_csv(&sheet)?, "text/csv; charset=utf-8"),
        "xlsx" => (
            to_xlsx(&sheet)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        other => {
            return Err(ServerError::NotFound(format!(
                "没有格式 {other}：可用 .csv 或 .xlsx / no format {other}: use .csv or .xlsx"
            )));
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A customer named `=HYPERLINK(…)` reached Excel as a formula.
    #[test]
    fn exported_cells_never_start_a_formula() {
        let sheet = Sheet {
            headers: vec!["客户名称", "收入(元)"],
            rows: vec![
                vec!["=HYPERLINK(\"http://x\",\"点我\")".into(), "-12.50".into()],
                vec!["@SUM(A1)".into(), "+3".into()],
                vec!["-1+1".into(), "\tx".into()],
            ],
        };
        let csv = String::from_utf8(to_csv(&sheet).unwrap()).unwrap();
        let body: Vec<&str> = csv.lines().skip(1).collect();
        assert_eq!(
            body,
            [
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"点我\"\")\",-12.50",
                "'@SUM(A1),+3",
                "'-1+1,'\tx"
            ]
        );
        let xlsx = to_xlsx(&sheet).unwrap();
        let mut book: calamine::Xlsx<_> =
            calamine::Reader::new(std::io::Cursor::new(xlsx)).unwrap();
        let range = calamine::Reader::worksheet_range_at(&mut book, 0)
            .unwrap()
            .unwrap();
        assert_eq!(
            range.get_value((1, 0)).map(|d| d.to_string()),
            Some("'=HYPERLINK(\"http://x\",\"点我\")".into())
        );
    }
}
