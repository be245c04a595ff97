-- Yunting schema. Times are milliseconds since the Unix epoch (UTC), money in fen.
-- Flags are BIGINT 0/1 so that one query text works on SQLite and PostgreSQL.

CREATE TABLE commissions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL,
    case_prefix     TEXT NOT NULL,
    seal_public_key TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    commission_id   BIGINT NOT NULL REFERENCES commissions(id),
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin','arbitrator','clerk','mediator')),
    password_hash   TEXT NOT NULL,
    active          BIGINT NOT NULL DEFAULT 1,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_at      BIGINT NOT NULL
);

CREATE TABLE cases (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    commission_id   BIGINT NOT NULL REFERENCES commissions(id),
    number          TEXT NOT NULL,
    year            BIGINT NOT NULL,
    cause           TEXT NOT NULL,
    procedure_kind  TEXT NOT NULL CHECK (procedure_kind IN ('ordinary','simplified')),
    status          TEXT NOT NULL CHECK (status IN ('accepted','awaiting_hearing','in_hearing','hearing_closed','closed')),
    closing_method  TEXT CHECK (closing_method IN ('mediation','award','withdrawal','deemed_withdrawal','rejection')),
    arbitrator_id   BIGINT REFERENCES users(id),
    counterclaim_of BIGINT REFERENCES cases(id),
    merged_hearing  BIGINT NOT NULL DEFAULT 0,
    accepted_at     BIGINT NOT NULL,
    closed_at       BIGINT,
    created_by      BIGINT NOT NULL REFERENCES users(id),
    UNIQUE (commission_id, number)
);
CREATE INDEX cases_commission_status ON cases(commission_id, status);
CREATE INDEX cases_counterclaim_of ON cases(counterclaim_of);
CREATE INDEX cases_arbitrator ON cases(arbitrator_id);

CREATE TABLE case_sequences (
    commission_id   BIGINT NOT NULL REFERENCES commissions(id),
    year            BIGINT NOT NULL,
    last_seq        BIGINT NOT NULL,
    PRIMARY KEY (commission_id, year)
);

CREATE TABLE claims (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    position        BIGINT NOT NULL,
    description     TEXT NOT NULL,
    amount_cents    BIGINT NOT NULL CHECK (amount_cents >= 0)
);
CREATE INDEX claims_case ON claims(case_id);

CREATE TABLE parties (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    side            TEXT NOT NULL CHECK (side IN ('applicant','respondent')),
    kind            TEXT NOT NULL CHECK (kind IN ('person','organisation')),
    name            TEXT NOT NULL,
    legal_rep       TEXT,
    phone           TEXT NOT NULL,
    id_number       TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX parties_case ON parties(case_id);
CREATE INDEX parties_name ON parties(name);

CREATE TABLE agents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    party_id        BIGINT NOT NULL REFERENCES parties(id),
    name            TEXT NOT NULL,
    phone           TEXT NOT NULL,
    id_number       TEXT NOT NULL,
    authority       TEXT NOT NULL CHECK (authority IN ('general','special')),
    authority_detail TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX agents_party ON agents(party_id);

CREATE TABLE procedure_changes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    from_kind       TEXT NOT NULL,
    to_kind         TEXT NOT NULL,
    reason          TEXT NOT NULL,
    changed_by      BIGINT NOT NULL REFERENCES users(id),
    changed_at      BIGINT NOT NULL
);

CREATE TABLE status_changes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    from_status     TEXT NOT NULL,
    to_status       TEXT NOT NULL,
    reason          TEXT,
    changed_by      BIGINT REFERENCES users(id),
    changed_at      BIGINT NOT NULL
);

CREATE TABLE hearings (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    scheduled_at    BIGINT NOT NULL,
    presiding_arbitrator_id BIGINT NOT NULL REFERENCES users(id),
    clerk_id        BIGINT NOT NULL REFERENCES users(id),
    mediator_id     BIGINT REFERENCES users(id),
    status          TEXT NOT NULL CHECK (status IN ('scheduled','open','closed','cancelled')),
    created_at      BIGINT NOT NULL
);
CREATE INDEX hearings_case ON hearings(case_id);
CREATE INDEX hearings_presiding ON hearings(presiding_arbitrator_id);
CREATE INDEX hearings_mediator ON hearings(mediator_id);

CREATE TABLE invitations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    hearing_id      BIGINT REFERENCES hearings(id),
    role            TEXT NOT NULL CHECK (role IN ('applicant','respondent','agent','witness','observer')),
    party_id        BIGINT REFERENCES parties(id),
    agent_id        BIGINT REFERENCES agents(id),
    name            TEXT NOT NULL,
    phone           TEXT NOT NULL,
    id_number       TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT,
    verified_at     BIGINT,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_by      BIGINT NOT NULL REFERENCES users(id),
    created_at      BIGINT NOT NULL
);
CREATE INDEX invitations_case ON invitations(case_id);

CREATE TABLE otp_challenges (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    invitation_id   BIGINT NOT NULL REFERENCES invitations(id),
    code_mac        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    consumed_at     BIGINT
);
CREATE INDEX otp_invitation ON otp_challenges(invitation_id, created_at);

CREATE TABLE identity_verifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    invitation_id   BIGINT NOT NULL REFERENCES invitations(id),
    verified_at     BIGINT NOT NULL,
    ip              TEXT,
    user_agent      TEXT
);
CREATE INDEX identity_verifications_invitation ON identity_verifications(invitation_id);

CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('staff','party')),
    user_id         BIGINT REFERENCES users(id),
    invitation_id   BIGINT REFERENCES invitations(id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

-- The audit log is append-only and hash-chained; audit_head holds the chain's tip and
-- doubles as the lock that serialises writers (every write transaction updates it first).
CREATE TABLE audit_head (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    seq             BIGINT NOT NULL,
    hash            TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq             BIGINT PRIMARY KEY,
    at              BIGINT NOT NULL,
    commission_id   BIGINT,
    case_id         BIGINT,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    detail          TEXT NOT NULL,
    ip              TEXT,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE INDEX audit_case ON audit_log(case_id, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
