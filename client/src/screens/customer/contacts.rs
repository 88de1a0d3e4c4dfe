//! The key people card: contacts, added and edited field by field.

use fieldbook_shared::customer::{self, Contact};
use fieldbook_shared::vocab::ContactRole;
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;
use crate::screens::{new_id, value_of};

use super::CardProps;

#[function_component(ContactsCard)]
pub fn contacts_card(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    // The contact being added (true) or edited (false), as a draft.
    let contact_form = use_state(|| None::<(bool, Contact)>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return Html::default();
    };
    let c = &row.customer;
    let save_contact = {
        let store = ctx.store.clone();
        let doc = p.doc_id.clone();
        let form = contact_form.clone();
        let original = c.contacts.clone();
        Callback::from(move |_| {
            let Some((is_new, draft)) = (*form).clone() else {
                return;
            };
            if draft.name.trim().is_empty() {
                return;
            }
            let before = original
                .iter()
                .find(|k| k.id == draft.id)
                .cloned()
                .unwrap_or_default();
            let (store, doc, form) = (store.clone(), doc.clone(), form.clone());
            super::save(
                store,
                doc,
                move |d| {
                    d.transact(|tx| {
                        if is_new {
                            return customer::add_contact(tx, &draft);
                        }
                        // Only the fields that changed, so concurrent edits of other fields survive.
                        let pairs = [
                            ("name", &before.name, &draft.name),
                            (
                                "role",
                                &before.role.as_str().to_string(),
                                &draft.role.as_str().to_string(),
                            ),
                            ("position", &before.position, &draft.position),
                            ("phone", &before.phone, &draft.phone),
                            ("birthday", &before.birthday, &draft.birthday),
                        ];
                        for (field, old, new) in pairs {
                            if old != new {
                                customer::set_contact_field(tx, &draft.id, field, new)?;
                            }
                        }
                        Ok(())
                    })
                    .map_err(|e| e.error.to_string())
                },
                move || form.set(None),
            );
        })
    };
    let set_cf = |f: fn(&mut Contact, String)| {
        let form = contact_form.clone();
        Callback::from(move |e: Event| {
            let Some((is_new, mut c)) = (*form).clone() else {
                return;
            };
            f(&mut c, value_of(&e));
            form.set(Some((is_new, c)));
        })
    };

    html! {
            <div class="card" id="card-contacts">
                <h3>{ ctx.t(M::Contacts) }</h3>
                <table class="contacts">
                    <tr><th>{ ctx.t(M::Name) }</th><th>{ ctx.t(M::Role) }</th><th>{ ctx.t(M::Position) }</th><th>{ ctx.t(M::Phone) }</th><th>{ ctx.t(M::Birthday) }</th><th></th></tr>
                    { for c.contacts.iter().map(|k| {
                        let form = contact_form.clone();
                        let k2 = k.clone();
                        html! {
                            <tr data-contact={k.id.clone()}><td>{ &k.name }</td><td>{ k.role.label_zh() }</td><td>{ &k.position }</td><td>if k.phone.is_empty() { { "" } } else { <a class="tel" href={format!("tel:{}", k.phone.replace(' ', ""))}>{ &k.phone }</a> }</td><td>{ &k.birthday }</td>
                            <td><button class="edit" onclick={move |_| form.set(Some((false, k2.clone())))}>{ ctx.t(M::Edit) }</button></td></tr>
                        }
                    }) }
                </table>
                if let Some((_, draft)) = &*contact_form {
                    <div class="contact-form">
                        <input name="contact_name" placeholder={ctx.t(M::Name)} value={draft.name.clone()} onchange={set_cf(|c, v| c.name = v)} />
                        <select name="contact_role" onchange={set_cf(|c, v| c.role = ContactRole::parse(&v))}>
                            { for ContactRole::ALL.iter().map(|r| html! { <option value={r.as_str().to_string()} selected={draft.role == *r}>{ r.label_zh() }</option> }) }
                        </select>
                        <input name="contact_position" placeholder={ctx.t(M::Position)} value={draft.position.clone()} onchange={set_cf(|c, v| c.position = v)} />
                        <input name="contact_phone" type="tel" placeholder={ctx.t(M::Phone)} value={draft.phone.clone()} onchange={set_cf(|c, v| c.phone = v)} />
                        <input name="contact_birthday" type="date" value={draft.birthday.clone()} onchange={set_cf(|c, v| c.birthday = v)} />
                        <button class="save" onclick={save_contact}>{ ctx.t(M::Save) }</button>
                        <button onclick={let f = contact_form.clone(); move |_| f.set(None)}>{ ctx.t(M::Cancel) }</button>
                    </div>
                } else {
                    <button class="add-contact" onclick={let f = contact_form.clone(); move |_| f.set(Some((true, Contact { id: new_id("c"), ..Default::default() })))}>{ ctx.t(M::AddContact) }</button>
                }
            </div>
    }
}
