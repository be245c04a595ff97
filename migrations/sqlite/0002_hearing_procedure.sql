-- Issue 4: the hearing procedure. The phase and lock live on the hearing so a restart
-- resumes where the chair left off; hearing_events is the record's timeline (server
-- timestamps, used by the recording for chapters); hearing_party_checks holds each
-- party's device check and discipline acknowledgement; hearing_removals makes a removal
-- stick across reconnects and restarts.
ALTER TABLE hearings ADD COLUMN phase TEXT NOT NULL DEFAULT 'check_attendance';
ALTER TABLE hearings ADD COLUMN phase_since BIGINT;
ALTER TABLE hearings ADD COLUMN locked BIGINT NOT NULL DEFAULT 0;
ALTER TABLE commissions ADD COLUMN record_caucus BIGINT NOT NULL DEFAULT 0;

CREATE TABLE hearing_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    hearing_id      BIGINT NOT NULL REFERENCES hearings(id),
    at              BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    actor           TEXT NOT NULL,
    target          TEXT,
    detail          TEXT NOT NULL
);
CREATE INDEX hearing_events_hearing ON hearing_events(hearing_id, id);

CREATE TABLE hearing_party_checks (
    hearing_id      BIGINT NOT NULL REFERENCES hearings(id),
    invitation_id   BIGINT NOT NULL REFERENCES invitations(id),
    device_check    TEXT,
    device_verdict  TEXT,
    device_checked_at BIGINT,
    discipline_ack_at BIGINT,
    discipline_ip   TEXT,
    discipline_user_agent TEXT,
    PRIMARY KEY (hearing_id, invitation_id)
);

CREATE TABLE hearing_removals (
    hearing_id      BIGINT NOT NULL REFERENCES hearings(id),
    seat            TEXT NOT NULL,
    removed_at      BIGINT NOT NULL,
    removed_by      TEXT NOT NULL,
    reason          TEXT NOT NULL,
    PRIMARY KEY (hearing_id, seat)
);

CREATE TABLE exhibits (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    hearing_id      BIGINT NOT NULL REFERENCES hearings(id),
    uploaded_by     TEXT NOT NULL,
    name            TEXT NOT NULL,
    mime            TEXT NOT NULL CHECK (mime IN ('image/jpeg','image/png','application/pdf')),
    size            BIGINT NOT NULL,
    sha256          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending','shown')),
    created_at      BIGINT NOT NULL,
    shown_at        BIGINT
);
CREATE INDEX exhibits_hearing ON exhibits(hearing_id);
