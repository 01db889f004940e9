-- When the raw capture (live cookies and tokens) was deleted from the blob store; NULL while it
-- is still kept. The retention sweep looks for ended scans whose raw capture is still there.
ALTER TABLE scans ADD COLUMN raw_capture_deleted_at timestamptz;
CREATE INDEX scans_raw_capture_due_idx ON scans (completed_at)
    WHERE raw_capture_deleted_at IS NULL AND status IN ('complete', 'errored');
