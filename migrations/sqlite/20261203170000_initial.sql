-- Workspaces, credentials and user identities.

CREATE TABLE workspaces (
    workspace_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Only a SHA-256 of each secret is stored; the public id finds the row.
CREATE TABLE api_keys (
    public_id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces (workspace_id),
    secret_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE personal_access_tokens (
    public_id TEXT PRIMARY KEY NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE personal_access_token_workspaces (
    public_id TEXT NOT NULL REFERENCES personal_access_tokens (public_id),
    workspace_id TEXT NOT NULL REFERENCES workspaces (workspace_id),
    PRIMARY KEY (public_id, workspace_id)
) WITHOUT ROWID;

-- `seq` follows insertion order, which the store keeps equal to
-- (created_at, user_identity_id) order, so the search index can be read in list order.
CREATE TABLE user_identities (
    seq INTEGER PRIMARY KEY,
    user_identity_id TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL REFERENCES workspaces (workspace_id),
    user_identity_key TEXT,
    email_address TEXT,
    phone_number TEXT,
    full_name TEXT,
    created_at INTEGER NOT NULL
);

CREATE UNIQUE INDEX user_identities_unique_key
    ON user_identities (workspace_id, user_identity_key);
CREATE UNIQUE INDEX user_identities_unique_email
    ON user_identities (workspace_id, lower(email_address));
CREATE UNIQUE INDEX user_identities_unique_phone
    ON user_identities (workspace_id, phone_number);
CREATE INDEX user_identities_list_order
    ON user_identities (workspace_id, created_at, user_identity_id);

-- Trigram index for case-insensitive substring search.
CREATE VIRTUAL TABLE user_identities_search USING fts5 (
    full_name,
    email_address,
    phone_number,
    user_identity_id,
    content = 'user_identities',
    content_rowid = 'seq',
    tokenize = 'trigram'
);

CREATE TRIGGER user_identities_search_insert AFTER INSERT ON user_identities BEGIN
    INSERT INTO user_identities_search (rowid, full_name, email_address, phone_number, user_identity_id)
    VALUES (new.seq, new.full_name, new.email_address, new.phone_number, new.user_identity_id);
END;

CREATE TRIGGER user_identities_search_delete AFTER DELETE ON user_identities BEGIN
    INSERT INTO user_identities_search (user_identities_search, rowid, full_name, email_address, phone_number, user_identity_id)
    VALUES ('delete', old.seq, old.full_name, old.email_address, old.phone_number, old.user_identity_id);
END;

CREATE TRIGGER user_identities_search_update AFTER UPDATE ON user_identities BEGIN
    INSERT INTO user_identities_search (user_identities_search, rowid, full_name, email_address, phone_number, user_identity_id)
    VALUES ('delete', old.seq, old.full_name, old.email_address, old.phone_number, old.user_identity_id);
    INSERT INTO user_identities_search (rowid, full_name, email_address, phone_number, user_identity_id)
    VALUES (new.seq, new.full_name, new.email_address, new.phone_number, new.user_identity_id);
END;
