-- Per-account quotas (DESIGN.md § Trust boundary). Every decision that admits metered work
-- takes a row lock on the account first (`SELECT … FOR NO KEY UPDATE`), so api replicas and
-- validation replicas admit one piece of an account's work at a time; the rows below are what
-- they count.

-- Metered use, one row per admitted piece of work: a scan created, a capture accepted, the
-- replay requests of one validation run. The windows slide over `recorded_at`. `scan_id` has no
-- foreign key: the use stays counted when the scan is deleted.
CREATE TABLE account_usage (
    id           bigserial PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    quota        text NOT NULL
                 CHECK (quota IN ('scans_per_hour', 'capture_bytes_per_day',
                                  'validation_requests_per_day')),
    amount       bigint NOT NULL CHECK (amount >= 0),
    scan_id      uuid,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_usage_window_idx ON account_usage (account_id, quota, recorded_at);

-- One row per open WebSocket. The api renews the leases of its open sockets; a lease that is no
-- longer renewed belongs to a replica that died, and no lease outlives `closes_at`, the socket's
-- lifetime limit.
CREATE TABLE websocket_leases (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scan_id     uuid NOT NULL,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    renewed_at  timestamptz NOT NULL DEFAULT now(),
    closes_at   timestamptz NOT NULL
);
CREATE INDEX websocket_leases_account_idx ON websocket_leases (account_id, closes_at);

-- When the capture was accepted: how long scans take, for the Retry-After of the
-- concurrent-scans quota; and the scans of an account now in the pipeline.
ALTER TABLE scans ADD COLUMN queued_at timestamptz;
CREATE INDEX scans_account_processing_idx ON scans (account_id) WHERE status = 'processing';
CREATE INDEX scans_account_finished_idx ON scans (account_id, completed_at DESC)
    WHERE queued_at IS NOT NULL AND completed_at IS NOT NULL;
