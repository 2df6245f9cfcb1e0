// One integration-test binary: real HTTP on loopback against the real server, real Redis.
mod harness;
mod support;

mod contract;
mod delivery;
mod flow_pages;
mod multi_instance;
mod multi_instance_process;
mod multi_instance_tls;
mod session_updates;
mod store_conformance;
