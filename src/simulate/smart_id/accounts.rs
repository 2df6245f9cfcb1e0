//! Who the simulator knows and what each identity does. The named identities mirror SK's demo
//! test accounts (reference §6); any other identity whose national check digit is valid
//! completes OK with a generated certificate.

use crate::means::smart_id::{BirthDate, CertificateLevel, Checks, PersonalCode};

use super::pki::Purpose;

/// What happens when a session is started for an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// COMPLETE + OK with a certificate.
    Ok,
    /// COMPLETE with this endResult.
    End(&'static str),
    /// TIMEOUT, after the configured user timeout instead of the normal delay.
    UserTimeout,
    /// The start request is answered with this HTTP status (404, 471, 472).
    Http(u16),
    /// The "app" supports only displayTextAndPIN: without it in the allowed list the session
    /// ends with REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP; with it, OK.
    OnlyDisplayTextAndPin,
}

/// An identity's account.
#[derive(Debug, Clone)]
pub struct Account {
    pub semantics_id: String,
    pub behaviour: Behaviour,
    /// The account's level: an ADVANCED-only account answers 471 to QUALIFIED requests.
    pub level: CertificateLevel,
    pub purpose: Purpose,
    /// The dateOfBirth attribute in the certificate, if any.
    pub date_of_birth: Option<BirthDate>,
    /// Signs with the 6144-bit key.
    pub big_key: bool,
    pub document_number: String,
    pub given_name: &'static str,
    pub surname: &'static str,
}

impl Account {
    pub fn country(&self) -> &str {
        self.semantics_id.get(3..5).unwrap_or("EE")
    }
}

/// (identity, behaviour, document suffix) of the named accounts.
const NAMED: &[(&str, Behaviour, &str)] = &[
    ("PNOEE-40504040001", Behaviour::Ok, "DEMO-Q"),
    ("PNOBE-05040400032", Behaviour::Ok, "DEMO-Q"),
    ("PNOLT-40504040001", Behaviour::Ok, "MOCK-Q"),
    ("PNOEE-50001029996", Behaviour::Ok, "DEMO-Q"),
    ("PNOBE-00010299944", Behaviour::Ok, "MOCK-Q"),
    ("PNOLV-020100-29990", Behaviour::Ok, "MOCK-Q"),
    ("PNOEE-39901012239", Behaviour::Ok, "MOCK-Q"),
    ("PNOBE-99010199987", Behaviour::Ok, "DEMO-Q"),
    ("PNOEE-61101012257", Behaviour::Ok, "MOCK-Q"),
    ("PNOLT-40504049999", Behaviour::Ok, "MOCK-NQ"),
    ("PNOLV-329999-99901", Behaviour::Ok, "MOCK-Q"),
    ("PNOLV-329999-99709", Behaviour::Ok, "MOCK-Q"),
    ("PNOLV-050405-10009", Behaviour::Ok, "DEMO-Q"),
    ("PNOLT-30303039914", Behaviour::Ok, "MOCK-Q"),
    (
        "PNOEE-30403039917",
        Behaviour::End("USER_REFUSED"),
        "MOCK-Q",
    ),
    (
        "PNOBE-00010238349",
        Behaviour::End("USER_REFUSED"),
        "MOCK-Q",
    ),
    (
        "PNOEE-30403039928",
        Behaviour::End("USER_REFUSED_DISPLAYTEXTANDPIN"),
        "MOCK-Q",
    ),
    (
        "PNOBE-00010267350",
        Behaviour::End("USER_REFUSED_DISPLAYTEXTANDPIN"),
        "MOCK-Q",
    ),
    (
        "PNOEE-30403039939",
        Behaviour::End("USER_REFUSED_VC_CHOICE"),
        "MOCK-Q",
    ),
    (
        "PNOBE-00010266756",
        Behaviour::End("USER_REFUSED_VC_CHOICE"),
        "MOCK-Q",
    ),
    (
        "PNOEE-30403039946",
        Behaviour::End("USER_REFUSED_CONFIRMATIONMESSAGE"),
        "MOCK-Q",
    ),
    (
        "PNOBE-00010232708",
        Behaviour::End("USER_REFUSED_CONFIRMATIONMESSAGE"),
        "MOCK-Q",
    ),
    (
        "PNOEE-30403039950",
        Behaviour::End("USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE"),
        "MOCK-Q",
    ),
    (
        "PNOBE-00010211724",
        Behaviour::End("USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE"),
        "MOCK-Q",
    ),
    (
        "PNOEE-30403039961",
        Behaviour::End("USER_REFUSED_CERT_CHOICE"),
        "MOCK-Q",
    ),
    ("PNOEE-30403039972", Behaviour::End("WRONG_VC"), "MOCK-Q"),
    ("PNOBE-00010216276", Behaviour::End("WRONG_VC"), "MOCK-Q"),
    ("PNOEE-30403039983", Behaviour::UserTimeout, "MOCK-Q"),
    ("PNOBE-00010220335", Behaviour::UserTimeout, "MOCK-Q"),
    // Simulator-only identities (valid EE check digits) for the other answers.
    ("PNOEE-10101010005", Behaviour::Http(471), "MOCK-Q"),
    ("PNOEE-10101010016", Behaviour::Http(472), "MOCK-Q"),
    ("PNOEE-10101010027", Behaviour::Http(404), "MOCK-Q"),
    (
        "PNOEE-10101010038",
        Behaviour::End("DOCUMENT_UNUSABLE"),
        "MOCK-Q",
    ),
    (
        "PNOEE-10101010049",
        Behaviour::OnlyDisplayTextAndPin,
        "MOCK-Q",
    ),
];

/// The identity signing with the 6144-bit key.
pub const BIG_KEY_IDENTITY: &str = "PNOEE-40504040001";
/// The identity with a pre-2025 (clientAuth) certificate.
pub const LEGACY_EKU_IDENTITY: &str = "PNOLT-30303039914";

/// The account behind a semantics identifier, or `None` (404).
pub fn by_identity(id: &str) -> Option<Account> {
    let named = NAMED.iter().find(|(n, _, _)| *n == id);
    let code = PersonalCode::from_semantics_id(id, Checks::Strict).ok();
    if named.is_none() && code.is_none() {
        return None;
    }
    let (behaviour, suffix) = named
        .map(|(_, b, s)| (b.clone(), *s))
        .unwrap_or((Behaviour::Ok, "MOCK-Q"));
    let date_of_birth = match id {
        "PNOEE-40504040001" => BirthDate::new(1905, 4, 4),
        "PNOBE-05040400032" => BirthDate::new(2005, 4, 4),
        "PNOLV-329999-99901" => BirthDate::new(1999, 9, 9),
        "PNOLV-329999-99709" => None,
        _ => code.and_then(|c| c.birth_date()),
    };
    let ok = matches!(behaviour, Behaviour::Ok | Behaviour::OnlyDisplayTextAndPin);
    Some(Account {
        semantics_id: id.to_string(),
        behaviour,
        level: if suffix.ends_with("NQ") {
            CertificateLevel::Advanced
        } else {
            CertificateLevel::Qualified
        },
        purpose: if id == LEGACY_EKU_IDENTITY {
            Purpose::Legacy
        } else {
            Purpose::Current
        },
        date_of_birth,
        big_key: id == BIG_KEY_IDENTITY,
        document_number: format!("{id}-{suffix}"),
        given_name: if ok { "OK" } else { "TEST" },
        surname: "TESTNUMBER",
    })
}

/// The account behind a document number `PNO..-<id>-XXXX-Q|NQ`. SK's docs spell some demo
/// documents with a digit zero ("DEM0"); both spellings are accepted.
pub fn by_document(doc: &str) -> Option<Account> {
    let mut parts = doc.rsplitn(3, '-');
    let (_level, _kind, id) = (parts.next()?, parts.next()?, parts.next()?);
    let account = by_identity(id)?;
    let alt = account.document_number.replace("-DEMO-", "-DEM0-");
    (account.document_number == doc || alt == doc).then_some(account)
}

/// Every named identity with a one-line description, for `--help` and the docs.
pub fn describe() -> Vec<(String, String)> {
    NAMED
        .iter()
        .map(|(id, b, s)| {
            let what = match b {
                Behaviour::Ok if *id == BIG_KEY_IDENTITY => "OK, RSA 6144-bit key".to_string(),
                Behaviour::Ok if *id == LEGACY_EKU_IDENTITY => "OK, legacy clientAuth EKU".into(),
                Behaviour::Ok if s.ends_with("NQ") => "OK, ADVANCED account only".into(),
                Behaviour::Ok => "OK".into(),
                Behaviour::End(r) => r.to_string(),
                Behaviour::UserTimeout => "TIMEOUT (after the user timeout)".into(),
                Behaviour::Http(c) => format!("HTTP {c} on start"),
                Behaviour::OnlyDisplayTextAndPin => {
                    "REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP unless displayTextAndPIN is allowed"
                        .into()
                }
            };
            (format!("{id}-{s}"), what)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(
            by_identity("PNOEE-30403039917").unwrap().behaviour,
            Behaviour::End("USER_REFUSED")
        );
        assert!(by_identity("PNOEE-40504040002").is_none());
        assert!(by_identity("PNOEE-38001085718").is_some());
        assert!(by_document("PNOEE-40504040001-DEM0-Q").is_some());
        assert!(by_document("PNOEE-40504040001-DEMO-Q").unwrap().big_key);
        assert!(by_document("PNOEE-40504040001-MOCK-NQ").is_none());
        assert_eq!(
            by_identity("PNOLT-40504049999").unwrap().level,
            CertificateLevel::Advanced
        );
    }
}
