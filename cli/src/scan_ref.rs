//! What `recon status|watch|open|delete` accept to name a scan: its id, the report URL the CLI
//! printed (`…/r/<slug>`), or the scan's API URL (`…/scans/<id>`). A report URL is resolved
//! among the account's own scans (`GET /scans?slug=`), on the configured server.

use uuid::Uuid;

use crate::client::{ApiClient, ClientError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanRef {
    Id(Uuid),
    /// The slug of a report URL.
    Report(String),
}

impl ScanRef {
    /// Parses a command-line argument (clap value parser).
    pub fn parse(text: &str) -> Result<ScanRef, String> {
        let text = text.trim();
        if let Ok(id) = Uuid::parse_str(text) {
            return Ok(ScanRef::Id(id));
        }
        let bad = || {
            "not a scan id or report URL; give the id (a UUID such as 0b9e4c2e-…) or the report \
             URL recon printed (…/r/…)"
                .to_owned()
        };
        let url = url::Url::parse(text).map_err(|_| bad())?;
        let segments: Vec<&str> = url
            .path_segments()
            .map(|segments| segments.filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        match segments.as_slice() {
            ["r", slug, ..] => {
                let slug = slug.strip_suffix(".json").unwrap_or(slug);
                if !slug.is_empty() && slug.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    Ok(ScanRef::Report(slug.to_owned()))
                } else {
                    Err(bad())
                }
            }
            ["scans", id, ..] => Uuid::parse_str(id).map(ScanRef::Id).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// The scan id, asking the server for a report URL's scan.
    pub async fn resolve(&self, client: &ApiClient) -> Result<Uuid, ClientError> {
        match self {
            ScanRef::Id(id) => Ok(*id),
            ScanRef::Report(slug) => {
                let found = client.scans(&[("slug", slug.clone())]).await?;
                found
                    .scans
                    .first()
                    .map(|scan| scan.id)
                    .ok_or_else(|| ClientError::NotFound {
                        path: "/scans".to_owned(),
                        message: "no scan of this account has that report URL".to_owned(),
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_both_kinds_of_url_are_understood() {
        let id = Uuid::new_v4();
        assert_eq!(ScanRef::parse(&id.to_string()), Ok(ScanRef::Id(id)));
        assert_eq!(
            ScanRef::parse(&format!("https://recon.example/scans/{id}/events")),
            Ok(ScanRef::Id(id))
        );
        assert_eq!(
            ScanRef::parse("http://127.0.0.1:8080/r/Ab12cd34"),
            Ok(ScanRef::Report("Ab12cd34".into()))
        );
        assert_eq!(
            ScanRef::parse("https://recon.example/r/Ab12cd34.json"),
            Ok(ScanRef::Report("Ab12cd34".into()))
        );
        for bad in [
            "nope",
            "https://recon.example/",
            "https://recon.example/r/a-b",
            "https://x/scans/12",
        ] {
            assert!(ScanRef::parse(bad).is_err(), "{bad}");
        }
    }
}
