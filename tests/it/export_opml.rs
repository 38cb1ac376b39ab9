//! OPML that round-trips every source: one source of every connector kind and built-in
//! recipe goes out through `tributary export opml` and comes back into a fresh instance
//! through `tributary import opml` with the same kind, parameters, schedule and title;
//! lists from other readers still import, and hostile Tributary outlines are refused one
//! by one.

use std::path::Path;

use chrono::Utc;
use tributary::store::{Store, sources};

use crate::export::{fixture, run_ok, tributary};
use crate::support::app::create_user;
use crate::support::web::WebApp;

/// Any origin: these tests never fetch.
const NO_ORIGIN: &str = "http://127.0.0.1:9";

/// Parameters for the connectors that recognize no pasted text (and a YouTube channel
/// with its id, whose example is a handle); every other connector gets what it
/// recognizes in its own `example_input`.
fn params_for(kind: &str) -> Option<serde_json::Value> {
    match kind {
        "youtube" => Some(serde_json::json!({
            "channel_id": "UCabcdefghijklmnopqrstuv",
            "handle": "ana",
        })),
        "json" => Some(serde_json::json!({
            "url": "https://api.example/posts.json?tag=a&page=1",
            "items": "/data/items",
            "title": "/title",
            "link": "https://api.example/p/{/slug}",
            "kind": "article",
        })),
        "html" => Some(serde_json::json!({
            "url": "https://site.example/news",
            "items": "article.post",
            "title": "h2",
            "link": "h2 a",
            "date": "time@datetime",
        })),
        _ => None,
    }
}

/// `(kind, params, schedule, title)` of every source of `user`, sorted.
fn source_rows(db: &Path, user: &str) -> Vec<(String, String, String, String)> {
    let store = Store::open(db, 1).unwrap();
    let user = user.to_owned();
    let owner = store
        .read_blocking(move |conn| tributary::store::users::by_name(conn, &user))
        .unwrap();
    let mut rows: Vec<_> = store
        .read_blocking(move |conn| sources::list(conn, Some(owner.id)))
        .unwrap()
        .into_iter()
        .map(|s| (s.kind, s.params.to_string(), s.schedule, s.title))
        .collect();
    rows.sort();
    rows
}

#[test]
fn opml_round_trip_recreates_every_connector_and_recipe_kind_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let store = Store::open(&db, 2).unwrap();
    let ana = create_user(&store, "ana");
    let registry = connectors::Registry::default();
    let mut kinds = Vec::new();
    for (index, connector) in registry.iter().enumerate() {
        let kind = connector.kind();
        let params = params_for(kind).unwrap_or_else(|| {
            let example = connector.info().example_input;
            let (found, params) = registry
                .recognize(example)
                .unwrap_or_else(|| panic!("{kind}: nothing recognizes {example}"));
            assert_eq!(
                found.kind(),
                kind,
                "{example} is recognized as another kind"
            );
            params
        });
        let params = connector
            .validate(&params)
            .unwrap_or_else(|err| panic!("{kind}: {err}"));
        // Every other source keeps the default schedule and has no title.
        let schedule = if index % 2 == 0 {
            tributary::schedule::parse_schedule(&format!("{} */3 * * *", index % 60)).unwrap()
        } else {
            String::new()
        };
        let title = if index % 3 == 0 {
            String::new()
        } else {
            format!("{kind} & <friends> \"{index}\"")
        };
        store
            .write_blocking(|tx| {
                sources::insert(
                    tx,
                    &sources::NewSource {
                        user_id: ana,
                        kind,
                        params: &params,
                        title: &title,
                        schedule: &schedule,
                    },
                    Utc::now(),
                )
            })
            .unwrap();
        kinds.push(kind);
    }
    for needed in [
        "github",
        "activitypub",
        "youtube",
        "letterboxd",
        "json",
        "html",
        "feed",
    ] {
        assert!(
            kinds.contains(&needed),
            "{needed} is missing from {kinds:?}"
        );
    }
    assert!(
        kinds.len() >= 5 + connectors::recipe::EMBEDDED.len() + 4,
        "{kinds:?}"
    );
    drop(store);

    let opml_text = run_ok(tributary(&db).args(["export", "opml", "ana"]));
    let opml_file = dir.path().join("ana.opml");
    std::fs::write(&opml_file, &opml_text).unwrap();
    let fresh = dir.path().join("fresh.db");
    create_user(&Store::open(&fresh, 1).unwrap(), "ana");
    let report = run_ok(
        tributary(&fresh)
            .args(["import", "opml", "ana"])
            .arg(&opml_file),
    );
    assert!(
        report.contains(&format!(
            "{} added, 0 already present, 0 refused",
            kinds.len()
        )),
        "{report}\n{opml_text}"
    );
    assert_eq!(source_rows(&fresh, "ana"), source_rows(&db, "ana"));

    // Other readers still get an address where the connector has one.
    assert!(
        opml_text.contains("xmlUrl=\"https://www.youtube.com/feeds/videos.xml?channel_id="),
        "{opml_text}"
    );
    assert!(
        opml_text.contains("htmlUrl=\"https://github.com/"),
        "{opml_text}"
    );
    // Importing the same file again adds nothing.
    let again = run_ok(
        tributary(&fresh)
            .args(["import", "opml", "ana"])
            .arg(&opml_file),
    );
    assert!(
        again.contains(&format!(
            "0 added, {} already present, 0 refused",
            kinds.len()
        )),
        "{again}"
    );
}

#[test]
fn plain_opml_from_another_reader_still_imports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    create_user(&Store::open(&db, 1).unwrap(), "ana");
    let file = dir.path().join("reader.opml");
    std::fs::write(
        &file,
        r#"<?xml version="1.0"?>
<opml version="1.0"><head><title>Subscriptions</title></head><body>
  <outline text="Blogs" title="Blogs">
    <outline type="rss" text="A blog" title="A blog" xmlUrl="https://blog.example/feed.xml" htmlUrl="https://blog.example/"/>
    <outline type="rss" text="Videos" xmlUrl="https://www.youtube.com/feeds/videos.xml?channel_id=UCabcdefghijklmnopqrstuv"/>
  </outline>
</body></opml>"#,
    )
    .unwrap();
    let report = run_ok(tributary(&db).args(["import", "opml", "ana"]).arg(&file));
    assert!(
        report.contains("2 added, 0 already present, 0 refused"),
        "{report}"
    );
    let rows = source_rows(&db, "ana");
    let kinds: Vec<&str> = rows.iter().map(|row| row.0.as_str()).collect();
    assert_eq!(kinds.len(), 2, "{rows:?}");
    assert!(rows.iter().any(|row| row.3 == "A blog"), "{rows:?}");
}

#[tokio::test]
async fn hostile_tributary_outlines_are_refused_one_by_one() {
    let app = WebApp::start(NO_ORIGIN).await;
    let ana = app.create_user("ana", false);
    let bytes = std::fs::read(fixture("opml_hostile_tributary_params.opml")).unwrap();
    let report = app
        .state
        .sources
        .import_opml(ana, &tributary::config::FetchConfig::default(), &bytes)
        .await
        .unwrap();
    assert_eq!(report.added.len(), 1, "{report:?}");
    let reasons: Vec<&str> = report.refused.iter().map(|(_, why)| why.as_str()).collect();
    assert_eq!(reasons.len(), 11, "{reasons:?}");
    for expected in [
        "shell",
        "JSON",
        "object",
        "javascript",
        "localhost",
        "schedule",
    ] {
        assert!(
            reasons.iter().any(|why| why.contains(expected)),
            "no refusal mentions {expected}: {reasons:?}"
        );
    }
    assert!(
        reasons
            .iter()
            .filter(|why| why.contains("private")
                || why.contains("loopback")
                || why.contains("link-local"))
            .count()
            >= 3,
        "{reasons:?}"
    );
    let rows = app
        .store
        .read_blocking(move |conn| sources::list(conn, Some(ana)))
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].params, serde_json::json!({ "user": "octocat" }));
}
