//! Typed parameters, through the `dyn Connector` surface the app calls: every connector
//! refuses a key it does not know by name, its refusals name the parameter, and the
//! parameters stored by earlier versions still validate to themselves.
// See: #16

use connectors::{Connector, Registry};
use serde_json::{Value, json};

/// Parameters each connector accepts: its example's, or a fixed set for the generic ones.
fn good_params(registry: &Registry, connector: &dyn Connector) -> Value {
    match connector.kind() {
        "json" => json!({"url": "https://api.example/posts.json", "items": "/posts", "id": "/id"}),
        "html" => json!({"url": "https://site.example/news", "items": "article", "title": "h2"}),
        kind => {
            let example = connector.info().example_input;
            let (found, params) = registry
                .recognize(example)
                .unwrap_or_else(|| panic!("{kind}: its example {example} is not recognized"));
            assert_eq!(found.kind(), kind);
            params
        }
    }
}

#[test]
fn issue16_typed_params_every_connector_refuses_an_unknown_parameter_by_name() {
    let registry = Registry::default();
    let mut failures = Vec::new();
    for connector in registry.iter() {
        let kind = connector.kind();
        let mut params = good_params(&registry, connector.as_ref());
        let stored = connector
            .validate(&params)
            .unwrap_or_else(|err| panic!("{kind}: {params} does not validate: {err}"));
        assert_eq!(
            connector.validate(&stored).ok().as_ref(),
            Some(&stored),
            "{kind}: the stored form validates to itself"
        );
        params
            .as_object_mut()
            .expect("parameters are an object")
            .insert("colour".into(), "red".into());
        match connector.validate(&params) {
            Err(err) if err.to_string().contains("unknown parameter `colour`") => {}
            other => failures.push(format!("{kind}: {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[track_caller]
fn check_refusal(kind: &str, params: Value, expected: &str) {
    let registry = Registry::default();
    let connector = registry.get(kind).expect("a built-in kind");
    match connector.validate(&params) {
        Err(err) => assert!(err.to_string().contains(expected), "{kind} {params}: {err}"),
        Ok(stored) => panic!("{kind} {params}: accepted as {stored}"),
    }
}

#[test]
fn issue16_typed_params_refusals_name_the_parameter() {
    check_refusal("github", json!({"user": 5}), "`user` must be a string");
    check_refusal("github", json!({}), "needs a `user` parameter");
    check_refusal(
        "github",
        json!({"user": "a b"}),
        "`a b` is not a GitHub user name",
    );
    check_refusal("lobsters", json!({"user": "~"}), "needs a `user` parameter");
    check_refusal(
        "stackexchange",
        json!({"user_id": "x", "site": "stackoverflow"}),
        "`user_id` must be a positive whole number",
    );
    check_refusal(
        "stackexchange",
        json!({"site": "stackoverflow"}),
        "needs the parameter `user_id`",
    );
    check_refusal(
        "activitypub",
        json!({"account": "ana@social.example", "include_replies": "yes"}),
        "`include_replies` must be true or false",
    );
    check_refusal(
        "feed",
        json!({"url": "ftp://x.example/f"}),
        "`url` must be an http or https address",
    );
    check_refusal(
        "json",
        json!({"url": "https://a.example/", "id": "/id", "kind": "poem"}),
        "`kind`: `poem` is not a kind of item",
    );
    check_refusal(
        "html",
        json!({"url": "https://a.example/", "items": "li[[", "title": "a"}),
        "`items` is not a CSS selector",
    );
    check_refusal("feed", json!(["https://a.example/"]), "names and values");
}

/// What earlier versions stored for each kind (their `validate` output): it must still
/// validate to the very same JSON, so existing databases poll on.
#[test]
fn issue16_typed_params_stored_shapes_still_load() {
    let registry = Registry::default();
    for (kind, stored) in [
        ("feed", json!({"url": "https://blog.example/feed.xml"})),
        ("github", json!({"user": "octocat"})),
        ("hackernews", json!({"user": "pg"})),
        ("lobsters", json!({"user": "ana"})),
        ("bluesky", json!({"actor": "ana.bsky.social"})),
        (
            "bluesky",
            json!({"actor": "ana.bsky.social", "did": "did:plc:ana4abc7defgh2ijklmn3opq"}),
        ),
        (
            "bluesky",
            json!({"actor": "did:plc:ana4abc7defgh2ijklmn3opq"}),
        ),
        (
            "stackexchange",
            json!({"user_id": 22656, "site": "stackoverflow"}),
        ),
        ("activitypub", json!({"account": "ana@social.example"})),
        (
            "activitypub",
            json!({"url": "https://lemmy.example/u/ana", "include_replies": true}),
        ),
        (
            "json",
            json!({"url": "https://api.example/posts.json", "items": "", "id": "/id",
                   "title": "/t", "link": "https://example.com/p/{/slug}", "kind": "photo"}),
        ),
        (
            "html",
            json!({"url": "https://site.example/news", "items": "article.post",
                   "title": "h2", "link": "h2 a", "date": "time"}),
        ),
        ("youtube", json!({"channel_id": "UCabcdefghijklmnopqrstuv"})),
    ] {
        let connector = registry.get(kind).expect("a built-in kind");
        assert_eq!(
            connector.validate(&stored).ok(),
            Some(stored.clone()),
            "{kind}: {stored}"
        );
    }
}

#[test]
fn typed_params_read_text_from_forms_and_the_cli() {
    let registry = Registry::default();
    let se = registry.get("stackexchange").unwrap();
    assert_eq!(
        se.validate(&json!({"user_id": " 22656 ", "site": " stackoverflow "}))
            .unwrap(),
        json!({"user_id": 22656, "site": "stackoverflow"})
    );
    let ap = registry.get("activitypub").unwrap();
    assert_eq!(
        ap.validate(&json!({"account": "@ana@social.example", "include_replies": "false"}))
            .unwrap(),
        json!({"account": "ana@social.example"})
    );
    let github = registry.get("github").unwrap();
    assert_eq!(
        github.validate(&json!({"user": " @octocat "})).unwrap(),
        json!({"user": "octocat"})
    );
}
