//! The key people card: contacts, added and edited field by field.

use fieldbook_shared::care::FamilyEvent;
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
    // A family event being added: (contact id, the event).
    let event_form = use_state(|| None::<(String, FamilyEvent)>);
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
                            ("hobbies", &before.hobbies, &draft.hobbies),
                            ("family", &before.family, &draft.family),
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
    let save_event = super::save_form(&ctx, &p.doc_id, &event_form, |tx, (contact, event)| {
        customer::add_contact_event(tx, contact, event)
    });
    let set_event = |f: fn(&mut FamilyEvent, String)| {
        let form = event_form.clone();
        Callback::from(move |e: Event| {
            if let Some((k, mut ev)) = (*form).clone() {
                f(&mut ev, value_of(&e));
                form.set(Some((k, ev)));
            }
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
                        let events = event_form.clone();
                        let kid = k.id.clone();
                        let personal = !k.hobbies.is_empty() || !k.family.is_empty() || !k.events.is_empty();
                        html! {
                            <>
                            <tr data-contact={k.id.clone()}><td>{ &k.name }{ super::attachments::link(&ctx, c, fieldbook_shared::attachments::About::Contact(k.id.clone())) }</td><td>{ crate::i18n::label(&k.role) }</td><td>{ &k.position }</td><td>if k.phone.is_empty() { { "" } } else { <a class="tel" href={format!("tel:{}", k.phone.replace(' ', ""))}>{ &k.phone }</a> }</td><td>{ &k.birthday }</td>
                            <td>
                                <button class="edit" onclick={move |_| form.set(Some((false, k2.clone())))}>{ ctx.t(M::Edit) }</button>
                                <button class="add-event" onclick={move |_| events.set(Some((kid.clone(), FamilyEvent { id: new_id("e"), ..Default::default() })))}>{ ctx.t(M::AddEvent) }</button>
                            </td></tr>
                            if personal {
                                <tr class="personal" data-contact-personal={k.id.clone()}><td colspan="6">
                                    if !k.hobbies.is_empty() { <span class="hobbies">{ format!("{}：{}", ctx.t(M::Hobbies), k.hobbies) }</span> }
                                    if !k.family.is_empty() { <span class="family">{ format!("{}：{}", ctx.t(M::Family), k.family) }</span> }
                                    { for k.events.iter().map(|e| html! {
                                        <span class="event">{ format!("{} {} {}", e.date, e.occasion, e.note) }</span>
                                    }) }
                                </td></tr>
                            }
                            </>
                        }
                    }) }
                </table>
                if let Some((_, draft)) = &*contact_form {
                    <div class="contact-form">
                        <input name="contact_name" placeholder={ctx.t(M::Name)} value={draft.name.clone()} onchange={set_cf(|c, v| c.name = v)} />
                        <select name="contact_role" onchange={set_cf(|c, v| c.role = ContactRole::parse(&v))}>
                            { for ContactRole::ALL.iter().map(|r| html! { <option value={r.as_str().to_string()} selected={draft.role == *r}>{ crate::i18n::label(&r) }</option> }) }
                        </select>
                        <input name="contact_position" placeholder={ctx.t(M::Position)} value={draft.position.clone()} onchange={set_cf(|c, v| c.position = v)} />
                        <input name="contact_phone" type="tel" placeholder={ctx.t(M::Phone)} value={draft.phone.clone()} onchange={set_cf(|c, v| c.phone = v)} />
                        <input name="contact_birthday" type="date" value={draft.birthday.clone()} onchange={set_cf(|c, v| c.birthday = v)} />
                        <input name="contact_hobbies" placeholder={ctx.t(M::Hobbies)} value={draft.hobbies.clone()} onchange={set_cf(|c, v| c.hobbies = v)} />
                        <input name="contact_family" placeholder={ctx.t(M::Family)} value={draft.family.clone()} onchange={set_cf(|c, v| c.family = v)} />
                        <button class="save" onclick={save_contact}>{ ctx.t(M::Save) }</button>
                        <button onclick={let f = contact_form.clone(); move |_| f.set(None)}>{ ctx.t(M::Cancel) }</button>
                    </div>
                } else if let Some((_, event)) = &*event_form {
                    <div class="event-form">
                        <h4>{ ctx.t(M::AddEvent) }</h4>
                        <input name="event_date" type="date" value={event.date.clone()} onchange={set_event(|e, v| e.date = v)} />
                        <input name="event_occasion" placeholder={ctx.t(M::Occasion)} list="family-occasions" value={event.occasion.clone()} onchange={set_event(|e, v| e.occasion = v)} />
                        <datalist id="family-occasions">
                            { for ["婚礼", "子女升学", "乔迁", "生子", "丧事", "住院"].iter().map(|o| html! { <option value={*o} /> }) }
                        </datalist>
                        <input name="event_note" placeholder={ctx.t(M::Notes)} value={event.note.clone()} onchange={set_event(|e, v| e.note = v)} />
                        <button class="save-event primary" disabled={event.date.is_empty() || event.occasion.trim().is_empty()} onclick={save_event}>{ ctx.t(M::Save) }</button>
                        <button onclick={let f = event_form.clone(); move |_| f.set(None)}>{ ctx.t(M::Cancel) }</button>
                    </div>
                } else {
                    <button class="add-contact" onclick={let f = contact_form.clone(); move |_| f.set(Some((true, Contact { id: new_id("c"), ..Default::default() })))}>{ ctx.t(M::AddContact) }</button>
                }
            </div>
    }
}
