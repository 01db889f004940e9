//! What a capture keeps of a body and of a WebSocket or EventSource connection, decided in one
//! place for both ways of capturing: the Chrome recorder and the HAR importer build their bodies
//! and stream samples here, so the two paths cannot drift apart in encoding, caps or sizes.

pub mod body;
pub mod stream;
