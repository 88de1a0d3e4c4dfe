//! Export and import for the office (导入导出): spreadsheet downloads of what the
//! user may see, and CSV/XLSX imports with an upload progress bar and the
//! server's row-by-row report when a file is refused.

use fieldbook_shared::vocab::Role;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;

/// Where an upload stands.
#[derive(Clone, PartialEq)]
enum Upload {
    Idle,
    /// Percent sent.
    Sending(u32),
    /// What the server said, and the file's problems (row, column, what).
    Done(String, Vec<(u64, String, String)>),
}

/// What an import did, or a preview would do, in words.
fn summary(path: &str, v: &serde_json::Value, dry_run: bool) -> String {
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    let rows = if dry_run {
        n("would_import")
    } else {
        n("imported")
    };
    let what = if path.ends_with("ledger") {
        format!(
            "{} 个客户，新增 {} 个月份，替换 {} 个已有月份 / {} customers, {} months added, {} already there replaced",
            n("customers"),
            n("ledger_added"),
            n("ledger_replaced"),
            n("customers"),
            n("ledger_added"),
            n("ledger_replaced")
        )
    } else {
        format!(
            "新建 {} 个客户 / {} new customers",
            n("customers"),
            n("customers")
        )
    };
    // A manager's ledger is their estimate: said so, with what it left alone.
    let what = if v["estimate"].as_bool() == Some(true) {
        format!(
            "{}；作为经理估计，不参与定级与考核，已有正式台账的 {} 个月份未改 / {}; as your estimates: not graded or scored, {} months with the office's figure left alone",
            what.split_once(" / ").map(|x| x.0).unwrap_or(&what),
            n("kept_official"),
            what.split_once(" / ").map(|x| x.1).unwrap_or(&what),
            n("kept_official")
        )
    } else {
        what
    };
    let (zh, en) = what.split_once(" / ").unwrap_or((&what, &what));
    crate::i18n::pick(&if dry_run {
        format!(
            "预览：检查通过，将导入 {rows} 行：{zh}（尚未导入） / preview: {rows} rows would be imported: {en} (nothing imported yet)"
        )
    } else {
        format!("已导入 {rows} 行：{zh} / imported {rows} rows: {en}")
    })
}

/// A file that passed its preview, waiting for the user to import it.
#[derive(Clone, PartialEq)]
struct Ready {
    path: &'static str,
    file: web_sys::File,
}

/// Sends the chosen file with XMLHttpRequest, which reports upload progress.
/// A preview (`dry_run`) that finds the file clean offers it for import.
fn send(
    path: &'static str,
    dry_run: bool,
    token: &str,
    file: web_sys::File,
    state: UseStateHandle<Upload>,
    ready: UseStateHandle<Option<Ready>>,
) {
    let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
        return;
    };
    let url = if dry_run {
        format!("{path}?dry_run=true")
    } else {
        path.to_string()
    };
    if xhr.open("POST", &url).is_err() {
        return;
    }
    let _ = xhr.set_request_header("authorization", &format!("Bearer {token}"));
    // The server takes only spreadsheet types (a form on another site cannot
    // send them); a tablet's file picker often gives no type at all.
    let kind = if file.name().to_lowercase().ends_with(".xlsx") {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else {
        "text/csv"
    };
    let _ = xhr.set_request_header("content-type", kind);
    // The server's row-by-row report in the app's language.
    let _ = xhr.set_request_header("accept-language", crate::session::lang().tag());
    let progress = {
        let state = state.clone();
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                state.set(Upload::Sending((e.loaded() / e.total() * 100.0) as u32));
            }
        })
    };
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let done = {
        let (state, xhr, file) = (state.clone(), xhr.clone(), file.clone());
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let text = xhr.response_text().ok().flatten().unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let ok = xhr.status().unwrap_or(0) == 200;
            ready.set((ok && dry_run).then(|| Ready {
                path,
                file: file.clone(),
            }));
            let done = if ok {
                Upload::Done(summary(path, &v, dry_run), Vec::new())
            } else if let Some(errors) = v["errors"].as_array() {
                // Already in the language asked for (Accept-Language).
                let rows: Vec<(u64, String, String)> = errors
                    .iter()
                    .map(|e| {
                        let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                        (
                            e["row"].as_u64().unwrap_or(0),
                            text("column"),
                            text("message"),
                        )
                    })
                    .collect();
                let n = rows.len();
                let said = crate::i18n::pick(&format!(
                    "未导入任何数据：文件有 {n} 处问题，改正后再选择文件 / nothing imported: the file has {n} problems; correct them and choose the file again"
                ));
                Upload::Done(said, rows)
            } else {
                Upload::Done(crate::http::error_text(&text), Vec::new())
            };
            state.set(done);
        })
    };
    xhr.set_onloadend(Some(done.as_ref().unchecked_ref()));
    state.set(Upload::Sending(0));
    if xhr.send_with_opt_blob(Some(&file)).is_err() {
        state.set(Upload::Done(
            crate::i18n::pick("需要联网 / needs the network"),
            Vec::new(),
        ));
    }
    // The request owns its callbacks until it ends.
    progress.forget();
    done.forget();
}

#[function_component(TransferCard)]
pub fn transfer_card() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let (token, role) = {
        let st = ctx.store.borrow();
        (st.session.token.clone(), st.session.user.role.clone())
    };
    let upload = use_state(|| Upload::Idle);
    let ready = use_state(|| None::<Ready>);
    // Choosing a file previews it; only a clean file can then be imported.
    let pick = |path: &'static str| {
        let (upload, token, ready) = (upload.clone(), token.clone(), ready.clone());
        Callback::from(move |e: Event| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                send(path, true, &token, file, upload.clone(), ready.clone());
            }
            input.set_value("");
        })
    };
    let confirm = {
        let (upload, token, ready) = (upload.clone(), token.clone(), ready.clone());
        Callback::from(move |_| {
            if let Some(r) = (*ready).clone() {
                send(r.path, false, &token, r.file, upload.clone(), ready.clone());
            }
        })
    };
    let links = [
        ("customers", M::Customers),
        ("visits", M::Visits),
        ("ledger", M::LedgerShort),
    ];
    html! {
        <div class="card transfer">
            <h3>{ ctx.t(M::ImportExport) }</h3>
            <p>{ for links.iter().map(|(name, label)| html! {
                <span class="export">
                    { format!("{}：", ctx.t(*label)) }
                    <a href={format!("/api/export/{name}.csv")} download="">{ "CSV" }</a>
                    { " · " }
                    <a href={format!("/api/export/{name}.xlsx")} download="">{ "Excel" }</a>
                    { " " }
                </span>
            }) }</p>
            <p class="templates">
                { crate::i18n::pick("导入模板： / templates: ") }
                // Managers import only the ledger: only its template for them.
                { for [("customers", M::ImportCustomers), ("ledger", M::ImportLedger)].iter()
                    .filter(|(kind, _)| *kind == "ledger" || matches!(role, Role::Head | Role::Admin))
                    .map(|(kind, label)| html! {
                    <span class="template">
                        { format!("{}：", ctx.t(*label)) }
                        <a href={format!("/api/import/{kind}/template.xlsx")} download="">{ "Excel" }</a>
                        { " · " }
                        <a href={format!("/api/import/{kind}/template.csv")} download="">{ "CSV" }</a>
                        { " " }
                    </span>
                }) }
            </p>
            if matches!(role, Role::Head | Role::Admin) {
                <label>{ ctx.t(M::ImportCustomers) }
                    <input type="file" name="import-customers" accept=".csv,.xlsx" onchange={pick("/api/import/customers")} />
                </label>
            }
            <label>{ ctx.t(M::ImportLedger) }
                <input type="file" name="import-ledger" accept=".csv,.xlsx" onchange={pick("/api/import/ledger")} />
            </label>
            { match &*upload {
                Upload::Idle => html! {},
                Upload::Sending(p) => html! { <progress class="upload" max="100" value={p.to_string()}></progress> },
                Upload::Done(m, problems) => html! {
                    <>
                    <p class={classes!("import-result", (!problems.is_empty()).then_some("refused"))} role="status">{ m.clone() }</p>
                    if !problems.is_empty() {
                        <table class="import-errors">
                            <tr><th>{ ctx.t(M::Row) }</th><th>{ ctx.t(M::Column) }</th><th>{ ctx.t(M::Problem) }</th></tr>
                            { for problems.iter().map(|(row, column, what)| html! {
                                <tr class="error">
                                    // Row 0 is the file as a whole.
                                    <td>{ if *row == 0 { "—".to_string() } else { row.to_string() } }</td>
                                    <td>{ column.clone() }</td>
                                    <td>{ what.clone() }</td>
                                </tr>
                            }) }
                        </table>
                    }
                    </>
                },
            } }
            if ready.is_some() {
                <button class="primary confirm-import" onclick={confirm}>{ crate::i18n::pick("导入 / import") }</button>
            }
        </div>
    }
}
