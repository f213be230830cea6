-- The event feed (stream_mcp/events/_postgres.py). Every row belongs to a profile: profiles
-- are different Stream apps, and one database may serve several.
CREATE TABLE events (
    -- The cursor. An identity is never reused; appends hold a per-profile advisory lock from
    -- nextval to commit, so seq order is commit order and a reader never skips a late commit.
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    profile text NOT NULL,
    key text NOT NULL,
    type text NOT NULL,
    cid text,
    created_at text NOT NULL,
    user_id text,
    message_id text,
    source text NOT NULL,
    subjects text[] NOT NULL,
    payload json NOT NULL, -- json, not jsonb: the payload comes back exactly as stored
    stored_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (profile, key)
);
CREATE INDEX events_profile_seq ON events (profile, seq);
CREATE INDEX events_profile_stored_at ON events (profile, stored_at);

-- Webhook delivery ids (X-Webhook-Id) already stored: a retried delivery stores nothing.
CREATE TABLE event_deliveries (
    profile text NOT NULL,
    id text NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (profile, id)
);

CREATE TABLE event_channels (
    profile text NOT NULL,
    cid text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (profile, cid)
);

CREATE TABLE event_members (
    profile text NOT NULL,
    cid text NOT NULL,
    user_id text NOT NULL,
    PRIMARY KEY (profile, cid, user_id)
);
CREATE INDEX event_members_user ON event_members (profile, user_id);

-- Small named values shared by every replica (e.g. the last Sync instant).
CREATE TABLE event_marks (
    profile text NOT NULL,
    name text NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (profile, name)
);
