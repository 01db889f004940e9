//! Plain text tables, as `recon` (scans, keys) and `recon-server admin` print them: columns
//! padded to their widest cell, two spaces apart, no trailing blanks. Shared here so both
//! binaries print the same way without one depending on the other.

/// The table of `header` and `rows`, one line each.
pub fn text_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec!["0.3.0".to_owned(), "12".to_owned()],
            vec!["other".to_owned(), "3".to_owned()],
        ];
        assert_eq!(
            text_table(&["version", "requests"], &rows),
            "version  requests\n0.3.0    12\nother    3\n"
        );
    }
}
