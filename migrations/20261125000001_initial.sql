-- Accounts own API keys and scans.
CREATE TABLE accounts (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Only a SHA-256 of each key is stored; the prefix identifies a key to its owner.
CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key_hash    bytea NOT NULL UNIQUE,
    key_prefix  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE scans (
    id                uuid PRIMARY KEY,
    account_id        uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_url        text NOT NULL,
    intent_text       text NOT NULL DEFAULT '',
    starter_template  text NOT NULL,
    status            text NOT NULL DEFAULT 'created'
                      CHECK (status IN ('created', 'processing', 'complete', 'errored')),
    report_slug       text NOT NULL UNIQUE,
    client_version    text,
    error             text,
    capture_sha256    bytea,
    capture_bytes     bigint,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz
);
CREATE INDEX scans_account_idx ON scans (account_id, created_at DESC);
CREATE INDEX scans_processing_idx ON scans (updated_at) WHERE status = 'processing';

-- One row per progress event. `cursor` is assigned per scan under an advisory lock held until
-- commit, so a row with a higher cursor never becomes visible before a lower one.
CREATE TABLE scan_events (
    id          uuid PRIMARY KEY,
    scan_id     uuid NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    step        text NOT NULL,
    status      text NOT NULL CHECK (status IN ('started', 'complete', 'errored')),
    message     text,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    cursor      bigint NOT NULL,
    CONSTRAINT scan_events_scan_cursor_key UNIQUE (scan_id, cursor)
);

-- The output of each stage for a scan; a re-run overwrites its own row.
CREATE TABLE stage_results (
    scan_id     uuid NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    stage       text NOT NULL,
    result      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    runs        integer NOT NULL DEFAULT 1,
    PRIMARY KEY (scan_id, stage)
);
