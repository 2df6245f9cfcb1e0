use super::*;
use crate::phone::NumberPolicy;

fn step() -> PhoneStep {
    let policy = NumberPolicy::new(vec![32], "BE").unwrap();
    PhoneStep::new(&policy.parse("+32470123456").unwrap())
}

fn key() -> CodeKey {
    CodeKey::new(b"test key, not a secret".to_vec())
}

const R: CodeRules = CodeRules {
    lifetime_ms: 300_000,
    resend_after_ms: 30_000,
    max_sends: 3,
    max_wrong_tries: 3,
};

/// A 6-digit string other than `code`.
fn other(code: &OtpCode) -> String {
    let n: u32 = code.digits().parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[test]
fn the_sent_code_verifies_once() {
    let mut s = step();
    let code = s.issue(&key(), "flow-a", &R, 1_000).unwrap();
    assert_eq!(code.digits().len(), 6);
    let spaced = format!("{} {}", &code.digits()[..3], &code.digits()[3..]);
    assert_eq!(s.check(&key(), "flow-a", &spaced, &R, 2_000), Ok(()));
    assert!(s.verified);
    assert_eq!(
        s.check(&key(), "flow-a", code.digits(), &R, 2_001),
        Err(CodeError::NoCode),
        "a used code is refused"
    );
}

#[test]
fn an_expired_code_is_refused() {
    let mut s = step();
    let code = s.issue(&key(), "f", &R, 1_000).unwrap();
    assert_eq!(
        s.check(&key(), "f", code.digits(), &R, 1_000 + R.lifetime_ms),
        Err(CodeError::Expired)
    );
    assert!(!s.verified);
}

#[test]
fn three_wrong_tries_end_the_step() {
    let mut s = step();
    let code = s.issue(&key(), "f", &R, 0).unwrap();
    let wrong = other(&code);
    assert_eq!(
        s.check(&key(), "f", &wrong, &R, 1),
        Err(CodeError::Wrong { tries_left: 2 })
    );
    assert_eq!(
        s.check(&key(), "f", &wrong, &R, 2),
        Err(CodeError::Wrong { tries_left: 1 })
    );
    assert_eq!(
        s.check(&key(), "f", &wrong, &R, 3),
        Err(CodeError::TriesUsedUp)
    );
    // Even the right code no longer passes.
    assert_eq!(
        s.check(&key(), "f", code.digits(), &R, 4),
        Err(CodeError::TriesUsedUp)
    );
}

#[test]
fn malformed_input_is_not_a_try() {
    let mut s = step();
    let code = s.issue(&key(), "f", &R, 0).unwrap();
    for typed in ["12345", "1234567", "12a456", "", "١٢٣٤٥٦"] {
        assert_eq!(
            s.check(&key(), "f", typed, &R, 1),
            Err(CodeError::Malformed),
            "{typed:?}"
        );
    }
    assert_eq!(s.tries_left(&R), 3);
    assert_eq!(s.check(&key(), "f", code.digits(), &R, 2), Ok(()));
}

#[test]
fn a_code_of_another_flow_or_key_does_not_pass() {
    let mut a = step();
    let code = a.issue(&key(), "flow-a", &R, 0).unwrap();
    let mut b = a.clone();
    assert!(matches!(
        b.check(&key(), "flow-b", code.digits(), &R, 1),
        Err(CodeError::Wrong { .. })
    ));
    let mut c = a.clone();
    assert!(matches!(
        c.check(
            &CodeKey::new(b"other".to_vec()),
            "flow-a",
            code.digits(),
            &R,
            1
        ),
        Err(CodeError::Wrong { .. })
    ));
}

#[test]
fn resends_wait_and_are_bounded() {
    let mut s = step();
    s.issue(&key(), "f", &R, 0).unwrap();
    assert_eq!(
        s.issue(&key(), "f", &R, 10_000).unwrap_err(),
        CodeError::TooSoon {
            retry_after_ms: 20_000
        }
    );
    let second = s.issue(&key(), "f", &R, 30_000).unwrap();
    s.issue(&key(), "f", &R, 60_000).unwrap();
    assert_eq!(
        s.issue(&key(), "f", &R, 999_999).unwrap_err(),
        CodeError::SendsUsedUp
    );
    // A resend replaces the waiting code.
    assert!(matches!(
        s.check(&key(), "f", second.digits(), &R, 60_001),
        Err(CodeError::Wrong { .. })
    ));
}

#[test]
fn nothing_secret_in_debug_or_in_the_stored_form() {
    let mut s = step();
    let code = s.issue(&key(), "f", &R, 0).unwrap();
    assert_eq!(format!("{code:?}"), "OtpCode(..)");
    assert_eq!(format!("{:?}", key()), "CodeKey(..)");
    let debug = format!("{s:?}");
    assert!(!debug.contains("470123456") && !debug.contains(code.digits()));
    let stored = serde_json::to_string(&s).unwrap();
    assert!(
        !stored.contains(code.digits()),
        "only a MAC of the code is stored"
    );
}

#[test]
fn codes_spread_over_all_six_digits() {
    // 200 codes from the CSPRNG: all 6 characters long, and not all alike.
    let mut seen = std::collections::HashSet::new();
    for i in 0..200u64 {
        let mut s = step();
        let c = s.issue(&key(), "f", &R, i).unwrap();
        assert!(c.digits().len() == 6 && c.digits().bytes().all(|b| b.is_ascii_digit()));
        seen.insert(c.digits().to_string());
    }
    assert!(seen.len() > 190);
}
