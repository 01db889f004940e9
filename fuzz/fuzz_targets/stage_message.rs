//! Decoding of what travels over NATS: the stage messages every stage consumes, the step events
//! the events recorder stores and the api relays, and the W3C trace context in the headers. A
//! malformed message is refused (and terminated) by the consumer; it must never panic it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_contracts::{decode_message, encode_message, RecordedEvent, StageMessage, StepEvent};

// The first byte picks what the rest is, so the seeds are plain messages.
fuzz_target!(|data: &[u8]| {
    let Some((kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 4 {
        0 => {
            if let Ok(message) = decode_message::<StageMessage>(bytes) {
                let again = encode_message(&message).expect("a decoded message encodes");
                assert_eq!(decode_message::<StageMessage>(&again).ok(), Some(message));
            }
        }
        1 => {
            if let Ok(event) = decode_message::<StepEvent>(bytes) {
                let _ = event.message_id();
                let again = encode_message(&event).expect("a decoded event encodes");
                decode_message::<StepEvent>(&again).expect("an encoded event decodes");
            }
        }
        2 => {
            // The api relays recorded events as JSON over the WebSocket and the events endpoint.
            if let Ok(event) = serde_json::from_slice::<RecordedEvent>(bytes) {
                let _ = event.is_terminal();
                let text = serde_json::to_string(&event).expect("a decoded event serialises");
                serde_json::from_str::<RecordedEvent>(&text).expect("a serialised event parses");
            }
        }
        _ => {
            // A traceparent header, then optionally a tracestate after a newline.
            let text = String::from_utf8_lossy(bytes);
            let (parent, state) = match text.split_once('\n') {
                Some((parent, state)) => (parent, Some(state)),
                None => (text.as_ref(), None),
            };
            // Header values off the wire never hold line breaks (the protocol splits on them).
            let breaks = |value: &str| value.contains(['\r', '\n']);
            if breaks(parent) || state.is_some_and(breaks) {
                return;
            }
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("traceparent", parent);
            if let Some(state) = state {
                headers.insert("tracestate", state);
            }
            let span = tracing::info_span!("fuzz");
            recon_runtime::trace_context::adopt_parent(&span, Some(&headers));
        }
    }
});
