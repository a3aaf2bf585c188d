-- Workspaces, credentials and user identities. Times are milliseconds since the Unix
-- epoch (bigint), the precision the API shows, so list order is the order clients see.

-- pg_trgm is a trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE workspaces (
    workspace_id uuid PRIMARY KEY,
    name text NOT NULL,
    created_at bigint NOT NULL
);

-- Only a SHA-256 of each secret is stored; the public id finds the row.
CREATE TABLE api_keys (
    public_id text PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id),
    secret_hash bytea NOT NULL,
    created_at bigint NOT NULL,
    revoked_at bigint
);

CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

CREATE TABLE personal_access_tokens (
    public_id text PRIMARY KEY,
    secret_hash bytea NOT NULL,
    created_at bigint NOT NULL,
    revoked_at bigint
);

CREATE TABLE personal_access_token_workspaces (
    public_id text NOT NULL REFERENCES personal_access_tokens (public_id),
    workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id),
    PRIMARY KEY (public_id, workspace_id)
);

-- Ids are UUIDv7 whose timestamp is created_at, so (created_at, user_identity_id) order
-- matches id order within one instance.
CREATE TABLE user_identities (
    user_identity_id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id),
    user_identity_key text,
    email_address text,
    phone_number text,
    full_name text,
    created_at bigint NOT NULL
);

-- The names of these unique indexes are how a violation is told apart; keep them.
CREATE UNIQUE INDEX user_identities_unique_key
    ON user_identities (workspace_id, user_identity_key);
CREATE UNIQUE INDEX user_identities_unique_email
    ON user_identities (workspace_id, lower(email_address));
CREATE UNIQUE INDEX user_identities_unique_phone
    ON user_identities (workspace_id, phone_number);

-- Keyset pagination walks this index from the cursor.
CREATE INDEX user_identities_list_order
    ON user_identities (workspace_id, created_at, user_identity_id);

-- Case-insensitive substring search: trigram indexes on exactly the expressions the list
-- query compares with LIKE.
CREATE INDEX user_identities_search_full_name
    ON user_identities USING gin (lower(full_name) gin_trgm_ops);
CREATE INDEX user_identities_search_email
    ON user_identities USING gin (lower(email_address) gin_trgm_ops);
CREATE INDEX user_identities_search_phone
    ON user_identities USING gin (phone_number gin_trgm_ops);
CREATE INDEX user_identities_search_id
    ON user_identities USING gin ((user_identity_id::text) gin_trgm_ops);
