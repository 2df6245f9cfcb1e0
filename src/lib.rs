//! auth-eid: an ID Contact authentication plugin for the Belgian eID card and Smart-ID.
//! `app::build` gives the Rocket application, for `main.rs` and for tests.

pub mod app;
pub mod attributes;
pub mod branding;
pub mod check_cert;
pub mod cli;
pub mod config;
pub mod connector;
pub mod contract;
pub mod cpu;
pub mod delivery;
pub mod demo;
pub mod demo_keys;
pub mod der;
pub mod flow;
pub mod fuzzing;
pub mod ids;
pub mod limits;
pub mod mac;
pub mod means;
pub mod phone;
pub mod pki;
pub mod setting_error;
pub mod simulate;
pub mod store;
pub mod telemetry;
pub mod token;
pub mod urls;
pub mod web;
