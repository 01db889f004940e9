-- A scan that never started can still hold a raw capture (stored, then its queueing failed):
-- the retention sweep also looks for old `created` scans it has not swept yet, and marks them
-- in raw_capture_deleted_at (an upload that then starts the scan clears the mark).
CREATE INDEX scans_unstarted_capture_due_idx ON scans (updated_at)
    WHERE raw_capture_deleted_at IS NULL AND status = 'created';
