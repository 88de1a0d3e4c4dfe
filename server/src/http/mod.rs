//! The REST surface, one module per resource (the table of routes and the
//! OpenAPI document are built in `openapi.rs`).

pub mod rules;
