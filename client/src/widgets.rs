//! Small shared widgets: the sync indicator and the ledger chart.

use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;

/// Always visible: online/offline, unsynced changes, last sync, first-sync
/// progress. Tapped, it opens the sync panel.
#[function_component(StatusBar)]
pub fn status_bar() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let open = use_state(|| false);
    let s = ctx.store.borrow().status();
    let last = match s.last_sync_ms {
        Some(ms) => {
            let d = js_sys::Date::new(&ms.into());
            format!(
                "{:02}:{:02}:{:02}",
                d.get_hours(),
                d.get_minutes(),
                d.get_seconds()
            )
        }
        None => ctx.t(M::Never).into(),
    };
    let state = if s.online { "online" } else { "offline" };
    let files = ctx.store.borrow().files.clone();
    // Never "synced" while the outbox or a file holds work the server has not taken.
    let synced = s.online && s.pending == 0 && s.undelivered == 0 && files.to_upload.is_empty();
    let ready = s.ready_offline();
    let (kept, book) = s.kept.unwrap_or((0, 0));
    html! {
        <>
        <div class="status" role="button" tabindex="0" onclick={let o = open.clone(); move |_| o.set(!*o)} data-online={s.online.to_string()} data-connecting={s.connecting.to_string()} data-pending={s.pending.to_string()} data-synced={synced.to_string()} data-pending-docs={s.pending_docs.join(" ")} data-undelivered={s.undelivered.to_string()} data-kept={kept.to_string()} data-book={book.to_string()} data-unsaved={s.unsaved.to_string()} data-ready-offline={ready.to_string()} data-persisted={s.storage.map(|x| x.0.to_string()).unwrap_or_default()} data-role={if s.leader { "leader" } else { "follower" }} data-files-waiting={files.to_upload.len().to_string()} data-reading={ctx.store.borrow().loading().to_string()}>
            <span class={classes!("dot", state)}></span>
            <span class="state">{ if s.online { ctx.t(M::Online) } else if s.connecting { ctx.t(M::Connecting) } else { ctx.t(M::Offline) } }</span>
            if s.undelivered > 0 {
                <span class="pending undelivered">{ format!("{} {}", s.undelivered, ctx.t(M::Undelivered)) }</span>
            }
            if let Some((done, of)) = files.progress {
                <span class="pending files">{ format!("{} {}/{}", ctx.t(M::Uploading), done + 1, of) }</span>
            } else if !files.to_upload.is_empty() {
                <span class="pending files">{ format!("{} {}", files.to_upload.len(), ctx.t(M::FilesToUpload)) }</span>
            }
            if s.pending > 0 {
                <span class="pending">{ format!("{} {}", s.pending, ctx.t(M::Unsynced)) }</span>
            } else if synced {
                <span class="pending ok">{ ctx.t(M::AllSynced) }</span>
            }
            <span class="last">{ format!("{}: {}", ctx.t(M::LastSync), last) }</span>
            if let Some(err) = &s.write_error {
                <span class="pending write-error">{ format!("{}：{}", ctx.t(M::WriteFailed), err) }</span>
            } else if ready {
                <span class="kept ok">{ ctx.t(M::ReadyOffline) }</span>
            } else if s.kept.is_some() {
                <span class="kept">{ format!("{} {}/{}", ctx.t(M::KeptOnDevice), kept, book) }</span>
            }
            if let Some((persisted, usage)) = s.storage {
                <span class={classes!("storage", (!persisted).then_some("warn"))}
                    title={ if persisted { ctx.t(M::StorageKept) } else { ctx.t(M::StorageNotKept) } }>
                    { format!("{} · {:.1} MB", if persisted { ctx.t(M::StorageKept) } else { ctx.t(M::StorageNotKept) }, usage / 1e6) }
                </span>
            }
            if let Some((have, total)) = s.first_sync {
                <span class="progress">
                    // Counts only once the book says how many there are.
                    if total > 0 {
                        { format!("{} {}/{}", ctx.t(M::FirstSync), have, total) }
                        <progress max={total.to_string()} value={have.to_string()}></progress>
                    } else {
                        { format!("{}…", ctx.t(M::FirstSync)) }
                    }
                </span>
            }
        </div>
        if *open {
            <SyncPanel />
        }
        </>
    }
}

/// What the sync indicator hides: each customer with changes the server
/// does not have yet and what they are, the last completed sync, errors in
/// words, and 立即同步.
#[function_component(SyncPanel)]
fn sync_panel() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let note = use_state(|| None::<M>);
    let (s, pending, files) = {
        let e = ctx.store.borrow();
        (e.status(), e.pending_summary(), e.files.clone())
    };
    // A file's customer and name, to list it.
    let file_label = |doc: &str, sha256: &str| {
        let row = ctx.store.borrow().row(doc);
        let name = row
            .as_ref()
            .and_then(|r| r.customer.attachments.iter().find(|a| a.sha256 == sha256))
            .map(|a| a.name.clone())
            .unwrap_or_default();
        format!(
            "{}：{}",
            row.map(|r| r.customer.name).unwrap_or_default(),
            name
        )
    };
    let last = s
        .last_sync_ms
        .map(|ms| {
            let d = js_sys::Date::new(&ms.into());
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                d.get_full_year(),
                d.get_month() + 1,
                d.get_date(),
                d.get_hours(),
                d.get_minutes(),
                d.get_seconds()
            )
        })
        .unwrap_or_else(|| ctx.t(M::Never).to_string());
    let sync_now = {
        let (store, note) = (ctx.store.clone(), note.clone());
        Callback::from(move |_| {
            crate::attachments::pass(&store);
            note.set(Some(if crate::store::Engine::sync_now(&store) {
                M::SyncStarted
            } else {
                M::SyncWhenOnline
            }))
        })
    };
    html! {
        <div class="card sync-panel">
            <h3>{ ctx.t(M::SyncPanel) }</h3>
            <p class="last-complete">{ format!("{}：{}", ctx.t(M::LastCompleteSync), last) }</p>
            if pending.is_empty() {
                <p class="nothing-pending">{ ctx.t(M::NothingPending) }</p>
            } else {
                <ul class="pending-list">
                    { for pending.iter().map(|(doc, name, what)| html! {
                        <li data-doc={doc.clone()}><strong>{ name }</strong>{ format!("：{}", what.join("；")) }</li>
                    }) }
                </ul>
            }
            if !files.to_upload.is_empty() {
                <h4>{ format!("{} {}", files.to_upload.len(), ctx.t(M::FilesToUpload)) }</h4>
                if let Some((done, of)) = files.progress {
                    <progress class="files" max={of.to_string()} value={done.to_string()}></progress>
                }
                <ul class="pending-files">
                    { for files.to_upload.iter().map(|m| html! { <li data-sha256={m.sha256.clone()}>{ file_label(&m.doc, &m.sha256) }</li> }) }
                </ul>
            }
            if !files.refused.is_empty() {
                <ul class="refused-files">
                    { for files.refused.iter().map(|m| html! { <li class="error" data-sha256={m.sha256.clone()}>{ format!("{} {} — {}", ctx.t(M::FileRefused), file_label(&m.doc, &m.sha256), crate::i18n::pick(&m.value)) }</li> }) }
                </ul>
            }
            if s.undelivered > 0 {
                <p class="error">{ format!("{} {}", s.undelivered, ctx.t(M::Undelivered)) }</p>
            }
            if let Some(err) = &s.write_error {
                <p class="error">{ format!("{}：{}", ctx.t(M::WriteFailed), err) }</p>
            }
            if let Some((false, _)) = s.storage {
                <p class="warn">{ ctx.t(M::StorageNotKept) }</p>
            }
            <button class="sync-now primary" onclick={sync_now}>{ ctx.t(M::SyncNow) }</button>
            if let Some(m) = *note { <p class="message">{ ctx.t(m) }</p> }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct ChartProps {
    /// (month, revenue in fen), oldest first.
    pub months: Vec<(String, i64)>,
}

/// A bar chart of monthly revenue, drawn as SVG.
#[function_component(LedgerChart)]
pub fn ledger_chart(p: &ChartProps) -> Html {
    let max = p.months.iter().map(|m| m.1).max().unwrap_or(0).max(1) as f64;
    let (w, h) = (720.0, 160.0);
    let bw = w / p.months.len().max(1) as f64;
    html! {
        <svg class="chart" viewBox={format!("0 0 {w} {}", h + 20.0)} role="img">
            { for p.months.iter().enumerate().map(|(i, (month, fen))| {
                let bh = (*fen as f64 / max) * h;
                let x = i as f64 * bw;
                html! {
                    <g>
                        <rect x={format!("{:.1}", x + 2.0)} y={format!("{:.1}", h - bh)} width={format!("{:.1}", (bw - 4.0).max(1.0))} height={format!("{bh:.1}")}>
                            <title>{ format!("{month}: ¥{:.2}", *fen as f64 / 100.0) }</title>
                        </rect>
                        // The value printed on the bar: a tablet has no hover.
                        if *fen > 0 {
                            <text class="value" x={format!("{:.1}", x + bw / 2.0)} y={format!("{:.1}", (h - bh - 3.0).max(9.0))} text-anchor="middle">{ compact_yuan(*fen) }</text>
                        }
                        if i % 3 == 0 {
                            <text x={format!("{:.1}", x + 2.0)} y={format!("{:.1}", h + 14.0)}>{ month.get(2..).unwrap_or(month) }</text>
                        }
                    </g>
                }
            }) }
        </svg>
    }
}

/// A short amount for a chart label: 万 (ten thousand yuan) from 10,000 up.
pub fn compact_yuan(fen: i64) -> String {
    let yuan = fen as f64 / 100.0;
    if yuan.abs() >= 10_000.0 {
        format!("{:.1}万", yuan / 10_000.0)
    } else {
        format!("{yuan:.0}")
    }
}

/// Yuan from fen, for display.
pub fn yuan(fen: i64) -> String {
    let y = fen / 100;
    let s = y.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    format!("¥{}{}", if fen < 0 { "-" } else { "" }, out)
}

#[derive(Properties, PartialEq)]
pub struct WarningProps {
    pub name: AttrValue,
    pub credit_code: AttrValue,
}

/// A red banner when the customer is on the confirmed bad-credit list (offline too).
#[function_component(CreditWarning)]
pub fn credit_warning(p: &WarningProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let hits = ctx.store.borrow().warnings_for(&p.name, &p.credit_code);
    if hits.is_empty() {
        return html! {};
    }
    html! {
        <div class="credit-warning" role="alert">
            <strong>{ ctx.t(M::CreditWarning) }</strong>
            { for hits.iter().map(|w| {
                let kind = fieldbook_shared::credit::WarningKind::parse(&w.kind).map(|k| crate::i18n::label(&k)).unwrap_or_else(|| w.kind.clone());
                html! { <span class="hit">{ format!("{}（{}，{}）", w.name, kind, w.confirmed_on) }</span> }
            }) }
        </div>
    }
}

/// The outbox (see `outbox.rs`): each customer's undelivered work with the
/// reason, and the customers that left this tablet's book and why.
#[function_component(OutboxCard)]
pub fn outbox_card() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let outbox = ctx.store.borrow().outbox.clone();
    if outbox.items.is_empty() && outbox.lost.is_empty() {
        return html! {};
    }
    let export = {
        let items = outbox.items.clone();
        Callback::from(move |_| {
            let text: String = items
                .iter()
                .map(|i| {
                    format!(
                        "{}\n{}\n{}\n{}\n\n",
                        i.name,
                        i.reason,
                        i.summary.join("\n"),
                        i.refused.clone().unwrap_or_default()
                    )
                })
                .collect();
            crate::outbox::download("未送达.txt", &text);
        })
    };
    html! {
        <div class="card outbox">
            if !outbox.items.is_empty() {
                <h3>{ ctx.t(M::UndeliveredTitle) }</h3>
                <ul>{ for outbox.items.iter().map(|i| html! {
                    <li class="undelivered-item" data-doc={i.doc_id.clone()}>
                        <div>{ crate::i18n::say(format!("{0}：{1} 的修改，{2}", ctx.t(M::UndeliveredTitle), i.name, crate::i18n::pick(&i.reason)), format!("{0}: changes of {1}, {2}", ctx.t(M::UndeliveredTitle), i.name, crate::i18n::pick(&i.reason))) }</div>
                        <ul>{ for i.summary.iter().map(|s| html! { <li>{ s }</li> }) }</ul>
                        <div class="outbox-state">{ match &i.refused {
                            Some(why) => format!("{}：{}", ctx.t(M::Refused), crate::i18n::pick(why)),
                            None => ctx.t(M::Delivering).to_string(),
                        } }</div>
                    </li>
                }) }</ul>
                <button class="export-undelivered" onclick={export}>{ ctx.t(M::ExportUndelivered) }</button>
            }
            if !outbox.lost.is_empty() {
                <h3>{ ctx.t(M::LostCustomers) }</h3>
                <ul>{ for outbox.lost.iter().map(|l| html! {
                    <li class="lost-customer" data-doc={l.doc_id.clone()}>{ format!("{} · {}", l.name, l.reason) }</li>
                }) }</ul>
            }
        </div>
    }
}

/// An RFC 3339 instant as this tablet's local date and time
/// (`YYYY-MM-DD HH:MM`); as it came if it does not parse.
pub fn local_time(at: &str) -> String {
    let d = js_sys::Date::new(&at.into());
    if d.get_time().is_nan() {
        return at.to_string();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}
