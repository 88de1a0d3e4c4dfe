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
    Done(String),
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
            let message = if ok && dry_run {
                crate::i18n::pick(&format!(
                    "预览：检查通过，将导入 {} 行（尚未导入） / preview: {} rows would be imported (nothing imported yet)",
                    v["would_import"], v["would_import"]
                ))
            } else if ok {
                crate::i18n::pick(&format!(
                    "已导入 {} 行 / imported {} rows",
                    v["imported"], v["imported"]
                ))
            } else if let Some(errors) = v["errors"].as_array() {
                let lines: Vec<String> = errors
                    .iter()
                    .map(|e| {
                        format!(
                            "第{}行 {}：{}",
                            e["row"],
                            e["column"].as_str().unwrap_or(""),
                            // Already in the language asked for (Accept-Language).
                            e["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                format!(
                    "{}：\n{}",
                    crate::i18n::pick("未导入任何数据 / nothing imported"),
                    lines.join("\n")
                )
            } else {
                crate::http::error_text(&text)
            };
            state.set(Upload::Done(message));
        })
    };
    xhr.set_onloadend(Some(done.as_ref().unchecked_ref()));
    state.set(Upload::Sending(0));
    if xhr.send_with_opt_blob(Some(&file)).is_err() {
        state.set(Upload::Done(crate::i18n::pick(
            "需要联网 / needs the network",
        )));
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
                Upload::Done(m) => html! { <pre class="import-result">{ m.clone() }</pre> },
            } }
            if ready.is_some() {
                <button class="primary confirm-import" onclick={confirm}>{ crate::i18n::pick("导入 / import") }</button>
            }
        </div>
    }
}
