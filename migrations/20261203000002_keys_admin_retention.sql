-- Operators and accounts (issue 20): admin accounts and their sessions, each key's last use,
-- requests per CLI version and account for the admin's version banner, the orphan sweeps, and
-- the index the report-retention sweep reads.

-- Admin accounts see /admin, /admin/api/* and `recon-server admin versions|accounts|scans`.
ALTER TABLE accounts ADD COLUMN is_admin boolean NOT NULL DEFAULT false;

-- When a key was last used; written at most once a minute per key, never on every request.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
CREATE INDEX api_keys_account_idx ON api_keys (account_id, created_at);

-- A login to /admin. Only a SHA-256 of the session token (the cookie's value) is stored; the
-- CSRF token goes in every form the session's pages render. A session dies with its key.
CREATE TABLE admin_sessions (
    token_hash  bytea PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key_id      uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX admin_sessions_expiry_idx ON admin_sessions (expires_at);

-- Requests per day, CLI version (the label of the version metric: a release, or `other`) and
-- account (the nil UUID for requests no key authenticated), added in batches by each api
-- replica. `legacy_requests` counts those to the 0.2.x `POST /scans/{id}/complete`. No foreign
-- key: the counts outlive what they count.
CREATE TABLE client_version_usage (
    day              date NOT NULL,
    version          text NOT NULL,
    account_id       uuid NOT NULL,
    requests         bigint NOT NULL DEFAULT 0,
    legacy_requests  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, version, account_id)
);

-- One row per orphan sweep that marked scans errored, written where the sweep runs.
CREATE TABLE orphan_sweeps (
    id          bigserial PRIMARY KEY,
    swept_at    timestamptz NOT NULL DEFAULT now(),
    scans       integer NOT NULL CHECK (scans > 0)
);

-- Report retention deletes ended scans by their completion time.
CREATE INDEX scans_ended_idx ON scans (completed_at) WHERE status IN ('complete', 'errored');
-- `GET /scans` pages an account's scans newest first with (created_at, id) as the cursor.
CREATE INDEX scans_account_page_idx ON scans (account_id, created_at DESC, id DESC);
