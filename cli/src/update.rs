//! The start-up version check (DESIGN.md § The CLI): `GET /version` runs beside the command
//! and, if it has answered by the end, a newer release gets a one-line notice. It never makes
//! the user wait, and any failure of it is ignored.

use recon_contracts::version::{SemVer, VERSION};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::ApiClient;

pub struct UpdateCheck {
    answer: oneshot::Receiver<Option<String>>,
    task: JoinHandle<()>,
}

impl UpdateCheck {
    pub fn start(client: &ApiClient) -> UpdateCheck {
        let client = client.clone();
        let (sender, answer) = oneshot::channel();
        let task = tokio::spawn(async move {
            let notice = match client.version().await {
                Ok(info) => notice(VERSION, &info.latest),
                Err(_) => None,
            };
            let _ = sender.send(notice);
        });
        UpdateCheck { answer, task }
    }

    /// Prints the notice if the check has already answered; never waits.
    pub fn print_if_ready(mut self) {
        if let Ok(Some(notice)) = self.answer.try_recv() {
            eprintln!("{notice}");
        }
    }
}

impl Drop for UpdateCheck {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn notice(current: &str, latest: &str) -> Option<String> {
    let newer = SemVer::parse(latest)? > SemVer::parse(current)?;
    newer.then(|| {
        format!(
            "recon: a newer version is available: {latest} (this is {current}); \
             upgrade with `pipx upgrade browser-recon` or `cargo install browser-recon`"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_newer_release_gets_a_notice() {
        assert!(notice("0.3.0", "0.3.1").is_some_and(|text| text.contains("0.3.1")));
        assert_eq!(notice("0.3.0", "0.3.0"), None);
        assert_eq!(notice("0.3.0", "0.2.9"), None);
        assert_eq!(notice("0.3.0", "garbage"), None);
    }
}
