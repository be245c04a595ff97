//! Reading and writing the case model. Every function that changes something takes a
//! [`crate::db::WriteTx`] and the acting [`crate::authz::Principal`], validates its input,
//! and appends the audit entry itself, so nothing can change without a trace and the HTTP
//! layer, the demo seeder and the command-line tools share one implementation.
//! Permission checks stay with the caller (the HTTP layer), which knows the request.

pub mod cases;
pub mod closing;
pub mod commissions;
pub mod documents;
pub mod hearings;
pub mod identity;
pub mod invitations;
pub mod parties;
pub mod signing;
pub mod statistics;
pub mod timeline;
pub mod users;
pub mod views;

use crate::error::AppError;

/// Map a domain validation message to a 422 with the given code.
pub(crate) fn invalid<T>(code: &'static str) -> impl FnOnce(T) -> AppError
where
    T: Into<String>,
{
    move |m| AppError::invalid(code, m)
}
