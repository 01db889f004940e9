-- The site a scan is of (the registrable domain of its target URL), so drift can find the same
-- account's previous complete scan of the same site. Scans created before this column have no
-- site and are never anyone's previous scan.
ALTER TABLE scans ADD COLUMN site text;

CREATE INDEX scans_previous_of_site ON scans (account_id, site, created_at DESC)
    WHERE status = 'complete' AND site IS NOT NULL;
