//! Export and import for the office (导入导出): spreadsheet downloads of what the
//! user may see, and CSV/XLSX imports with an upload progress bar and the
//! server's row-by-row report when a file is refused.

use fieldbook_shared::vocab::Role;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use yew::prelude::*;

use crate::app::Ctx;
use crate::i18n::M;

/// Where an upload stands.
#[derive(Clone, PartialEq)]
enum Upload {
    Idle,
    /// Percent sent.
    Sending(u32),
    Done(String),
}

/// Sends the chosen file with XMLHttpRequest, which reports upload progress.
fn send(path: &str, token: &str, file: web_sys::File, state: UseStateHandle<Upload>) {
    let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
        return;
    };
    if xhr.open("POST", path).is_err() {
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
        let (state, xhr) = (state.clone(), xhr.clone());
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let text = xhr.response_text().ok().flatten().unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let message = if xhr.status().unwrap_or(0) == 200 {
                format!(
                    "已导入 {} 行 / imported {} rows",
                    v["imported"], v["imported"]
                )
            } else if let Some(errors) = v["errors"].as_array() {
                let lines: Vec<String> = errors
                    .iter()
                    .map(|e| {
                        format!(
                            "第{}行 {}：{}",
                            e["row"],
                            e["column"].as_str().unwrap_or(""),
                            e["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                format!("未导入任何数据 / nothing imported:\n{}", lines.join("\n"))
            } else {
                crate::http::error_text(&text)
            };
            state.set(Upload::Done(message));
        })
    };
    xhr.set_onloadend(Some(done.as_ref().unchecked_ref()));
    state.set(Upload::Sending(0));
    if xhr.send_with_opt_blob(Some(&file)).is_err() {
        state.set(Upload::Done("需要联网 / needs the network".into()));
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
    let pick = |path: &'static str| {
        let (upload, token) = (upload.clone(), token.clone());
        Callback::from(move |e: Event| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                send(path, &token, file, upload.clone());
            }
            input.set_value("");
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
        </div>
    }
}
