//! Where the user is (`Route`) and what every screen gets from the shell
//! (`Ctx`): in their own module, so screens depend on these two types and not
//! on the shell that draws them.

use std::rc::Rc;

use yew::Callback;

use crate::i18n::{Lang, M, t};
use crate::store::Store;

/// Where the user is.
#[derive(Clone, PartialEq, Debug)]
pub enum Route {
    Customers,
    Customer(String),
    LogVisit(String),
    /// A visit log for a planned visit (customer, plan id).
    LogPlanned(String, String),
    /// A visit log of what came up at a customer event (customer, event id):
    /// of kind 客户活动, its follow-ups join 督办.
    LogEventVisit(String, String),
    Register,
    Reminders,
    FollowUps,
    /// The itinerary and the day's work log.
    Plan,
    Console,
    Reports,
    /// 待审批, for heads and the center.
    Approvals,
    /// 月末核实, for heads and the center.
    Review,
    /// 考核, for heads and the center.
    Scorecard,
    /// 客户活动, for heads and the center.
    Events,
}

impl Route {
    /// The screen's address in the URL fragment (`#/customer/<id>`): back,
    /// reload and a link return to it, offline too (a fragment never reaches
    /// the server; the service worker serves the app for any path).
    pub fn to_hash(&self) -> String {
        match self {
            Route::Customers => "/customers".into(),
            Route::Customer(id) => format!("/customer/{id}"),
            Route::LogVisit(id) => format!("/customer/{id}/visit"),
            Route::LogPlanned(id, plan) => format!("/customer/{id}/visit/{plan}"),
            Route::LogEventVisit(id, event) => format!("/customer/{id}/event/{event}"),
            Route::Register => "/register".into(),
            Route::Reminders => "/reminders".into(),
            Route::FollowUps => "/followups".into(),
            Route::Plan => "/plan".into(),
            Route::Console => "/console".into(),
            Route::Reports => "/reports".into(),
            Route::Approvals => "/approvals".into(),
            Route::Review => "/review".into(),
            Route::Scorecard => "/scorecard".into(),
            Route::Events => "/events".into(),
        }
    }

    /// The screen a fragment names (with or without its `#`); the list for
    /// anything else.
    pub fn from_hash(hash: &str) -> Route {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let id_ok = |id: &str| id.chars().all(|c| c.is_ascii_alphanumeric());
        match parts.as_slice() {
            ["customer", id] if id_ok(id) => Route::Customer(id.to_string()),
            ["customer", id, "visit"] if id_ok(id) => Route::LogVisit(id.to_string()),
            ["customer", id, "visit", plan]
                if id_ok(id) && plan.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
            {
                Route::LogPlanned(id.to_string(), plan.to_string())
            }
            ["customer", id, "event", event]
                if id_ok(id) && event.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
            {
                Route::LogEventVisit(id.to_string(), event.to_string())
            }
            ["register"] => Route::Register,
            ["reminders"] => Route::Reminders,
            ["followups"] => Route::FollowUps,
            ["plan"] => Route::Plan,
            ["console"] => Route::Console,
            ["reports"] => Route::Reports,
            ["approvals"] => Route::Approvals,
            ["review"] => Route::Review,
            ["scorecard"] => Route::Scorecard,
            ["events"] => Route::Events,
            _ => Route::Customers,
        }
    }

    /// A form: leaving it replaces its history entry (back does not return
    /// to a form already saved).
    pub fn is_form(&self) -> bool {
        matches!(
            self,
            Route::LogVisit(_) | Route::LogPlanned(..) | Route::LogEventVisit(..) | Route::Register
        )
    }
}

/// What every screen gets from the shell.
#[derive(Clone)]
pub struct Ctx {
    pub store: Store,
    /// Bumped whenever the local repo changed, so screens redraw.
    pub tick: u64,
    pub lang: Lang,
    pub go: Callback<Route>,
}

impl PartialEq for Ctx {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.store, &other.store) && self.tick == other.tick && self.lang == other.lang
    }
}

impl Ctx {
    pub fn t(&self, m: M) -> &'static str {
        t(self.lang, m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_screen_has_an_address_that_leads_back_to_it() {
        for r in [
            Route::Customers,
            Route::Customer("2Wwkatkkzab9CZDTmLtfB7MKoYGY".into()),
            Route::LogVisit("2Wwkatkkzab9CZDTmLtfB7MKoYGY".into()),
            Route::LogPlanned("2Wwkatkkzab9CZDTmLtfB7MKoYGY".into(), "p-0a1b".into()),
            Route::LogEventVisit("2Wwkatkkzab9CZDTmLtfB7MKoYGY".into(), "e-0a1b".into()),
            Route::Plan,
            Route::Register,
            Route::Reminders,
            Route::FollowUps,
            Route::Console,
            Route::Reports,
            Route::Approvals,
            Route::Review,
            Route::Scorecard,
            Route::Events,
        ] {
            assert_eq!(Route::from_hash(&format!("#{}", r.to_hash())), r);
        }
        for odd in [
            "",
            "#",
            "#/nothing",
            "#/customer/",
            "#/customer/a b",
            "#/customer/<x>/visit",
        ] {
            assert_eq!(Route::from_hash(odd), Route::Customers, "{odd}");
        }
    }
}
