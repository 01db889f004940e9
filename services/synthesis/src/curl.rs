//! The curl command: one request (the first page), secrets and proxies from the environment,
//! cookies minted by Set-Cookie fetched first into a temporary cookie jar.

use std::fmt::Write;

use recon_contracts::{MintedBy, NetworkTier, PaginationStyle};

use crate::plan::{Library, Plan, PlanBody};
use crate::template::{Piece, Template};

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} (browser-recon starter command; secrets come from the environment)",
        comment(&plan.label)
    );
    let mut env: Vec<&String> = plan.required_env.iter().collect();
    env.extend(plan.optional_env.iter());
    if !env.is_empty() {
        let names: Vec<&str> = env.iter().map(|e| e.as_str()).collect();
        let _ = writeln!(out, "# Set first: {}", names.join(", "));
    }
    if plan.library == Library::CurlCffi {
        out.push_str("# Validation needed Chrome's TLS fingerprint: plain curl is likely blocked; run the same\n# arguments with curl-impersonate (curl_chrome*) instead.\n");
    }
    for (key, hint) in warm_keys(plan) {
        let _ = writeln!(out, "# TODO: set {} to {hint}", warm_env(&key));
    }
    if plan
        .pagination
        .as_ref()
        .is_some_and(|p| p.style != PaginationStyle::Page || p.start == 1)
    {
        out.push_str("# This fetches the first page; the Python code follows the pagination.\n");
    }
    let jar_warmups: Vec<_> = plan
        .warmups
        .iter()
        .filter(|w| w.extracts.len() < w.mints.len())
        .collect();
    if !jar_warmups.is_empty() {
        out.push_str("jar=\"$(mktemp)\"\n");
        for warmup in &jar_warmups {
            let _ = writeln!(out, "# {}", comment(&warmup.mints.join("; ")));
            let _ = writeln!(
                out,
                "curl --silent --show-error --location --cookie-jar \"$jar\" --output /dev/null{} --request {} {}",
                proxy_flag(plan.tier),
                shell_literal(&warmup.method),
                shell(&warmup.url)
            );
        }
    }
    let mut url = plan.url.clone();
    if let Some(page) = &plan.pagination {
        if page.body_path.is_none() {
            if let Some(name) = &page.parameter {
                if matches!(page.style, PaginationStyle::Page | PaginationStyle::Offset) {
                    let mut query = plan.query.clone();
                    query.retain(|(n, _)| n != name);
                    query.push((name.clone(), Template::literal(&page.start.to_string())));
                    append_query(&mut url, &query);
                    return finish(out, plan, url, !jar_warmups.is_empty());
                }
            }
        }
    }
    append_query(&mut url, &plan.query);
    finish(out, plan, url, !jar_warmups.is_empty())
}

fn finish(mut out: String, plan: &Plan, url: Template, jar: bool) -> String {
    let mut lines = vec![format!(
        "curl --silent --show-error --fail --compressed{} --request {} {}",
        proxy_flag(plan.tier),
        shell_literal(&plan.method),
        shell(&url)
    )];
    for (name, value) in &plan.headers {
        let mut header = Template::literal(&format!("{name}: "));
        header.0.extend(value.0.iter().cloned());
        lines.push(format!("  --header {}", shell(&header)));
    }
    let mut cookie = Template::default();
    for (name, value) in &plan.cookies {
        if !cookie.0.is_empty() {
            cookie.0.push(Piece::Text("; ".to_owned()));
        }
        cookie.0.push(Piece::Text(format!("{name}=")));
        cookie.0.extend(value.0.iter().cloned());
    }
    if jar {
        // Cookies from the jar are added to the explicit ones by name.
        for warmup in &plan.warmups {
            for mint in &warmup.mints {
                let from_jar =
                    mint.contains(" from Set-Cookie") || mint.ends_with(" from a redirect");
                if let Some(name) = mint
                    .strip_prefix("cookie ")
                    .and_then(|rest| rest.split(' ').next())
                    .filter(|_| from_jar)
                {
                    if !cookie.0.is_empty() {
                        cookie.0.push(Piece::Text("; ".to_owned()));
                    }
                    cookie.0.push(Piece::Text(format!("{name}=")));
                    cookie.0.push(Piece::Env(format!(
                        "(awk -v n={} '$6 == n {{ print $7 }}' \"$jar\")",
                        shell_literal(name)
                    )));
                }
            }
        }
    }
    if !cookie.0.is_empty() {
        lines.push(format!("  --cookie {}", shell(&cookie)));
    }
    match &plan.body {
        Some(PlanBody::Json(json)) => {
            let text = serde_json::to_string(json).unwrap_or_default();
            lines.push(format!("  --data-raw {}", shell(&json_template(&text))));
        }
        Some(PlanBody::Form(fields)) => {
            for (name, value) in fields {
                let mut field = Template::literal(&format!("{name}="));
                field.0.extend(value.0.iter().cloned());
                lines.push(format!("  --data-urlencode {}", shell(&field)));
            }
        }
        Some(PlanBody::Raw(text)) => lines.push(format!("  --data-raw {}", shell(text))),
        None => {}
    }
    out.push_str(&lines.join(" \\\n"));
    out.push('\n');
    out
}

fn warm_keys(plan: &Plan) -> Vec<(String, String)> {
    plan.warmups
        .iter()
        .flat_map(|w| {
            w.extracts.iter().map(move |extract| {
                let what = match extract.how {
                    MintedBy::JsonField => "the JSON field",
                    MintedBy::HtmlInput => "the form input",
                    MintedBy::HtmlMeta => "the meta tag",
                    MintedBy::ResponseHeader => "the response header",
                    _ => "the cookie",
                };
                let url = w
                    .url
                    .0
                    .iter()
                    .map(|p| match p {
                        Piece::Text(t) => t.clone(),
                        Piece::Env(e) | Piece::Warm(e) => format!("${e}"),
                    })
                    .collect::<String>();
                (
                    extract.key.clone(),
                    format!(
                        "{what} {} of {} {}",
                        extract.field.as_deref().unwrap_or(&extract.key),
                        w.method,
                        comment(&url)
                    ),
                )
            })
        })
        .collect()
}

/// The environment variable that stands in for a warm-up value in curl.
pub fn warm_env(key: &str) -> String {
    let mut out = String::from("SITE_");
    for c in key.chars() {
        out.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        });
    }
    out
}

fn proxy_flag(tier: NetworkTier) -> &'static str {
    match tier {
        NetworkTier::Direct => "",
        NetworkTier::Datacenter => " --proxy \"$DATACENTER_PROXY\"",
        NetworkTier::Residential => " --proxy \"$RESIDENTIAL_PROXY\"",
    }
}

fn append_query(url: &mut Template, query: &[(String, Template)]) {
    for (index, (name, value)) in query.iter().enumerate() {
        let separator = if index == 0 { '?' } else { '&' };
        url.0
            .push(Piece::Text(format!("{separator}{}=", encode(name))));
        for piece in &value.0 {
            url.0.push(match piece {
                Piece::Text(text) => Piece::Text(encode(text)),
                other => other.clone(),
            });
        }
    }
}

fn json_template(text: &str) -> Template {
    Template::parse(text)
}

/// A shell word: literal text in single quotes, secrets as double-quoted variables.
fn shell(template: &Template) -> String {
    let mut out = String::new();
    let mut literal = String::new();
    for piece in &template.0 {
        if let Piece::Text(text) = piece {
            literal.push_str(text);
            continue;
        }
        out.push_str(&shell_literal(&std::mem::take(&mut literal)));
        match piece {
            Piece::Env(name) if name.starts_with('(') => {
                let _ = write!(out, "\"${name}\"");
            }
            Piece::Env(name) => {
                let _ = write!(out, "\"${{{name}}}\"");
            }
            Piece::Warm(key) => {
                let _ = write!(out, "\"${{{}}}\"", warm_env(key));
            }
            Piece::Text(_) => {}
        }
    }
    out.push_str(&shell_literal(&literal));
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

fn shell_literal(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY).to_string()
}

const QUERY: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'=')
    .add(b'%')
    .add(b'\'');

fn comment(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quote_literals_and_expand_secrets() {
        let template = Template::parse("Bearer <bearer> it's");
        assert_eq!(
            shell(&template),
            r#"'Bearer '"${SITE_BEARER_TOKEN}"' it'\''s'"#
        );
    }
}
