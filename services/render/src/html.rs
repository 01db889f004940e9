//! The HTML page of a report. Every captured string is escaped; nothing is loaded from outside.

use std::fmt::Write;

use recon_contracts::Report;

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

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem;color:#1b1f24;background:#fff}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}\
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f6f8fa;padding:.75rem;overflow-x:auto}\
.muted{color:#57606a}@media (max-width:40rem){td,th{display:block}}";

pub fn page(report: &Report) -> String {
    let mut html = String::new();
    let target = escape(&report.scan.target_url);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>browser-recon report: {target}</title><style>{STYLE}</style></head><body>\
         <header><h1>browser-recon report</h1><p>Target: <code>{target}</code> · scan <code>{}</code></p></header><main>",
        report.scan.id
    );
    let _ = write!(
        html,
        "<section><h2>Summary</h2><p>{} anti-bot vendor(s), {} endpoint(s), {} matching the intent, {} starter snippet(s).</p></section>",
        report.detection.vendors.len(),
        report.endpoints.len(),
        report.intent.ranked.len(),
        report.synthesis.snippets.len()
    );
    html.push_str("<section><h2>Anti-bot vendors</h2>");
    if report.detection.vendors.is_empty() {
        html.push_str("<p class=\"muted\">None detected.</p>");
    } else {
        html.push_str("<table><thead><tr><th scope=\"col\">Vendor</th><th scope=\"col\">Product</th><th scope=\"col\">Confidence</th><th scope=\"col\">Evidence</th></tr></thead><tbody>");
        for vendor in &report.detection.vendors {
            let evidence: Vec<String> = vendor.evidence.iter().map(|e| escape(&e.detail)).collect();
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{:.0}%</td><td>{}</td></tr>",
                escape(&vendor.id),
                escape(&vendor.product),
                vendor.confidence * 100.0,
                evidence.join("<br>")
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</section><section><h2>Endpoints</h2><table><thead><tr><th scope=\"col\">Method</th><th scope=\"col\">Host</th><th scope=\"col\">Path</th><th scope=\"col\">Kind</th><th scope=\"col\">Samples</th></tr></thead><tbody>");
    for endpoint in &report.endpoints {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&endpoint.method),
            escape(&endpoint.host),
            escape(&endpoint.path_template),
            escape(&endpoint.kind),
            endpoint.sample_count
        );
    }
    html.push_str("</tbody></table></section><section><h2>Matching your intent</h2>");
    if report.intent.ranked.is_empty() {
        html.push_str("<p class=\"muted\">No endpoint matched.</p>");
    } else {
        html.push_str("<ol>");
        for ranked in &report.intent.ranked {
            let label = report
                .endpoints
                .iter()
                .find(|e| e.id == ranked.endpoint_id)
                .map(|e| format!("{} {}{}", e.method, e.host, e.path_template))
                .unwrap_or_else(|| ranked.endpoint_id.clone());
            let _ = write!(
                html,
                "<li><code>{}</code> — score {:.1}: {}</li>",
                escape(&label),
                ranked.score,
                escape(&ranked.reasons.join("; "))
            );
        }
        html.push_str("</ol>");
    }
    html.push_str("</section><section><h2>Starter code</h2>");
    for snippet in &report.synthesis.snippets {
        let _ = write!(
            html,
            "<h3>{} · <code>{}</code></h3><pre><code>{}</code></pre>",
            escape(&snippet.language),
            escape(&snippet.endpoint_id),
            escape(&snippet.code)
        );
    }
    for note in &report.synthesis.notes {
        let _ = write!(html, "<p class=\"muted\">{}</p>", escape(note));
    }
    html.push_str("</section></main></body></html>");
    html
}
