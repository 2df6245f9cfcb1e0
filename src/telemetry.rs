//! Log setup: one subscriber for our `tracing` events and Rocket's `log` records.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG` overrides the configured level. Rocket's own
/// per-request chatter is kept at warn: our request fairing logs one line per request.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| {
            EnvFilter::try_new(format!(
                "{level},rocket=warn,rocket::launch=error,_=warn,hyper=warn,reqwest=warn"
            ))
        })
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: files and collectors get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A second init (tests build several apps in one process) keeps the first subscriber.
    let _ = result;
}
