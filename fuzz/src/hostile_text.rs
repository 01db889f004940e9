//! Site text for the `starter_code` target: pieces from the test suite's hostile strings, from
//! the characters the escaping must know, or anything, joined with the marker around and
//! between them so the lexers can tell where site text went.

use arbitrary::Arbitrary;

use crate::hostile::{with_markers, HOSTILE, SPECIAL_CHARS};

#[derive(Debug, Arbitrary)]
pub enum Piece {
    Listed(u8),
    Special(Vec<u8>),
    Free(String),
}

#[derive(Debug, Arbitrary)]
pub struct HostileText(pub Vec<Piece>);

impl HostileText {
    pub fn render(&self) -> String {
        let pieces: Vec<String> = self
            .0
            .iter()
            .map(|piece| match piece {
                Piece::Listed(i) => crate::pick(HOSTILE, *i).to_owned(),
                Piece::Special(indexes) => indexes
                    .iter()
                    .map(|i| crate::pick(SPECIAL_CHARS, *i))
                    .collect(),
                Piece::Free(text) => text.clone(),
            })
            .collect();
        with_markers(&pieces)
    }
}
