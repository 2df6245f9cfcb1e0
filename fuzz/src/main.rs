//! One AFL++ binary for every target: `fuzz-target NAME` runs the entry point
//! `auth_eid::fuzzing::target(NAME)` in persistent mode. A panic aborts, which AFL++ records as
//! a crash.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(run) = auth_eid::fuzzing::target(&name) else {
        let names: Vec<&str> = auth_eid::fuzzing::TARGETS.iter().map(|t| t.name).collect();
        eprintln!("usage: fuzz-target TARGET (one of: {})", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| run(data));
}
