-- botkit store schema, version 2 (SQLite): the chat indexes by user and by message id are
-- kept off the insert path.
--
-- Chat rows arrive in time order, but in no user order, and Twitch's message ids are random
-- UUIDs. An index (user_id, ts, seq) or (platform, channel, message_id) on `chat` takes every
-- batch's rows at hundreds of places, so each 1000-row commit rewrote about one index page
-- per row, and sustained appends ran at a third of the speed they reach without them.
-- Instead, each new row's keys go to `chat_pending` (an append: a few pages per batch), and
-- the store's writer merges pending rows into `chat_user` and `chat_message` in bulk,
-- sorted, every few tens of thousands of rows and whenever it is idle: each index page is
-- then rewritten once per merge instead of once per batch.
--
-- Every chat row is in `chat_pending` or in the index tables, never both (the triggers below
-- keep it so for any writer, also another process), and a lookup reads both.

CREATE TABLE chat_user (
    user_id TEXT    NOT NULL,
    ts      INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (user_id, ts, seq)
) WITHOUT ROWID;

-- gen is seq >> 16: the message ids of 65,536 consecutive rows form one generation. Random
-- ids merged into one index of every id ever stored would rewrite nearly all of its pages
-- on every merge; within the newest generation a merge touches a few thousand pages at
-- most. A lookup by id probes each generation once (16 probes per million rows).
CREATE TABLE chat_message (
    gen        INTEGER NOT NULL,
    platform   TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (gen, platform, channel, message_id, seq)
) WITHOUT ROWID;

-- Rows not merged into the index tables yet. seq is the chat row's seq; a seq SQLite hands
-- out again after the newest rows were deleted is still a new pending row, so no row is
-- missed.
CREATE TABLE chat_pending (
    seq        INTEGER PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    ts         INTEGER NOT NULL,
    platform   TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    message_id TEXT
);

-- The existing user index is already in (user_id, ts, seq) order: that copy only appends.
INSERT INTO chat_user (user_id, ts, seq)
    SELECT user_id, ts, seq FROM chat INDEXED BY chat_by_user ORDER BY user_id, ts, seq;
INSERT INTO chat_message (gen, platform, channel, message_id, seq)
    SELECT seq >> 16, platform, channel, message_id, seq FROM chat
    WHERE message_id IS NOT NULL ORDER BY 1, 2, 3, 4, 5;
DROP INDEX chat_by_user;
DROP INDEX chat_by_message;

CREATE TRIGGER chat_pending_insert AFTER INSERT ON chat BEGIN
    INSERT OR REPLACE INTO chat_pending (seq, user_id, ts, platform, channel, message_id)
        VALUES (new.seq, new.user_id, new.ts, new.platform, new.channel, new.message_id);
END;

CREATE TRIGGER chat_pending_delete AFTER DELETE ON chat BEGIN
    DELETE FROM chat_user WHERE user_id = old.user_id AND ts = old.ts AND seq = old.seq;
    DELETE FROM chat_message WHERE gen = old.seq >> 16 AND platform = old.platform
        AND channel = old.channel AND message_id = old.message_id AND seq = old.seq;
    DELETE FROM chat_pending WHERE seq = old.seq;
END;

-- The store never changes a chat row, but another program might.
CREATE TRIGGER chat_pending_update
    AFTER UPDATE OF seq, user_id, ts, platform, channel, message_id ON chat BEGIN
    DELETE FROM chat_user WHERE user_id = old.user_id AND ts = old.ts AND seq = old.seq;
    DELETE FROM chat_message WHERE gen = old.seq >> 16 AND platform = old.platform
        AND channel = old.channel AND message_id = old.message_id AND seq = old.seq;
    DELETE FROM chat_pending WHERE seq = old.seq;
    INSERT OR REPLACE INTO chat_pending (seq, user_id, ts, platform, channel, message_id)
        VALUES (new.seq, new.user_id, new.ts, new.platform, new.channel, new.message_id);
END;
