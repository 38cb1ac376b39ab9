//! The Fedify test peer (`tests/peer/peer.mjs`): an independent ActivityPub server on
//! 127.0.0.1 that one test starts, drives through its JSON control API (`/control/…`) and
//! kills when the guard drops. Only starts the peer and talks HTTP to it; knows nothing
//! of Tributary's internals.
//!
//! ```ignore
//! let Some(peer) = Peer::start(PeerSigning::Rfc9421).await else { return };
//! let followed = peer.follow(&format!("ana@{}", app_authority)).await;
//! assert_eq!(followed.delivery.status, Some(202));
//! let accept = peer.wait_for_inbox(|a| a.kind == "Accept", TIMEOUT).await;
//! ```
//!
//! Needs `tests/peer/node_modules` (`npm ci --prefix tests/peer`, which `tests/run` does);
//! without it `start` returns `None` or panics as `support::tools` says.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::tools::PEER;

/// How long the peer may take to print its `LISTENING` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one control request may take (it may wait on a remote inbox).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between two reads of the inbox in [`Peer::wait_for_inbox`].
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Which HTTP signature spec the peer signs its requests with. It never falls back to
/// the other one: a retry signed the other way is refused before it leaves (and listed
/// in [`Peer::sent`] as `refused`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerSigning {
    /// draft-cavage-http-signatures-12, what Mastodon sends.
    Cavage,
    /// RFC 9421 HTTP Message Signatures only.
    Rfc9421,
}

impl PeerSigning {
    fn arg(self) -> &'static str {
        match self {
            PeerSigning::Cavage => "cavage",
            PeerSigning::Rfc9421 => "rfc9421",
        }
    }

    /// The `spec` that [`SentRequest`]s signed this way carry.
    pub fn spec(self) -> &'static str {
        match self {
            PeerSigning::Cavage => "draft-cavage",
            PeerSigning::Rfc9421 => "rfc9421",
        }
    }
}

/// A running peer; the process is killed when this drops.
pub struct Peer {
    base: String,
    signing: PeerSigning,
    http: reqwest::Client,
    child: Child,
    /// The peer's stderr (Fedify's warnings and the peer's errors), for panic messages.
    stderr_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An activity the peer's inbox accepted (Fedify verified its signature first).
#[derive(Clone, Debug, Deserialize)]
pub struct InboxActivity {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<String>,
    pub actor: Option<String>,
    /// The `object` as sent: an id string or an embedded object.
    pub object: Value,
    /// The path it was posted to: `/users/peer/inbox` or the shared `/inbox`.
    pub inbox: Option<String>,
    /// The activity exactly as posted.
    pub raw: Value,
}

/// One request the peer made.
#[derive(Clone, Debug, Deserialize)]
pub struct SentRequest {
    pub url: String,
    pub method: String,
    /// `rfc9421`, `draft-cavage` or `unsigned`.
    pub spec: String,
    /// The answer's status; `None` when there was none (refused, or a network error).
    pub status: Option<u16>,
    /// Signed with the spec the peer does not use, so never sent.
    pub refused: bool,
    #[serde(default)]
    pub error: Option<String>,
}

/// The answer to a control call that sent one activity.
#[derive(Clone, Debug, Deserialize)]
pub struct Delivery {
    /// The status the remote inbox answered with (the last answer, if Fedify retried);
    /// `None` when no request reached it.
    pub status: Option<u16>,
    /// Fedify's error when the delivery failed.
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Followed {
    /// The remote actor's id, as WebFinger and the actor document gave it.
    pub actor: String,
    /// The id of the `Follow` the peer sent.
    pub follow: String,
    #[serde(flatten)]
    pub delivery: Delivery,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Replied {
    pub note: String,
    pub create: String,
    #[serde(flatten)]
    pub delivery: Delivery,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Liked {
    pub like: String,
    #[serde(flatten)]
    pub delivery: Delivery,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Announced {
    pub announce: String,
    #[serde(flatten)]
    pub delivery: Delivery,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Undone {
    pub undo: String,
    #[serde(flatten)]
    pub delivery: Delivery,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Deleted {
    pub delete: String,
    #[serde(flatten)]
    pub delivery: Delivery,
}

impl Peer {
    /// Starts a peer signing with `signing`. `None` when the peer group is skipped
    /// (`support::tools::PEER`).
    pub async fn start(signing: PeerSigning) -> Option<Peer> {
        let tools = PEER.tools()?;
        Some(Peer::start_with(&tools[0], signing).await)
    }

    async fn start_with(node: &Path, signing: PeerSigning) -> Peer {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().expect("a temp dir for the peer's log");
        let stderr_path = dir.path().join("peer.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("create the peer's log");
        // Stdin stays a pipe: the peer exits when it closes, so a peer outlives no test
        // process, even one that is killed.
        let mut child = Command::new(node)
            .arg(root.join("tests/peer/peer.mjs"))
            .args(["--signing", signing.arg()])
            .current_dir(root.join("tests/peer"))
            .env_remove("NODE_OPTIONS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {}: {err}", node.display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let mut reader = BufReader::new(stdout);
            let _ = sender.send(reader.read_line(&mut first).map(|_| first));
            // Keep draining, so the peer never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = tokio::task::spawn_blocking(move || receiver.recv_timeout(START_TIMEOUT))
            .await
            .expect("the reader thread's join");
        let mut peer = Peer {
            base: String::new(),
            signing,
            http: reqwest::Client::builder()
                .timeout(CONTROL_TIMEOUT)
                .no_proxy()
                .build()
                .expect("a reqwest client"),
            child,
            stderr_path,
            _dir: dir,
        };
        let base = match line {
            Ok(Ok(line)) => line
                .trim_end()
                .strip_prefix("LISTENING ")
                .map(str::to_owned),
            _ => None,
        };
        match base {
            Some(base) if base.starts_with("http://127.0.0.1:") => peer.base = base,
            _ => {
                let status = peer.child.try_wait().ok().flatten();
                panic!(
                    "the peer ({}) printed no LISTENING line within {START_TIMEOUT:?} \
                     (exit status {status:?})\n{}",
                    signing.arg(),
                    peer.stderr()
                );
            }
        }
        peer
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `127.0.0.1:PORT`, the host part of the peer's handle.
    pub fn authority(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The handle WebFinger answers for: `peer@127.0.0.1:PORT`.
    pub fn handle(&self) -> String {
        format!("peer@{}", self.authority())
    }

    /// The peer actor's id: `BASE/users/peer`.
    pub fn actor_id(&self) -> String {
        format!("{}/users/peer", self.base)
    }

    /// The peer actor's inbox: `BASE/users/peer/inbox`.
    pub fn inbox_url(&self) -> String {
        format!("{}/users/peer/inbox", self.base)
    }

    pub fn signing(&self) -> PeerSigning {
        self.signing
    }

    /// What the peer wrote on stderr so far.
    pub fn stderr(&self) -> String {
        let mut text = String::new();
        let _ =
            std::fs::File::open(&self.stderr_path).and_then(|mut f| f.read_to_string(&mut text));
        format!("peer stderr:\n{text}")
    }

    /// Looks `handle` (`ana@127.0.0.1:1234`) up by WebFinger, fetches the actor and sends
    /// it a `Follow`.
    pub async fn follow(&self, handle: &str) -> Followed {
        self.post("follow", json!({ "handle": handle })).await
    }

    /// Sends `Undo{Follow}` for a follow made by [`Peer::follow`].
    pub async fn undo_follow(&self, actor: &str, follow: &str) -> Undone {
        self.post("undo-follow", json!({ "actor": actor, "follow": follow }))
            .await
    }

    /// Sends `Create{Note}` replying to `in_reply_to`, to Public and cc the actor `to`,
    /// with a `Mention` of it.
    pub async fn reply(&self, to: &str, in_reply_to: &str, content_html: &str) -> Replied {
        self.post(
            "reply",
            json!({ "to": to, "inReplyTo": in_reply_to, "content": content_html }),
        )
        .await
    }

    /// Sends `Like` of `object` to the actor `to`.
    pub async fn like(&self, to: &str, object: &str) -> Liked {
        self.post("like", json!({ "to": to, "object": object }))
            .await
    }

    /// Sends `Undo{Like}` for a like made by [`Peer::like`].
    pub async fn undo_like(&self, to: &str, like: &str, object: &str) -> Undone {
        self.post(
            "undo-like",
            json!({ "to": to, "like": like, "object": object }),
        )
        .await
    }

    /// Sends `Announce` of `object`, to Public and cc the actor `to`.
    pub async fn announce(&self, to: &str, object: &str) -> Announced {
        self.post("announce", json!({ "to": to, "object": object }))
            .await
    }

    /// Sends `Undo{Announce}` for an announce made by [`Peer::announce`].
    pub async fn undo_announce(&self, to: &str, announce: &str, object: &str) -> Undone {
        self.post(
            "undo-announce",
            json!({ "to": to, "announce": announce, "object": object }),
        )
        .await
    }

    /// Sends `Delete{Tombstone}` of a note made by [`Peer::reply`] to the actor `to`.
    pub async fn delete_note(&self, to: &str, note: &str) -> Deleted {
        self.post("delete-note", json!({ "to": to, "note": note }))
            .await
    }

    /// Every activity the peer's inbox accepted, in order.
    pub async fn inbox(&self) -> Vec<InboxActivity> {
        self.get("inbox").await
    }

    /// Every request the peer made, in order.
    pub async fn sent(&self) -> Vec<SentRequest> {
        self.get("sent").await
    }

    /// The object at `uri` as Fedify parsed it (Fedify's compacted JSON-LD); `Err` with
    /// the peer's message when Fedify found nothing or failed.
    pub async fn lookup(&self, uri: &str) -> Result<Value, String> {
        let mut url = url::Url::parse(&format!("{}/control/lookup", self.base))
            .expect("the peer's base is a URL");
        url.query_pairs_mut().append_pair("uri", uri);
        let response = self
            .http
            .get(url)
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET /control/lookup: {err}\n{}", self.stderr()));
        let status = response.status();
        let body: Value = response.json().await.expect("the peer answers JSON");
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!(
                "{status}: {}",
                body["error"].as_str().unwrap_or("")
            ))
        }
    }

    /// The first inbox activity matching `pred`, polling until `timeout`; panics with the
    /// inbox and the peer's stderr when none arrives.
    pub async fn wait_for_inbox(
        &self,
        pred: impl Fn(&InboxActivity) -> bool,
        timeout: Duration,
    ) -> InboxActivity {
        let deadline = Instant::now() + timeout;
        loop {
            let inbox = self.inbox().await;
            if let Some(found) = inbox.iter().find(|activity| pred(activity)) {
                return found.clone();
            }
            if Instant::now() >= deadline {
                panic!(
                    "no matching activity reached the peer's inbox within {timeout:?}; \
                     it holds {inbox:#?}\n{}",
                    self.stderr()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn post<T: DeserializeOwned>(&self, what: &str, body: Value) -> T {
        let response = self
            .http
            .post(format!("{}/control/{what}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|err| panic!("POST /control/{what}: {err}\n{}", self.stderr()));
        self.parse(what, response).await
    }

    async fn get<T: DeserializeOwned>(&self, what: &str) -> T {
        let response = self
            .http
            .get(format!("{}/control/{what}", self.base))
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET /control/{what}: {err}\n{}", self.stderr()));
        self.parse(what, response).await
    }

    async fn parse<T: DeserializeOwned>(&self, what: &str, response: reqwest::Response) -> T {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            panic!(
                "/control/{what} answered {status}: {text}\n{}",
                self.stderr()
            );
        }
        serde_json::from_str(&text).unwrap_or_else(|err| {
            panic!("/control/{what} answered {text}, not the expected JSON: {err}")
        })
    }
}
