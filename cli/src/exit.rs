//! Exit codes (DESIGN.md § The CLI) and the one error type every command returns, so that
//! `main` prints each failure the same way: one line, `recon: error: …`, and the right code.

use std::fmt;

use crate::capture::CaptureError;
use crate::client::ClientError;
use crate::config::ConfigError;
use crate::har::HarError;
use crate::terminal_text::terminal_safe;

/// How `recon` ends. The numbers are part of the contract: scripts and CI branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The scan completed (or the command did what it was asked).
    Complete,
    /// A pipeline step errored.
    StepErrored,
    /// Bad usage or bad input: arguments, a HAR file, a scan id, the config file.
    Usage,
    /// The server could not be reached, refused the API key, or wants a newer client.
    Server,
    /// The user pressed Ctrl-C; the scan goes on on the server.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Complete => 0,
            Exit::StepErrored => 1,
            Exit::Usage => 2,
            Exit::Server => 3,
            Exit::Interrupted => 130,
        }
    }
}

/// A failure of a command: what to tell the user and how to exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub exit: Exit,
    message: String,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: one_line(&message.into()),
        }
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Usage, message)
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Failure {
        Failure::new(error.exit(), error.to_string())
    }
}

impl From<HarError> for Failure {
    fn from(error: HarError) -> Failure {
        Failure::usage(error.to_string())
    }
}

impl From<CaptureError> for Failure {
    fn from(error: CaptureError) -> Failure {
        Failure::new(Exit::Usage, error.to_string())
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Failure {
        Failure::new(error.exit(), error.to_string())
    }
}

/// Makes a message from a server or a library safe to print ([`terminal_safe`]) and collapses
/// line breaks and runs of blanks, so it stays on the one line the user (and a log scraper)
/// expects.
pub fn one_line(text: &str) -> String {
    terminal_safe(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn codes_match_the_contract() {
        assert_eq!(Exit::Complete.code(), 0);
        assert_eq!(Exit::StepErrored.code(), 1);
        assert_eq!(Exit::Usage.code(), 2);
        assert_eq!(Exit::Server.code(), 3);
    }

    #[test]
    fn failures_are_one_line() {
        let failure = Failure::usage("first line\n  second\tline\n");
        assert_eq!(failure.message(), "first line second line");
    }

    #[test]
    fn failures_carry_no_escape_sequence() {
        let failure = Failure::usage("refused: \u{1b}[2J\u{1b}]52;c;cm0gLXJm\u{07}bad key\u{202e}");
        assert_eq!(failure.message(), "refused: bad key");
    }

    #[test]
    fn client_errors_map_to_their_exit_codes() {
        let cases = [
            (ClientError::for_status(401, None, "/scans"), Exit::Server),
            (ClientError::for_status(403, None, "/scans"), Exit::Server),
            (ClientError::for_status(426, None, "/scans"), Exit::Server),
            (ClientError::for_status(502, None, "/scans"), Exit::Server),
            (ClientError::for_status(404, None, "/scans/x"), Exit::Usage),
            (ClientError::for_status(400, None, "/scans"), Exit::Usage),
            (
                ClientError::for_status(413, None, "/scans/x/capture"),
                Exit::Usage,
            ),
            (
                ClientError::Unreachable {
                    server: "http://127.0.0.1:1".into(),
                    reason: "connection refused".into(),
                },
                Exit::Server,
            ),
        ];
        for (error, exit) in cases {
            assert_eq!(Failure::from(error).exit, exit);
        }
    }

    #[test]
    fn har_and_config_errors_are_usage_errors() {
        let har = HarError::Empty {
            path: PathBuf::from("x.har"),
        };
        assert_eq!(Failure::from(har).exit, Exit::Usage);
        let config = ConfigError::BadServerUrl {
            source_name: "RECON_SERVER".into(),
            value: "ftp://x".into(),
            reason: "not http".into(),
        };
        assert_eq!(Failure::from(config).exit, Exit::Usage);
        assert_eq!(Failure::from(ConfigError::MissingApiKey).exit, Exit::Server);
    }
}
