//! Yunting (云庭): a remote hearing server that a labour- and personnel-dispute
//! arbitration commission runs itself. The binary in `main.rs` is a thin CLI over this
//! library so that the integration tests drive exactly the code the server runs.

pub mod alloc_count;
pub mod app;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod esign;
pub mod hearing;
pub mod http;
pub mod media;
pub mod notify;
pub mod recording;
pub mod records;
pub mod server;
pub mod sfu;
pub mod store;
pub mod time;
pub mod tls;
