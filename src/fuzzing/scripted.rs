//! A card whose answers are the fuzz input: each answer is a two-byte big-endian length and
//! that many bytes (a response APDU, status word last). The commands sent are ignored; when the
//! script runs out the card is gone. The seeds are recorded answers of the virtual card.

use crate::means::card::{CardTransport, TransportError};

pub struct ScriptedCard<'a> {
    script: &'a [u8],
}

impl<'a> ScriptedCard<'a> {
    pub fn new(script: &'a [u8]) -> Self {
        ScriptedCard { script }
    }
}

impl CardTransport for ScriptedCard<'_> {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let (len, rest) = self
            .script
            .split_first_chunk::<2>()
            .ok_or(TransportError::CardRemoved)?;
        let len = usize::from(u16::from_be_bytes(*len)).min(rest.len());
        let (answer, rest) = rest.split_at(len);
        self.script = rest;
        Ok(answer.to_vec())
    }
}

/// Appends one answer in the script format (for the seed recorder).
#[cfg(test)]
pub fn push_answer(script: &mut Vec<u8>, answer: &[u8]) {
    let len = u16::try_from(answer.len()).unwrap_or(u16::MAX);
    script.extend_from_slice(&len.to_be_bytes());
    script.extend_from_slice(&answer[..usize::from(len)]);
}
