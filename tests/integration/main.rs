// One integration-test binary: real HTTP on loopback against the real server.
mod harness;

mod contract;
mod delivery;
mod flow_pages;
mod session_updates;
