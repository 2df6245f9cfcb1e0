//! The plugin as a real process (`auth-eid serve --config <file>`), for what only a process
//! can show: SIGKILL in the middle of work, SIGTERM and the exit status.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::app::{config_text, Client, Options};
use super::free_port;

pub struct PluginProcess {
    pub client: Client,
    child: Child,
    config: PathBuf,
    /// Where a logged process writes stderr (a file: a pipe nobody reads would fill).
    log: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stderr {
    Null,
    File,
    Pipe,
}

impl std::ops::Deref for PluginProcess {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl PluginProcess {
    /// Starts `auth-eid serve` with the harness configuration on a free port and waits until
    /// it answers `/health/live`.
    pub async fn start(options: &Options, redis_url: Option<&str>) -> PluginProcess {
        Self::start_with_env(options, redis_url, &[]).await
    }

    /// As `start`, with extra environment variables for the process.
    pub async fn start_with_env(
        options: &Options,
        redis_url: Option<&str>,
        env: &[(&str, &str)],
    ) -> PluginProcess {
        Self::spawn(options, redis_url, env, Stderr::Null).await
    }

    /// As `start`, logging at the configured level (info) to a file that [`Self::logs`] reads.
    pub async fn start_logged(options: &Options) -> PluginProcess {
        Self::start_logged_with_env(options, &[]).await
    }

    /// As `start_logged`, with extra environment variables for the process.
    pub async fn start_logged_with_env(options: &Options, env: &[(&str, &str)]) -> PluginProcess {
        Self::spawn(options, None, env, Stderr::File).await
    }

    /// As `start_with_env`, with stderr a pipe whose reading end the caller holds.
    pub async fn start_piped(options: &Options, env: &[(&str, &str)]) -> PluginProcess {
        Self::spawn(options, None, env, Stderr::Pipe).await
    }

    async fn spawn(
        options: &Options,
        redis_url: Option<&str>,
        env: &[(&str, &str)],
        stderr: Stderr,
    ) -> PluginProcess {
        let port = free_port();
        let config =
            std::env::temp_dir().join(format!("auth-eid-test-{}-{port}.toml", std::process::id()));
        std::fs::write(&config, config_text(port, options, redis_url)).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_auth-eid"));
        cmd.arg("serve")
            .arg("--config")
            .arg(&config)
            .env_remove("RUST_LOG");
        let log = (stderr == Stderr::File).then(|| config.with_extension("log"));
        match (&log, stderr) {
            (Some(path), _) => {
                cmd.stderr(std::fs::File::create(path).expect("the log file opens"));
            }
            (None, Stderr::Pipe) => {
                cmd.stderr(Stdio::piped());
            }
            (None, _) => {
                cmd.env("AUTH_EID_LOG__LEVEL", "warn").stderr(Stdio::null());
            }
        }
        let child = cmd
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("the auth-eid binary runs");
        let process = PluginProcess {
            client: Client {
                base: format!("http://127.0.0.1:{port}"),
                keys: options.keys,
            },
            child,
            config,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if reqwest::get(format!("{}/health/live", process.base))
                .await
                .is_ok()
            {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("auth-eid serve did not start");
    }

    /// Stops the process and gives everything it logged (started with [`Self::start_logged`]).
    pub fn logs(&mut self) -> String {
        self.kill();
        self.log.as_ref().map_or_else(String::new, |path| {
            String::from_utf8_lossy(&std::fs::read(path).expect("the logs read")).into_owned()
        })
    }

    /// What the running process has logged so far (started with [`Self::start_logged`]).
    pub fn logs_so_far(&self) -> String {
        let path = self.log.as_ref().expect("started logged");
        String::from_utf8_lossy(&std::fs::read(path).expect("the logs read")).into_owned()
    }

    /// What the running process has logged so far, in bytes.
    pub fn log_size(&self) -> u64 {
        let path = self.log.as_ref().expect("started logged");
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    /// The reading end of stderr (started with [`Self::start_piped`]).
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    /// SIGKILL: no shutdown code runs, leases stay where they are.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as an orchestrator sends it.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(status.success());
    }

    /// The exit status, if the process ends within `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.config);
        if let Some(log) = &self.log {
            let _ = std::fs::remove_file(log);
        }
    }
}
