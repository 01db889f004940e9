//! Chrome's debugging pipe (`--remote-debugging-pipe`) carries JSON messages, each ended by a
//! NUL byte. This cuts the byte stream back into messages, with a cap on one message's size.
//! Pure state, so it is tested on bytes split at every possible point.

/// Splits the bytes read from the pipe into messages.
#[derive(Debug)]
pub struct PipeFrames {
    partial: Vec<u8>,
    max_message_bytes: usize,
    /// Inside a message over the cap: its bytes are dropped up to its NUL.
    skipping: bool,
    /// Messages dropped for being over the cap.
    pub oversized: usize,
}

impl PipeFrames {
    pub fn new(max_message_bytes: usize) -> PipeFrames {
        PipeFrames {
            partial: Vec::new(),
            max_message_bytes,
            skipping: false,
            oversized: 0,
        }
    }

    /// Takes the next bytes read; returns the messages they complete, in order.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut complete = Vec::new();
        while !bytes.is_empty() {
            let end = bytes.iter().position(|byte| *byte == 0);
            let (chunk, rest) = match end {
                Some(at) => (&bytes[..at], &bytes[at + 1..]),
                None => (bytes, &[][..]),
            };
            if !self.skipping {
                if self.partial.len() + chunk.len() > self.max_message_bytes {
                    self.partial = Vec::new();
                    self.skipping = true;
                    self.oversized += 1;
                } else {
                    self.partial.extend_from_slice(chunk);
                }
            }
            if end.is_some() {
                if !self.skipping {
                    complete.push(std::mem::take(&mut self.partial));
                }
                self.skipping = false;
            }
            bytes = rest;
        }
        complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_out_whole_however_the_bytes_are_split() {
        let stream =
            b"{\"id\":1,\"result\":{}}\0{\"method\":\"Network.loadingFinished\"}\0\0{\"id\":2";
        for split in 0..=stream.len() {
            let mut frames = PipeFrames::new(1 << 20);
            let mut messages = frames.push(&stream[..split]);
            messages.extend(frames.push(&stream[split..]));
            assert_eq!(
                messages,
                vec![
                    b"{\"id\":1,\"result\":{}}".to_vec(),
                    b"{\"method\":\"Network.loadingFinished\"}".to_vec(),
                    Vec::new(),
                ],
                "split at {split}"
            );
            assert_eq!(
                frames.push(b",\"result\":{}}\0"),
                vec![b"{\"id\":2,\"result\":{}}".to_vec()]
            );
        }
    }

    #[test]
    fn a_message_over_the_cap_is_dropped_and_the_next_one_is_read() {
        let mut frames = PipeFrames::new(8);
        assert_eq!(frames.push(b"12345"), Vec::<Vec<u8>>::new());
        assert_eq!(frames.push(b"6789"), Vec::<Vec<u8>>::new());
        assert_eq!(frames.push(b"more\0ok\0"), vec![b"ok".to_vec()]);
        assert_eq!(
            frames.push(b"123456789\0exactly8\0"),
            vec![b"exactly8".to_vec()]
        );
        assert_eq!(frames.oversized, 2);
    }
}
