//! Fieldbook's tablet app: the field manager's whole working day, offline first.

mod app;
mod attachments;
mod blobs;
mod ctx;
mod drafts;
mod error;
mod http;
mod i18n;
mod idb;
mod keyring;
mod listing;
mod model;
mod outbox;
mod screens;
mod session;
mod store;
mod tabs;
mod widgets;
mod wipe;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
