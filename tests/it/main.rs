//! Tributary's one integration-test binary: real SQLite files in temp dirs, a real fixture
//! HTTP server on 127.0.0.1, the real binary where a test needs a process.

mod fetch;
mod ingest;
mod process;
mod stored;
mod support;
mod tidy;
