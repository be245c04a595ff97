//! The arbitration domain as plain values and functions: which status may follow which,
//! what a valid ID number or phone looks like, how case numbers and deadlines are formed.
//! Nothing here touches the database or the network, so every rule is unit-tested alone.

pub mod case_number;
pub mod case_status;
pub mod closing;
pub mod deadline;
pub mod identity;
pub mod masking;
pub mod roles;
pub mod statistics;
