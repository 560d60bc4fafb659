-- botkit store schema, version 1 (SQLite).
-- Text columns use the default BINARY collation, so ORDER BY sorts by UTF-8 bytes (Rust `str`
-- order). JSON is stored as text, exactly as serde_json wrote it.

CREATE TABLE kv (
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;

-- seq is the rowid: the append order that breaks timestamp ties.
CREATE TABLE chat (
    seq        INTEGER PRIMARY KEY,
    platform   TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    instance   TEXT,
    message_id TEXT,
    user_id    TEXT    NOT NULL,
    user_name  TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    ts         INTEGER NOT NULL,
    event_id   TEXT
);
CREATE INDEX chat_by_channel ON chat (platform, channel, ts, seq);
CREATE INDEX chat_by_user ON chat (user_id, ts, seq);
CREATE INDEX chat_by_time ON chat (ts);
CREATE INDEX chat_by_message ON chat (platform, channel, message_id) WHERE message_id IS NOT NULL;

-- event_id is the 32-digit lowercase hex of the id, so text order is numeric order.
CREATE TABLE events (
    event_id TEXT    NOT NULL PRIMARY KEY,
    topic    TEXT    NOT NULL,
    platform TEXT    NOT NULL,
    channel  TEXT,
    ts       INTEGER NOT NULL,
    json     TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX events_by_time ON events (ts, event_id);
CREATE INDEX events_by_topic ON events (topic, ts, event_id);

-- bucket is 'hour' or 'day'; start_ms is the bucket's first millisecond.
CREATE TABLE counters (
    name     TEXT    NOT NULL,
    dims     TEXT    NOT NULL,
    bucket   TEXT    NOT NULL,
    start_ms INTEGER NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (name, dims, bucket, start_ms)
) WITHOUT ROWID;
CREATE INDEX counters_by_bucket ON counters (name, bucket, start_ms);

-- AUTOINCREMENT: a job id is never handed out twice, even after its job was acked.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    priority     INTEGER NOT NULL,
    due_ms       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    last_error   TEXT,
    leased_until INTEGER
);
CREATE INDEX jobs_by_order ON jobs (queue, priority DESC, due_ms, id);

CREATE TABLE dead_jobs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           INTEGER NOT NULL UNIQUE,
    queue        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    priority     INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    error        TEXT    NOT NULL
);
CREATE INDEX dead_jobs_by_queue ON dead_jobs (queue, seq);
