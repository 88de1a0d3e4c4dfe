//! The store: one SQL connection over SQLite or PostgreSQL (`sql`), reads over a
//! set of customers by query or scan (`by_customer`), the schema
//! and migrations (`db`), a SQLite deployment copied into PostgreSQL (`migrate`), and
//! samod's document storage on it (`storage`), written by one thread in
//! grouped commits.

pub mod by_customer;
pub mod db;
pub mod migrate;
pub mod sql;
pub mod storage;
