//! The HTML page of a report: one self-contained file (inline CSS and JS, no fonts, images or
//! anything else loaded from outside). Every captured string is escaped. The changes section is
//! `crate::changes`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

use recon_contracts::{
    Endpoint, EndpointValidation, NetworkTier, ReplayAttempt, ReplayProfile, Report, Verdict,
};

const STYLE: &str = include_str!("../assets/report.css");
const SCRIPT: &str = include_str!("../assets/report.js");

/// Endpoints in the inventory table beyond this many are summarised, to keep the page fast.
const MAX_TABLE_ENDPOINTS: usize = 5_000;

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Links from the page to the machine-readable files, relative to `/r/{slug}`.
pub struct Links<'a> {
    pub slug: &'a str,
    pub has_openapi: bool,
}

pub fn page(report: &Report, links: &Links<'_>) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let target = escape(&report.scan.target_url);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>browser-recon report: {target}</title><style>{STYLE}</style></head><body>\
         <a class=\"skip\" href=\"#summary\">Skip to the report</a>\
         <header class=\"top\"><h1>browser-recon report</h1>\
         <p class=\"meta\">Target <code>{target}</code> · scan <code>{}</code> · {}</p>",
        report.scan.id,
        escape(report.scan.status.as_str())
    );
    if !report.scan.intent_text.is_empty() {
        let _ = write!(
            html,
            "<p class=\"meta\">Intent: “{}”</p>",
            escape(&report.scan.intent_text)
        );
    }
    let slug = escape(links.slug);
    let _ = write!(
        html,
        "<p class=\"meta\"><a href=\"./{slug}?download=1\">Download this page</a> · \
         <a href=\"./{slug}.json\">Report JSON</a>"
    );
    if links.has_openapi {
        let _ = write!(
            html,
            " · <a href=\"./{slug}/openapi.json\" download>OpenAPI file</a>"
        );
    }
    html.push_str("</p><nav class=\"toc\" aria-label=\"Sections\"><ul>\
        <li><a href=\"#summary\">Summary</a></li><li><a href=\"#changes\">Changes</a></li>\
        <li><a href=\"#recommendation\">Recommendation</a></li>\
        <li><a href=\"#vendors\">Anti-bot vendors</a></li><li><a href=\"#intent\">Intent ranking</a></li>\
        <li><a href=\"#validation\">Validation</a></li><li><a href=\"#code\">Starter code</a></li>\
        <li><a href=\"#endpoints\">Endpoints</a></li></ul></nav></header><main id=\"main\">");
    let labels: HashMap<&str, &Endpoint> = report
        .endpoints
        .iter()
        .map(|e| (e.id.as_str(), e))
        .collect();
    summary(&mut html, report);
    crate::changes::section(&mut html, report.drift.as_ref());
    recommendation(&mut html, report, &labels);
    vendors(&mut html, report);
    intent(&mut html, report, &labels);
    validation(&mut html, report, &labels);
    code(&mut html, report, &labels);
    endpoints(&mut html, report);
    html.push_str("</main><footer><p>Written by browser-recon. Secrets in the capture were replaced by placeholders such as <code>&lt;cookie:name&gt;</code> before this report was made; the starter code reads them from environment variables.</p></footer>\
        <div id=\"status\" class=\"visually-hidden\" role=\"status\" aria-live=\"polite\"></div>");
    let _ = write!(html, "<script>{SCRIPT}</script></body></html>");
    html
}

fn label_of(labels: &HashMap<&str, &Endpoint>, id: &str) -> String {
    labels
        .get(id)
        .map(|e| match &e.graphql_operation {
            Some(operation) => format!("{} {}{} ({operation})", e.method, e.host, e.path_template),
            None => format!("{} {}{}", e.method, e.host, e.path_template),
        })
        .unwrap_or_else(|| id.to_owned())
}

fn summary(html: &mut String, report: &Report) {
    let passed = report
        .validation
        .results
        .iter()
        .filter(|r| r.best.is_some())
        .count();
    let cards = [
        (
            report.detection.vendors.len().to_string(),
            "anti-bot vendors",
        ),
        (report.endpoints.len().to_string(), "endpoints found"),
        (report.intent.ranked.len().to_string(), "match the intent"),
        (
            format!("{passed}/{}", report.validation.results.len()),
            "validated endpoints replayable",
        ),
        (
            report
                .synthesis
                .snippets
                .iter()
                .map(|s| s.endpoint_id.as_str())
                .collect::<BTreeSet<_>>()
                .len()
                .to_string(),
            "endpoints with starter code",
        ),
        (
            report
                .scrub
                .as_ref()
                .map_or(0, |s| s.replacements)
                .to_string(),
            "secret values scrubbed",
        ),
    ];
    html.push_str(
        "<section aria-labelledby=\"summary\"><h2 id=\"summary\">Summary</h2><div class=\"cards\">",
    );
    for (value, text) in cards {
        let _ = write!(
            html,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            escape(&value),
            escape(text)
        );
    }
    html.push_str("</div>");
    if let Some(scrub) = report.scrub.as_ref().filter(|s| !s.by_kind.is_empty()) {
        let kinds: Vec<String> = scrub
            .by_kind
            .iter()
            .map(|(kind, count)| format!("{count} {}", escape(kind)))
            .collect();
        let _ = write!(
            html,
            "<p class=\"muted\">Replaced by placeholders in the stored copy of the capture: {}.</p>",
            kinds.join(", ")
        );
    }
    html.push_str("</section>");
}

fn recommendation(html: &mut String, report: &Report, labels: &HashMap<&str, &Endpoint>) {
    html.push_str(
        "<section aria-labelledby=\"recommendation\"><h2 id=\"recommendation\">Recommendation</h2>",
    );
    match &report.validation.recommendation {
        Some(text) => {
            let _ = write!(html, "<p class=\"recommend\">{}</p>", escape(text));
        }
        None => html.push_str("<p class=\"recommend\">No combination was confirmed by validation; the starter code replays the captured requests as they were.</p>"),
    }
    let per_endpoint: Vec<&EndpointValidation> = report
        .validation
        .results
        .iter()
        .filter(|r| r.recommendation.is_some())
        .collect();
    if !per_endpoint.is_empty() {
        html.push_str("<ul class=\"plain\">");
        for result in per_endpoint {
            let _ = write!(
                html,
                "<li><code>{}</code>: {}</li>",
                escape(&label_of(labels, &result.endpoint_id)),
                escape(result.recommendation.as_deref().unwrap_or_default())
            );
        }
        html.push_str("</ul>");
    }
    if !report.synthesis.drivers.is_empty() {
        html.push_str("<h3>Why</h3><ul class=\"plain\">");
        for driver in &report.synthesis.drivers {
            let _ = write!(html, "<li>{}</li>", escape(driver));
        }
        html.push_str("</ul>");
    }
    if !report.synthesis.notes.is_empty() {
        html.push_str("<h3>Caveats</h3><ul class=\"plain\">");
        for note in &report.synthesis.notes {
            let _ = write!(html, "<li>{}</li>", escape(note));
        }
        html.push_str("</ul>");
    }
    html.push_str("</section>");
}

fn vendors(html: &mut String, report: &Report) {
    html.push_str("<section aria-labelledby=\"vendors\"><h2 id=\"vendors\">Anti-bot vendors</h2>");
    if report.detection.vendors.is_empty() {
        html.push_str(
            "<p class=\"muted\">No anti-bot vendor was detected on the site's own hosts.</p>",
        );
    } else {
        html.push_str("<div class=\"scroll\"><table><caption class=\"visually-hidden\">Vendors and the evidence for each</caption><thead><tr><th scope=\"col\">Vendor</th><th scope=\"col\">Product</th><th scope=\"col\">Confidence</th><th scope=\"col\">Evidence</th></tr></thead><tbody>");
        for vendor in &report.detection.vendors {
            let mut evidence = String::new();
            for (index, item) in vendor.evidence.iter().enumerate() {
                if index == 3 && vendor.evidence.len() > 4 {
                    let _ = write!(
                        evidence,
                        "<details><summary>{} more</summary>",
                        vendor.evidence.len() - 3
                    );
                }
                let _ = write!(
                    evidence,
                    "<div>{} <span class=\"tag\">{}</span></div>",
                    escape(&item.detail),
                    escape(&item.rule)
                );
            }
            if vendor.evidence.len() > 4 {
                evidence.push_str("</details>");
            }
            let _ = write!(
                html,
                "<tr><th scope=\"row\">{}</th><td>{}<br><span class=\"muted\">{}</span></td><td>{:.0}%</td><td>{}</td></tr>",
                escape(&vendor.id),
                escape(&vendor.product),
                escape(&vendor.category),
                vendor.confidence * 100.0,
                evidence
            );
        }
        html.push_str("</tbody></table></div>");
    }
    if !report.detection.challenges.is_empty() {
        let _ = write!(
            html,
            "<h3>Challenged requests</h3><p>{} captured request(s) met a challenge or block page.</p><div class=\"scroll\"><table><thead><tr><th scope=\"col\">Request</th><th scope=\"col\">Status</th><th scope=\"col\">Vendor</th><th scope=\"col\">Kind</th></tr></thead><tbody>",
            report.detection.challenges.len()
        );
        for challenge in report.detection.challenges.iter().take(50) {
            let _ = write!(
                html,
                "<tr><td><code>{} {}{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&challenge.method),
                escape(&challenge.host),
                escape(&challenge.path),
                challenge
                    .status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "—".into()),
                escape(&challenge.vendor),
                escape(&format!("{:?}", challenge.kind).to_lowercase())
            );
        }
        html.push_str("</tbody></table></div>");
    }
    html.push_str("</section>");
}

fn intent(html: &mut String, report: &Report, labels: &HashMap<&str, &Endpoint>) {
    html.push_str("<section aria-labelledby=\"intent\"><h2 id=\"intent\">Intent ranking</h2>");
    if report.intent.ranked.is_empty() {
        html.push_str("<p class=\"muted\">No endpoint matched the intent.</p>");
    } else {
        html.push_str("<ol>");
        for ranked in report.intent.ranked.iter().take(25) {
            let reasons = if ranked.reasons.is_empty() {
                String::new()
            } else {
                format!(
                    "<ul class=\"plain\">{}</ul>",
                    ranked
                        .reasons
                        .iter()
                        .map(|r| format!("<li>{}</li>", escape(r)))
                        .collect::<String>()
                )
            };
            let _ = write!(
                html,
                "<li><code>{}</code> <span class=\"tag\">score {:.2}</span>{reasons}</li>",
                escape(&label_of(labels, &ranked.endpoint_id)),
                ranked.score
            );
        }
        html.push_str("</ol>");
        if report.intent.ranked.len() > 25 {
            let _ = write!(
                html,
                "<p class=\"muted\">{} more in the report JSON.</p>",
                report.intent.ranked.len() - 25
            );
        }
    }
    html.push_str("</section>");
}

const PROFILES: [(ReplayProfile, &str); 4] = [
    (ReplayProfile::Plain, "plain"),
    (ReplayProfile::BrowserHeaders, "browser-headers"),
    (ReplayProfile::BrowserSession, "browser-session"),
    (ReplayProfile::Impersonate, "impersonate"),
];
const TIERS: [(NetworkTier, &str); 3] = [
    (NetworkTier::Direct, "direct"),
    (NetworkTier::Datacenter, "datacenter"),
    (NetworkTier::Residential, "residential"),
];

fn validation(html: &mut String, report: &Report, labels: &HashMap<&str, &Endpoint>) {
    html.push_str(
        "<section aria-labelledby=\"validation\"><h2 id=\"validation\">Validation matrix</h2>",
    );
    if report.validation.results.is_empty() {
        html.push_str("<p class=\"muted\">Validation did not replay any endpoint.</p></section>");
        return;
    }
    html.push_str("<ul class=\"legend\" aria-label=\"Legend\"><li class=\"v-pass\">pass: same status class and body shape</li><li class=\"v-blocked\">blocked: challenge or block page</li><li class=\"v-error\">error: other failure</li><li class=\"v-none\">not tried</li></ul>");
    let _ = write!(
        html,
        "<p class=\"muted\">{} replay request(s) sent. Only requests that cannot change state on the site are replayed: GET, HEAD, OPTIONS and GraphQL queries.</p>",
        report.validation.requests_sent
    );
    for result in &report.validation.results {
        let label = escape(&label_of(labels, &result.endpoint_id));
        if let Some(not_replayed) = &result.not_replayed {
            let _ = write!(
                html,
                "<h3><code>{label}</code></h3><p class=\"not-replayed\">{}</p>",
                escape(&not_replayed.sentence())
            );
            continue;
        }
        let _ = write!(
            html,
            "<h3><code>{label}</code></h3><div class=\"scroll\"><table class=\"matrix\"><caption class=\"visually-hidden\">Replay results for {label}: profiles by network tier</caption><thead><tr><th scope=\"col\">Profile</th>"
        );
        for (_, tier) in TIERS {
            let _ = write!(html, "<th scope=\"col\">{tier}</th>");
        }
        html.push_str("</tr></thead><tbody>");
        let cells: BTreeMap<(ReplayProfile, NetworkTier), &ReplayAttempt> = result
            .attempts
            .iter()
            .map(|a| ((a.profile, a.tier), a))
            .collect();
        for (profile, profile_name) in PROFILES {
            let _ = write!(html, "<tr><th scope=\"row\">{profile_name}</th>");
            for (tier, _) in TIERS {
                let best = result
                    .best
                    .is_some_and(|b| b.profile == profile && b.tier == tier);
                let best_class = if best { " best" } else { "" };
                match cells.get(&(profile, tier)) {
                    Some(attempt) => {
                        let (class, word) = match attempt.verdict {
                            Verdict::Pass => ("v-pass", "pass"),
                            Verdict::Blocked => ("v-blocked", "blocked"),
                            Verdict::Error => ("v-error", "error"),
                        };
                        let status = attempt
                            .status
                            .map(|s| format!(" {s}"))
                            .unwrap_or_else(|| " —".to_owned());
                        let title = attempt
                            .reason
                            .as_deref()
                            .map(|r| format!(" title=\"{}\"", escape(r)))
                            .unwrap_or_default();
                        let star = if best { " ★ cheapest" } else { "" };
                        let _ = write!(
                            html,
                            "<td class=\"{class}{best_class}\"{title}>{word}{status}{star}</td>"
                        );
                    }
                    None => html.push_str("<td class=\"v-none\">not tried</td>"),
                }
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table></div>");
        let mut facts = Vec::new();
        if let Some(minimal) = &result.minimal {
            if !minimal.cookies.is_empty() || !minimal.headers.is_empty() {
                facts.push(format!(
                    "Minimal set: cookies [{}], headers [{}]",
                    escape(&minimal.cookies.join(", ")),
                    escape(&minimal.headers.join(", "))
                ));
            }
        }
        if let Some(limit) = &result.rate_limit {
            facts.push(format!(
                "Rate limited: HTTP {}{}",
                limit.status,
                limit
                    .retry_after_secs
                    .map(|s| format!(", Retry-After {s} s"))
                    .unwrap_or_default()
            ));
        }
        facts.extend(result.notes.iter().map(|n| escape(n)));
        let reasons: Vec<String> = result
            .attempts
            .iter()
            .filter_map(|a| {
                a.reason.as_deref().map(|r| {
                    format!(
                        "{} × {}: {}",
                        profile_word(a.profile),
                        tier_word(a.tier),
                        escape(r)
                    )
                })
            })
            .collect();
        if !facts.is_empty() {
            let _ = write!(
                html,
                "<ul class=\"plain\">{}</ul>",
                facts
                    .iter()
                    .map(|f| format!("<li>{f}</li>"))
                    .collect::<String>()
            );
        }
        if !reasons.is_empty() {
            let _ =
                write!(
                html,
                "<details><summary>Attempt details</summary><ul class=\"plain\">{}</ul></details>",
                reasons.iter().map(|r| format!("<li>{r}</li>")).collect::<String>()
            );
        }
    }
    if !report.validation.notes.is_empty() {
        html.push_str("<h3>Notes</h3><ul class=\"plain\">");
        for note in &report.validation.notes {
            let _ = write!(html, "<li>{}</li>", escape(note));
        }
        html.push_str("</ul>");
    }
    html.push_str("</section>");
}

fn profile_word(profile: ReplayProfile) -> &'static str {
    PROFILES
        .iter()
        .find(|(p, _)| *p == profile)
        .map_or("?", |(_, name)| name)
}

fn tier_word(tier: NetworkTier) -> &'static str {
    TIERS
        .iter()
        .find(|(t, _)| *t == tier)
        .map_or("?", |(_, name)| name)
}

fn code(html: &mut String, report: &Report, labels: &HashMap<&str, &Endpoint>) {
    html.push_str("<section aria-labelledby=\"code\"><h2 id=\"code\">Starter code</h2>");
    if report.synthesis.snippets.is_empty() {
        html.push_str(
            "<p class=\"muted\">No starter code was written for this scan.</p></section>",
        );
        return;
    }
    html.push_str("<p class=\"muted\">Secrets are read from environment variables (named in each file); proxies from <code>DATACENTER_PROXY</code> / <code>RESIDENTIAL_PROXY</code>.</p>");
    let mut order: Vec<&str> = Vec::new();
    for snippet in &report.synthesis.snippets {
        if !order.contains(&snippet.endpoint_id.as_str()) {
            order.push(&snippet.endpoint_id);
        }
    }
    let mut counter = 0;
    for endpoint_id in order {
        let _ = write!(
            html,
            "<h3><code>{}</code></h3>",
            escape(&label_of(labels, endpoint_id))
        );
        let mut snippets: Vec<_> = report
            .synthesis
            .snippets
            .iter()
            .filter(|s| s.endpoint_id == endpoint_id)
            .collect();
        // Python first (the complete program), then the rest as they came.
        snippets.sort_by_key(|s| s.language != "python");
        for snippet in snippets {
            counter += 1;
            let id = format!("snippet-{counter}");
            let language = escape(&snippet.language);
            let library = snippet
                .library
                .as_deref()
                .map(|l| format!(" <span class=\"tag\">{}</span>", escape(l)))
                .unwrap_or_default();
            let head = format!(
                "<div class=\"snippet-head\"><h4>{language}{library}</h4><button type=\"button\" data-copy=\"{id}\" aria-label=\"Copy the {language} code\">Copy</button></div>"
            );
            let body = format!(
                "<pre tabindex=\"0\" aria-label=\"{language} code\"><code id=\"{id}\" class=\"language-{language}\">{}</code></pre>",
                escape(&snippet.code)
            );
            if snippet.language == "python" {
                let _ = write!(html, "<div class=\"snippet\">{head}{body}</div>");
            } else {
                let _ = write!(
                    html,
                    "<details class=\"snippet\"><summary>{language}{library}</summary>{head}{body}</details>"
                );
            }
        }
    }
    html.push_str("</section>");
}

fn endpoints(html: &mut String, report: &Report) {
    html.push_str(
        "<section aria-labelledby=\"endpoints\"><h2 id=\"endpoints\">Endpoint inventory</h2>",
    );
    if report.endpoints.is_empty() {
        html.push_str("<p class=\"muted\">No endpoint was found in the capture.</p></section>");
        return;
    }
    let kinds: BTreeSet<&str> = report.endpoints.iter().map(|e| e.kind.as_str()).collect();
    html.push_str("<div class=\"filters\" role=\"search\"><label for=\"endpoint-filter\">Filter<input id=\"endpoint-filter\" type=\"search\" placeholder=\"host, path, bucket…\" autocomplete=\"off\"></label><label for=\"endpoint-kind\">Kind<select id=\"endpoint-kind\"><option value=\"\">all kinds</option>");
    for kind in kinds {
        let kind = escape(kind);
        let _ = write!(html, "<option value=\"{kind}\">{kind}</option>");
    }
    let _ = write!(
        html,
        "</select></label><p id=\"endpoint-count\" class=\"muted\" aria-live=\"polite\">{} endpoints</p></div>",
        report.endpoints.len()
    );
    html.push_str("<div class=\"scroll\"><table id=\"endpoint-table\"><caption class=\"visually-hidden\">Endpoints seen in the capture</caption><thead><tr><th scope=\"col\">Method</th><th scope=\"col\">Host</th><th scope=\"col\">Path</th><th scope=\"col\">Kind</th><th scope=\"col\" class=\"hide-narrow\">Bucket</th><th scope=\"col\" class=\"hide-narrow\">Samples</th><th scope=\"col\" class=\"hide-narrow\">Status</th><th scope=\"col\" class=\"hide-narrow\">Details</th></tr></thead><tbody>");
    for endpoint in report.endpoints.iter().take(MAX_TABLE_ENDPOINTS) {
        let path = match &endpoint.graphql_operation {
            Some(operation) => format!("{} ({operation})", endpoint.path_template),
            None => endpoint.path_template.clone(),
        };
        let search = escape(
            &format!(
                "{} {} {} {} {}",
                endpoint.method, endpoint.host, path, endpoint.kind, endpoint.bucket
            )
            .to_lowercase(),
        );
        let statuses: Vec<String> = endpoint.statuses.iter().map(u16::to_string).collect();
        let mut details = Vec::new();
        if let Some(pagination) = &endpoint.pagination {
            details.push(format!(
                "paginates ({}: {})",
                format!("{:?}", pagination.style).to_lowercase(),
                pagination.parameters.join(", ")
            ));
        }
        if !endpoint.auth.is_empty() {
            details.push(format!(
                "auth: {}",
                endpoint
                    .auth
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if endpoint.challenged_count > 0 {
            details.push(format!("{} challenged", endpoint.challenged_count));
        }
        let _ = write!(
            html,
            "<tr data-kind=\"{}\" data-search=\"{search}\"><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"hide-narrow\">{}</td><td class=\"hide-narrow\">{}</td><td class=\"hide-narrow\">{}</td><td class=\"hide-narrow\">{}</td></tr>",
            escape(&endpoint.kind),
            escape(&endpoint.method),
            escape(&endpoint.host),
            escape(&path),
            escape(&endpoint.kind),
            escape(&endpoint.bucket),
            endpoint.sample_count,
            escape(&statuses.join(" ")),
            escape(&details.join("; "))
        );
    }
    html.push_str("</tbody></table></div>");
    if report.endpoints.len() > MAX_TABLE_ENDPOINTS {
        let _ = write!(
            html,
            "<p class=\"muted\">{} more endpoints are in the report JSON.</p>",
            report.endpoints.len() - MAX_TABLE_ENDPOINTS
        );
    }
    html.push_str("</section>");
}
