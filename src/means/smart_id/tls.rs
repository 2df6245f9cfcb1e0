//! TLS to the RP API with public-key pinning, on OpenSSL (already linked; one TLS stack).
//!
//! Why not reqwest: its native-tls backend has no hook into certificate verification, so a pin
//! could only be checked after a request was already sent, and that request carries the
//! person's identity and the hash (threat T30). Here an OpenSSL verify callback rejects the
//! leaf during the handshake unless its SubjectPublicKeyInfo hash is pinned, on top of the
//! normal chain and host-name verification; no request byte leaves before that.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use openssl::asn1::Asn1Time;
use openssl::nid::Nid;
use openssl::ssl::{SslConnector, SslMethod, SslMode, SslOptions, SslVerifyMode, SslVersion};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509Ref, X509VerifyResult, X509};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use super::client::{ClientBuildError, SmartIdError};

/// SHA-256 of a DER SubjectPublicKeyInfo (the HPKP "pin-sha256" form).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Pin(pub [u8; 32]);

impl Pin {
    /// `sha256/<base64>` or bare `<base64>` of 32 bytes.
    pub fn parse(raw: &str) -> Result<Self, ClientBuildError> {
        let b64 = raw.trim().strip_prefix("sha256/").unwrap_or(raw.trim());
        let bytes = B64
            .decode(b64)
            .map_err(|_| ClientBuildError::Pin("not Base64".into()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ClientBuildError::Pin("not 32 bytes (SHA-256)".into()))?;
        Ok(Pin(arr))
    }

    /// The pin of a certificate's public key.
    pub fn of_certificate(cert: &X509Ref) -> Result<Self, openssl::error::ErrorStack> {
        let spki = cert.public_key()?.public_key_to_der()?;
        Ok(Pin(openssl::sha::sha256(&spki)))
    }

    /// The pins of every certificate in a PEM file (pinning a certificate pins its key).
    pub fn of_pem(pem: &[u8]) -> Result<Vec<Self>, ClientBuildError> {
        let certs =
            X509::stack_from_pem(pem).map_err(|e| ClientBuildError::Pin(format!("PEM: {e}")))?;
        if certs.is_empty() {
            return Err(ClientBuildError::Pin("no certificate in PEM".into()));
        }
        certs
            .iter()
            .map(|c| Pin::of_certificate(c).map_err(|e| ClientBuildError::Pin(e.to_string())))
            .collect()
    }
}

/// A certificate whose key is pinned, as read from `tls_pin_certificates`: kept so that the
/// operator is warned before SK's RP API stops presenting it (SK renews about every October).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedCertificate {
    /// The configured file it came from.
    pub source: String,
    /// Subject CN (a host name such as `rp-api.smart-id.com`), or `?`.
    pub subject: String,
    pub not_after: SystemTime,
}

/// Warn this long before a pinned certificate expires.
pub const PIN_EXPIRY_NOTICE: Duration = Duration::from_secs(30 * 24 * 3600);

impl PinnedCertificate {
    /// The pins of every certificate in a PEM file, with what each certificate says of itself.
    pub fn read_pem(pem: &[u8], source: &str) -> Result<Vec<(Pin, Self)>, ClientBuildError> {
        let certs =
            X509::stack_from_pem(pem).map_err(|e| ClientBuildError::Pin(format!("PEM: {e}")))?;
        if certs.is_empty() {
            return Err(ClientBuildError::Pin("no certificate in PEM".into()));
        }
        let bad = |e: openssl::error::ErrorStack| ClientBuildError::Pin(e.to_string());
        certs
            .iter()
            .map(|c| {
                let subject = c
                    .subject_name()
                    .entries_by_nid(Nid::COMMONNAME)
                    .next()
                    .and_then(|e| e.data().to_string().ok())
                    .unwrap_or_else(|| "?".into());
                let info = PinnedCertificate {
                    source: source.to_string(),
                    subject,
                    not_after: to_system_time(c.not_after()).map_err(bad)?,
                };
                Ok((Pin::of_certificate(c).map_err(bad)?, info))
            })
            .collect()
    }

    /// A warning for an operator when this certificate has expired or expires within
    /// [`PIN_EXPIRY_NOTICE`] of `now`; `None` while it is good for longer.
    pub fn expiry_warning(&self, now: SystemTime) -> Option<String> {
        let date = day_of(self.not_after);
        let (source, subject) = (&self.source, &self.subject);
        match self.not_after.duration_since(now) {
            Err(_) => Some(format!(
                "pinned TLS certificate {subject} ({source}) expired on {date}: SK's RP API no \
                 longer presents it; pin SK's current certificate (docs/smart-id.md, TLS pins)"
            )),
            Ok(left) if left <= PIN_EXPIRY_NOTICE => Some(format!(
                "pinned TLS certificate {subject} ({source}) expires on {date}, in {} days: pin \
                 SK's next certificate beside it before then (docs/smart-id.md, TLS pins)",
                left.as_secs() / 86_400
            )),
            Ok(_) => None,
        }
    }
}

fn to_system_time(
    t: &openssl::asn1::Asn1TimeRef,
) -> Result<SystemTime, openssl::error::ErrorStack> {
    let diff = Asn1Time::from_unix(0)?.diff(t)?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    Ok(if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        SystemTime::UNIX_EPOCH
    })
}

/// `YYYY-MM-DD` (UTC) of a time.
fn day_of(t: SystemTime) -> String {
    let odt = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}",
        odt.year(),
        u8::from(odt.month()),
        odt.day()
    )
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256/{}", B64.encode(self.0))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What the connection to the RP API trusts.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// Allowed server keys; at least one. Pin the current and the next key (SK rotates yearly).
    pub pins: Vec<Pin>,
    /// PEM trust anchors for the server chain; `None` = the system store (SK's hosts use a
    /// public CA). The simulator's `tls/ca.pem` goes here in tests.
    pub ca_pem: Option<Vec<u8>>,
}

/// Builds the OpenSSL connector once; it is shared by every connection.
pub(super) fn connector(settings: &TlsSettings) -> Result<SslConnector, ClientBuildError> {
    if settings.pins.is_empty() {
        return Err(ClientBuildError::Pin(
            "pinning is mandatory: configure at least one pin".into(),
        ));
    }
    let tls = |e: openssl::error::ErrorStack| ClientBuildError::Tls(e.to_string());
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(tls)?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(tls)?;
    // A long poll idles for up to two minutes: without this each waiting session keeps
    // OpenSSL's 2 x 17 KB record buffers (34 MB per 1,000 waiting citizens).
    b.set_mode(SslMode::RELEASE_BUFFERS);
    // Every connection starts afresh (no session is ever resumed), so a TLS 1.2 server need not
    // hand us a ticket to keep for the whole wait. (TLS 1.3 tickets come regardless; their
    // buffers are freed while waiting, `tls_ffi.rs`.)
    b.set_options(SslOptions::NO_TICKET);
    if let Some(pem) = &settings.ca_pem {
        let mut store = X509StoreBuilder::new().map_err(tls)?;
        let certs = X509::stack_from_pem(pem).map_err(tls)?;
        if certs.is_empty() {
            return Err(ClientBuildError::Tls("no certificate in the CA PEM".into()));
        }
        for c in certs {
            store.add_cert(c).map_err(tls)?;
        }
        b.set_verify_cert_store(store.build()).map_err(tls)?;
    }
    let pins: Arc<[Pin]> = settings.pins.clone().into();
    b.set_verify_callback(SslVerifyMode::PEER, move |preverified, ctx| {
        if !preverified {
            return false;
        }
        // Only the leaf (depth 0) is pinned; the callback also runs for each CA above it.
        if ctx.error_depth() != 0 {
            return true;
        }
        let pinned = ctx
            .current_cert()
            .and_then(|c| Pin::of_certificate(c).ok())
            .is_some_and(|p| pins.contains(&p));
        if !pinned {
            ctx.set_error(X509VerifyResult::APPLICATION_VERIFICATION);
        }
        pinned
    });
    Ok(b.build())
}

impl super::http1::ReleaseWhileWaiting for SslStream<TcpStream> {
    fn release_buffers(&mut self) {
        super::tls_ffi::free_idle_buffers(self.ssl());
    }
}

/// TCP connect and TLS handshake, both within `timeout`. Host name verification and SNI use
/// `host`.
pub(super) async fn connect(
    connector: &SslConnector,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<SslStream<TcpStream>, SmartIdError> {
    let work = async {
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| SmartIdError::Connect(e.kind().to_string()))?;
        let _ = tcp.set_nodelay(true);
        let ssl = connector
            .configure()
            .and_then(|c| c.into_ssl(host))
            .map_err(|e| SmartIdError::Tls(e.to_string()))?;
        let mut stream = SslStream::new(ssl, tcp).map_err(|e| SmartIdError::Tls(e.to_string()))?;
        match std::pin::Pin::new(&mut stream).connect().await {
            Ok(()) => Ok(stream),
            Err(_)
                if stream.ssl().verify_result() == X509VerifyResult::APPLICATION_VERIFICATION =>
            {
                Err(SmartIdError::PinMismatch)
            }
            Err(e) => {
                let v = stream.ssl().verify_result();
                let why = if v == X509VerifyResult::OK {
                    e.to_string()
                } else {
                    v.error_string().to_string()
                };
                Err(SmartIdError::Tls(why))
            }
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| SmartIdError::Connect("timed out".into()))?
}

#[cfg(test)]
/// Tests: a self-signed certificate for `cn`, valid from 400 days ago until `days` from now
/// (negative: already expired).
pub(crate) fn test_certificate(cn: &str, days: i64) -> X509 {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::pkey::PKey;
    let key = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    let name = name.build();
    let mut b = openssl::x509::X509Builder::new().unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let start = Asn1Time::from_unix(now - 400 * 86_400).unwrap();
    let end = Asn1Time::from_unix(now + days * 86_400).unwrap();
    b.set_not_before(&start).unwrap();
    b.set_not_after(&end).unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_in_both_forms() {
        let p = Pin([7; 32]);
        assert_eq!(Pin::parse(&p.to_string()).unwrap(), p);
        assert_eq!(Pin::parse(&B64.encode([7u8; 32])).unwrap(), p);
        assert!(Pin::parse("sha256/AAAA").is_err());
        assert!(Pin::parse("sha256/!!").is_err());
        assert!(connector(&TlsSettings::default()).is_err());
        assert!(Pin::of_pem(b"not pem").is_err());
    }

    #[test]
    fn expired_and_expiring_pins_are_warned_about_and_good_ones_are_not() {
        let now = SystemTime::now();
        let mut pem = test_certificate("old.example", -3).to_pem().unwrap();
        pem.extend(test_certificate("soon.example", 10).to_pem().unwrap());
        pem.extend(test_certificate("next.example", 300).to_pem().unwrap());
        let read = PinnedCertificate::read_pem(&pem, "trust/pins.pem").unwrap();
        assert_eq!(read.len(), 3, "one pin per certificate in the file");
        let warnings: Vec<_> = read.iter().map(|(_, c)| c.expiry_warning(now)).collect();
        let old = warnings[0].as_deref().expect("expired pin warned");
        assert!(
            old.contains("old.example") && old.contains("expired on"),
            "{old}"
        );
        assert!(old.contains("trust/pins.pem"), "{old}");
        let soon = warnings[1].as_deref().expect("expiring pin warned");
        assert!(
            soon.contains("soon.example")
                && (soon.contains("in 9 days") || soon.contains("in 10 days")),
            "{soon}"
        );
        assert_eq!(
            warnings[2], None,
            "a pin good for 300 days is not warned about"
        );
        // The 30-day edge: 31 days left is quiet, 29 is not.
        let edge = |d| test_certificate("edge.example", d).to_pem().unwrap();
        let at = |d| {
            PinnedCertificate::read_pem(&edge(d), "f").unwrap()[0]
                .1
                .expiry_warning(now)
        };
        assert_eq!(at(31), None);
        assert!(at(29).is_some());
    }

    #[test]
    fn a_certificate_pins_its_key() {
        use openssl::ec::{EcGroup, EcKey};
        use openssl::nid::Nid;
        use openssl::pkey::PKey;
        let key = PKey::from_ec_key(
            EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
        )
        .unwrap();
        let mut b = openssl::x509::X509Builder::new().unwrap();
        b.set_pubkey(&key).unwrap();
        let t = openssl::asn1::Asn1Time::days_from_now(1).unwrap();
        b.set_not_before(&t).unwrap();
        b.set_not_after(&t).unwrap();
        b.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let cert = b.build();
        let pins = Pin::of_pem(&cert.to_pem().unwrap()).unwrap();
        let spki = key.public_key_to_der().unwrap();
        assert_eq!(pins, vec![Pin(openssl::sha::sha256(&spki))]);
    }
}
