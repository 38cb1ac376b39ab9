//! Shared test harness: the loopback fixture server and a test instance of the app.

#![allow(dead_code)]

pub mod app;
pub mod axe;
pub mod browser;
pub mod fixture_server;
pub mod peer;
pub mod remote;
pub mod rewrite;
pub mod tools;
pub mod web;
