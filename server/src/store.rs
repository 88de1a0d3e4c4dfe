//! The SQLite store: the database with its schema and migrations (`db`), and
//! samod's document storage on it (`storage`), written by one thread in
//! grouped commits.

pub mod db;
pub mod storage;
