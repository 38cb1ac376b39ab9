//! ActivityPub federation: what Tributary sends to and takes from other servers.

pub mod signature;
