//! National personal codes of the Smart-ID countries and their ETSI semantics identifiers
//! (`PNOEE-…`). Checks the national check digit before any API call (typos, and fewer pointless
//! pushes), and derives the date of birth where the country's rule allows.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Countries whose personal codes this plugin accepts for Smart-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Country {
    EE,
    LV,
    LT,
    BE,
}

impl Country {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "EE" => Some(Country::EE),
            "LV" => Some(Country::LV),
            "LT" => Some(Country::LT),
            "BE" => Some(Country::BE),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Country::EE => "EE",
            Country::LV => "LV",
            Country::LT => "LT",
            Country::BE => "BE",
        }
    }
}

/// How strictly to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// Format and national check digit: for what a citizen types.
    Strict,
    /// Format only: for SK's published demo numbers, some of which (BE) fail the check digit.
    FormatOnly,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("not a semantics identifier of the form PNO<CC>-<code>")]
    NotPno,
    #[error("country not supported for Smart-ID")]
    Country,
    #[error("the personal code has the wrong format for its country")]
    Format,
    #[error("the personal code's check digit is wrong")]
    CheckDigit,
}

/// A checked personal code in its canonical form (digits; LV as `DDMMYY-NNNNN`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PersonalCode {
    country: Country,
    code: String,
}

/// Personal data: Debug shows the country and a masked code.
impl fmt::Debug for PersonalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PersonalCode({}-{}…)",
            self.country.as_str(),
            self.code.get(..2).unwrap_or("")
        )
    }
}

impl PersonalCode {
    /// From a country and what the citizen typed; spaces, dots and dashes are ignored.
    pub fn parse(country: Country, input: &str, checks: Checks) -> Result<Self, CodeError> {
        let digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .collect();
        if digits.len() != 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::Format);
        }
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let ok = match country {
            Country::EE | Country::LT => baltic_check(&d) == d[10],
            Country::LV => latvian_check(&d) == Some(d[10]),
            Country::BE => belgian_century(&digits).is_some(),
        };
        if checks == Checks::Strict && !ok {
            return Err(CodeError::CheckDigit);
        }
        let code = match country {
            Country::LV => format!("{}-{}", &digits[..6], &digits[6..]),
            _ => digits,
        };
        Ok(PersonalCode { country, code })
    }

    /// From a semantics identifier such as `PNOEE-40504040001` (country in upper case).
    pub fn from_semantics_id(id: &str, checks: Checks) -> Result<Self, CodeError> {
        let rest = id.strip_prefix("PNO").ok_or(CodeError::NotPno)?;
        let (cc, code) = rest.split_once('-').ok_or(CodeError::NotPno)?;
        let country = Country::parse(cc).ok_or(CodeError::Country)?;
        let parsed = Self::parse(country, code, checks)?;
        // The canonical form must be what was given: no reformatting of a wire identifier.
        if parsed.code != code {
            return Err(CodeError::Format);
        }
        Ok(parsed)
    }

    pub fn country(&self) -> Country {
        self.country
    }

    /// The bare code, e.g. `40504040001` or `020100-29990`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The ETSI semantics identifier, e.g. `PNOEE-40504040001`.
    pub fn semantics_id(&self) -> String {
        format!("PNO{}-{}", self.country.as_str(), self.code)
    }

    /// The date of birth the code itself encodes, where the country's rule gives one.
    pub fn birth_date(&self) -> Option<BirthDate> {
        let c = &self.code;
        let num = |r: std::ops::Range<usize>| c.get(r)?.parse::<u32>().ok();
        match self.country {
            Country::EE | Country::LT => {
                let century = match num(0..1)? {
                    1 | 2 => 1800,
                    3 | 4 => 1900,
                    5 | 6 => 2000,
                    _ => return None,
                };
                BirthDate::new(century + num(1..3)?, num(3..5)?, num(5..7)?)
            }
            Country::LV => {
                // DDMMYY-CNNNN; codes from 32 on (new format, 2017) carry no date.
                if num(0..2)? >= 32 {
                    return None;
                }
                let century = match num(7..8)? {
                    0 => 1800,
                    1 => 1900,
                    2 => 2000,
                    _ => return None,
                };
                BirthDate::new(century + num(4..6)?, num(2..4)?, num(0..2)?)
            }
            Country::BE => {
                let century = belgian_century(c)?;
                // Bis numbers add 20 or 40 to the month; 0 means "unknown".
                let month = num(2..4)? % 20;
                BirthDate::new(century + num(0..2)?, month, num(4..6)?)
            }
        }
    }
}

/// Estonian and Lithuanian check digit: weights 1..9,1, then 3..9,1,2,3 if the first gives 10.
fn baltic_check(d: &[u32]) -> u32 {
    let w1 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1];
    let w2 = [3, 4, 5, 6, 7, 8, 9, 1, 2, 3];
    let sum = |w: &[u32; 10]| d.iter().zip(w).map(|(a, b)| a * b).sum::<u32>() % 11;
    match sum(&w1) {
        10 => match sum(&w2) {
            10 => 0,
            r => r,
        },
        r => r,
    }
}

/// Latvian check digit (old DDMMYY-CNNNN format and the 32… format alike): (1101 − Σ) mod 11.
fn latvian_check(d: &[u32]) -> Option<u32> {
    let w = [1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = d.iter().zip(w).map(|(a, b)| a * b).sum();
    let r = (1101 - sum % 1101) % 11;
    (r < 10).then_some(r)
}

/// Belgian national register number YYMMDDSSSCC: CC = 97 − (YYMMDDSSS mod 97), with a leading
/// `2` prepended for births from 2000. Returns the century that makes it valid.
fn belgian_century(digits: &str) -> Option<u32> {
    let base: u64 = digits.get(..9)?.parse().ok()?;
    let check: u64 = digits.get(9..11)?.parse().ok()?;
    if 97 - (2_000_000_000 + base) % 97 == check {
        Some(2000)
    } else if 97 - base % 97 == check {
        Some(1900)
    } else {
        None
    }
}

/// A calendar date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BirthDate {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

impl BirthDate {
    /// `None` unless the date exists in the Gregorian calendar.
    pub fn new(year: u32, month: u32, day: u32) -> Option<Self> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (day >= 1 && day <= days).then_some(BirthDate { year, month, day })
    }
}

/// `YYYY-MM-DD`.
impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pno(id: &str) -> Result<PersonalCode, CodeError> {
        PersonalCode::from_semantics_id(id, Checks::Strict)
    }

    fn dob(id: &str) -> Option<String> {
        PersonalCode::from_semantics_id(id, Checks::FormatOnly)
            .unwrap()
            .birth_date()
            .map(|d| d.to_string())
    }

    #[test]
    fn sk_demo_accounts_pass_their_check_digits() {
        for id in [
            "PNOEE-40504040001",
            "PNOEE-30403039917",
            "PNOEE-30403039983",
            "PNOEE-50001029996",
            "PNOEE-61101012257",
            "PNOEE-39901012239",
            "PNOLT-40504040001",
            "PNOLT-40504049999",
            "PNOLT-30303039914",
            "PNOLV-020100-29990",
            "PNOLV-329999-99901",
            "PNOLV-329999-99709",
            "PNOLV-050405-10009",
            "PNOBE-00010299944",
            "PNOBE-99010199987",
        ] {
            let c = pno(id).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(c.semantics_id(), id);
        }
    }

    #[test]
    fn typos_are_caught() {
        assert_eq!(pno("PNOEE-40504040002"), Err(CodeError::CheckDigit));
        assert_eq!(pno("PNOLV-020100-29991"), Err(CodeError::CheckDigit));
        assert_eq!(pno("PNOBE-00010299945"), Err(CodeError::CheckDigit));
        assert_eq!(pno("PNOEE-4050404000"), Err(CodeError::Format));
        assert_eq!(pno("PNOee-40504040001"), Err(CodeError::Country));
        assert_eq!(pno("PNOFI-40504040001"), Err(CodeError::Country));
        assert_eq!(pno("PASEE-40504040001"), Err(CodeError::NotPno));
        assert_eq!(pno("PNOLV-02010029990"), Err(CodeError::Format));
        assert_eq!(pno("PNOEE-4050404000x"), Err(CodeError::Format));
        assert_eq!(pno(""), Err(CodeError::NotPno));
    }

    #[test]
    fn second_weight_round_for_ee() {
        // 3760503031x: the first round gives 10, the second weights give 6 (Python-checked).
        let d: Vec<u32> = "37605030316".bytes().map(|b| u32::from(b - b'0')).collect();
        assert_eq!(baltic_check(&d), 6);
    }

    #[test]
    fn belgian_demo_number_needs_format_only() {
        // SK's BE demo account fails the national register checksum for both centuries.
        assert_eq!(pno("PNOBE-05040400032"), Err(CodeError::CheckDigit));
        let c = PersonalCode::from_semantics_id("PNOBE-05040400032", Checks::FormatOnly).unwrap();
        assert_eq!(c.birth_date(), None);
    }

    #[test]
    fn user_input_is_normalised() {
        let c = PersonalCode::parse(Country::BE, "00.01.02-999.44", Checks::Strict).unwrap();
        assert_eq!(c.semantics_id(), "PNOBE-00010299944");
        let c = PersonalCode::parse(Country::LV, "02010029990", Checks::Strict).unwrap();
        assert_eq!(c.semantics_id(), "PNOLV-020100-29990");
        assert!(!format!("{c:?}").contains("29990"));
    }

    #[test]
    fn dates_of_birth() {
        assert_eq!(dob("PNOEE-40504040001").as_deref(), Some("1905-04-04"));
        assert_eq!(dob("PNOEE-61101012257").as_deref(), Some("2011-01-01"));
        assert_eq!(dob("PNOLT-30303039914").as_deref(), Some("1903-03-03"));
        assert_eq!(dob("PNOLV-020100-29990").as_deref(), Some("2000-01-02"));
        assert_eq!(dob("PNOLV-329999-99901"), None);
        assert_eq!(dob("PNOBE-00010299944").as_deref(), Some("2000-01-02"));
        assert_eq!(dob("PNOBE-99010199987").as_deref(), Some("1999-01-01"));
        assert_eq!(
            BirthDate::new(2000, 2, 29)
                .map(|d| d.to_string())
                .as_deref(),
            Some("2000-02-29")
        );
        assert_eq!(BirthDate::new(1900, 2, 29), None);
    }

    #[test]
    fn belgian_rule_both_centuries_and_bis() {
        // 85073003328: a 19xx number; 11010199815 and 00010299944: 20xx numbers.
        assert_eq!(belgian_century("85073003328"), Some(1900));
        assert_eq!(belgian_century("11010199815"), Some(2000));
        // Bis number (month + 40): check digits derived from the rule.
        let base = 854_730_033u64;
        let cc = 97 - base % 97;
        let bis = format!("{base:09}{cc:02}");
        let c = PersonalCode::parse(Country::BE, &bis, Checks::Strict).unwrap();
        assert_eq!(c.birth_date().unwrap().to_string(), "1985-07-30");
    }
}
