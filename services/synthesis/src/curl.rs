//! The curl command: one request (the first page), secrets and proxies from the environment,
//! cookies minted by Set-Cookie fetched first into a temporary cookie jar. Every piece of site
//! text is one quoted word or comment text from [`crate::escape::shell`].

use std::fmt::Write;

use recon_contracts::{MintedBy, NetworkTier, PaginationStyle};
use serde_json::Value;

use crate::escape::shell;
use crate::plan::{string_template, Library, Plan, PlanBody, Warmup};
use crate::template::{warm_env, Piece, Template};

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    comment(
        &mut out,
        &format!(
            "{} (browser-recon starter command; secrets come from the environment)",
            plan.label
        ),
    );
    let mut env: Vec<&String> = plan.required_env.iter().collect();
    env.extend(plan.optional_env.iter());
    if !env.is_empty() {
        let names: Vec<&str> = env.iter().map(|e| e.as_str()).collect();
        comment(&mut out, &format!("Set first: {}", names.join(", ")));
    }
    if plan.library == Library::CurlCffi {
        out.push_str("# Validation needed Chrome's TLS fingerprint: plain curl is likely blocked; run the same\n# arguments with curl-impersonate (curl_chrome*) instead.\n");
    }
    for warmup in &plan.warmups {
        for (key, hint) in warm_hints(warmup) {
            comment(&mut out, &format!("TODO: set {} to {hint}", warm_env(&key)));
        }
    }
    if plan
        .pagination
        .as_ref()
        .is_some_and(|p| p.style != PaginationStyle::Page || p.start == 1)
    {
        out.push_str("# This fetches the first page; the Python code follows the pagination.\n");
    }
    let jar_warmups: Vec<&Warmup> = plan
        .warmups
        .iter()
        .filter(|w| !w.jar_cookies.is_empty())
        .collect();
    if !jar_warmups.is_empty() {
        out.push_str("jar=\"$(mktemp)\"\n");
        for warmup in &jar_warmups {
            comment(&mut out, &warmup.mints.join("; "));
            let _ = writeln!(
                out,
                "curl --silent --show-error --location --cookie-jar \"$jar\" --output /dev/null{} --request {} --url {}",
                proxy_flag(plan.tier),
                shell::quote(&warmup.method),
                word(&warmup.url)
            );
        }
    }
    let mut url = plan.url.clone();
    let mut query = plan.query.clone();
    if let Some(page) = &plan.pagination {
        if let (None, Some(name)) = (&page.body_path, &page.parameter) {
            if matches!(page.style, PaginationStyle::Page | PaginationStyle::Offset) {
                query.retain(|(n, _)| n != name);
                query.push((name.clone(), Template::literal(&page.start.to_string())));
            }
        }
    }
    append_query(&mut url, &query);
    finish(out, plan, url, &jar_warmups)
}

fn finish(mut out: String, plan: &Plan, url: Template, jar_warmups: &[&Warmup]) -> String {
    let mut lines = vec![format!(
        "curl --silent --show-error --fail --compressed{} --request {} --url {}",
        proxy_flag(plan.tier),
        shell::quote(&plan.method),
        word(&url)
    )];
    for (name, value) in &plan.headers {
        let mut header = Template::literal(&format!("{name}: "));
        header.0.extend(value.0.iter().cloned());
        lines.push(format!("  --header {}", word(&header)));
    }
    let mut cookie = Template::default();
    for (name, value) in &plan.cookies {
        if !cookie.0.is_empty() {
            cookie.0.push(Piece::Text("; ".to_owned()));
        }
        cookie.0.push(Piece::Text(format!("{name}=")));
        cookie.0.extend(value.0.iter().cloned());
    }
    let mut cookie_word = if cookie.0.is_empty() {
        String::new()
    } else {
        word(&cookie)
    };
    // Cookies from the jar are added to the explicit ones by name.
    for name in jar_warmups.iter().flat_map(|w| &w.jar_cookies) {
        let separator = if cookie_word.is_empty() { "" } else { "; " };
        let _ = write!(
            cookie_word,
            "{}\"$(n={} awk -F '\\t' '$6 == ENVIRON[\"n\"] {{ print $7 }}' \"$jar\")\"",
            shell::quote(&format!("{separator}{name}=")),
            shell::quote(name)
        );
    }
    if !cookie_word.is_empty() {
        lines.push(format!("  --cookie {cookie_word}"));
    }
    match &plan.body {
        Some(PlanBody::Json(json)) => {
            lines.push(format!("  --data-raw {}", word(&json_template(json))));
        }
        Some(PlanBody::Form(fields)) => {
            for (name, value) in fields {
                // curl reads `name@file` as a file to send: the name goes URL-encoded, as
                // `name=content` expects it.
                let mut field = Template::literal(&format!("{}=", encode(name)));
                field.0.extend(value.0.iter().cloned());
                lines.push(format!("  --data-urlencode {}", word(&field)));
            }
        }
        Some(PlanBody::Raw(text)) => lines.push(format!("  --data-raw {}", word(text))),
        None => {}
    }
    out.push_str(&lines.join(" \\\n"));
    out.push('\n');
    out
}

fn comment(out: &mut String, text: &str) {
    let _ = writeln!(out, "# {}", shell::comment(text));
}

/// What each value a warm-up mints must be set to, in words, by warm-up key.
fn warm_hints(warmup: &Warmup) -> Vec<(String, String)> {
    let url: String = warmup
        .url
        .0
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.clone(),
            Piece::Env(e) | Piece::Warm(e) => format!("${e}"),
        })
        .collect();
    warmup
        .extracts
        .iter()
        .map(|extract| {
            let what = match extract.how {
                MintedBy::JsonField => "the JSON field",
                MintedBy::HtmlInput => "the form input",
                MintedBy::HtmlMeta => "the meta tag",
                MintedBy::ResponseHeader => "the response header",
                _ => "the cookie",
            };
            let field = extract.field.as_deref().unwrap_or(&extract.key);
            (
                extract.key.clone(),
                format!("{what} {field} of {} {url}", warmup.method),
            )
        })
        .collect()
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

/// The JSON body as curl sends it: JSON text, with secrets and warm-up values in their strings.
fn json_template(json: &Value) -> Template {
    let mut template = Template::default();
    push_json(json, &mut template);
    template
}

fn push_json(value: &Value, out: &mut Template) {
    let text = |out: &mut Template, text: &str| match out.0.last_mut() {
        Some(Piece::Text(last)) => last.push_str(text),
        _ => out.0.push(Piece::Text(text.to_owned())),
    };
    match value {
        Value::String(string) => {
            text(out, "\"");
            for piece in string_template(string).0 {
                match piece {
                    Piece::Text(literal) => {
                        let quoted = Value::String(literal).to_string();
                        text(out, &quoted[1..quoted.len() - 1]);
                    }
                    secret => out.0.push(secret),
                }
            }
            text(out, "\"");
        }
        Value::Array(items) => {
            text(out, "[");
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    text(out, ",");
                }
                push_json(item, out);
            }
            text(out, "]");
        }
        Value::Object(map) => {
            text(out, "{");
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    text(out, ",");
                }
                text(out, &Value::String(key.clone()).to_string());
                text(out, ":");
                push_json(item, out);
            }
            text(out, "}");
        }
        scalar => text(out, &scalar.to_string()),
    }
}

/// One shell word: literal text quoted, secrets as double-quoted variables.
fn word(template: &Template) -> String {
    let mut out = String::new();
    let mut literal = String::new();
    for piece in &template.0 {
        let Some(variable) = piece.variable() else {
            if let Piece::Text(text) = piece {
                literal.push_str(text);
            }
            continue;
        };
        if !literal.is_empty() {
            out.push_str(&shell::quote(&std::mem::take(&mut literal)));
        }
        let _ = write!(out, "\"${{{variable}}}\"");
    }
    if !literal.is_empty() || out.is_empty() {
        out.push_str(&shell::quote(&literal));
    }
    out
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY).to_string()
}

/// What a query or form name or value cannot hold as it is (`@` for curl's `name@file`).
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
    .add(b'\'')
    .add(b'@');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quote_literals_and_expand_secrets() {
        let template = Template::parse("Bearer <bearer> it's");
        assert_eq!(
            word(&template),
            r#"'Bearer '"${SITE_BEARER_TOKEN}"' it'\''s'"#
        );
        assert_eq!(word(&Template::literal("")), "''");
    }

    #[test]
    fn json_bodies_keep_secrets_and_warm_up_values_inside_their_strings() {
        let body = serde_json::json!({"q": "a\"b", "token": format!("{}csrf", crate::plan::WARM_MARK), "n": [1, null]});
        assert_eq!(
            word(&json_template(&body)),
            r#"'{"n":[1,null],"q":"a\"b","token":"'"${SITE_CSRF}"'"}'"#
        );
    }
}
