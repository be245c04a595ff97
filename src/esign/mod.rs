//! Electronic signature of case documents (confirmations, mediation agreements,
//! withdrawals, transcripts). What is signed is the PDF the signer was shown: `render`
//! turns a template and the case's fields into that PDF; `pades` appends each signer's
//! PAdES signature (made on the signer's phone with a key certified by `ca`) as its own
//! incremental update, and the commission seal last; `pdf_verify` checks them offline.
//! Which signer may sign when, and when a document takes effect, is `workflow`: plain
//! rules with no I/O.

pub mod ca;
pub mod cms;
pub mod completion;
pub mod pades;
pub mod pdf_verify;
pub mod preview;
pub mod render;
pub mod service;
pub mod templates;
pub mod timestamp;
pub mod webauthn;
pub mod workflow;
