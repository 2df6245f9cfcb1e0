//! A citizen's phone number, parsed by libphonenumber's rules (the `phonenumber` crate) and kept
//! in E.164 form, and the operator's allow-list of country calling codes (threat T35: premium
//! and foreign ranges are refused before any gateway is called).

use std::fmt;

use phonenumber::Mode;

/// Longest input looked at: an E.164 number has at most 15 digits; spaces, dots, dashes and
/// brackets a person types fit well within 32 characters.
const MAX_INPUT: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("not a phone number")]
    Malformed,
    #[error("phone numbers of country code +{0} are not accepted here")]
    CountryNotAllowed(u16),
}

/// A valid number in E.164 form (`+32470123456`). Its `Debug` hides all but the country code:
/// a phone number is personal data (T45).
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
}

impl PhoneNumber {
    pub fn e164(&self) -> &str {
        &self.e164
    }

    pub fn country_code(&self) -> u16 {
        self.country_code
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber(+{} ...)", self.country_code)
    }
}

/// Which numbers the operator accepts: country calling codes (32 for Belgium, 31 for the
/// Netherlands) and the region assumed for a number typed without one.
#[derive(Debug, Clone)]
pub struct NumberPolicy {
    allowed: Vec<u16>,
    default_region: phonenumber::country::Id,
}

impl NumberPolicy {
    /// `default_region` is an ISO 3166 alpha-2 code (`BE`); `None` when it is not one.
    pub fn new(allowed: Vec<u16>, default_region: &str) -> Option<Self> {
        let default_region = default_region.parse().ok()?;
        Some(NumberPolicy {
            allowed,
            default_region,
        })
    }

    /// Parses what a citizen typed: `+32 470 12 34 56`, `0470/12.34.56` (in the default
    /// region), `0032470123456`. Only numbers valid by the numbering plan pass, and only of an
    /// allowed country code; control characters and long input are malformed outright.
    pub fn parse(&self, input: &str) -> Result<PhoneNumber, NumberError> {
        let input = input.trim();
        if input.is_empty()
            || input.len() > MAX_INPUT
            || !input
                .chars()
                .all(|c| c.is_ascii_digit() || " +-./()".contains(c))
        {
            return Err(NumberError::Malformed);
        }
        let number = phonenumber::parse(Some(self.default_region), input)
            .map_err(|_| NumberError::Malformed)?;
        if !phonenumber::is_valid(&number) {
            return Err(NumberError::Malformed);
        }
        let country_code = number.code().value();
        if !self.allowed.contains(&country_code) {
            return Err(NumberError::CountryNotAllowed(country_code));
        }
        Ok(PhoneNumber {
            e164: number.format().mode(Mode::E164).to_string(),
            country_code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> NumberPolicy {
        NumberPolicy::new(vec![32, 31], "BE").unwrap()
    }

    #[test]
    fn belgian_spellings_become_one_e164_number() {
        // 0470 12 34 56 is in a Belgian mobile range; no real subscriber is meant.
        for typed in [
            "+32 470 12 34 56",
            "0470/12.34.56",
            "0032470123456",
            " +32470123456 ",
        ] {
            let n = policy().parse(typed).unwrap();
            assert_eq!(n.e164(), "+32470123456", "{typed}");
            assert_eq!(n.country_code(), 32);
        }
        let nl = policy().parse("+31 6 12345678").unwrap();
        assert_eq!(nl.e164(), "+31612345678");
    }

    #[test]
    fn other_countries_and_premium_ranges_are_refused() {
        assert_eq!(
            policy().parse("+33 6 12 34 56 78"),
            Err(NumberError::CountryNotAllowed(33))
        );
        // +882: international networks, a classic SMS-pumping range.
        assert!(policy().parse("+882 1234 5678 90").is_err());
    }

    #[test]
    fn garbage_is_malformed() {
        for typed in [
            "",
            "hello",
            "+32 470 12 34 56\r\nBcc: x",
            "+32 4",
            &"1".repeat(40),
            "+32470123456<script>",
        ] {
            assert_eq!(
                policy().parse(typed),
                Err(NumberError::Malformed),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn debug_shows_only_the_country_code() {
        let n = policy().parse("+32470123456").unwrap();
        assert_eq!(format!("{n:?}"), "PhoneNumber(+32 ...)");
    }

    #[test]
    fn a_bad_default_region_is_refused() {
        assert!(NumberPolicy::new(vec![32], "Belgium").is_none());
    }
}
