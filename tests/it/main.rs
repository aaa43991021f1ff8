//! Koppel's end-to-end tests, as one test binary: a module per area, sharing the harness (`common`)
//! and the fake remotes (`fakes`). One binary links once and shares one PostgreSQL template database.

// New areas are added as modules here (tests/it/<area>.rs), not as new files directly under tests/.
mod alerts;
mod auth;
mod catalog;
mod cli;
mod common;
mod daemons;
mod edge;
mod exact_online;
mod fakes;
mod files;
mod limits;
mod peer;
mod schema;
mod snelstart;
mod tenancy;
mod validation;
