//! Binary `output` frames of the worker socket's `controlroom.v1.binary` subprotocol: an 8-byte
//! big-endian stream offset followed by the raw PTY bytes exactly as read.

/// The subprotocol a worker-socket client offers to get `output` as binary frames (and to send
/// input as binary frames). Without it the socket speaks JSON only, as `controlroom.v1`.
pub const BINARY_SUBPROTOCOL: &str = "controlroom.v1.binary";

/// Length of a binary output frame's header: the big-endian `u64` offset.
pub const OUTPUT_HEADER_LEN: usize = 8;

/// A binary frame that cannot be an `output` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("binary output frame of {len} bytes is shorter than its {OUTPUT_HEADER_LEN}-byte offset header")]
pub struct ShortFrame {
    /// Length of the frame received.
    pub len: usize,
}

/// Encodes one binary `output` frame: `offset` (big-endian) then `bytes`.
pub fn encode_output(offset: u64, bytes: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(OUTPUT_HEADER_LEN + bytes.len());
    frame.extend_from_slice(&offset.to_be_bytes());
    frame.extend_from_slice(bytes);
    frame
}

/// Splits a binary `output` frame into its offset and the raw bytes that follow it.
pub fn decode_output(frame: &[u8]) -> Result<(u64, &[u8]), ShortFrame> {
    let (head, bytes) =
        frame.split_first_chunk::<OUTPUT_HEADER_LEN>().ok_or(ShortFrame { len: frame.len() })?;
    Ok((u64::from_be_bytes(*head), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_any_bytes_and_offsets() {
        let cases: [(u64, &[u8]); 4] = [
            (0, b""),
            (42, b"\x1b[31mred\x1b[m"),
            (u64::MAX, b"\xff\xfe not UTF-8 \xe2\x82"),
            (0x0102_0304_0506_0708, "é🦀".as_bytes()),
        ];
        for (offset, bytes) in cases {
            let frame = encode_output(offset, bytes);
            assert_eq!(frame.len(), OUTPUT_HEADER_LEN + bytes.len());
            assert_eq!(decode_output(&frame), Ok((offset, bytes)));
        }
    }

    #[test]
    fn the_offset_is_big_endian_first() {
        let frame = encode_output(0x0102_0304_0506_0708, b"x");
        assert_eq!(frame, [1, 2, 3, 4, 5, 6, 7, 8, b'x']);
    }

    #[test]
    fn a_frame_shorter_than_the_header_is_refused() {
        assert_eq!(decode_output(&[1, 2, 3]), Err(ShortFrame { len: 3 }));
        assert_eq!(decode_output(&[]), Err(ShortFrame { len: 0 }));
        assert_eq!(decode_output(&[0; 8]), Ok((0, &[][..])));
    }
}
