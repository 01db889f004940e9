//! The report's "Changes since <date>" section: the drift result as a table, most severe first
//! (the order drift stores), or a sentence for a first scan, an unchanged site or a report
//! rendered before drift existed.

use std::fmt::Write;

use recon_contracts::{Change, ChangeKind, Drift, Severity};

use crate::html::escape;

/// The section's heading: `Changes since 1 Dec 2026`, or `Changes` when there is no date.
pub fn heading(drift: Option<&Drift>) -> String {
    match drift.and_then(|drift| drift.previous_completed_at) {
        Some(completed) => format!("Changes since {}", completed.format("%-d %b %Y")),
        None => "Changes".to_owned(),
    }
}

pub fn section(html: &mut String, drift: Option<&Drift>) {
    let _ = write!(
        html,
        "<section aria-labelledby=\"changes\"><h2 id=\"changes\">{}</h2>",
        escape(&heading(drift))
    );
    match drift {
        None => html.push_str(
            "<p class=\"muted\">This report was made before scans were compared with earlier ones.</p>",
        ),
        Some(drift) if drift.is_first_scan() => html.push_str(
            "<p class=\"muted\">This is the first scan of this site by this account: there is nothing to compare it with yet.</p>",
        ),
        Some(drift) if drift.changes.is_empty() && drift.omitted_changes == 0 => {
            html.push_str("<p>Nothing changed since the previous scan.</p>")
        }
        Some(drift) => table(html, drift),
    }
    html.push_str("</section>");
}

fn table(html: &mut String, drift: &Drift) {
    let _ = write!(
        html,
        "<p>{} change(s) since the previous scan",
        drift.changes.len() + drift.omitted_changes as usize
    );
    if let Some(previous) = drift.previous_scan_id {
        let _ = write!(html, " (<code>{previous}</code>)");
    }
    html.push_str(".</p><div class=\"scroll\"><table><caption class=\"visually-hidden\">Changes since the previous scan, most severe first</caption><thead><tr><th scope=\"col\">Severity</th><th scope=\"col\">Change</th><th scope=\"col\">Where</th><th scope=\"col\">Before</th><th scope=\"col\">After</th></tr></thead><tbody>");
    for change in &drift.changes {
        let _ = write!(
            html,
            "<tr><td><span class=\"tag\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            severity_word(change.severity),
            kind_words(change.kind),
            place(change),
            value(change.before.as_deref()),
            value(change.after.as_deref()),
        );
    }
    html.push_str("</tbody></table></div>");
    if drift.omitted_changes > 0 {
        let _ = write!(
            html,
            "<p class=\"muted\">{} more response field change(s) are counted but not listed.</p>",
            drift.omitted_changes
        );
    }
}

/// The vendor, or the endpoint and its field, escaped.
fn place(change: &Change) -> String {
    if let Some(vendor) = &change.vendor {
        return escape(vendor);
    }
    let endpoint = change
        .endpoint
        .as_deref()
        .or(change.endpoint_id.as_deref())
        .unwrap_or("");
    match &change.field {
        Some(field) => format!(
            "<code>{}</code> field <code>{}</code>",
            escape(endpoint),
            escape(field)
        ),
        None => format!("<code>{}</code>", escape(endpoint)),
    }
}

fn value(text: Option<&str>) -> String {
    match text {
        Some(text) => format!("<code>{}</code>", escape(text)),
        None => "<span class=\"muted\">—</span>".to_owned(),
    }
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
}

fn kind_words(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::VendorAdded => "vendor added",
        ChangeKind::VendorRemoved => "vendor removed",
        ChangeKind::VendorConfidenceChanged => "vendor confidence",
        ChangeKind::EndpointAdded => "endpoint added",
        ChangeKind::EndpointRemoved => "endpoint not seen",
        ChangeKind::ResponseFieldAdded => "response field added",
        ChangeKind::ResponseFieldRemoved => "response field removed",
        ChangeKind::ResponseFieldRetyped => "response field retyped",
        ChangeKind::AuthChanged => "auth",
        ChangeKind::PaginationChanged => "pagination",
        ChangeKind::ReplayChoiceChanged => "cheapest passing replay",
        ChangeKind::RateLimitChanged => "rate limit",
    }
}
