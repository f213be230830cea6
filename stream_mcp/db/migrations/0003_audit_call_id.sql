-- The id a tool call's log lines carry (call_id), so a log line leads to its audit row.
ALTER TABLE audit ADD COLUMN call_id text;
CREATE INDEX audit_call_id ON audit (call_id) WHERE call_id IS NOT NULL;
