// One integration-test binary: real HTTP on loopback against the real server, real Redis.
mod harness;
mod support;

mod browser_demo;
mod card;
mod card_browser;
mod card_flow;
mod contract;
mod delivery;
mod fast_start;
mod flow_pages;
mod fuzz_corpus;
mod hardening;
mod idcontact_doc;
mod limits;
mod logs;
mod multi_instance;
mod multi_instance_process;
mod multi_instance_tls;
mod operator_logs;
mod pages_browser;
mod pki;
mod rp_api;
mod session_updates;
mod smart_id;
pub mod smart_id_flow;
mod store_conformance;
mod url_spellings;
