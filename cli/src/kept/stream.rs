//! A WebSocket or EventSource connection as a capture keeps it: every message counted by
//! direction, the first few kept as samples (`sent: …` / `received: …`), each cut short, so a
//! chatty connection costs a few hundred bytes however long it ran.

use recon_contracts::{StreamKind, StreamSummary};

/// Messages of one connection kept as samples.
pub const SAMPLES_PER_STREAM: usize = 5;
/// Characters kept of one sample's message.
pub const SAMPLE_CHARS: usize = 300;

/// WebSocket opcode of a binary frame (RFC 6455 § 5.2).
const BINARY_OPCODE: f64 = 2.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// One message of a connection.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    Text(&'a str),
    /// A binary frame; DevTools and HAR files both hand its payload over as base64.
    Binary {
        base64: &'a str,
    },
    /// An EventSource message and its event name (empty or `message` for the default event).
    Event {
        name: &'a str,
        data: &'a str,
    },
}

impl<'a> Message<'a> {
    /// A WebSocket frame by its opcode, as DevTools and HAR files report it.
    pub fn frame(opcode: Option<f64>, payload: &'a str) -> Message<'a> {
        if opcode == Some(BINARY_OPCODE) {
            Message::Binary { base64: payload }
        } else {
            Message::Text(payload)
        }
    }
}

/// A connection before its first message.
pub fn new_stream(kind: StreamKind, url: &str) -> StreamSummary {
    StreamSummary {
        kind,
        url: url.to_owned(),
        messages_sent: 0,
        messages_received: 0,
        samples: Vec::new(),
    }
}

/// Counts `message` and keeps it as a sample while there is room.
pub fn add_message(stream: &mut StreamSummary, direction: Direction, message: Message<'_>) {
    match direction {
        Direction::Sent => stream.messages_sent += 1,
        Direction::Received => stream.messages_received += 1,
    }
    if stream.samples.len() >= SAMPLES_PER_STREAM {
        return;
    }
    let mut sample = String::from(match direction {
        Direction::Sent => "sent: ",
        Direction::Received => "received: ",
    });
    match message {
        Message::Text(text) => sample.extend(text.chars().take(SAMPLE_CHARS)),
        Message::Binary { base64 } => {
            sample.push_str(&format!("[binary frame, {} base64 chars]", base64.len()))
        }
        Message::Event { name, data } if name.is_empty() || name == "message" => {
            sample.extend(data.chars().take(SAMPLE_CHARS))
        }
        Message::Event { name, data } => sample.extend(
            name.chars()
                .chain(": ".chars())
                .chain(data.chars())
                .take(SAMPLE_CHARS),
        ),
    }
    stream.samples.push(sample);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn websocket() -> StreamSummary {
        new_stream(StreamKind::WebSocket, "wss://shop.test/live")
    }

    #[test]
    fn messages_are_counted_by_direction_and_sampled_in_order() {
        let mut stream = websocket();
        add_message(&mut stream, Direction::Sent, Message::Text("hello"));
        add_message(&mut stream, Direction::Received, Message::Text("world"));
        assert_eq!((stream.messages_sent, stream.messages_received), (1, 1));
        assert_eq!(stream.samples, ["sent: hello", "received: world"]);
    }

    #[test]
    fn only_the_first_messages_are_sampled_but_all_are_counted() {
        let mut stream = websocket();
        for index in 0..SAMPLES_PER_STREAM + 3 {
            add_message(
                &mut stream,
                Direction::Received,
                Message::Text(&index.to_string()),
            );
        }
        assert_eq!(stream.messages_received, SAMPLES_PER_STREAM as u64 + 3);
        assert_eq!(stream.samples.len(), SAMPLES_PER_STREAM);
        assert_eq!(stream.samples[0], "received: 0");
    }

    #[test]
    fn a_long_message_is_cut_to_its_first_characters() {
        let mut stream = websocket();
        let long = "é".repeat(SAMPLE_CHARS + 10);
        add_message(&mut stream, Direction::Sent, Message::Text(&long));
        assert_eq!(
            stream.samples[0],
            format!("sent: {}", "é".repeat(SAMPLE_CHARS))
        );
    }

    #[test]
    fn a_binary_frame_is_sampled_by_its_length() {
        let mut stream = websocket();
        add_message(
            &mut stream,
            Direction::Received,
            Message::frame(Some(2.0), "AAEC"),
        );
        assert_eq!(stream.samples, ["received: [binary frame, 4 base64 chars]"]);
    }

    #[test]
    fn a_text_frame_is_sampled_as_text() {
        let mut stream = websocket();
        add_message(
            &mut stream,
            Direction::Sent,
            Message::frame(Some(1.0), "{}"),
        );
        add_message(&mut stream, Direction::Sent, Message::frame(None, "[]"));
        assert_eq!(stream.samples, ["sent: {}", "sent: []"]);
    }

    #[test]
    fn a_named_event_keeps_its_name_and_the_default_event_does_not() {
        let mut stream = new_stream(StreamKind::EventSource, "https://shop.test/events");
        for name in ["price", "message", ""] {
            add_message(
                &mut stream,
                Direction::Received,
                Message::Event { name, data: "{}" },
            );
        }
        assert_eq!(
            stream.samples,
            ["received: price: {}", "received: {}", "received: {}"]
        );
    }
}
