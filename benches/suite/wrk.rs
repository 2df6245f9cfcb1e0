//! `wrk` (Debian's package) as the load for scenario 1: one thread, kept-alive HTTP/1.1
//! connections, one POST body. The issue's own figures were taken with it, and it spends less
//! of the machine's two cores per request than the suite's hyper client, so the servers, not
//! the load, set the rates being compared.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::plugin::usage_of;

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct WrkRun {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Cores the server kept busy meanwhile (from `/proc`, over wrk's whole run).
    pub cores: f64,
}

/// `conns` connections POSTing `body` as JSON to `path` for `d` (whole seconds, at least one),
/// with the server's CPU read from process `pid`. Panics if a request failed or was not
/// answered 2xx: a broken scenario must not print figures.
pub fn post_json(
    dir: &Path,
    addr: SocketAddr,
    path: &str,
    body: &str,
    conns: usize,
    d: Duration,
    pid: u32,
) -> WrkRun {
    post_json_with(dir, addr, (path, &[]), body, conns, d, pid)
}

/// [`post_json`] with more request headers (`target` is the path and those headers).
pub fn post_json_with(
    dir: &Path,
    addr: SocketAddr,
    target: (&str, &[(&str, &str)]),
    body: &str,
    conns: usize,
    d: Duration,
    pid: u32,
) -> WrkRun {
    let (path, headers) = target;
    let script = dir.join(format!("wrk-{}.lua", addr.port()));
    // A Lua long string needs no escaping; the body holds no "]==]".
    let mut lua = format!(
        "wrk.method = \"POST\"\nwrk.body = [==[{body}]==]\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n"
    );
    for (name, value) in headers {
        lua.push_str(&format!("wrk.headers[\"{name}\"] = [==[{value}]==]\n"));
    }
    std::fs::write(&script, lua).expect("the wrk script");
    let secs = d.as_secs().max(1);
    let before = usage_of(pid);
    let began = Instant::now();
    let out = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            "--latency",
        ])
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{addr}{path}"))
        .output()
        .expect("wrk runs (scripts/bench installs it)");
    let wall = began.elapsed().as_secs_f64();
    let cores = (usage_of(pid).cpu_s - before.cpu_s) / wall;
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text, cores).unwrap_or_else(|why| panic!("wrk {path}: {why}:\n{text}"))
}

fn parse(text: &str, cores: f64) -> Result<WrkRun, String> {
    if let Some(bad) = text
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses"))
    {
        return Err(bad.trim().to_string());
    }
    if let Some(errors) = text.lines().find(|l| l.contains("Socket errors")) {
        return Err(errors.trim().to_string());
    }
    let value = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(str::trim)
            .ok_or(format!("no `{prefix}` line"))
    };
    let per_second = value("Requests/sec:")?
        .parse::<f64>()
        .map_err(|e| e.to_string())?;
    Ok(WrkRun {
        per_second,
        p50_ms: millis(value("50%")?)?,
        p99_ms: millis(value("99%")?)?,
        cores,
    })
}

/// wrk's `812.00us`, `1.59ms`, `2.01s` in milliseconds.
fn millis(v: &str) -> Result<f64, String> {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().map_err(|_| format!("latency `{v}`"))?;
    match unit {
        "us" => Ok(n / 1000.0),
        "ms" => Ok(n),
        "s" => Ok(n * 1000.0),
        "m" => Ok(n * 60_000.0),
        _ => Err(format!("latency unit `{v}`")),
    }
}
