//! Placeholder until the HTTP Signatures module lands (same API).
#![allow(dead_code, unused_variables)]

use std::time::SystemTime;
use url::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Cavage,
    Rfc9421,
}

pub struct KeyPair {
    private_pem: String,
    public_pem: String,
}

impl KeyPair {
    pub fn from_private_pem(pem: &str) -> Result<KeyPair, String> {
        Err("not yet".into())
    }
    pub fn public_pem(&self) -> String {
        self.public_pem.clone()
    }
    pub fn private_pem(&self) -> String {
        self.private_pem.clone()
    }
}

pub struct Inbound<'a> {
    pub method: &'a http::Method,
    pub target_uri: &'a Url,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

pub struct Claim {
    pub key_id: String,
    pub scheme: Scheme,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(String);

pub fn claimed_key(req: &Inbound<'_>) -> Result<Claim, Refusal> {
    Err(Refusal("not yet".into()))
}

pub fn verify(req: &Inbound<'_>, pem: &str, now: SystemTime) -> Result<Claim, Refusal> {
    Err(Refusal("not yet".into()))
}

pub fn same_origin_host(key_id: &str, actor: &str) -> bool {
    false
}

pub fn sign_post(
    key: &KeyPair,
    key_id: &str,
    url: &Url,
    body: &[u8],
    scheme: Scheme,
    now: SystemTime,
) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, String> {
    Err("not yet".into())
}
