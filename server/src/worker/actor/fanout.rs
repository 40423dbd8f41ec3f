//! Output fan-out: each batch is encoded at most once per format, and only for a format some
//! attached client uses, then queued to every attached client of that format.

use super::clients::Clients;
use super::encode;
use crate::outbox::OutFrame;
use crate::outbox::TextFrame;
use crate::worker::OutputFormat;
use crate::worker::utf8::decode;
use bytes::Bytes;
use controlroom_protocol::{WorkerServerMsg, encode_output};
use tracing::info;

impl Clients {
    /// Queues one batch to every attached client in its format: `raw` (with its offset) as a
    /// binary frame, `aligned` (with its offset) as JSON. Each format is encoded at most once,
    /// and only when a client of that format is attached. A client whose push fails (over its
    /// cap: 4008 is already queued; or gone) is dropped.
    pub(super) fn broadcast_output(
        &mut self,
        raw: Option<(&[u8], u64)>,
        aligned: &[u8],
        aligned_offset: u64,
    ) {
        let mut json: Option<Option<TextFrame>> = None;
        let mut binary: Option<Bytes> = None;
        self.by_id.retain(|id, c| {
            if !c.attached {
                return true;
            }
            let frame = match c.format {
                OutputFormat::Json if aligned.is_empty() => return true,
                OutputFormat::Json => {
                    let encoded = json.get_or_insert_with(|| {
                        encode(&WorkerServerMsg::Output { data: decode(aligned), offset: aligned_offset })
                    });
                    let Some(text) = encoded else { return true };
                    OutFrame::Text(text.clone())
                }
                OutputFormat::Binary => {
                    let Some((raw, offset)) = raw else { return true };
                    OutFrame::Binary(binary.get_or_insert_with(|| encode_output(offset, raw).into()).clone())
                }
            };
            match c.outbox.push(frame) {
                Ok(()) => true,
                Err(e) => {
                    info!(client = id.0, reason = "backpressure_limit", error = %e, "dropping worker client");
                    false
                }
            }
        });
    }

    /// Encodes `msg` once and queues it to every attached client; a client whose push fails
    /// (over its cap: 4008 is already queued; or gone) is dropped.
    pub(super) fn broadcast(&mut self, msg: &WorkerServerMsg) {
        let Some(frame) = encode(msg) else { return };
        self.by_id.retain(|id, c| {
            if !c.attached {
                return true;
            }
            match c.outbox.push_text(frame.clone()) {
                Ok(()) => true,
                Err(e) => {
                    info!(client = id.0, reason = "backpressure_limit", error = %e, "dropping worker client");
                    false
                }
            }
        });
    }
}
