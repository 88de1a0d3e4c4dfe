//! The photos and attachments card 照片与附件: a business card photographed at
//! a visit, a signed agreement, the customer's premises. A file is taken with
//! the tablet's camera or chosen, checked (type, size) before anything is
//! kept, kept on the device (`blobs.rs`), then referred to from the customer
//! document — offline like any edit — and uploaded when online
//! (`attachments.rs`). Each shows what it is about (a visit, a contact, an
//! agreement, the customer), who attached it and when, and whether it still
//! waits for its upload.

use fieldbook_shared::attachments::{self, About, Attachment};
use fieldbook_shared::customer::Customer;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::{M, pick};
use crate::screens::{new_id, value_of};

use super::CardProps;

/// A link to the attachments about one visit, contact or agreement (none
/// when it has none), shown on its line in its own card.
pub fn link(ctx: &Ctx, c: &Customer, about: About) -> Html {
    let key = about.key();
    let n = c.attachments.iter().filter(|a| a.about == key).count();
    if n == 0 {
        return Html::default();
    }
    html! {
        <button class="jump attachments-of" data-about={key} onclick={|_| super::scroll_to("card-attachments")}>
            { format!("{} {n}", ctx.t(M::Attachments)) }
        </button>
    }
}

/// The form: what the file is about and its caption.
#[derive(Clone, PartialEq, Default)]
struct Form {
    about: String,
    caption: String,
}

/// What an attachment is about, in words.
fn about_label(ctx: &Ctx, c: &Customer, about: &str) -> String {
    match About::parse(about) {
        About::Customer => ctx.t(M::AboutCustomer).to_string(),
        About::Visit(id) => c
            .visits
            .iter()
            .find(|v| v.id == id)
            .map(|v| format!("{} {} {}", ctx.t(M::Visits), v.date, v.purpose))
            .unwrap_or_else(|| ctx.t(M::Visits).to_string()),
        About::Contact(id) => c
            .contacts
            .iter()
            .find(|k| k.id == id)
            .map(|k| format!("{} {}", ctx.t(M::Contacts), k.name))
            .unwrap_or_else(|| ctx.t(M::Contacts).to_string()),
        About::Agreement(id) => c
            .agreements
            .iter()
            .find(|a| a.id == id)
            .map(|a| format!("{} {}", ctx.t(M::Agreements), a.number))
            .unwrap_or_else(|| ctx.t(M::Agreements).to_string()),
    }
}

#[function_component(AttachmentsCard)]
pub fn attachments_card(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let form = use_state(|| None::<Form>);
    let message = use_state(|| None::<String>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return Html::default();
    };
    let c = row.customer.clone();
    let files = ctx.store.borrow().files.clone();
    let (me, my_name) = {
        let e = ctx.store.borrow();
        (
            e.session.user.username.clone(),
            e.session.user.display_name.clone(),
        )
    };
    // A file taken or chosen: checked, kept, then referred to.
    let chosen = {
        let (store, doc, form, message) = (
            ctx.store.clone(),
            p.doc_id.clone(),
            form.clone(),
            message.clone(),
        );
        let count = c.attachments.len();
        Callback::from(move |e: Event| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            let Some(f) = (*form).clone() else { return };
            let name = file.name();
            let mime = attachments::type_of(&file.type_(), &name);
            if let Some(why) = attachments::refusal(file.size() as usize, mime) {
                message.set(Some(pick(&why)));
                return;
            }
            let mime = mime.unwrap_or_default();
            let (store, doc, form, message, me, my_name) = (
                store.clone(),
                doc.clone(),
                form.clone(),
                message.clone(),
                me.clone(),
                my_name.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let bytes = match crate::blobs::read_file(&file).await {
                    Ok(b) => b,
                    Err(e) => return message.set(Some(e.to_string())),
                };
                let sha256 = attachments::hash_of(&bytes);
                // The file first: a reference never points at nothing here.
                if let Err(e) = crate::blobs::keep(&me, &sha256, &bytes, Some((&doc, mime))).await {
                    return message.set(Some(format!(
                        "{}: {e}",
                        pick("保存到本机失败 / could not save on this device")
                    )));
                }
                let a = Attachment {
                    id: new_id("att"),
                    sha256,
                    name,
                    mime: mime.to_string(),
                    size: bytes.len() as i64,
                    about: f.about,
                    caption: f.caption,
                    by: me,
                    by_name: my_name,
                    at: js_sys::Date::new_0()
                        .to_iso_string()
                        .as_string()
                        .unwrap_or_default(),
                };
                let saved = crate::store::edit(&store, &doc, move |d| {
                    d.transact(|tx| attachments::attach(tx, count, &a))
                        .map_err(|e| e.error.to_string())
                })
                .await;
                match saved {
                    Ok(Ok(_)) => {
                        form.set(None);
                        message.set(None);
                        crate::attachments::pass(&store);
                    }
                    Ok(Err(why)) => message.set(Some(pick(&why))),
                    Err(e) => message.set(Some(e.to_string())),
                }
            });
        })
    };
    let mut shown: Vec<&Attachment> = c.attachments.iter().collect();
    shown.sort_by(|a, b| b.at.cmp(&a.at));
    html! {
        <div class="card attachments" id="card-attachments">
            <h3>{ ctx.t(M::Attachments) }</h3>
            if shown.is_empty() { <p class="empty">{ ctx.t(M::NoAttachments) }</p> }
            <ul class="attachment-list">
                { for shown.iter().map(|a| {
                    let waiting = files.waiting(&p.doc_id, &a.sha256);
                    let refused = files.refusal(&p.doc_id, &a.sha256).map(pick);
                    html! {
                        <li class="attachment" data-sha256={a.sha256.clone()} data-about={a.about.clone()}>
                            <AttachmentView doc_id={p.doc_id.clone()} attachment={(*a).clone()} />
                            <div class="meta">
                                <strong>{ if a.caption.is_empty() { a.name.clone() } else { a.caption.clone() } }</strong>
                                <span class="about">{ about_label(&ctx, &c, &a.about) }</span>
                                <span class="by">{ format!("{} · {} · {}", if a.by_name.is_empty() { &a.by } else { &a.by_name }, crate::widgets::local_time(&a.at), attachments::size_label(a.size)) }</span>
                                if waiting { <span class="badge pending">{ ctx.t(M::WaitingUpload) }</span> }
                                if let Some(why) = refused { <span class="badge refused" role="alert">{ format!("{}：{why}", ctx.t(M::FileRefused)) }</span> }
                            </div>
                        </li>
                    }
                }) }
            </ul>
            if let Some(why) = &*message { <p class="error" role="alert">{ why }</p> }
            if let Some(f) = &*form {
                <div class="attachment-form">
                    <label>{ ctx.t(M::AttachmentAbout) }
                        <select name="attachment-about" onchange={let form = form.clone(); Callback::from(move |e: Event| if let Some(mut f) = (*form).clone() { f.about = value_of(&e); form.set(Some(f)) })}>
                            <option value="" selected={f.about.is_empty()}>{ ctx.t(M::AboutCustomer) }</option>
                            { for c.visits.iter().rev().map(|v| { let k = About::Visit(v.id.clone()).key(); html! {
                                <option value={k.clone()} selected={f.about == k}>{ format!("{} {} {}", ctx.t(M::Visits), v.date, v.purpose) }</option>
                            }}) }
                            { for c.contacts.iter().map(|x| { let k = About::Contact(x.id.clone()).key(); html! {
                                <option value={k.clone()} selected={f.about == k}>{ format!("{} {}", ctx.t(M::Contacts), x.name) }</option>
                            }}) }
                            { for c.agreements.iter().map(|x| { let k = About::Agreement(x.id.clone()).key(); html! {
                                <option value={k.clone()} selected={f.about == k}>{ format!("{} {}", ctx.t(M::Agreements), x.number) }</option>
                            }}) }
                        </select>
                    </label>
                    <label>{ ctx.t(M::Caption) }
                        <input name="attachment-caption" value={f.caption.clone()} maxlength="200"
                            oninput={let form = form.clone(); Callback::from(move |e: InputEvent| if let (Some(mut f), Some(i)) = ((*form).clone(), e.target_dyn_into::<web_sys::HtmlInputElement>()) {
                                f.caption = i.value();
                                form.set(Some(f));
                            })} />
                    </label>
                    <div class="actions">
                        // A label styled as a button opens the camera or the files.
                        <label class="button primary file-button">{ ctx.t(M::TakePhoto) }
                            <input type="file" name="attachment-photo" accept="image/*" capture="environment" onchange={chosen.clone()} />
                        </label>
                        <label class="button file-button">{ ctx.t(M::ChooseFile) }
                            <input type="file" name="attachment-file" accept="image/*,application/pdf" onchange={chosen} />
                        </label>
                        <button onclick={let (form, message) = (form.clone(), message.clone()); move |_| { form.set(None); message.set(None) }}>{ ctx.t(M::Cancel) }</button>
                    </div>
                </div>
            } else {
                <button class="add-attachment" onclick={let form = form.clone(); let about = c.visits.iter().max_by(|a, b| a.date.cmp(&b.date)).map(|v| About::Visit(v.id.clone()).key()).unwrap_or_default(); move |_| form.set(Some(Form { about: about.clone(), caption: String::new() }))}>{ ctx.t(M::AddAttachment) }</button>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ViewProps {
    doc_id: String,
    attachment: Attachment,
}

/// Where a file's bytes are for showing.
#[derive(Clone, PartialEq)]
enum Shown {
    Loading,
    At(String),
    /// Not on this device and no network to fetch it.
    Missing,
}

/// A photo (drawn) or a PDF (a link), from the device, else from the server.
#[function_component(AttachmentView)]
fn attachment_view(p: &ViewProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let shown = use_state(|| Shown::Loading);
    {
        let (shown, store) = (shown.clone(), ctx.store.clone());
        let (doc, a) = (p.doc_id.clone(), p.attachment.clone());
        // Fetched again when the device's files change (one came in).
        let held = ctx.store.borrow().files.held.contains(&a.sha256);
        use_effect_with((doc.clone(), a.sha256.clone(), held), move |_| {
            let url = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));
            let kept = url.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let (user, token) = {
                    let e = store.borrow();
                    (e.session.user.username.clone(), e.session.token.clone())
                };
                let mut bytes = crate::blobs::get(&user, &a.sha256).await.ok().flatten();
                if bytes.is_none() {
                    bytes = crate::attachments::get_one(&user, &token, &doc, &a.sha256)
                        .await
                        .ok()
                        .flatten();
                }
                match bytes.and_then(|b| crate::blobs::object_url(&b, &a.mime)) {
                    Some(u) => {
                        *kept.borrow_mut() = Some(u.clone());
                        shown.set(Shown::At(u));
                    }
                    None => shown.set(Shown::Missing),
                }
            });
            move || {
                if let Some(u) = url.borrow_mut().take() {
                    let _ = web_sys::Url::revoke_object_url(&u);
                }
            }
        });
    }
    let a = &p.attachment;
    match &*shown {
        Shown::Loading => html! { <div class="thumb loading">{ "…" }</div> },
        Shown::Missing => html! { <div class="thumb missing">{ ctx.t(M::NotDownloaded) }</div> },
        Shown::At(url) if a.is_picture() => html! {
            <a class="thumb" href={url.clone()} target="_blank" rel="noopener">
                <img src={url.clone()} alt={a.name.clone()} />
            </a>
        },
        Shown::At(url) => html! {
            <a class="thumb file" href={url.clone()} download={a.name.clone()}>{ format!("{} {}", ctx.t(M::OpenFile), a.name) }</a>
        },
    }
}
