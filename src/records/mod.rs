//! The electronic case file (电子卷宗) as a bundle anyone can check without our server.
//!
//! A clerk hands the file to a party, a court or an archive; none of them can be asked to
//! trust a database they cannot see. So the bundle carries its own proof: every file is
//! listed in `manifest.json` with its SHA-256 and size, the manifest is signed with the
//! commission's seal key (the key that seals PDFs and recordings), and the commission CA
//! certificate plus the seal certificate it issued travel with it. `yunting verify
//! bundle.zip` needs only the binary.
//!
//! The main file (正卷) and the secondary file (副卷) are separate bundles because they are
//! shown to different people: parties may inspect the main file; the secondary file holds
//! what is internal (the audit trail, identity-check and device details, superseded
//! versions, unshown exhibits).
//!
//! Building ([`collect`], [`bundle`]) and checking ([`verify`], [`safe_zip`]) share only
//! the manifest format ([`manifest`]); the checker never trusts the archive: names,
//! sizes, compression and counts are bounded before a byte is read, and nothing is ever
//! extracted to disk.

pub mod archive;
pub mod audit_slice;
pub mod bundle;
pub mod collect;
pub mod jobs;
pub mod manifest;
pub mod safe_zip;
pub mod verify;
