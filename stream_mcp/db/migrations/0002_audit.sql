-- The audit trail (stream_mcp/db/_audit.py): one row per execution, the columns of
-- observability.AuditRecord plus when it happened. No token, secret, body or response.
CREATE TABLE audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time timestamptz NOT NULL,
    principal text NOT NULL,
    profile text NOT NULL,
    operation text NOT NULL,
    acting_user text,
    auth_mode text,
    status text NOT NULL,
    http_status integer,
    stream_code integer,
    latency_ms double precision NOT NULL,
    request_id text
);
CREATE INDEX audit_time ON audit (time);
CREATE INDEX audit_profile_time ON audit (profile, time);
CREATE INDEX audit_request_id ON audit (request_id) WHERE request_id IS NOT NULL;
