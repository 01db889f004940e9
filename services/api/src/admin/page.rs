//! The `/admin` page and its login form: plain server-rendered HTML with one inline style sheet
//! and no script, under a CSP that allows nothing else (the report's discipline, stricter: no
//! script at all, forms only to this origin). Every value is escaped.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use recon_contracts::admin::{AccountsReport, ScansReport, VersionReport, VersionWindow};
use recon_contracts::{QuotaUse, ScanStatus};
use recon_render::escape;
use recon_runtime::{admin_reports, db};

use super::Admin;
use crate::{ApiError, AppState};

const ADMIN_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;\
padding:1rem 2rem;color:#1d232a}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}\
table{border-collapse:collapse;margin:.5rem 0}th,td{border-bottom:1px solid #d5dbe1;\
padding:.25rem .75rem;text-align:left}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
.banner{background:#f3f6fa;border:1px solid #c9d4e0;border-radius:6px;padding:1rem}\
.warn{color:#a33a00;font-weight:600}.ok{color:#24663b}header{display:flex;\
justify-content:space-between;align-items:center}form.inline{display:inline}\
.windows{display:flex;gap:2rem;flex-wrap:wrap}section{overflow-x:auto}";

/// A whole page with the admin headers.
fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(ADMIN_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The login form, with `problem` above it when the last attempt failed.
pub fn login(status: StatusCode, problem: Option<&str>) -> Response {
    let problem = problem
        .map(|text| format!("<p class=\"warn\" id=\"problem\">{}</p>", escape(text)))
        .unwrap_or_default();
    let body = format!(
        "<h1>browser-recon admin</h1>{problem}\
         <form method=\"post\" action=\"/admin/login\">\
         <label>Admin API key <input type=\"password\" name=\"key\" id=\"key\" \
         autocomplete=\"off\" required></label> <button type=\"submit\" id=\"login\">Log in</button>\
         </form>"
    );
    html(status, "browser-recon admin: log in", &body)
}

pub async fn show(State(state): State<AppState>, admin: Admin) -> Result<Response, ApiError> {
    let pool = &state.deps.db;
    let versions = admin_reports::versions(pool, &state.settings.versions).await?;
    let accounts = admin_reports::accounts(pool, &state.deps.quotas).await?;
    let scans = admin_reports::scans(pool).await?;
    let name = db::accounts::name(pool, admin.account_id)
        .await?
        .unwrap_or_default();
    tracing::info!(
        account_id = %admin.account_id,
        key_id = %admin.key_id,
        "admin action: page viewed"
    );
    let mut body = String::with_capacity(16 * 1024);
    let logout = admin
        .csrf_token
        .as_deref()
        .map(|csrf| {
            format!(
                "<form class=\"inline\" method=\"post\" action=\"/admin/logout\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <button type=\"submit\" id=\"logout\">Log out</button></form>",
                escape(csrf)
            )
        })
        .unwrap_or_default();
    let _ = write!(
        body,
        "<header><h1>browser-recon admin</h1><div>signed in as <b id=\"account\">{}</b> {logout}</div></header>",
        escape(&name)
    );
    version_banner(&mut body, &versions);
    scans_section(&mut body, &scans);
    accounts_section(&mut body, &accounts);
    Ok(html(StatusCode::OK, "browser-recon admin", &body))
}

fn version_banner(body: &mut String, report: &VersionReport) {
    let _ = write!(
        body,
        "<section class=\"banner\" id=\"versions\"><h2>CLI versions</h2>\
         <p>latest <b>{}</b> · minimum supported <b id=\"minimum\">{}</b></p><div class=\"windows\">",
        escape(&report.latest),
        escape(&report.minimum)
    );
    for window in &report.windows {
        version_window(body, window);
    }
    body.push_str("</div>");
    let legacy = &report.legacy;
    let sunset = legacy.sunset.format("%Y-%m-%d");
    let line = if legacy.still_called {
        format!(
            "<p class=\"warn\" id=\"legacy\" data-still-called=\"true\">0.2.x clients still call the \
             legacy endpoint: {} requests in 7 days, {} accounts in 30 days; it retires on {sunset}.</p>",
            legacy.requests_7d, legacy.accounts_30d
        )
    } else if legacy.before_sunset {
        format!(
            "<p class=\"ok\" id=\"legacy\" data-still-called=\"false\">No 0.2.x client called the legacy \
             endpoint in 7 days ({} requests in 30 days); it retires on {sunset}.</p>",
            legacy.requests_30d
        )
    } else {
        format!(
            "<p id=\"legacy\" data-still-called=\"false\">The legacy endpoint retired on {sunset} \
             ({} calls refused in 30 days).</p>",
            legacy.requests_30d
        )
    };
    body.push_str(&line);
    body.push_str("</section>");
}

fn version_window(body: &mut String, window: &VersionWindow) {
    let below = &window.below_minimum;
    let _ = write!(
        body,
        "<div data-window=\"{days}\"><h3>last {days} days</h3><table><thead><tr><th>version</th>\
         <th>accounts</th><th>requests</th></tr></thead><tbody>",
        days = window.days
    );
    for version in &window.versions {
        let class = if version.below_minimum {
            " class=\"warn\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<tr data-version=\"{v}\"{class}><td>{v}</td><td class=\"n accounts\">{}</td>\
             <td class=\"n requests\">{}</td></tr>",
            version.accounts,
            version.requests,
            v = escape(&version.version)
        );
    }
    let _ = write!(
        body,
        "</tbody></table><p class=\"below\" data-versions=\"{}\" data-accounts=\"{}\" \
         data-requests=\"{}\">below the minimum: {} versions, {} accounts, {} requests</p></div>",
        below.versions,
        below.accounts,
        below.requests,
        below.versions,
        below.accounts,
        below.requests
    );
}

fn scans_section(body: &mut String, report: &ScansReport) {
    const STATUSES: [ScanStatus; 4] = [
        ScanStatus::Created,
        ScanStatus::Processing,
        ScanStatus::Complete,
        ScanStatus::Errored,
    ];
    body.push_str("<section id=\"scans\"><h2>Scans</h2><table><thead><tr><th>day</th>");
    for status in STATUSES {
        let _ = write!(body, "<th>{}</th>", status.as_str());
    }
    body.push_str("</tr></thead><tbody>");
    let mut days: Vec<_> = report.by_day.iter().map(|row| row.day).collect();
    days.dedup();
    for day in days.iter().rev() {
        let _ = write!(body, "<tr><td>{day}</td>");
        for status in STATUSES {
            let count = report
                .by_day
                .iter()
                .find(|row| row.day == *day && row.status == status.as_str())
                .map_or(0, |row| row.count);
            let _ = write!(body, "<td class=\"n\">{count}</td>");
        }
        body.push_str("</tr>");
    }
    body.push_str("<tr><th>now</th>");
    for status in STATUSES {
        let count = report
            .by_status
            .iter()
            .find(|row| row.status == status.as_str())
            .map_or(0, |row| row.count);
        let _ = write!(
            body,
            "<th class=\"n\" data-status=\"{}\">{count}</th>",
            status.as_str()
        );
    }
    body.push_str("</tr></tbody></table>");
    let sweeps = &report.orphan_sweeps;
    let _ = write!(
        body,
        "<p id=\"orphans\">Orphan sweeps: {} in 7 days marked {} scans errored ({} in 30 days).</p>",
        sweeps.sweeps_7d, sweeps.scans_7d, sweeps.scans_30d
    );
    body.push_str(
        "<h3>Errored scans</h3><table id=\"errored\"><thead><tr><th>when</th><th>account</th>\
         <th>site</th><th>step</th><th>message</th></tr></thead><tbody>",
    );
    for scan in &report.errored {
        let _ = write!(
            body,
            "<tr data-scan=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            scan.id,
            scan.at.format("%Y-%m-%d %H:%M"),
            escape(&scan.account),
            escape(&scan.target_url),
            escape(scan.step.as_deref().unwrap_or("")),
            escape(scan.message.as_deref().unwrap_or("")),
        );
    }
    if report.errored.is_empty() {
        body.push_str("<tr><td colspan=\"5\">none</td></tr>");
    }
    body.push_str("</tbody></table></section>");
}

fn quota_cell(quota: &QuotaUse) -> String {
    format!("<td class=\"n\">{} / {}</td>", quota.used, quota.limit)
}

fn accounts_section(body: &mut String, report: &AccountsReport) {
    body.push_str(
        "<section id=\"accounts\"><h2>Accounts</h2><table><thead><tr><th>account</th>\
         <th>keys</th><th>scans</th><th>in processing</th><th>scans / hour</th>\
         <th>capture bytes / day</th><th>replays / day</th><th>WebSockets</th></tr></thead><tbody>",
    );
    for account in &report.accounts {
        let quotas = &account.quotas;
        let admin = if account.admin { " (admin)" } else { "" };
        let _ = write!(
            body,
            "<tr data-account=\"{name}\"><td>{name}{admin}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td>{}{}{}{}{}</tr>",
            account.active_keys,
            account.scans,
            quota_cell(&quotas.concurrent_scans),
            quota_cell(&quotas.scans_per_hour),
            quota_cell(&quotas.capture_bytes_per_day),
            quota_cell(&quotas.validation_requests_per_day),
            quota_cell(&quotas.websockets),
            name = escape(&account.name),
        );
    }
    body.push_str("</tbody></table></section>");
}
