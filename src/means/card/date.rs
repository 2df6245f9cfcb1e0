//! Dates on the card: validity dates `DD.MM.YYYY` and birth dates written in the card's language
//! (`DD MMM YYYY`, German cards `DD.MMM.YYYY`), which may be partial (unknown day or month).

use std::fmt;

/// A calendar date whose day or month may be unknown (the National Register has partial birth
/// dates, e.g. for some people born abroad).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CardDate {
    pub year: u16,
    pub month: Option<u8>,
    /// Never set without a month.
    pub day: Option<u8>,
}

impl fmt::Debug for CardDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
/// Carries no text of the date: a birth date is personal data, and these errors reach the logs.
#[error("not a date the card writes")]
pub struct DateError;

/// Month spellings on cards: French, Dutch, German (and accent-less variants seen in the field).
const MONTHS: &[(&str, u8)] = &[
    ("JAN", 1),
    ("JANV", 1),
    ("FEV", 2),
    ("FÉV", 2),
    ("FEB", 2),
    ("MARS", 3),
    ("MAAR", 3),
    ("MÄR", 3),
    ("MAR", 3),
    ("MRZ", 3),
    ("AVR", 4),
    ("APR", 4),
    ("MAI", 5),
    ("MEI", 5),
    ("JUIN", 6),
    ("JUN", 6),
    ("JUIL", 7),
    ("JUL", 7),
    ("AOUT", 8),
    ("AOÛT", 8),
    ("AUG", 8),
    ("SEPT", 9),
    ("SEP", 9),
    ("OCT", 10),
    ("OKT", 10),
    ("NOV", 11),
    ("DEC", 12),
    ("DÉC", 12),
    ("DEZ", 12),
];

fn month_number(name: &str) -> Option<u8> {
    let upper = name.trim_end_matches('.').to_uppercase();
    if let Ok(n) = upper.parse::<u8>() {
        return (1..=12).contains(&n).then_some(n);
    }
    MONTHS.iter().find(|(m, _)| *m == upper).map(|(_, n)| *n)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl CardDate {
    pub fn new(year: u16, month: Option<u8>, day: Option<u8>) -> Result<Self, DateError> {
        let bad = || DateError;
        if !(1800..=9999).contains(&year) || (day.is_some() && month.is_none()) {
            return Err(bad());
        }
        if let Some(m) = month {
            if !(1..=12).contains(&m) {
                return Err(bad());
            }
            if let Some(d) = day {
                if d == 0 || d > days_in_month(year, m) {
                    return Err(bad());
                }
            }
        }
        Ok(CardDate { year, month, day })
    }

    /// `YYYY-MM-DD`, or `YYYY-MM` / `YYYY` for partial dates.
    pub fn to_iso(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{:04}-{m:02}-{d:02}", self.year),
            (Some(m), None) => format!("{:04}-{m:02}", self.year),
            _ => format!("{:04}", self.year),
        }
    }

    pub fn is_complete(&self) -> bool {
        self.day.is_some()
    }

    /// Validity dates: exactly `DD.MM.YYYY`.
    pub fn parse_numeric(raw: &str) -> Result<Self, DateError> {
        let bad = || DateError;
        let parts: Vec<&str> = raw.split('.').collect();
        let [d, m, y] = parts.as_slice() else {
            return Err(bad());
        };
        if d.len() != 2 || m.len() != 2 || y.len() != 4 {
            return Err(bad());
        }
        // Digits only: Rust's integer parsing would also take a sign (`+1.+2.2020`).
        let num = |s: &str| match s.bytes().all(|b| b.is_ascii_digit()) {
            true => s.parse::<u16>().map_err(|_| bad()),
            false => Err(bad()),
        };
        let (d, m, y) = (num(d)?, num(m)?, num(y)?);
        CardDate::new(y, Some(m as u8), Some(d as u8)).map_err(|_| bad())
    }

    /// Birth dates: `DD MMM YYYY` or `DD.MMM.YYYY`; an unknown day is blank, an unknown month
    /// is blank. The year always comes last.
    pub fn parse_birth(raw: &str) -> Result<Self, DateError> {
        let bad = || DateError;
        let is_sep = |c: char| c == ' ' || c == '.';
        let trimmed = raw.trim_end();
        let last_sep = trimmed.rfind(is_sep);
        let (rest, year) = match last_sep {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => ("", trimmed.trim_start()),
        };
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: u16 = year.parse().map_err(|_| bad())?;
        // Day: the first two characters when followed by a separator (blank when unknown).
        let (day, month) = match rest.char_indices().nth(2) {
            Some((i, c))
                if is_sep(c) && rest[..i].chars().all(|c| c.is_ascii_digit() || c == ' ') =>
            {
                (rest[..i].trim(), rest[i + 1..].trim_matches(is_sep))
            }
            _ if rest.trim().chars().all(|c| c.is_ascii_digit()) && !rest.trim().is_empty() => {
                return Err(bad());
            }
            _ => ("", rest.trim_matches(is_sep)),
        };
        let month = match month.trim() {
            "" => None,
            name => Some(month_number(name).ok_or_else(bad)?),
        };
        let day = match day {
            "" => None,
            d => Some(d.parse::<u8>().map_err(|_| bad())?),
        };
        // A day without a month says nothing usable: keep the year only.
        let day = if month.is_none() { None } else { day };
        CardDate::new(year, month, day).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_in_three_languages() {
        for (raw, iso) in [
            ("15 MAARS 1985", ""),
            ("15 MAAR 1985", "1985-03-15"),
            ("15 MARS 1985", "1985-03-15"),
            ("15.MÄR.1985", "1985-03-15"),
            ("01 AOÛT 2001", "2001-08-01"),
            ("01 AOUT 2001", "2001-08-01"),
            ("31.DEZ.1999", "1999-12-31"),
            ("03 OKT 1970", "1970-10-03"),
            ("29 FEV 2000", "2000-02-29"),
            ("   MEI 1950", "1950-05"),
            ("  .MAI.1950", "1950-05"),
            ("       1950", "1950"),
            ("1950", "1950"),
        ] {
            match CardDate::parse_birth(raw) {
                Ok(d) => assert_eq!(d.to_iso(), iso, "{raw}"),
                Err(_) => assert!(iso.is_empty(), "{raw} should parse"),
            }
        }
        for bad in [
            "",
            "15 XYZ 1985",
            "30 FEB 2001",
            "15 MEI 85",
            "1 2 3",
            "12345",
        ] {
            assert!(CardDate::parse_birth(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validity_dates() {
        assert_eq!(
            CardDate::parse_numeric("01.02.2030").unwrap().to_iso(),
            "2030-02-01"
        );
        for bad in [
            "1.2.2030",
            "32.01.2030",
            "01-02-2030",
            "aa.bb.cccc",
            "",
            "+1.+2.2020",
            "01.02.+030",
        ] {
            assert!(CardDate::parse_numeric(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod privacy {
    #[test]
    fn a_refused_date_is_not_repeated_in_the_error() {
        let e = super::CardDate::parse_birth("31 XYZ 1987").unwrap_err();
        assert!(!e.to_string().contains("1987") && !format!("{e:?}").contains("1987"));
    }
}
