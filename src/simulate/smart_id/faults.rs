//! Scripted faults, set through the control API. A fault either breaks the next RP API
//! request(s) at the HTTP level, or changes the result of the next session(s) or of every
//! session of one identity.

use std::collections::{HashMap, VecDeque};

use serde::Deserialize;

/// Every fault the control API knows (`"fault": "<snake_case name>"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    // HTTP level: the next request(s) to the RP API.
    /// Answer 500.
    #[serde(rename = "http_500")]
    Http500,
    /// Answer 503.
    #[serde(rename = "http_503")]
    Http503,
    /// Answer 480 (client too old).
    #[serde(rename = "http_480")]
    Http480,
    /// Answer 580 (maintenance).
    #[serde(rename = "http_580")]
    Http580,
    /// Close the connection without answering.
    DropConnection,
    /// Wait `delay_ms` (default 30000) before answering.
    SlowAnswer,
    /// Answer 200 with truncated JSON.
    BrokenJson,
    // Result level: the next session(s), or every session of `identity`.
    /// Sign a different hash.
    WrongSignature,
    /// Cut the last byte off the signature.
    TruncatedSignature,
    /// The leaf comes from a CA outside the trust anchors.
    UntrustedCa,
    /// The leaf expired a month ago.
    ExpiredCertificate,
    /// The leaf carries ADVANCED policy OIDs while `certificateLevel` says QUALIFIED.
    WrongLevel,
    /// `certificateLevel` says ADVANCED (below the requested QUALIFIED).
    AdvancedLevel,
    /// Another person's certificate and signature.
    OtherPersonCertificate,
    /// `signature.algorithm` disagrees with the requested hashType.
    AlgorithmMismatch,
    /// A signing (nonRepudiation-only) certificate instead of an authentication one.
    SigningCertificate,
    /// COMPLETE + OK without `cert`.
    MissingCertificate,
    /// COMPLETE + OK with an empty documentNumber.
    EmptyDocumentNumber,
    /// `cert.value` that is not Base64.
    BadBase64,
    /// An endResult the API does not define.
    UnknownEndResult,
    /// endResult DOCUMENT_UNUSABLE.
    DocumentUnusable,
    /// A certificate whose serialNumber is a passport number (`PASEE-…`), not the PNO asked for.
    PassportSerialNumber,
    /// v3: `interactionTypeUsed` names a type the relying party did not offer (signed so).
    WrongInteraction,
    /// v3: the signature says another `flowType` than the one used (signed so).
    WrongFlowType,
}

impl Fault {
    pub fn is_http(self) -> bool {
        matches!(
            self,
            Fault::Http500
                | Fault::Http503
                | Fault::Http480
                | Fault::Http580
                | Fault::DropConnection
                | Fault::SlowAnswer
                | Fault::BrokenJson
        )
    }
}

/// `POST /control/fault` body.
#[derive(Debug, Deserialize)]
pub struct FaultRequest {
    pub fault: Fault,
    /// Result faults only: apply to every session of this identity until reset.
    pub identity: Option<String>,
    /// How many requests or sessions it applies to (default 1); ignored with `identity`.
    pub count: Option<u32>,
    /// For `slow_answer`.
    pub delay_ms: Option<u64>,
}

/// An HTTP-level fault with its parameter.
#[derive(Debug, Clone, Copy)]
pub struct HttpFault {
    pub fault: Fault,
    pub delay_ms: u64,
}

#[derive(Debug, Default)]
pub struct Faults {
    http: VecDeque<HttpFault>,
    results: VecDeque<Fault>,
    by_identity: HashMap<String, Fault>,
}

impl Faults {
    pub fn add(&mut self, req: &FaultRequest) {
        let count = req.count.unwrap_or(1).min(10_000);
        if req.fault.is_http() {
            let f = HttpFault {
                fault: req.fault,
                delay_ms: req.delay_ms.unwrap_or(30_000),
            };
            self.http.extend(std::iter::repeat_n(f, count as usize));
        } else if let Some(id) = &req.identity {
            self.by_identity.insert(id.clone(), req.fault);
        } else {
            self.results
                .extend(std::iter::repeat_n(req.fault, count as usize));
        }
    }

    pub fn next_http(&mut self) -> Option<HttpFault> {
        self.http.pop_front()
    }

    /// The result fault for a new session of `identity`, if any.
    pub fn next_result(&mut self, identity: &str) -> Option<Fault> {
        self.by_identity
            .get(identity)
            .copied()
            .or_else(|| self.results.pop_front())
    }
}
