//! WebSub in (W3C WebSub, subscriber side), against a fixture hub on loopback that plays
//! the hub's part of the spec: it takes the subscribe request, verifies the intent at the
//! callback with a random `hub.challenge` (and checks the echo), grants a lease, and
//! pushes content signed with the subscriber's `hub.secret`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::Utc;
use hmac::{Hmac, Mac};
use rand::RngCore;
use tributary::config::Config;
use tributary::model::SourceId;
use tributary::store::sources::{self as source_rows, NewSource};
use tributary::store::websub::{self as push_rows, State as PushState, Subscription};

use crate::support::web::WebApp;

/// How long the app and the hub get for a round of requests (generous: a loaded machine).
const PATIENCE: Duration = Duration::from_secs(15);

/// A subscribe or unsubscribe request the hub received, and how its verification went.
#[derive(Clone, Debug)]
struct HubRequest {
    mode: String,
    topic: String,
    callback: String,
    secret: Option<String>,
    lease_seconds: Option<String>,
    received_at: Instant,
    /// The callback's status and whether it echoed the challenge exactly; `None` while
    /// the verification is under way.
    verified: Option<(u16, bool)>,
    verified_at: Option<Instant>,
}

#[derive(Default)]
struct HubShared {
    requests: Mutex<Vec<HubRequest>>,
    /// The topic document served at `/feed.atom`.
    feed: Mutex<String>,
    /// The lease the hub grants; `None` grants what was asked.
    grant_lease: Mutex<Option<u64>>,
    /// Deny subscriptions with this reason (section 5.2) instead of verifying them.
    deny: Mutex<Option<String>>,
}

/// A WebSub hub on 127.0.0.1 that also serves the topic (`/feed.atom`).
struct FixtureHub {
    origin: String,
    shared: Arc<HubShared>,
    client: reqwest::Client,
}

impl FixtureHub {
    async fn start() -> FixtureHub {
        let shared = Arc::new(HubShared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let router = Router::new()
            .route("/hub", post(hub_post))
            .route("/feed.atom", get(feed_get))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let hub = FixtureHub {
            origin,
            shared,
            client: reqwest::Client::new(),
        };
        hub.set_feed(&[("first", "The first entry")]);
        hub
    }

    fn hub_url(&self) -> String {
        format!("{}/hub", self.origin)
    }

    fn topic(&self) -> String {
        format!("{}/feed.atom", self.origin)
    }

    fn set_feed(&self, entries: &[(&str, &str)]) {
        *self.shared.feed.lock().unwrap() = atom(&self.hub_url(), &self.topic(), entries);
    }

    fn grant_lease(&self, secs: u64) {
        *self.shared.grant_lease.lock().unwrap() = Some(secs);
    }

    fn deny(&self, reason: &str) {
        *self.shared.deny.lock().unwrap() = Some(reason.to_owned());
    }

    fn requests(&self) -> Vec<HubRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Waits until the hub has `n` requests of `mode` whose verification ended.
    async fn wait_for_verified(&self, mode: &str, n: usize) -> Vec<HubRequest> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let done: Vec<HubRequest> = self
                .requests()
                .into_iter()
                .filter(|request| request.mode == mode && request.verified.is_some())
                .collect();
            if done.len() >= n {
                return done;
            }
            assert!(
                Instant::now() < deadline,
                "the hub saw {} verified {mode} requests, wanted {n}: {:?}",
                done.len(),
                self.requests()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last verified subscription (callback and secret).
    fn subscription(&self) -> (String, String) {
        let request = self
            .requests()
            .into_iter()
            .rfind(|request| request.mode == "subscribe" && request.verified == Some((200, true)))
            .expect("a verified subscription");
        (request.callback, request.secret.expect("a secret"))
    }

    /// Pushes `body` to the subscriber as a hub does (W3C WebSub section 7), signed with
    /// `signature` (by default HMAC-SHA256 under the subscription's secret).
    async fn push_with(&self, body: &[u8], signature: Option<String>) -> StatusCode {
        let (callback, _) = self.subscription();
        let mut request = self
            .client
            .post(&callback)
            .header(header::CONTENT_TYPE, "application/atom+xml")
            .header(
                "link",
                format!(
                    "<{}>; rel=\"hub\", <{}>; rel=\"self\"",
                    self.hub_url(),
                    self.topic()
                ),
            )
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("x-hub-signature", signature);
        }
        request.send().await.unwrap().status()
    }

    async fn push(&self, body: &[u8]) -> StatusCode {
        let (_, secret) = self.subscription();
        self.push_with(body, Some(sign(secret.as_bytes(), body)))
            .await
    }
}

/// `POST /hub`: a subscribe or unsubscribe request. Answers 202 at once and verifies the
/// intent afterwards (section 5.3), as hubs do.
async fn hub_post(
    State(shared): State<Arc<HubShared>>,
    Form(form): Form<HashMap<String, String>>,
) -> impl IntoResponse {
    let field = |name: &str| form.get(name).cloned();
    let (Some(mode), Some(topic), Some(callback)) =
        (field("hub.mode"), field("hub.topic"), field("hub.callback"))
    else {
        return StatusCode::BAD_REQUEST;
    };
    let index = {
        let mut requests = shared.requests.lock().unwrap();
        requests.push(HubRequest {
            mode: mode.clone(),
            topic: topic.clone(),
            callback: callback.clone(),
            secret: field("hub.secret"),
            lease_seconds: field("hub.lease_seconds"),
            received_at: Instant::now(),
            verified: None,
            verified_at: None,
        });
        requests.len() - 1
    };
    let granted = shared
        .grant_lease
        .lock()
        .unwrap()
        .map(|secs| secs.to_string())
        .or_else(|| field("hub.lease_seconds"))
        .unwrap_or_else(|| "86400".into());
    let deny = shared.deny.lock().unwrap().clone();
    tokio::spawn(async move {
        if let Some(reason) = deny {
            let mut url = url::Url::parse(&callback).unwrap();
            url.query_pairs_mut().extend_pairs([
                ("hub.mode", "denied"),
                ("hub.topic", topic.as_str()),
                ("hub.reason", reason.as_str()),
            ]);
            let status = reqwest::Client::new()
                .get(url)
                .send()
                .await
                .unwrap()
                .status();
            let mut requests = shared.requests.lock().unwrap();
            requests[index].verified = Some((status.as_u16(), false));
            requests[index].verified_at = Some(Instant::now());
            return;
        }
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let challenge = hex::encode(bytes);
        let mut query = vec![
            ("hub.mode", mode.as_str()),
            ("hub.topic", topic.as_str()),
            ("hub.challenge", challenge.as_str()),
        ];
        if mode == "subscribe" {
            query.push(("hub.lease_seconds", granted.as_str()));
        }
        let mut url = url::Url::parse(&callback).unwrap();
        url.query_pairs_mut().extend_pairs(&query);
        let response = reqwest::Client::new().get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let echoed = response.text().await.unwrap() == challenge;
        let mut requests = shared.requests.lock().unwrap();
        requests[index].verified = Some((status, echoed));
        requests[index].verified_at = Some(Instant::now());
    });
    StatusCode::ACCEPTED
}

async fn feed_get(State(shared): State<Arc<HubShared>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/atom+xml")],
        shared.feed.lock().unwrap().clone(),
    )
}

fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn atom(hub: &str, topic: &str, entries: &[(&str, &str)]) -> String {
    let entries: String = entries
        .iter()
        .map(|(id, title)| {
            format!(
                "<entry><id>urn:test:{id}</id><title>{title}</title>\
                 <link href=\"https://blog.example/{id}\"/>\
                 <updated>2026-01-01T00:00:00Z</updated><content>{title}, the text</content></entry>"
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Pushed blog</title><id>urn:test:feed</id>
<updated>2026-01-01T00:00:00Z</updated>
<link rel="hub" href="{hub}"/><link rel="self" href="{topic}"/>
<link rel="alternate" href="https://blog.example/"/>
{entries}</feed>"#
    )
}

/// A server that may subscribe from loopback, a user `ana` with the hub's feed as a
/// source, polled once (so it offers the subscription).
async fn start(hub: &FixtureHub, tweak: impl FnOnce(&mut Config)) -> (WebApp, SourceId) {
    let app = WebApp::start_with(&hub.origin, |config| {
        config.websub.private_callback = true;
        tweak(config);
    })
    .await;
    let ana = app.create_user("ana", true);
    let params = serde_json::json!({ "url": hub.topic() });
    let source_id = app
        .store
        .write_blocking(|tx| source_rows::insert(tx, &NewSource::feed(ana, &params), Utc::now()))
        .unwrap();
    let report = ingest(&app).poll_source(source_id).await.unwrap();
    assert_eq!(report.error, None);
    assert_eq!(report.n_new, 1);
    (app, source_id)
}

fn ingest(app: &WebApp) -> tributary::ingest::Ingest {
    app.state.sources.ingest.get().expect("an ingest").clone()
}

fn subscription(app: &WebApp, source_id: SourceId) -> Option<Subscription> {
    app.store
        .read_blocking(move |conn| push_rows::get(conn, source_id))
        .unwrap()
}

async fn stream_page(app: &WebApp) -> String {
    app.client().get("/ana").await.body
}

#[tokio::test]
async fn a_feed_naming_a_hub_is_subscribed_and_the_hub_verifies_it() {
    let hub = FixtureHub::start().await;
    let (app, source_id) = start(&hub, |_| {}).await;

    let verified = hub.wait_for_verified("subscribe", 1).await;
    let request = &verified[0];
    assert_eq!(
        request.verified,
        Some((200, true)),
        "the challenge is echoed"
    );
    assert_eq!(request.topic, hub.topic());
    assert!(
        request.callback.starts_with(&app.url("/websub/")),
        "{}",
        request.callback
    );
    let secret = request.secret.clone().unwrap();
    assert!(secret.len() >= 64 && secret.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(request.lease_seconds.as_deref(), Some("864000"));

    let sub = subscription(&app, source_id).unwrap();
    assert_eq!(sub.state, PushState::Active);
    assert_eq!(sub.hub, hub.hub_url());
    let lease_left = sub.lease_expires_at.unwrap() - Utc::now();
    assert!(lease_left > chrono::TimeDelta::days(9), "{lease_left}");

    // A pushed source is still polled, at the relaxed interval (6 hours by default).
    let report = ingest(&app).poll_source(source_id).await.unwrap();
    assert!(report.next_poll_at > Utc::now() + chrono::TimeDelta::hours(5));

    let client = app.logged_in("ana").await;
    let page = client.get(&format!("/settings/sources/{source_id}")).await;
    assert!(
        page.body.contains(&format!("push via {}", hub.hub_url()))
            && page.body.contains("lease until"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_signed_push_reaches_the_stream_within_a_second() {
    let hub = FixtureHub::start().await;
    let (app, source_id) = start(&hub, |_| {}).await;
    hub.wait_for_verified("subscribe", 1).await;
    assert!(!stream_page(&app).await.contains("A pushed entry"));

    let body = atom(
        &hub.hub_url(),
        &hub.topic(),
        &[("pushed", "A pushed entry"), ("first", "The first entry")],
    );
    let status = hub.push(body.as_bytes()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let pushed_at = Instant::now();
    loop {
        if stream_page(&app).await.contains("A pushed entry") {
            break;
        }
        assert!(
            pushed_at.elapsed() < Duration::from_secs(1),
            "the pushed item is not on the stream a second after the push"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sub = subscription(&app, source_id).unwrap();
    assert!(sub.last_push_at.is_some());
    let client = app.logged_in("ana").await;
    let page = client.get(&format!("/settings/sources/{source_id}")).await;
    assert!(page.body.contains("last push"), "{}", page.body);
    assert!(
        page.body.contains("<td>push</td>"),
        "the fetch log has the push"
    );
}

#[tokio::test]
async fn unsigned_wrongly_signed_oversized_and_non_feed_pushes_are_refused() {
    let hub = FixtureHub::start().await;
    let (app, source_id) = start(&hub, |config| config.websub.max_push_bytes = 4096).await;
    hub.wait_for_verified("subscribe", 1).await;
    let body = atom(
        &hub.hub_url(),
        &hub.topic(),
        &[("forged", "A forged entry")],
    );

    let wrong = sign(b"not the secret", body.as_bytes());
    assert_eq!(
        hub.push_with(body.as_bytes(), Some(wrong)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        hub.push_with(body.as_bytes(), None).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        hub.push_with(body.as_bytes(), Some("sha256=zz".into()))
            .await,
        StatusCode::FORBIDDEN
    );
    let items = app
        .store
        .read_blocking(move |conn| tributary::store::items::of_source(conn, source_id))
        .unwrap();
    assert!(
        items.iter().all(|item| item.title != "A forged entry"),
        "{items:?}"
    );
    assert!(!stream_page(&app).await.contains("A forged entry"));
    let sub = subscription(&app, source_id).unwrap();
    assert!(
        sub.last_error
            .as_deref()
            .is_some_and(|e| e.contains("X-Hub-Signature")),
        "{:?}",
        sub.last_error
    );

    let entries: Vec<(String, String)> = (0..40)
        .map(|n| {
            (
                format!("big-{n}"),
                format!("Entry number {n} of a big push"),
            )
        })
        .collect();
    let entries: Vec<(&str, &str)> = entries
        .iter()
        .map(|(id, title)| (id.as_str(), title.as_str()))
        .collect();
    let big = atom(&hub.hub_url(), &hub.topic(), &entries);
    assert!(big.len() > 4096);
    assert_eq!(
        hub.push(big.as_bytes()).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(!stream_page(&app).await.contains("of a big push"));

    assert_eq!(hub.push(b"this is no feed").await, StatusCode::BAD_REQUEST);
    let sub = subscription(&app, source_id).unwrap();
    assert!(
        sub.last_error
            .as_deref()
            .is_some_and(|e| e.contains("not a feed")),
        "{:?}",
        sub.last_error
    );
    let client = app.logged_in("ana").await;
    let page = client.get(&format!("/settings/sources/{source_id}")).await;
    assert!(page.body.contains("not a feed"), "{}", page.body);

    // An unknown callback is gone.
    let response = reqwest::Client::new()
        .post(app.url("/websub/no-such-token"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
}

#[tokio::test]
async fn a_short_lease_is_renewed_before_it_lapses() {
    let hub = FixtureHub::start().await;
    hub.grant_lease(3);
    let (_app, _source_id) = start(&hub, |config| config.websub.min_renew_secs = 1).await;

    let first = hub.wait_for_verified("subscribe", 1).await[0].clone();
    assert_eq!(first.verified, Some((200, true)));
    let lease_end = first.verified_at.unwrap() + Duration::from_secs(3);
    let renewed = hub.wait_for_verified("subscribe", 2).await[1].clone();
    assert!(
        renewed.received_at < lease_end,
        "the renewal came {:?} after the lease ended",
        renewed.received_at - lease_end
    );
    assert_eq!(renewed.verified, Some((200, true)));
    assert_eq!(renewed.callback, first.callback, "the callback stays");
}

#[tokio::test]
async fn removing_the_source_unsubscribes_and_the_callback_is_then_gone() {
    let hub = FixtureHub::start().await;
    let (app, source_id) = start(&hub, |_| {}).await;
    hub.wait_for_verified("subscribe", 1).await;
    let (callback, _) = hub.subscription();

    let client = app.logged_in("ana").await;
    let page = client
        .post_form(
            &format!("/settings/sources/{source_id}"),
            &format!("/settings/sources/{source_id}/remove"),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    let unsubscribed = hub.wait_for_verified("unsubscribe", 1).await;
    assert_eq!(unsubscribed[0].verified, Some((200, true)));
    assert_eq!(unsubscribed[0].callback, callback);
    assert_eq!(unsubscribed[0].topic, hub.topic());
    assert_eq!(subscription(&app, source_id), None);

    let body = atom(&hub.hub_url(), &hub.topic(), &[("late", "A late entry")]);
    assert_eq!(hub.push(body.as_bytes()).await, StatusCode::GONE);
}

#[tokio::test]
async fn a_denied_subscription_is_the_sources_error_and_is_tried_again_later() {
    let hub = FixtureHub::start().await;
    hub.deny("topic not allowed here");
    let (app, source_id) = start(&hub, |_| {}).await;
    let denied = hub.wait_for_verified("subscribe", 1).await;
    assert_eq!(denied[0].verified, Some((200, false)));

    let sub = subscription(&app, source_id).unwrap();
    assert_eq!(sub.state, PushState::Pending);
    assert!(sub.next_attempt_at > Utc::now());
    let error = sub.last_error.unwrap_or_default();
    assert!(
        error.contains("denied") && error.contains("topic not allowed here"),
        "{error}"
    );
    let client = app.logged_in("ana").await;
    let page = client.get(&format!("/settings/sources/{source_id}")).await;
    assert!(
        page.body.contains("topic not allowed here"),
        "{}",
        page.body
    );
}
