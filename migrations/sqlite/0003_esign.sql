-- Issue 6: e-signature. A document is a case paper (confirmation, mediation agreement,
-- withdrawal, transcript); each change of its text is a new version, and signatures bind
-- one version. PDFs live in data_dir/documents/<sha256>.pdf (content-addressed, written
-- before the row that names them commits), so the database stays the source of truth and
-- a crash leaves at worst an unreferenced file.
CREATE TABLE documents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    hearing_id      BIGINT REFERENCES hearings(id),
    kind            TEXT NOT NULL CHECK (kind IN ('confirmation','mediation_agreement','withdrawal_claim','withdrawal_counterclaim','transcript')),
    status          TEXT NOT NULL CHECK (status IN ('signing','effective','void')),
    current_version BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    effective_at    BIGINT
);
CREATE INDEX documents_case ON documents(case_id, kind);

CREATE TABLE document_versions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id     BIGINT NOT NULL REFERENCES documents(id),
    version         BIGINT NOT NULL,
    fields          TEXT NOT NULL,
    template_sha256 TEXT NOT NULL,
    slots           TEXT NOT NULL,
    page_count      BIGINT NOT NULL,
    sha256          TEXT NOT NULL,
    head_sha256     TEXT NOT NULL,
    revision        BIGINT NOT NULL DEFAULT 0,
    certificate_sha256 TEXT,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (document_id, version)
);

CREATE TABLE signer_certificates (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    commission_id   BIGINT NOT NULL REFERENCES commissions(id),
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    invitation_id   BIGINT REFERENCES invitations(id),
    user_id         BIGINT REFERENCES users(id),
    role            TEXT NOT NULL,
    name            TEXT NOT NULL,
    public_key      TEXT NOT NULL,
    fingerprint     TEXT NOT NULL UNIQUE,
    cert_pem        TEXT NOT NULL,
    not_before      BIGINT NOT NULL,
    not_after       BIGINT NOT NULL,
    ip              TEXT,
    user_agent      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX signer_certificates_key ON signer_certificates(case_id, public_key);

CREATE TABLE signatures (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id     BIGINT NOT NULL REFERENCES documents(id),
    version_id      BIGINT NOT NULL REFERENCES document_versions(id),
    slot            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('signed','refused','sealed')),
    invitation_id   BIGINT REFERENCES invitations(id),
    user_id         BIGINT REFERENCES users(id),
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    method          TEXT NOT NULL,
    cert_fingerprint TEXT,
    doc_sha256      TEXT NOT NULL,
    revision_sha256 TEXT,
    image_sha256    TEXT,
    strokes_sha256  TEXT,
    webauthn        TEXT,
    reason          TEXT,
    ip              TEXT,
    user_agent      TEXT,
    at              BIGINT NOT NULL,
    audit_id        BIGINT NOT NULL,
    UNIQUE (version_id, slot)
);
CREATE INDEX signatures_document ON signatures(document_id);

CREATE TABLE signature_prepares (
    id              TEXT PRIMARY KEY,
    version_id      BIGINT NOT NULL REFERENCES document_versions(id),
    slot            TEXT NOT NULL,
    base_revision   BIGINT NOT NULL,
    certificate_id  BIGINT NOT NULL REFERENCES signer_certificates(id),
    pdf_sha256      TEXT NOT NULL,
    signed_attrs    TEXT NOT NULL,
    byte_range      TEXT NOT NULL,
    image_sha256    TEXT NOT NULL,
    strokes_sha256  TEXT NOT NULL,
    method          TEXT NOT NULL,
    webauthn_challenge TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);

CREATE TABLE sign_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id     BIGINT NOT NULL REFERENCES documents(id),
    version_id      BIGINT NOT NULL REFERENCES document_versions(id),
    slot            TEXT NOT NULL,
    invitation_id   BIGINT REFERENCES invitations(id),
    user_id         BIGINT REFERENCES users(id),
    via             TEXT NOT NULL CHECK (via IN ('link','room')),
    sent_by         TEXT NOT NULL,
    sent_at         BIGINT NOT NULL
);
CREATE INDEX sign_requests_document ON sign_requests(document_id);

CREATE TABLE webauthn_credentials (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    invitation_id   BIGINT REFERENCES invitations(id),
    user_id         BIGINT REFERENCES users(id),
    credential_id   TEXT NOT NULL UNIQUE,
    public_key      TEXT NOT NULL,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);
