//! Proving who is asking: staff passwords, session tokens, and the signed invitation
//! tokens that let a party in without an account.

pub mod invitation_token;
pub mod password;
pub mod session;
