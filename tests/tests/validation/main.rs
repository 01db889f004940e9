//! Validation against fixture sites and two local proxies, all on 127.0.0.0/8: the cascade
//! finds the cheapest passing profile × tier per endpoint, the diagnosis names the anti-bot
//! cookie, rate limits are reported, SSRF targets are refused without a connection, and proxy
//! credentials never leave the stage. Every transport used here refuses (and fails the test) if
//! it is ever asked to connect outside 127.0.0.0/8.

mod cascade;
mod egress;
mod fingerprint;
mod hello;
mod pipeline;
mod read_only;
mod ssrf;
mod support;
