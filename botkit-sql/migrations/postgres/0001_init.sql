-- botkit store schema, version 1 (PostgreSQL).
-- Text columns use COLLATE "C", so ORDER BY sorts by UTF-8 bytes (Rust `str` order) whatever
-- the database's locale. JSON is stored as text, exactly as serde_json wrote it.

CREATE TABLE kv (
    namespace TEXT COLLATE "C" NOT NULL,
    key       TEXT COLLATE "C" NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);

CREATE TABLE chat (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform   TEXT COLLATE "C" NOT NULL,
    channel    TEXT COLLATE "C" NOT NULL,
    instance   TEXT,
    message_id TEXT COLLATE "C",
    user_id    TEXT COLLATE "C" NOT NULL,
    user_name  TEXT NOT NULL,
    text       TEXT NOT NULL,
    ts         BIGINT NOT NULL,
    event_id   TEXT
);
CREATE INDEX chat_by_channel ON chat (platform, channel, ts, seq);
CREATE INDEX chat_by_user ON chat (user_id, ts, seq);
CREATE INDEX chat_by_time ON chat (ts);
CREATE INDEX chat_by_message ON chat (platform, channel, message_id) WHERE message_id IS NOT NULL;

CREATE TABLE events (
    event_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    topic    TEXT COLLATE "C" NOT NULL,
    platform TEXT NOT NULL,
    channel  TEXT,
    ts       BIGINT NOT NULL,
    json     TEXT NOT NULL
);
CREATE INDEX events_by_time ON events (ts, event_id);
CREATE INDEX events_by_topic ON events (topic, ts, event_id);

CREATE TABLE counters (
    name     TEXT COLLATE "C" NOT NULL,
    dims     TEXT COLLATE "C" NOT NULL,
    bucket   TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    value    BIGINT NOT NULL,
    PRIMARY KEY (name, dims, bucket, start_ms)
);
CREATE INDEX counters_by_bucket ON counters (name, bucket, start_ms);

CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue        TEXT COLLATE "C" NOT NULL,
    payload      TEXT NOT NULL,
    priority     INTEGER NOT NULL,
    due_ms       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    last_error   TEXT,
    leased_until BIGINT
);
CREATE INDEX jobs_by_order ON jobs (queue, priority DESC, due_ms, id);

CREATE TABLE dead_jobs (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           BIGINT NOT NULL UNIQUE,
    queue        TEXT COLLATE "C" NOT NULL,
    payload      TEXT NOT NULL,
    priority     INTEGER NOT NULL,
    attempts     BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    error        TEXT NOT NULL
);
CREATE INDEX dead_jobs_by_queue ON dead_jobs (queue, seq);
