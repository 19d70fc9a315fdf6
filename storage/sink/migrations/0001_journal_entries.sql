-- One row per journal line, keyed by (journal ID, seq), holding the exact
-- bytes of the line. Approvers only ever INSERT and SELECT: grant them
-- nothing more, so a compromised workstation cannot rewrite the store.
CREATE TABLE journal_entries (
    journal_id  text        NOT NULL CHECK (journal_id ~ '^[0-9a-f]{32}$'),
    seq         bigint      NOT NULL CHECK (seq >= 0),
    hash        text        NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    kind        text        NOT NULL,
    ts          timestamptz NOT NULL,
    line        bytea       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (journal_id, seq)
);

CREATE INDEX journal_entries_kind ON journal_entries (kind);
