//! The satisfaction survey card 客户满意度调查: the surveys taken, newest first,
//! with their average, and a form — who answered, a score from 1 to 5 per
//! question of the rules, comments — saved offline like any edit. The card
//! says when the next survey is due (the reminders list those due).

use fieldbook_shared::surveys::{self, Answer, Survey};
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;
use crate::screens::{new_id, value_of};
use crate::store::today;

use super::CardProps;

#[function_component(SurveyCard)]
pub fn survey_card(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let form = use_state(|| None::<Survey>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return Html::default();
    };
    let c = &row.customer;
    let rules = ctx.store.borrow().rules().surveys.clone();
    let due = surveys::due(c, &today(), &rules);
    let me = ctx.store.borrow().session.user.username.clone();
    let start = {
        let (form, questions) = (form.clone(), rules.questions.clone());
        Callback::from(move |_| {
            form.set(Some(Survey {
                id: new_id("s"),
                date: today(),
                by: me.clone(),
                answers: questions
                    .iter()
                    .map(|q| Answer {
                        question: q.clone(),
                        score: 0,
                    })
                    .collect(),
                ..Survey::default()
            }))
        })
    };
    let complete = form
        .as_ref()
        .is_some_and(|s| s.answers.iter().all(|a| (1..=5).contains(&a.score)));
    let save = super::save_form(&ctx, &p.doc_id, &form, |tx, s: &Survey| {
        surveys::record(tx, s)
    });
    let mut taken: Vec<&Survey> = c.surveys.iter().collect();
    taken.sort_by(|a, b| b.date.cmp(&a.date));
    html! {
        <div class="card surveys" id="card-surveys">
            <h3>{ ctx.t(M::Surveys) }</h3>
            if due { <p class="survey-due badge due">{ ctx.t(M::SurveyDue) }</p> }
            <ul class="survey-list">
                { for taken.iter().map(|s| html! {
                    <li class="survey" data-survey={s.id.clone()}>
                        <strong>{ format!("{} · {:.1}", s.date, s.average_x10() as f64 / 10.0) }</strong>
                        <span>{ format!(" · {} · {}", s.respondent, s.by) }</span>
                        <div class="answers">{ s.answers.iter().map(|a| format!("{} {}", a.question, a.score)).collect::<Vec<_>>().join("　") }</div>
                        if !s.comment.is_empty() { <div class="comment">{ &s.comment }</div> }
                    </li>
                }) }
            </ul>
            if let Some(s) = &*form {
                <div class="survey-form">
                    <label>{ ctx.t(M::Respondent) }
                        <input name="respondent" list="survey-contacts" value={s.respondent.clone()}
                            onchange={let f = form.clone(); Callback::from(move |e: Event| if let Some(mut s) = (*f).clone() { s.respondent = value_of(&e); f.set(Some(s)) })} />
                        <datalist id="survey-contacts">{ for c.contacts.iter().map(|k| html! { <option value={k.name.clone()} /> }) }</datalist>
                    </label>
                    { for s.answers.iter().enumerate().map(|(i, a)| html! {
                        <label class="score">{ &a.question }
                            <select name={format!("score-{i}")} onchange={let f = form.clone(); Callback::from(move |e: Event| if let Some(mut s) = (*f).clone() {
                                s.answers[i].score = value_of(&e).parse().unwrap_or(0);
                                f.set(Some(s));
                            })}>
                                <option value="0" selected={a.score == 0}>{ "—" }</option>
                                { for (1..=5).rev().map(|n| html! { <option value={n.to_string()} selected={a.score == n}>{ format!("{n} · {}", score_word(&ctx, n)) }</option> }) }
                            </select>
                        </label>
                    }) }
                    <label>{ ctx.t(M::Comments) }
                        <textarea name="survey-comment" value={s.comment.clone()}
                            oninput={let f = form.clone(); Callback::from(move |e: InputEvent| if let Some(mut s) = (*f).clone() { s.comment = value_of(&e.into()); f.set(Some(s)) })} />
                    </label>
                    <button class="primary save-survey" disabled={!complete} onclick={save}>{ ctx.t(M::Save) }</button>
                    <button onclick={let f = form.clone(); move |_| f.set(None)}>{ ctx.t(M::Cancel) }</button>
                </div>
            } else {
                <button class="start-survey" onclick={start}>{ ctx.t(M::TakeSurvey) }</button>
            }
        </div>
    }
}

fn score_word(ctx: &Ctx, n: i64) -> &'static str {
    ctx.t(match n {
        5 => M::VerySatisfied,
        4 => M::Satisfied,
        3 => M::Neutral,
        2 => M::Dissatisfied,
        _ => M::VeryDissatisfied,
    })
}
