//! Path templating: `/products/1842/reviews` → `/products/{product_id}/reviews`. Values that
//! are ids by their shape (numbers, UUIDs, hashes, dates, slugs ending in an id) always become
//! parameters; ambiguous ones (alphanumeric codes, plain slugs) only when sibling paths show
//! the position varies. Parameters are named after the literal segment before them.

use std::collections::{BTreeSet, HashMap};

use recon_knowledge::words::singular;

/// What a dynamic path segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    Integer,
    Uuid,
    Hash,
    Date,
    /// Words ending (or starting) in an id: `blue-lamp-1842`.
    SlugWithId,
    /// Alphanumeric code: `B07XJ8C8F5`, `sku123456`.
    Code,
    /// Lowercase words joined by hyphens: `garden-lamps`.
    Slug,
    /// A long opaque token.
    Token,
}

impl SegmentKind {
    /// The parameter's value type, as the inventory reports it.
    pub fn value_type(self) -> &'static str {
        match self {
            SegmentKind::Integer => "integer",
            SegmentKind::Uuid => "uuid",
            SegmentKind::Hash => "hash",
            SegmentKind::Date => "date",
            SegmentKind::SlugWithId | SegmentKind::Code | SegmentKind::Slug => "string",
            SegmentKind::Token => "token",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            SegmentKind::Integer | SegmentKind::Uuid | SegmentKind::Code => "id",
            SegmentKind::Hash => "hash",
            SegmentKind::Date => "date",
            SegmentKind::SlugWithId | SegmentKind::Slug => "slug",
            SegmentKind::Token => "token",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Literal,
    /// An id by its shape alone.
    Dynamic(SegmentKind),
    /// An id only when siblings vary at this position; the number is how many distinct
    /// sibling values it takes.
    Maybe(SegmentKind, usize),
}

/// One path parameter of a templated path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathParam {
    pub name: String,
    pub value: String,
    pub kind: SegmentKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templated {
    pub template: String,
    pub params: Vec<PathParam>,
}

/// Splits a segment into stem and a short file extension (`123.json` → `123`, `.json`).
fn split_extension(segment: &str) -> (&str, &str) {
    match segment.rfind('.') {
        Some(dot) if dot > 0 => {
            let ext = &segment[dot + 1..];
            if !ext.is_empty() && ext.len() <= 5 && ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
                (&segment[..dot], &segment[dot..])
            } else {
                (segment, "")
            }
        }
        _ => (segment, ""),
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// A file name carrying a build hash or a numeric id (`app.4cba9c82.js`,
/// `chunk-vendors.3f2a91bc.css`, `295157_7A_0.woff`): a part of eight or more letters and
/// digits mixed, or of five or more digits.
fn is_hashed_file_name(stem: &str) -> bool {
    stem.split(['.', '-', '_']).any(|part| {
        let digits = part.bytes().filter(u8::is_ascii_digit).count();
        let alphanumeric = part.bytes().all(|b| b.is_ascii_alphanumeric());
        (part.len() >= 8 && alphanumeric && digits > 0 && digits < part.len())
            || (part.len() >= 5 && digits == part.len())
    })
}

fn classify(segment: &str) -> Class {
    let (stem, extension) = split_extension(segment);
    if stem.is_empty() {
        return Class::Literal;
    }
    let digits = stem.bytes().filter(u8::is_ascii_digit).count();
    let letters = stem.bytes().filter(u8::is_ascii_alphabetic).count();
    if digits == stem.len() {
        return Class::Dynamic(SegmentKind::Integer);
    }
    if is_uuid(stem) {
        return Class::Dynamic(SegmentKind::Uuid);
    }
    if is_date(stem) {
        return Class::Dynamic(SegmentKind::Date);
    }
    if stem.len() >= 16 && stem.bytes().all(|b| b.is_ascii_hexdigit()) && digits > 0 {
        return Class::Dynamic(SegmentKind::Hash);
    }
    // Hashed asset names vary only where siblings show it: one file stays a literal.
    if !extension.is_empty() && is_hashed_file_name(stem) {
        return Class::Maybe(SegmentKind::Hash, 2);
    }
    let word_chars = stem
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !word_chars {
        // Long opaque blobs in a path (ad servers' encoded state, `;key=value` matrix
        // parameters) vary where siblings show it.
        if stem.len() >= 24 && digits >= 1 && letters >= 2 && !stem.contains(' ') {
            return Class::Maybe(SegmentKind::Token, 2);
        }
        return Class::Literal;
    }
    if stem.contains('-') {
        let parts: Vec<&str> = stem.split('-').collect();
        let numeric = |part: &&str| part.len() >= 3 && part.bytes().all(|b| b.is_ascii_digit());
        let ends_with_id = parts.len() >= 2
            && (parts.last().is_some_and(numeric) || parts.first().is_some_and(numeric));
        if ends_with_id && letters > 0 {
            return Class::Dynamic(SegmentKind::SlugWithId);
        }
    }
    if stem.len() >= 20 && digits >= 2 && letters >= 2 {
        return Class::Dynamic(SegmentKind::Token);
    }
    if ((stem.len() >= 6 && digits >= 2) || (stem.len() >= 8 && digits >= 1))
        && letters >= 1
        && stem.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Class::Maybe(SegmentKind::Code, 2);
    }
    let lower_words = stem.split('-').count() >= 2
        && stem.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if lower_words {
        return Class::Maybe(SegmentKind::Slug, 3);
    }
    Class::Literal
}

/// A segment that names nothing (`api`, `v2`, `rest`): parameters after it get a plain name.
fn is_generic(segment: &str) -> bool {
    let s = segment.to_ascii_lowercase();
    matches!(
        s.as_str(),
        "api"
            | "rest"
            | "public"
            | "internal"
            | "ajax"
            | "json"
            | "data"
            | "services"
            | "service"
            | "en"
            | "www"
    ) || (s.starts_with('v')
        && s.len() <= 3
        && s[1..].bytes().all(|b| b.is_ascii_digit())
        && s.len() > 1)
}

fn snake(text: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        });
    }
    out.trim_matches('_').to_owned()
}

/// Learns templates for the distinct paths of one host.
pub fn learn<'p>(paths: impl IntoIterator<Item = &'p str>) -> HashMap<String, Templated> {
    let distinct: BTreeSet<&str> = paths.into_iter().collect();
    let split: Vec<(&str, Vec<&str>, Vec<Class>)> = distinct
        .iter()
        .map(|path| {
            let segments: Vec<&str> = path.split('/').collect();
            let classes = segments.iter().map(|s| classify(s)).collect();
            (*path, segments, classes)
        })
        .collect();

    // For every ambiguous position: how many distinct values do siblings (same shape
    // elsewhere) take there?
    let mut siblings: HashMap<(usize, String), BTreeSet<&str>> = HashMap::new();
    let shape_key = |segments: &[&str], classes: &[Class], position: usize| -> String {
        segments
            .iter()
            .zip(classes)
            .enumerate()
            .map(|(i, (segment, class))| match (i == position, class) {
                (true, _) => "*".to_owned(),
                (false, Class::Dynamic(_)) => "{}".to_owned(),
                (false, _) => (*segment).to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    for (_, segments, classes) in &split {
        for (i, class) in classes.iter().enumerate() {
            if let Class::Maybe(..) = class {
                siblings
                    .entry((i, shape_key(segments, classes, i)))
                    .or_default()
                    .insert(segments[i]);
            }
        }
    }

    let mut templates = HashMap::with_capacity(split.len());
    for (path, segments, classes) in &split {
        let mut out = Vec::with_capacity(segments.len());
        let mut params: Vec<PathParam> = Vec::new();
        let mut last_literal: Option<&str> = None;
        for (i, (segment, class)) in segments.iter().zip(classes).enumerate() {
            let kind = match class {
                Class::Dynamic(kind) => Some(*kind),
                Class::Maybe(kind, needed) => {
                    let count = siblings
                        .get(&(i, shape_key(segments, classes, i)))
                        .map_or(0, BTreeSet::len);
                    (count >= *needed).then_some(*kind)
                }
                Class::Literal => None,
            };
            match kind {
                None => {
                    if !segment.is_empty() && !is_generic(segment) {
                        last_literal = Some(segment);
                    }
                    out.push((*segment).to_owned());
                }
                Some(kind) => {
                    let (stem, extension) = split_extension(segment);
                    let base = last_literal
                        .map(|literal| snake(&singular(literal)))
                        .filter(|b| !b.is_empty());
                    let mut name = match (base, kind) {
                        (Some(base), _) => format!("{base}_{}", kind.suffix()),
                        (None, SegmentKind::Date) => "date".to_owned(),
                        (None, kind) => kind.suffix().to_owned(),
                    };
                    let mut n = 2;
                    while params.iter().any(|p| p.name == name) {
                        name = format!(
                            "{}_{n}",
                            name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_')
                        );
                        n += 1;
                    }
                    out.push(format!("{{{name}}}{extension}"));
                    params.push(PathParam {
                        name,
                        value: stem.to_owned(),
                        kind,
                    });
                }
            }
        }
        templates.insert(
            (*path).to_owned(),
            Templated {
                template: out.join("/"),
                params,
            },
        );
    }
    templates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(paths: &[&str], path: &str) -> String {
        learn(paths.iter().copied())[path].template.clone()
    }

    #[test]
    fn ids_by_shape_become_named_parameters() {
        let paths = [
            "/api/products/1842/reviews",
            "/api/products/3f2b8c1e-9a4d-4e5f-8b6a-1c2d3e4f5a6b",
            "/orders/5f1d7c2a9b3e4d6f8a0b1c2d",
            "/reports/2024-05-01/summary",
            "/p/blue-lamp-1842",
            "/api/v2/7",
            "/categories/12/items/34",
            "/static/img/123.jpg",
        ];
        assert_eq!(
            template(&paths, paths[0]),
            "/api/products/{product_id}/reviews"
        );
        assert_eq!(template(&paths, paths[1]), "/api/products/{product_id}");
        assert_eq!(template(&paths, paths[2]), "/orders/{order_hash}");
        assert_eq!(template(&paths, paths[3]), "/reports/{report_date}/summary");
        assert_eq!(template(&paths, paths[4]), "/p/{p_slug}");
        assert_eq!(template(&paths, paths[5]), "/api/v2/{id}");
        assert_eq!(
            template(&paths, paths[6]),
            "/categories/{category_id}/items/{item_id}"
        );
        assert_eq!(template(&paths, paths[7]), "/static/img/{img_id}.jpg");
        let params = &learn(paths.iter().copied())[paths[6]].params;
        assert_eq!(params[1].value, "34");
        assert_eq!(params[1].kind, SegmentKind::Integer);
    }

    #[test]
    fn ambiguous_segments_are_learned_from_siblings() {
        let codes = ["/dp/B07XJ8C8F5", "/dp/B08N5WRWNW", "/api/v1/cart"];
        assert_eq!(template(&codes, "/dp/B07XJ8C8F5"), "/dp/{dp_id}");
        let alone = ["/dp/B07XJ8C8F5", "/api/v1/cart"];
        assert_eq!(template(&alone, "/dp/B07XJ8C8F5"), "/dp/B07XJ8C8F5");

        let slugs = [
            "/c/garden-lamps",
            "/c/desk-lamps",
            "/c/floor-lamps",
            "/c/new-in",
        ];
        assert_eq!(template(&slugs, "/c/desk-lamps"), "/c/{c_slug}");
        let two = ["/c/garden-lamps", "/c/desk-lamps"];
        assert_eq!(template(&two, "/c/desk-lamps"), "/c/desk-lamps");
    }

    #[test]
    fn hashed_asset_names_and_opaque_blobs_are_templated_when_siblings_vary() {
        let assets = [
            "/web/static/js/app.4cba9c82.js",
            "/web/static/js/chunk-vendors.3f2a91bc.js",
            "/web/static/js/main.js",
            "/font/295157_7A_0.woff",
            "/font/295157_8B_0.woff",
        ];
        assert_eq!(template(&assets, assets[0]), "/web/static/js/{js_hash}.js");
        assert_eq!(template(&assets, assets[1]), "/web/static/js/{js_hash}.js");
        assert_eq!(template(&assets, assets[2]), "/web/static/js/main.js");
        assert_eq!(template(&assets, assets[3]), "/font/{font_hash}.woff");
        let one = ["/web/static/js/app.4cba9c82.js", "/web/static/js/main.js"];
        assert_eq!(template(&one, one[0]), "/web/static/js/app.4cba9c82.js");

        // UUIDs written another way: upper case without dashes, or behind a prefix.
        let uuids = [
            "/v1/users/F089FFF7D92A4AE8A19D88962D7BAA2C/trays",
            "/t/custom_3f2b8c1e-5d4a-4b9e-8f7a-1c2d3e4f5a6b",
        ];
        assert_eq!(template(&uuids, uuids[0]), "/v1/users/{user_hash}/trays");
        assert_eq!(template(&uuids, uuids[1]), "/t/{t_token}");

        let codes = ["/expressen.se/P2JCJGE4TBWH", "/expressen.se/P2JCJGOZSRDO"];
        assert_eq!(
            template(&codes, codes[1]),
            "/expressen.se/{expressen_se_id}"
        );

        let blobs = [
            "/ddm/fls/z/dc_pre=CKftw8OqPICFYmS;src=5977010;type=a;ord=1",
            "/ddm/fls/z/dc_pre=CLmDyc0qPICFSiB;src=5977010;type=b;ord=816743529002",
        ];
        assert_eq!(template(&blobs, blobs[0]), "/ddm/fls/z/{z_token}");
        // As the sample keeps them, without `;` parameters: one digit in 26 characters.
        let few_digits = [
            "/ddm/fls/z/dc_pre=CKftw8-OqPICFYmScAod1N0Giw",
            "/ddm/fls/z/dc_pre=CLmDyc-OqPICFSiB6QUdnvEJGA",
        ];
        assert_eq!(template(&few_digits, few_digits[1]), "/ddm/fls/z/{z_token}");
    }

    #[test]
    fn words_and_versions_stay_literal() {
        let paths = [
            "/api/products",
            "/api/reviews",
            "/api/cart",
            "/v1/oauth2/token",
            "/",
        ];
        for path in paths {
            assert_eq!(template(&paths, path), path);
        }
    }

    #[test]
    fn repeated_names_get_a_suffix() {
        let paths = ["/compare/12/34"];
        assert_eq!(
            template(&paths, paths[0]),
            "/compare/{compare_id}/{compare_id_2}"
        );
    }

    #[test]
    fn singular_forms() {
        assert_eq!(singular("products"), "product");
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("boxes"), "box");
        assert_eq!(singular("status"), "status");
    }
}
