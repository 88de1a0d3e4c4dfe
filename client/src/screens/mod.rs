//! One component per screen.

pub mod approvals;
pub mod console;
pub mod customer;
pub mod customers;
pub mod events;
pub mod followups;
pub mod handover;
pub mod history;
pub mod login;
pub mod plan;
pub mod register;
pub mod reminders;
pub mod reports;
pub mod review;
pub mod scorecard;
pub mod transfer;
pub mod unlock;
pub mod visit_form;

use wasm_bindgen::JsCast;

/// The value of the input/select/textarea an event came from.
pub fn value_of(e: &yew::Event) -> String {
    let Some(target) = e.target() else {
        return String::new();
    };
    if let Some(i) = target.dyn_ref::<web_sys::HtmlInputElement>() {
        return i.value();
    }
    if let Some(s) = target.dyn_ref::<web_sys::HtmlSelectElement>() {
        return s.value();
    }
    if let Some(t) = target.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        return t.value();
    }
    String::new()
}

/// A random id for a new list item (visit, contact, follow-up).
pub fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    format!(
        "{prefix}-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}
