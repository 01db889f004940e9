//! How a followed scan ended, and how `recon` says so: the report URL (or one JSON object) on
//! stdout, an errored step as one error line, and the exit code.

use std::time::Duration;

use recon_contracts::{ScanStatus, ScanView, Step, StepStatus};
use serde::Serialize;
use uuid::Uuid;

use crate::client::{ApiClient, ClientError};
use crate::exit::{Exit, Failure};
use crate::progress::FollowEnd;

/// Render's `complete` event can land a moment before the scan row says so.
const SETTLE_TRIES: u32 = 5;
const SETTLE_PAUSE: Duration = Duration::from_millis(400);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub scan_id: Uuid,
    pub status: ScanStatus,
    pub report_url: String,
    pub failed_step: Option<Step>,
    pub error: Option<String>,
}

/// The one object `--json` prints.
#[derive(Debug, Serialize)]
pub struct JsonResult<'a> {
    pub scan_id: Uuid,
    pub status: &'a str,
    pub report_url: &'a str,
}

impl Outcome {
    pub fn from_view(view: &ScanView) -> Outcome {
        Outcome {
            scan_id: view.id,
            status: view.status,
            report_url: view.report_url.clone(),
            failed_step: None,
            error: view.error.clone(),
        }
    }

    /// The end of a scan the CLI uploaded itself: the terminal event says how it ended and the
    /// upload's answer gave the report URL, so no further request is needed.
    pub fn from_follow(scan_id: Uuid, end: FollowEnd, report_url: &str) -> Outcome {
        match end {
            FollowEnd::Finished(view) => Outcome::from_view(&view),
            FollowEnd::Terminal(event) => {
                let errored = event.status == StepStatus::Errored;
                Outcome {
                    scan_id,
                    status: if errored {
                        ScanStatus::Errored
                    } else {
                        ScanStatus::Complete
                    },
                    report_url: report_url.to_owned(),
                    failed_step: errored.then_some(event.step),
                    error: if errored { event.message } else { None },
                }
            }
        }
    }

    /// Looks the scan up once following has stopped.
    pub async fn conclude(
        client: &ApiClient,
        scan_id: Uuid,
        end: FollowEnd,
    ) -> Result<Outcome, ClientError> {
        let event = match end {
            FollowEnd::Finished(view) => return Ok(Outcome::from_view(&view)),
            FollowEnd::Terminal(event) => event,
        };
        let mut view = client.scan(scan_id).await?;
        for _ in 0..SETTLE_TRIES {
            if view.status.is_finished() {
                break;
            }
            tokio::time::sleep(SETTLE_PAUSE).await;
            view = client.scan(scan_id).await?;
        }
        let errored = event.status == StepStatus::Errored;
        let mut outcome = Outcome::from_view(&view);
        if !view.status.is_finished() {
            // The events are the truth the user just watched.
            outcome.status = if errored {
                ScanStatus::Errored
            } else {
                ScanStatus::Complete
            };
        }
        if errored {
            outcome.failed_step = Some(event.step);
            outcome.error = event.message.or(outcome.error);
        }
        Ok(outcome)
    }

    /// Prints the result and says how to exit.
    pub fn finish(&self, json: bool) -> Result<crate::exit::Exit, Failure> {
        if json {
            print_json(self.scan_id, self.status.as_str(), &self.report_url);
        }
        match self.status {
            ScanStatus::Errored => Err(Failure::new(Exit::StepErrored, self.error_line())),
            _ => {
                if !json {
                    eprintln!("scan {} {}", self.scan_id, self.status.as_str());
                    println!("{}", self.report_url);
                }
                Ok(Exit::Complete)
            }
        }
    }

    fn error_line(&self) -> String {
        let reason = self
            .error
            .as_deref()
            .filter(|message| !message.trim().is_empty())
            .unwrap_or("no reason given");
        match self.failed_step {
            Some(step) => format!("scan {} failed at step {step}: {reason}", self.scan_id),
            None => format!("scan {} failed: {reason}", self.scan_id),
        }
    }
}

pub fn print_json(scan_id: Uuid, status: &str, report_url: &str) {
    print_value(&JsonResult {
        scan_id,
        status,
        report_url,
    });
}

/// One line of JSON on stdout: what `--json` prints. The value's strings came decoded
/// terminal-safe from the server.
pub fn print_value<T: Serialize>(value: &T) {
    // Serializing plain data (strings, numbers, UUIDs, times) cannot fail.
    if let Ok(line) = serde_json::to_string(value) {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: ScanStatus, step: Option<Step>, error: Option<&str>) -> Outcome {
        Outcome {
            scan_id: Uuid::nil(),
            status,
            report_url: "http://127.0.0.1:8080/r/abc".into(),
            failed_step: step,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn a_complete_scan_exits_zero() {
        let done = outcome(ScanStatus::Complete, None, None);
        assert_eq!(done.finish(false), Ok(Exit::Complete));
    }

    #[test]
    fn an_errored_step_exits_one_with_its_message() {
        let failed = outcome(
            ScanStatus::Errored,
            Some(Step::Validation),
            Some("proxy refused"),
        );
        let failure = failed.finish(true).unwrap_err();
        assert_eq!(failure.exit, Exit::StepErrored);
        assert_eq!(
            failure.message(),
            "scan 00000000-0000-0000-0000-000000000000 failed at step validation: proxy refused"
        );
        let swept = outcome(ScanStatus::Errored, None, None);
        assert!(swept
            .finish(false)
            .unwrap_err()
            .message()
            .ends_with("failed: no reason given"));
    }

    #[test]
    fn json_has_exactly_the_contract_fields() {
        let value = serde_json::to_value(JsonResult {
            scan_id: Uuid::nil(),
            status: "complete",
            report_url: "http://x/r/1",
        })
        .unwrap();
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["report_url", "scan_id", "status"]);
    }
}
