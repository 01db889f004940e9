//! The benchmarks' HAR files come from the test library's writer, shared with the CLI's tests.

pub use recon_tests::har_file::to_har;
