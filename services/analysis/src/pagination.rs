//! Pagination style of an endpoint: page, offset, cursor or next-link, with the parameter
//! that moves through pages, the page-size parameter and the response field with the next
//! cursor or link.

use recon_contracts::{Header, Pagination, PaginationStyle, Parameter, ParameterLocation};

use crate::config::PaginationNames;

fn numeric(parameter: &Parameter) -> bool {
    matches!(parameter.value_type.as_str(), "integer" | "number")
}

fn last_part(path: &str) -> String {
    path.rsplit(['.', ']', '['])
        .find(|part| !part.is_empty())
        .unwrap_or(path)
        .to_ascii_lowercase()
}

/// `response_fields` are dotted paths from the merged response schema.
pub fn detect(
    names: &PaginationNames,
    parameters: &[Parameter],
    response_fields: &[String],
    response_headers: &[&[Header]],
) -> Option<Pagination> {
    let movable: Vec<&Parameter> = parameters
        .iter()
        .filter(|p| {
            matches!(
                p.location,
                ParameterLocation::Query | ParameterLocation::Body
            )
        })
        .collect();
    let find = |set: &std::collections::HashSet<String>, need_number: bool| {
        movable
            .iter()
            .filter(|p| set.contains(&p.name.to_ascii_lowercase()) && (!need_number || numeric(p)))
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
    };
    let page_size = find(&names.page_size, true).into_iter().next();
    let next_link = response_fields
        .iter()
        .find(|field| names.next_link_fields.contains(&last_part(field)))
        .cloned();
    let cursor_field = response_fields
        .iter()
        .find(|field| names.cursor_fields.contains(&last_part(field)))
        .cloned();
    let link_header = response_headers.iter().any(|headers| {
        headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("link") && h.value.contains("rel=\"next\""))
    });

    let cursor = find(&names.cursor, false);
    let page = find(&names.page, true);
    let offset = find(&names.offset, true);
    let (style, parameters, next_field) = if !cursor.is_empty() {
        (PaginationStyle::Cursor, cursor, cursor_field.or(next_link))
    } else if !page.is_empty() {
        (PaginationStyle::Page, page, next_link)
    } else if !offset.is_empty() {
        (PaginationStyle::Offset, offset, None)
    } else if let Some(link) = next_link {
        (PaginationStyle::NextLink, Vec::new(), Some(link))
    } else if link_header {
        (
            PaginationStyle::NextLink,
            Vec::new(),
            Some("header:Link".to_owned()),
        )
    } else if let Some(field) = cursor_field {
        (PaginationStyle::Cursor, Vec::new(), Some(field))
    } else {
        return None;
    };
    Some(Pagination {
        style,
        parameters,
        page_size_parameter: page_size,
        next_field,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::try_config;

    fn param(name: &str, value_type: &str) -> Parameter {
        Parameter {
            name: name.into(),
            location: ParameterLocation::Query,
            value_type: value_type.into(),
            required: true,
            examples: vec![],
        }
    }

    #[test]
    fn styles() {
        let names = &try_config().unwrap().pagination;
        let page = detect(
            names,
            &[param("page", "integer"), param("per_page", "integer")],
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(
            (
                page.style,
                page.parameters.clone(),
                page.page_size_parameter.clone()
            ),
            (
                PaginationStyle::Page,
                vec!["page".to_owned()],
                Some("per_page".to_owned())
            )
        );
        let offset = detect(
            names,
            &[param("offset", "integer"), param("limit", "integer")],
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(offset.style, PaginationStyle::Offset);
        let cursor = detect(
            names,
            &[param("after", "string")],
            &["data.search.pageInfo.endCursor".to_owned()],
            &[],
        )
        .unwrap();
        assert_eq!(
            (cursor.style, cursor.next_field.as_deref()),
            (
                PaginationStyle::Cursor,
                Some("data.search.pageInfo.endCursor")
            )
        );
        let link = detect(names, &[], &["links.next".to_owned()], &[]).unwrap();
        assert_eq!(
            (link.style, link.next_field.as_deref()),
            (PaginationStyle::NextLink, Some("links.next"))
        );
        // `page=shoes` is a page name, not a page number.
        assert!(detect(names, &[param("page", "string")], &[], &[]).is_none());
        assert!(detect(
            names,
            &[param("q", "string")],
            &["items[].id".to_owned()],
            &[]
        )
        .is_none());
    }
}
