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
    Register,
    Reminders,
    Console,
    Reports,
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
