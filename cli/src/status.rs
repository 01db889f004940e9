//! `recon status ID|URL`: one look at a scan, briefly or as JSON.

use crate::exit::{Exit, Failure};
use crate::outcome::print_json;
use crate::scan_ref::ScanRef;
use recon_contracts::ScanView;

pub async fn run(scan: ScanRef, json: bool, allow_http: bool) -> Result<Exit, Failure> {
    let (client, update) = crate::connect(allow_http)?;
    let scan_id = scan.resolve(&client).await?;
    let view = client.scan(scan_id).await?;
    if json {
        print_json(view.id, view.status.as_str(), &view.report_url);
    } else {
        print!("{}", describe(&view));
    }
    update.print_if_ready();
    Ok(Exit::Complete)
}

/// A few aligned lines, for people.
fn describe(view: &ScanView) -> String {
    let mut lines = vec![
        ("scan", view.id.to_string()),
        ("target", view.target_url.clone()),
        ("status", view.status.as_str().to_owned()),
    ];
    if let Some(error) = view.error.as_deref().filter(|error| !error.is_empty()) {
        lines.push(("error", crate::exit::one_line(error)));
    }
    if !view.intent_text.is_empty() {
        lines.push(("intent", view.intent_text.clone()));
    }
    if !view.starter_template.is_empty() {
        lines.push(("template", view.starter_template.clone()));
    }
    lines.push(("report", view.report_url.clone()));
    lines.push(("created", view.created_at.to_rfc3339()));
    lines.push(("updated", view.updated_at.to_rfc3339()));
    lines
        .into_iter()
        .map(|(label, value)| format!("{label:<9}{value}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use recon_contracts::ScanStatus;
    use uuid::Uuid;

    #[test]
    fn a_scan_reads_as_aligned_lines() {
        let time = Utc.with_ymd_and_hms(2025, 3, 14, 9, 30, 0).unwrap();
        let view = ScanView {
            id: Uuid::nil(),
            target_url: "https://demo-shop.recon.test/".into(),
            status: ScanStatus::Errored,
            intent_text: "lamp prices".into(),
            starter_template: String::new(),
            report_url: "http://127.0.0.1:8080/r/abc".into(),
            events_url: "/scans/x/events".into(),
            error: Some("validation: proxy refused".into()),
            created_at: time,
            updated_at: time,
        };
        let text = describe(&view);
        assert!(
            text.starts_with("scan     00000000-0000-0000-0000-000000000000\n"),
            "{text}"
        );
        assert!(
            text.contains("status   errored\nerror    validation: proxy refused\n"),
            "{text}"
        );
        assert!(text.contains("intent   lamp prices\n"));
        assert!(!text.contains("template"));
    }
}
