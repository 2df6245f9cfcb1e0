//! Certificate validation for both means: trust profiles (`[trust.<name>]`), path validation
//! with OpenSSL's verifier, OCSP/CRL revocation, the `ValidationReport`, and the identity a
//! certificate names. No Rocket types here.
//!
//! The entry point: [`TrustStore::load`] once at start-up, then [`TrustStore::validate`] per
//! authentication.

mod assess;
mod cert;
mod certcache;
mod checks;
pub mod config;
mod crl;
mod http;
pub mod identity;
mod ocsp;
mod ocsp_cache;
mod ocsp_ffi;
mod path;
mod profile;
pub mod report;
mod revoke;
mod store;

pub use cert::{DecodeError, DecodedCert};
pub use config::{
    OcspResponderConfig, OneOrAll, RevocationPolicy, RevocationScope, TrustProfileConfig,
};
pub use identity::{identity_from_der, CertIdentity, IdentityError};
pub use profile::{SIMULATOR_ORG, TEST_PKI_ORG};
pub use report::{
    CertSummary, Check, CheckResult, RevocationSource, ValidationReport, Verdict, SCHEMA_VERSION,
};
pub use store::{Assessment, PkiError, TrustStore, Validation};
