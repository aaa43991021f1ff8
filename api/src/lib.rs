//! Koppel's API: the GraphQL schema by domain, the axum server, auth and configuration.

pub mod accounts;
pub mod alerts;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod customers;
pub mod db;
pub mod demo;
pub mod error;
pub mod extra_fields;
pub mod graphql;
pub mod http;
pub mod integrations;
pub mod invoices;
pub mod organisations;
pub mod provider;
pub mod rate_limit;
pub mod runs;
pub mod sales;
pub mod schema;
pub mod secrets;
pub mod server;
pub mod session;
pub mod state;
pub mod statuses;
pub mod telemetry;
pub mod users;
pub mod validate;
pub mod visibility;

pub use config::Config;
pub use server::{Server, start};
