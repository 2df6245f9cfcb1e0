//! The release binary as operators run it (`auth-eid serve --config`), on a free loopback port,
//! and what `/proc` says about it: CPU time and resident memory.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::keys::KeySet;
pub use crate::redis_server::free_port;

pub const BINARY: &str = env!("CARGO_BIN_EXE_auth-eid");

/// Budgets the load scenarios do not reach: they drive thousands of flows from one loopback
/// address, which is what the production budgets exist to stop. The cost of the check itself
/// is still paid on every request.
const LOAD_LIMITS: &str = r#"
[limits.smart_id_start]
count = 10000000
[limits.smart_id_start_ip]
count = 10000000
[limits.card_submit]
count = 10000000
[limits.card_submit_ip]
count = 10000000
[limits.api_session_create]
count = 10000000
[limits.api_session_create_ip]
count = 10000000
"#;

/// The configuration: demo mode, the test means, results to `receiver_port`'s `/auth_result/`,
/// `store` as the `[store]` table's body, `extra` appended.
pub fn config(port: u16, keys: &KeySet, receiver_port: u16, store: &str, extra: &str) -> String {
    format!(
        r#"
mode = "demo"
public_url = "http://127.0.0.1:{port}"
internal_url = "http://127.0.0.1:{port}"
[server]
address = "127.0.0.1"
port = {port}
[store]
{store}
[keys.signing]
type = "{kind}"
key = """{sp}"""
[keys.encryption]
type = "{kind}"
key = """{rp}"""
[allow]
continuation = ["http://127.0.0.1:{port}/done/"]
attr_url = ["http://127.0.0.1:{receiver_port}/auth_result/"]
[flow]
ttl_seconds = 3600
max_live_flows = 10000000
[log]
level = "info"
[means.test]
enabled = true
[means.test.attributes]
email = "an@example.org"
name = "An Peeters"
{limits}
{extra}
"#,
        limits = LOAD_LIMITS,
        kind = keys.kind,
        sp = keys.signing_private,
        rp = keys.receiver_public,
    )
}

/// What `/proc/<pid>` says at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// User + system CPU seconds since the process started.
    pub cpu_s: f64,
    pub rss_kb: u64,
    /// Peak resident set (VmHWM).
    pub peak_kb: u64,
}

pub fn usage_of(pid: u32) -> Usage {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Usage {
        cpu_s: (ticks(11) + ticks(12)) / clock_ticks(),
        rss_kb: kb("VmRSS:"),
        peak_kb: kb("VmHWM:"),
    }
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A child process killed (and reaped) on drop.
pub struct Process {
    child: Child,
    pub addr: SocketAddr,
}

impl Process {
    /// `auth-eid <args>` with its output in `log`, then waits until `addr` accepts
    /// connections. (Writing the logs is part of the cost, as in production.)
    pub fn start(args: &[&str], addr: SocketAddr, log: &Path) -> Process {
        // Profiling hook: BENCH_PLUGIN_WRAP="valgrind --tool=massif" runs the plugin (`serve`)
        // under that command (docs/performance.md, "Profiling").
        let wrap: Vec<String> = match (args.first(), std::env::var("BENCH_PLUGIN_WRAP")) {
            (Some(&"serve"), Ok(w)) => w.split_whitespace().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        match wrap.split_first() {
            Some((program, rest)) => {
                let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
                let all = [&rest[..], &[BINARY], args].concat();
                Process::spawn(program, &all, addr, log)
            }
            None => Process::spawn(BINARY, args, addr, log),
        }
    }

    /// `program <args>` with its output in `log`, once `addr` accepts connections.
    pub fn spawn(program: &str, args: &[&str], addr: SocketAddr, log: &Path) -> Process {
        let out = std::fs::File::create(log).expect("a log file");
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("a log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{program} does not start: {e}"));
        let mut p = Process { child, addr };
        // The simulator's first start makes its test PKI, 6144-bit key included: minutes.
        let deadline = Instant::now() + Duration::from_secs(600);
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(status)) = p.child.try_wait() {
                let err = std::fs::read_to_string(log).unwrap_or_default();
                panic!("{program} {args:?} exited ({status}): {err}");
            }
            assert!(
                Instant::now() < deadline,
                "{program} {args:?} never listened"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    /// The plugin with this configuration text, written to `dir`.
    pub fn plugin(dir: &Path, port: u16, text: &str) -> Process {
        let file = dir.join(format!("config-{port}.toml"));
        std::fs::write(&file, text).expect("config written");
        let path = file.display().to_string();
        let log = dir.join(format!("log-{port}.txt"));
        Process::start(
            &["serve", "--config", &path],
            ([127, 0, 0, 1], port).into(),
            &log,
        )
    }

    pub fn usage(&self) -> Usage {
        usage_of(self.child.id())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    /// SIGTERM, as an operator stops it (and a profiler wrapping it writes its output), then
    /// SIGKILL if it is still there after 20 s.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
