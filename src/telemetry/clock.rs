//! The timestamp of each log line, exactly as tracing-subscriber's `SystemTime` timer writes it
//! (`2026-12-03T17:59:09.372836Z`, UTC, microseconds), with the date and time of day worked out
//! once per second per thread instead of for every line (two lines per request).

use std::cell::Cell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// `YYYY-MM-DDTHH:MM:SS`
type Second = [u8; 19];

thread_local! {
    /// The last second this thread formatted, and its text.
    static LAST: Cell<Option<(u64, Second)>> = const { Cell::new(None) };
}

pub struct Utc;

impl FormatTime for Utc {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        // A clock before 1970 writes the epoch; tracing-subscriber would write the year.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = now.as_secs();
        let second = LAST.with(|last| match last.get() {
            Some((s, text)) if s == secs => text,
            _ => {
                let text = second_of(secs);
                last.set(Some((secs, text)));
                text
            }
        });
        let mut line = [0u8; 27];
        line[..19].copy_from_slice(&second);
        line[19] = b'.';
        let mut micros = now.subsec_micros();
        for at in (20..26).rev() {
            line[at] = b'0' + (micros % 10) as u8;
            micros /= 10;
        }
        line[26] = b'Z';
        w.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
    }
}

fn second_of(secs: u64) -> Second {
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut text = *b"0000-00-00T00:00:00";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            text[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, t.year().unsigned_abs());
    put(5, 2, u32::from(u8::from(t.month())));
    put(8, 2, u32::from(t.day()));
    put(11, 2, u32::from(t.hour()));
    put(14, 2, u32::from(t.minute()));
    put(17, 2, u32::from(t.second()));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_as_rfc3339_utc() {
        assert_eq!(&second_of(0), b"1970-01-01T00:00:00");
        assert_eq!(&second_of(1_700_000_000), b"2023-11-14T22:13:20");
        assert_eq!(&second_of(1_709_210_096), b"2024-02-29T12:34:56");
    }

    #[test]
    fn a_line_stamp_has_microseconds_and_z() {
        let mut s = String::new();
        Utc.format_time(&mut Writer::new(&mut s)).unwrap();
        assert_eq!(s.len(), 27, "{s}");
        assert!(
            s.ends_with('Z') && &s[19..20] == "." && &s[10..11] == "T",
            "{s}"
        );
    }
}
