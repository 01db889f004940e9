//! Pipeline messages: small MessagePack records that carry ids, never the data itself.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use uuid::Uuid;

/// What every `scan.*` subject carries: the scan to work on. Inputs are loaded by id from
/// Postgres and the blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageMessage {
    pub scan_id: Uuid,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("could not encode MessagePack: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("malformed MessagePack message: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
}

/// Encodes with field names, so a reader with a newer struct can still decode older messages.
pub fn encode_message<T: Serialize>(value: &T) -> Result<Vec<u8>, MessageError> {
    Ok(rmp_serde::to_vec_named(value)?)
}

pub fn decode_message<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MessageError> {
    Ok(rmp_serde::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_message_round_trips() {
        let message = StageMessage {
            scan_id: Uuid::new_v4(),
        };
        let bytes = encode_message(&message).unwrap();
        assert_eq!(decode_message::<StageMessage>(&bytes).unwrap(), message);
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let err = decode_message::<StageMessage>(b"\xc1\xff not msgpack").unwrap_err();
        assert!(matches!(err, MessageError::Decode(_)));
    }
}
