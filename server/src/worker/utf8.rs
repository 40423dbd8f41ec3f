//! Splits a byte stream at UTF-8 character boundaries, carrying an incomplete trailing character.

/// Carries the incomplete tail (at most 3 bytes) of one read over to the next, so that every
/// emitted chunk ends on a character boundary.
#[derive(Debug, Default)]
pub struct Utf8Splitter {
    carry: Vec<u8>,
}

impl Utf8Splitter {
    /// Prepends the carried bytes to `input` and returns the part that ends on a character
    /// boundary; an incomplete (but so far valid) trailing character is kept for the next call.
    /// Invalid bytes are passed through (they decode to U+FFFD later).
    pub fn split(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.carry);
        out.extend_from_slice(input);
        let keep = incomplete_tail_len(&out);
        if keep > 0 {
            self.carry = out.split_off(out.len() - keep);
        }
        out
    }

    /// How many bytes are carried (0..=3).
    pub fn carried_len(&self) -> usize {
        self.carry.len()
    }

    /// Takes whatever is carried (at exit: the bytes will never be completed).
    pub fn flush(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.carry)
    }
}

/// Length of a trailing, valid-so-far but incomplete UTF-8 sequence (0..=3).
fn incomplete_tail_len(buf: &[u8]) -> usize {
    let lowest = buf.len().saturating_sub(3);
    for start in (lowest..buf.len()).rev() {
        let byte = buf[start];
        if (0x80..0xC0).contains(&byte) {
            // A continuation byte: the lead byte is further back.
            continue;
        }
        return match std::str::from_utf8(&buf[start..]) {
            // Truncated but valid so far: carry it.
            Err(e) if e.error_len().is_none() && e.valid_up_to() == 0 => buf.len() - start,
            _ => 0,
        };
    }
    0
}

/// Decodes aligned bytes, replacing invalid sequences with U+FFFD.
pub fn decode(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_character_is_carried_to_the_next_chunk() {
        let mut s = Utf8Splitter::default();
        let e_acute = "é".as_bytes();
        assert_eq!(s.split(&[b'a', e_acute[0]]), b"a");
        assert_eq!(s.split(&[e_acute[1], b'b']), "éb".as_bytes());
        let euro = "€".as_bytes();
        assert_eq!(s.split(&euro[..1]), b"");
        assert_eq!(s.split(&euro[1..2]), b"");
        assert_eq!(s.split(&euro[2..]), euro);
        let emoji = "🦀".as_bytes();
        assert_eq!(s.split(&emoji[..3]), b"");
        assert_eq!(decode(&s.split(&emoji[3..])), "🦀");
        assert!(s.flush().is_empty());
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut s = Utf8Splitter::default();
        let out = s.split(b"a\xffb\xc3(");
        assert_eq!(decode(&out), "a\u{FFFD}b\u{FFFD}(");
        // A lone continuation byte at the end is invalid, not carried.
        assert_eq!(decode(&s.split(b"x\x80")), "x\u{FFFD}");
        // An incomplete tail at exit is flushed and replaced.
        assert_eq!(s.split(b"z\xe2\x82"), b"z");
        assert_eq!(decode(&s.flush()), "\u{FFFD}");
    }
}
