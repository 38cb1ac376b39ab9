//! A remote fediverse account for inbox tests: its actor document on the fixture server
//! (127.0.0.1), its key pair (fixed keys made with `openssl genpkey`, in
//! `fixtures/federation/`), and POSTs to our inboxes signed by hand per
//! draft-cavage-http-signatures-12 with the `rsa` crate, not with Tributary's signer, so
//! the inbox is checked against a second implementation of the scheme.

use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::fixture_server::{FixtureServer, Reply};

pub const BOB_KEY: &str = include_str!("../fixtures/federation/bob.pem");
pub const BOB_PUBLIC: &str = include_str!("../fixtures/federation/bob.pub.pem");
pub const EVE_KEY: &str = include_str!("../fixtures/federation/eve.pem");
pub const EVE_PUBLIC: &str = include_str!("../fixtures/federation/eve.pub.pem");

/// An account `name` on the fixture server, with `key` (PKCS#8 PEM).
pub struct Remote {
    pub id: String,
    pub inbox: String,
    pub key_id: String,
    key: String,
}

impl Remote {
    /// Serves the actor (a Mastodon-shaped `Person`) at `/users/{name}` with the public
    /// key `public_pem`; its inbox and shared inbox answer 202.
    pub fn serve(server: &FixtureServer, name: &str, key: &str, public_pem: &str) -> Remote {
        let id = server.url(&format!("/users/{name}"));
        let inbox = format!("{id}/inbox");
        let key_id = format!("{id}#main-key");
        let actor = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id,
            "type": "Person",
            "preferredUsername": name,
            "name": format!("{name} remote"),
            "inbox": inbox,
            "outbox": format!("{id}/outbox"),
            "url": server.url(&format!("/@{name}")),
            "icon": {"type": "Image", "url": server.url(&format!("/{name}.png"))},
            "endpoints": {"sharedInbox": server.url("/inbox")},
            "publicKey": {"id": key_id, "owner": id, "publicKeyPem": public_pem},
        });
        server.set(
            &format!("/users/{name}"),
            Reply::ok(actor.to_string()).content_type("application/activity+json"),
        );
        server.set(&format!("/users/{name}/inbox"), Reply::status(202));
        server.set("/inbox", Reply::status(202));
        Remote {
            id,
            inbox,
            key_id,
            key: key.to_owned(),
        }
    }

    /// An activity by this account with a fresh id.
    pub fn activity(&self, kind: &str, object: Value) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/activities/{}", self.id, unique()),
            "type": kind,
            "actor": self.id,
            "object": object,
        })
    }

    /// A public reply to `in_reply_to` with this HTML.
    pub fn note(&self, in_reply_to: &str, html: &str) -> Value {
        json!({
            "id": format!("{}/statuses/{}", self.id, unique()),
            "type": "Note",
            "attributedTo": self.id,
            "inReplyTo": in_reply_to,
            "content": html,
            "published": chrono::Utc::now().to_rfc3339(),
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        })
    }

    /// The headers of a signed POST of `body` to `url`.
    pub fn sign(&self, url: &str, body: &[u8], tweak: &Tweak) -> Vec<(String, String)> {
        sign_cavage(&self.key, &self.key_id, url, body, tweak)
    }
}

/// What a test changes in a signature to see it refused.
#[derive(Default, Clone)]
pub struct Tweak {
    /// Sign with this key instead (PKCS#8 PEM).
    pub key: Option<String>,
    /// Send this keyId instead.
    pub key_id: Option<String>,
    /// Send this Date (and sign it).
    pub date: Option<String>,
    /// Sign the Digest of other bytes than the body.
    pub digest_of: Option<Vec<u8>>,
    /// Change one byte of the signature after signing.
    pub forge: bool,
    /// Covered headers instead of `(request-target) host date digest`.
    pub headers: Option<&'static str>,
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        chrono::Utc::now().timestamp_micros(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// draft-cavage-http-signatures-12, `rsa-sha256`, written out by hand.
pub fn sign_cavage(
    key_pem: &str,
    key_id: &str,
    url: &str,
    body: &[u8],
    tweak: &Tweak,
) -> Vec<(String, String)> {
    let url = url::Url::parse(url).unwrap();
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap()),
        None => url.host_str().unwrap().to_owned(),
    };
    let date = tweak
        .date
        .clone()
        .unwrap_or_else(|| httpdate::fmt_http_date(std::time::SystemTime::now()));
    let digest_input = tweak.digest_of.as_deref().unwrap_or(body);
    let digest = format!(
        "SHA-256={}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(digest_input))
    );
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let covered = tweak.headers.unwrap_or("(request-target) host date digest");
    let text = covered
        .split(' ')
        .map(|name| match name {
            "(request-target)" => format!("(request-target): post {target}"),
            "host" => format!("host: {host}"),
            "date" => format!("date: {date}"),
            "digest" => format!("digest: {digest}"),
            "content-type" => "content-type: application/activity+json".to_owned(),
            other => panic!("no header {other}"),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let key_pem = tweak.key.as_deref().unwrap_or(key_pem);
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(key_pem).unwrap();
    let mut signature = SigningKey::<Sha256>::new(private)
        .sign(text.as_bytes())
        .to_vec();
    if tweak.forge {
        signature[10] ^= 0x55;
    }
    let signature = base64::engine::general_purpose::STANDARD.encode(signature);
    let key_id = tweak.key_id.as_deref().unwrap_or(key_id);
    vec![
        ("date".into(), date),
        ("digest".into(), digest),
        ("content-type".into(), "application/activity+json".into()),
        (
            "signature".into(),
            format!(
                "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{covered}\",signature=\"{signature}\""
            ),
        ),
    ]
}

/// POSTs `activity` to `url` signed by `remote` (with `tweak`); answers the status and body.
pub async fn post(remote: &Remote, url: &str, activity: &Value, tweak: &Tweak) -> (u16, String) {
    post_bytes(remote, url, activity.to_string().into_bytes(), tweak).await
}

pub async fn post_bytes(remote: &Remote, url: &str, body: Vec<u8>, tweak: &Tweak) -> (u16, String) {
    let headers = remote.sign(url, &body, tweak);
    let mut request = reqwest::Client::new().post(url).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}
