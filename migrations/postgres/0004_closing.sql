-- Issue 7: closing a case and keeping its records. A closing keeps what it rests on
-- (case_closings.grounds: the documents and hearing events relied on, as JSON) and the
-- date until which the case's records must be kept (cases.retain_until, from the
-- retention period of the closing method). The one extension of the time limit is a row
-- of deadline_extensions (at most one per case). A purge after retention erases the
-- case's personal data and files but keeps the case row, its closing and the audit
-- trail; case_purges records who did it and what was erased.
ALTER TABLE cases ADD COLUMN retain_until BIGINT;
ALTER TABLE cases ADD COLUMN purged_at BIGINT;
ALTER TABLE status_changes ADD COLUMN detail TEXT;

CREATE TABLE deadline_extensions (
    case_id         BIGINT PRIMARY KEY REFERENCES cases(id),
    days            BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    approved_by     TEXT NOT NULL,
    recorded_by     BIGINT NOT NULL REFERENCES users(id),
    recorded_at     BIGINT NOT NULL
);

CREATE TABLE case_closings (
    case_id         BIGINT PRIMARY KEY REFERENCES cases(id),
    method          TEXT NOT NULL CHECK (method IN ('mediation','award','withdrawal','deemed_withdrawal','rejection')),
    award_number    TEXT,
    award_date      TEXT,
    reason          TEXT,
    grounds         TEXT NOT NULL,
    retain_until    BIGINT NOT NULL,
    closed_by       BIGINT REFERENCES users(id),
    closed_at       BIGINT NOT NULL
);

CREATE TABLE case_purges (
    case_id         BIGINT PRIMARY KEY REFERENCES cases(id),
    purged_by       BIGINT NOT NULL REFERENCES users(id),
    purged_at       BIGINT NOT NULL,
    retain_until    BIGINT NOT NULL,
    detail          TEXT NOT NULL
);
