-- botkit store schema, version 2 (SQLite): the chat index by user is kept off the insert path.
--
-- Chat rows arrive in time order but in no user order, so an index (user_id, ts, seq) on
-- `chat` takes every batch's rows at hundreds of places: each 1000-row commit rewrote about
-- 500 of its pages, and sustained appends ran at a third of the speed they reach without it.
-- Instead, each new row's (seq, user_id, ts) goes to `chat_user_pending` (an append: a few
-- pages per batch), and the store's writer moves pending rows into `chat_user` in bulk,
-- sorted, every few tens of thousands of rows and whenever it is idle: each page of the
-- index is then rewritten once per merge instead of once per batch.
--
-- Every chat row is in exactly one of the two tables (the triggers below keep it so for any
-- writer, also another process), and a query by user reads both.

CREATE TABLE chat_user (
    user_id TEXT    NOT NULL,
    ts      INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (user_id, ts, seq)
) WITHOUT ROWID;

-- Rows not merged into chat_user yet. seq is the chat row's seq; a seq SQLite hands out
-- again after the newest rows were deleted is still a new pending row, so no row is missed.
CREATE TABLE chat_user_pending (
    seq     INTEGER PRIMARY KEY,
    user_id TEXT    NOT NULL,
    ts      INTEGER NOT NULL
);

-- The existing index is already in (user_id, ts, seq) order: the copy only appends.
INSERT INTO chat_user (user_id, ts, seq)
    SELECT user_id, ts, seq FROM chat INDEXED BY chat_by_user ORDER BY user_id, ts, seq;
DROP INDEX chat_by_user;

CREATE TRIGGER chat_user_insert AFTER INSERT ON chat BEGIN
    INSERT OR REPLACE INTO chat_user_pending (seq, user_id, ts)
        VALUES (new.seq, new.user_id, new.ts);
END;

CREATE TRIGGER chat_user_delete AFTER DELETE ON chat BEGIN
    DELETE FROM chat_user WHERE user_id = old.user_id AND ts = old.ts AND seq = old.seq;
    DELETE FROM chat_user_pending WHERE seq = old.seq;
END;

-- The store never changes a chat row, but another program might.
CREATE TRIGGER chat_user_update AFTER UPDATE OF seq, user_id, ts ON chat BEGIN
    DELETE FROM chat_user WHERE user_id = old.user_id AND ts = old.ts AND seq = old.seq;
    DELETE FROM chat_user_pending WHERE seq = old.seq;
    INSERT OR REPLACE INTO chat_user_pending (seq, user_id, ts)
        VALUES (new.seq, new.user_id, new.ts);
END;
