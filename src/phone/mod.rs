//! The optional phone step before a means (issue 14): the citizen's number, parsed and checked
//! against the operator's countries, and a one-time code sent to it and typed back. Knows no
//! HTTP framework; the flow stores a `PhoneStep` with its record.

pub mod code;
pub mod number;
pub mod sender;

pub use code::{CodeError, CodeKey, CodeRules, OtpCode, PhoneStep};
pub use number::{NumberError, NumberPolicy, PhoneNumber};
