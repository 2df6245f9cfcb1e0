//! `auth-eid check-cert`: validate one certificate like the means do (revocation included) and
//! print the ValidationReport. Exit 0 valid, 1 invalid certificate, 2 usage or configuration
//! error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use openssl::x509::X509;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::{self, Mode};
use crate::pki::{TrustProfileConfig, TrustStore, Verdict};

#[derive(clap::Args, Debug)]
pub struct CheckCertArgs {
    /// Configuration file with the `[trust.<profile>]` sections.
    #[arg(long)]
    pub config: PathBuf,
    /// Trust profile to validate against (e.g. beid_auth, smart_id).
    #[arg(long)]
    pub profile: String,
    /// Intermediate certificates (PEM, one or more) offered for path building.
    #[arg(long)]
    pub chain: Option<PathBuf>,
    /// Validation time (RFC 3339, e.g. 2026-01-31T12:00:00Z) [default: now]
    #[arg(long, value_parser = parse_time)]
    pub at: Option<SystemTime>,
    /// The certificate to check (PEM or DER).
    pub cert: PathBuf,
}

fn parse_time(s: &str) -> Result<SystemTime, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(SystemTime::from)
        .map_err(|_| "expected an RFC 3339 time such as 2026-01-31T12:00:00Z".to_string())
}

const USAGE: u8 = 2;

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("auth-eid check-cert: {msg}");
    ExitCode::from(USAGE)
}

/// Reads one or more certificates as DER, from PEM or a single DER file.
fn read_ders(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{} cannot be read ({})", path.display(), e.kind()))?;
    if bytes.starts_with(b"-----") || bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let certs = X509::stack_from_pem(&bytes)
            .map_err(|_| format!("{} is not a PEM certificate file", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{} contains no certificate", path.display()));
        }
        certs
            .iter()
            .map(|c| {
                c.to_der()
                    .map_err(|_| "certificate re-encoding failed".to_string())
            })
            .collect()
    } else {
        // DER is passed through untouched: a malformed one is an invalid certificate (exit 1),
        // judged by the same code the means run.
        Ok(vec![bytes])
    }
}

pub fn check_cert(args: CheckCertArgs) -> ExitCode {
    if !args.config.is_file() {
        return usage_error(format!(
            "configuration file {} not found",
            args.config.display()
        ));
    }
    let figment = config::figment_for(&args.config);
    let mode = match figment.extract_inner::<Mode>("mode") {
        Ok(m) => m,
        Err(_) => return usage_error("`mode` is missing or not \"demo\"/\"production\""),
    };
    let trust = match figment.extract_inner::<BTreeMap<String, TrustProfileConfig>>("trust") {
        Ok(t) => t,
        Err(e) => {
            // figment's own text can quote values; name the key only.
            let key = e.path.join(".");
            if key.is_empty() || key == "trust" {
                return usage_error("the configuration has no valid `trust` section");
            }
            return usage_error(format!("the `trust` section is not valid (at `{key}`)"));
        }
    };
    let Some(raw) = trust.get(&args.profile) else {
        return usage_error(format!(
            "no profile `trust.{}` in the configuration",
            args.profile
        ));
    };
    let one = BTreeMap::from([(args.profile.clone(), raw.clone())]);
    let base = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let store = match TrustStore::load(&one, &base, mode == Mode::Production) {
        Ok(s) => s,
        Err(errors) => {
            eprintln!("auth-eid check-cert: the trust configuration is not valid:");
            for e in errors {
                eprintln!("  - {e}");
            }
            return ExitCode::from(USAGE);
        }
    };
    let leaf = match read_ders(&args.cert) {
        Ok(mut v) if v.len() == 1 => v.remove(0),
        Ok(_) => return usage_error("CERT must hold exactly one certificate (use --chain)"),
        Err(e) => return usage_error(e),
    };
    let chain = match &args.chain {
        None => Vec::new(),
        Some(p) => match read_ders(p) {
            Ok(v) => v,
            Err(e) => return usage_error(e),
        },
    };
    let at = args.at.unwrap_or_else(SystemTime::now);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(_) => return usage_error("could not start the async runtime"),
    };
    let result = runtime.block_on(store.validate(&args.profile, &leaf, &chain, at));
    match result {
        Ok(v) => {
            match serde_json::to_string_pretty(&v.report) {
                Ok(json) => println!("{json}"),
                Err(_) => return usage_error("could not encode the report"),
            }
            if v.verdict == Verdict::Valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => usage_error(e),
    }
}
