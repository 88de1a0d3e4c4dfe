//! The profile card: the customer's fields (each editable, conflicts shown
//! with a choice of values), level, grade and managed-as tier.

use fieldbook_shared::customer::{self, Competitor};
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;
use crate::screens::value_of;
use crate::widgets::yuan;

use super::CardProps;

#[function_component(ProfileCard)]
pub fn profile_card(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let editing = use_state(|| None::<(&'static str, String)>);
    let competitor = use_state(|| None::<Competitor>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return Html::default();
    };
    let c = &row.customer;
    let approved = ctx.store.borrow().approved(&p.doc_id);
    let managed = ctx.store.borrow().managed(&p.doc_id);
    let number = ctx.store.borrow().number(&p.doc_id);
    let save_field = {
        let store = ctx.store.clone();
        let doc = p.doc_id.clone();
        let editing = editing.clone();
        Callback::from(move |(field, value): (&'static str, String)| {
            let (store, doc, editing) = (store.clone(), doc.clone(), editing.clone());
            super::save(
                store,
                doc,
                move |d| {
                    d.transact(|tx| customer::set_field(tx, field, &value))
                        .map_err(|e| e.error.to_string())
                },
                move || editing.set(None),
            );
        })
    };
    let save_competitor = super::save_form(&ctx, &p.doc_id, &competitor, |tx, k| {
        customer::add_competitor(tx, k)
    });
    let set_k = |f: fn(&mut Competitor, String)| {
        let form = competitor.clone();
        Callback::from(move |e: Event| {
            if let Some(mut k) = (*form).clone() {
                f(&mut k, value_of(&e));
                form.set(Some(k));
            }
        })
    };
    let field_row = |label: M, field: &'static str, value: &str| {
        let conflict = row.conflicts.iter().find(|(f, _)| *f == field);
        let is_editing = editing.as_ref().filter(|(f, _)| *f == field).cloned();
        html! {
            <div class="field" data-field={field}>
                <span class="label">{ ctx.t(label) }</span>
                if let Some((_, draft)) = is_editing {
                    <input name={field} value={draft.clone()}
                        onchange={let e2 = editing.clone(); Callback::from(move |e: Event| e2.set(Some((field, value_of(&e)))))} />
                    <button class="save" onclick={let s = save_field.clone(); let e2 = editing.clone(); move |_| if let Some(v) = (*e2).clone() { s.emit(v) }}>{ ctx.t(M::Save) }</button>
                    <button onclick={let e2 = editing.clone(); move |_| e2.set(None)}>{ ctx.t(M::Cancel) }</button>
                } else {
                    <span class="value">{ value }</span>
                    <button class="edit" onclick={let e2 = editing.clone(); let v = value.to_string(); move |_| e2.set(Some((field, v.clone())))}>{ ctx.t(M::Edit) }</button>
                }
                if let Some((_, values)) = conflict {
                    <div class="conflict" role="alert">
                        <span>{ ctx.t(M::Conflict) }</span>
                        { for values.iter().map(|v| {
                            let s = save_field.clone();
                            let v2 = v.clone();
                            html! { <button class="choose" data-value={v.clone()} onclick={move |_| s.emit((field, v2.clone()))}>{ format!("{} 「{}」", ctx.t(M::Keep), v) }</button> }
                        }) }
                    </div>
                }
            </div>
        }
    };

    html! {
            <div class="card" id="card-profile">
                <h3>{ ctx.t(M::Profile) }</h3>
                <div class="field" data-field="customer_no"><span class="label">{ ctx.t(M::CustomerNo) }</span>
                    <span class="value">{ number.unwrap_or_else(|| ctx.t(M::NoNumberYet).to_string()) }</span></div>
                { field_row(M::CustomerName, "name", &c.name) }
                { field_row(M::CreditCode, "credit_code", &c.credit_code) }
                { field_row(M::Address, "address", &c.address) }
                if !c.address.trim().is_empty() {
                    <div class="field map-link"><span class="label"></span>
                        <a class="map" target="_blank" rel="noopener"
                            href={format!("https://uri.amap.com/search?keyword={}", String::from(js_sys::encode_uri_component(c.address.trim())))}>{ ctx.t(M::Navigate) }</a>
                    </div>
                }
                { field_row(M::Industry, "industry", &c.industry) }
                <div class="field"><span class="label">{ ctx.t(M::Nature) }</span><span class="value">{ crate::i18n::label(&c.nature) }</span></div>
                <div class="field"><span class="label">{ ctx.t(M::Lines) }</span><span class="value">{ c.lines.iter().map(|l| crate::i18n::label(&l)).collect::<Vec<_>>().join("、") }</span></div>
                <div class="field"><span class="label">{ ctx.t(M::AnnualRevenue) }</span><span class="value">{ yuan(row.annual_fen) }</span></div>
                <div class="field" data-field="level"><span class="label">{ ctx.t(M::Level) }</span><span class="value">{ format!("{}（{}）", crate::i18n::label(&row.level), ctx.t(M::Proposed)) }
                    if let Some((level, _)) = &approved { { format!(" · {}：{}", ctx.t(M::Approved), crate::i18n::label(&level)) } }</span></div>
                <div class="field" data-field="grade"><span class="label">{ ctx.t(M::Grade) }</span><span class="value">{ format!("{}（{}）", crate::i18n::label(&row.grade), ctx.t(M::Proposed)) }
                    if let Some((_, grade)) = &approved { { format!(" · {}：{}", ctx.t(M::Approved), crate::i18n::label(&grade)) } }</span></div>
                if let Some(m) = &managed {
                    <div class="field" data-field="managed"><span class="label">{ ctx.t(M::ManagedAs) }</span><span class="value">{ format!("{}（{}）", crate::i18n::label(&m.grade), crate::i18n::label(&m.why())) }</span></div>
                }
                // The customer file 客户档案.
                { field_row(M::CooperationYears, "cooperation_years", &c.cooperation_years) }
                { field_row(M::CreditRecord, "credit_record", &c.credit_record) }
                { field_row(M::BusinessSituation, "business_situation", &c.business_situation) }
                { field_row(M::GrowthPotential, "growth_potential", &c.growth_potential) }
                { field_row(M::Preferences, "preferences", &c.preferences) }
                <div class="field competitors" data-field="competitors">
                    <span class="label">{ ctx.t(M::Competitors) }</span>
                    <ul class="value competitor-list">{ for c.competitors.iter().map(|k| html! {
                        <li class="competitor">{ format!("{} · {} · {} · {}", k.name, k.business, k.price, k.share) }</li>
                    }) }</ul>
                </div>
                if let Some(k) = &*competitor {
                    <div class="competitor-form">
                        <input name="competitor_name" placeholder={ctx.t(M::CompetitorName)} value={k.name.clone()} onchange={set_k(|k, v| k.name = v)} />
                        <input name="competitor_business" placeholder={ctx.t(M::CompetitorBusiness)} value={k.business.clone()} onchange={set_k(|k, v| k.business = v)} />
                        <input name="competitor_price" placeholder={ctx.t(M::CompetitorPrice)} value={k.price.clone()} onchange={set_k(|k, v| k.price = v)} />
                        <input name="competitor_share" placeholder={ctx.t(M::CompetitorShare)} value={k.share.clone()} onchange={set_k(|k, v| k.share = v)} />
                        <button class="primary save-competitor" disabled={k.name.trim().is_empty()} onclick={save_competitor}>{ ctx.t(M::Save) }</button>
                        <button onclick={let f = competitor.clone(); move |_| f.set(None)}>{ ctx.t(M::Cancel) }</button>
                    </div>
                } else {
                    <button class="add-competitor" onclick={let f = competitor.clone(); move |_| f.set(Some(Competitor { id: crate::screens::new_id("r"), ..Default::default() }))}>{ ctx.t(M::AddCompetitor) }</button>
                }
            </div>
    }
}
