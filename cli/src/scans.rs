//! `recon scans` (the account's scans, newest first, as a table or `--json`) and `recon delete
//! ID|URL` (the scan, its report, results, events and blobs).

use recon_contracts::text_table::text_table;
use recon_contracts::ScanList;

use crate::exit::{Exit, Failure};
use crate::scan_ref::ScanRef;

#[derive(Debug, Clone, Default)]
pub struct ListArgs {
    pub site: Option<String>,
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub json: bool,
}

pub async fn list(args: ListArgs, allow_http: bool) -> Result<Exit, Failure> {
    let (client, update) = crate::connect(allow_http)?;
    let mut query = Vec::new();
    if let Some(site) = args.site {
        query.push(("site", site));
    }
    if let Some(status) = args.status {
        query.push(("status", status));
    }
    if let Some(limit) = args.limit {
        query.push(("limit", limit.to_string()));
    }
    if let Some(cursor) = args.cursor {
        query.push(("cursor", cursor));
    }
    let list = client.scans(&query).await?;
    if args.json {
        crate::outcome::print_value(&list);
    } else {
        print!("{}", describe(&list));
        if let Some(cursor) = &list.next_cursor {
            eprintln!("more scans: recon scans --cursor {cursor}");
        }
    }
    update.print_if_ready();
    Ok(Exit::Complete)
}

fn describe(list: &ScanList) -> String {
    let rows: Vec<Vec<String>> = list
        .scans
        .iter()
        .map(|scan| {
            vec![
                scan.id.to_string(),
                scan.status.as_str().to_owned(),
                scan.created_at.format("%Y-%m-%d %H:%M").to_string(),
                scan.target_url.clone(),
                scan.report_url.clone(),
            ]
        })
        .collect();
    text_table(&["scan", "status", "created", "target", "report"], &rows)
}

pub async fn delete(scan: ScanRef, allow_http: bool) -> Result<Exit, Failure> {
    let (client, update) = crate::connect(allow_http)?;
    let scan_id = scan.resolve(&client).await?;
    client.delete_scan(scan_id).await?;
    eprintln!("scan {scan_id} deleted: its report, results, events and capture are gone");
    update.print_if_ready();
    Ok(Exit::Complete)
}
