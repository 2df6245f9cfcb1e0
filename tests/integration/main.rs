// One integration-test binary: real HTTP on loopback against the real server, real Redis.
mod harness;
mod support;

mod card;
mod contract;
mod delivery;
mod flow_pages;
mod session_updates;
mod store_conformance;
