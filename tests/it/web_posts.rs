//! Native posts and shares over real HTTP: messages, links with their preview from a
//! 127.0.0.1 fixture page, photos (EXIF gone, orientation applied, thumbnails), edit and
//! delete by the author only, CSRF, `tributary post`, the Atom feed, share + notification
//! + unshare, and the four hostile uploads that must store nothing.

use std::io::Cursor;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use image::{DynamicImage, ImageFormat};
use reqwest::StatusCode;
use tributary::model::{Item, ItemId, UserId};
use tributary::store::notifications::{self, Kind};
use tributary::store::{items, posts as post_rows, social};

use crate::support::app::binary;
use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::web::{Client, Page, WebApp};
use crate::web_stream::{NO_FIXTURES, add_item, add_source, card};

/// Sends the compose form of `user` with `parts` after the CSRF token, as a browser does.
pub async fn compose(client: &Client, user: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Page {
    let token = client.get(&format!("/{user}/post")).await.csrf();
    let mut all: Vec<(&str, Option<&str>, &[u8])> = vec![("csrf", None, token.as_bytes())];
    all.extend_from_slice(parts);
    client.post_multipart(&format!("/{user}/post"), &all).await
}

/// The id of the item a successful compose redirected to (`/{user}#item-N`).
fn posted_id(page: &Page) -> ItemId {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location.as_deref().unwrap();
    let id = location.rsplit("#item-").next().unwrap();
    ItemId(id.parse().unwrap())
}

fn item(app: &WebApp, id: ItemId) -> Item {
    app.store
        .read_blocking(move |conn| items::get(conn, id))
        .unwrap()
}

fn kinds(app: &WebApp, user: UserId) -> Vec<Kind> {
    app.store
        .read_blocking(move |conn| notifications::page(conn, user, None, 100))
        .unwrap()
        .notifications
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

fn count(app: &WebApp, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(app.dir.path().join("tributary.db")).unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

/// Files in the media folder, the scratch folder aside.
fn media_files(app: &WebApp) -> usize {
    let dir = app.state.media.dir();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name() != "tmp" && e.path().is_dir())
        .map(|e| std::fs::read_dir(e.path()).unwrap().count())
        .sum()
}

fn stored_bytes(app: &WebApp, url: &url::Url) -> Vec<u8> {
    let hash = url.path().rsplit('/').next().unwrap();
    std::fs::read(app.state.media.path_of(hash).unwrap()).unwrap()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    DynamicImage::new_rgb8(width, height)
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes
}

/// A JPEG `width` × `height` with an EXIF block that says "turn 90° clockwise" and holds a
/// GPS latitude, as a phone writes it.
fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let mut plain = Vec::new();
    DynamicImage::new_rgb8(width, height)
        .write_to(&mut Cursor::new(&mut plain), ImageFormat::Jpeg)
        .unwrap();
    let mut tiff: Vec<u8> = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    tiff.extend_from_slice(&2u16.to_le_bytes());
    // Orientation (0x0112), SHORT, 1, value 6.
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    // GPSInfo (0x8825), LONG, 1, the GPS IFD at 38.
    tiff.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD: GPSLatitudeRef "N".
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&[0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A tiny PNG whose header declares 50,000 × 50,000 pixels (7.5 GB decoded).
fn decompression_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

async fn setup(fixtures: &str) -> (WebApp, UserId, UserId) {
    let app = WebApp::start(fixtures).await;
    let ana = app.create_user("ana", false);
    let bo = app.create_user("bo", false);
    (app, ana, bo)
}

#[tokio::test]
async fn a_message_is_escaped_linked_and_in_every_stream_and_the_atom_feed() {
    let (app, _ana, _bo) = setup(NO_FIXTURES).await;
    let ana = app.logged_in("ana").await;
    // Only the owner sees the compose box.
    assert!(ana.get("/ana").await.body.contains("id=\"compose\""));
    assert!(
        !app.client()
            .get("/ana")
            .await
            .body
            .contains("id=\"compose\"")
    );
    let text = "Hello <b>world</b>, see https://example.org/x";
    let id = posted_id(&compose(&ana, "ana", &[("text", None, text.as_bytes())]).await);
    let stored = item(&app, id);
    assert_eq!(stored.source_kind, "tributary");
    assert_eq!(stored.kind, tributary::model::ItemKind::Note);
    assert!(
        stored
            .content
            .as_str()
            .contains("Hello &lt;b&gt;world&lt;/b&gt;, see <a href=\"https://example.org/x\""),
        "{}",
        stored.content.as_str()
    );
    for path in ["/ana", "/", "/ana?service=tributary", &format!("/e/{id}")] {
        let page = app.client().get(path).await;
        assert!(card(&page.body, id).contains("&lt;b&gt;world"), "{path}");
    }
    let service = app.client().get("/ana/tributary").await;
    assert_eq!(service.location.as_deref(), Some("/ana?service=tributary"));
    let feed = app.client().get("/ana/feed.atom").await;
    assert!(feed.body.contains("world"), "{}", feed.body);
    // The native source is never polled.
    let source = stored.source_id;
    let source_row = app
        .store
        .read_blocking(move |conn| tributary::store::sources::get(conn, source))
        .unwrap();
    assert!(!source_row.enabled);
    assert!(post_rows::is_native_params(&source_row.params));
}

#[tokio::test]
async fn a_long_or_empty_message_comes_back_with_the_text_kept() {
    let (app, _ana, _bo) = setup(NO_FIXTURES).await;
    let ana = app.logged_in("ana").await;
    let long = "é".repeat(tributary::posts::MAX_POST_CHARS + 1);
    let page = compose(&ana, "ana", &[("text", None, long.as_bytes())]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("at most 2000 characters"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&long));
    let empty = compose(&ana, "ana", &[("text", None, b"   ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("Write something"));
    assert_eq!(count(&app, "SELECT count(*) FROM items"), 0);
}

#[tokio::test]
async fn posting_needs_the_csrf_token_and_ones_own_stream() {
    let (app, _ana, _bo) = setup(NO_FIXTURES).await;
    let ana = app.logged_in("ana").await;
    let forged = ana
        .post_multipart("/ana/post", &[("text", None, b"forged")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let bo = app.logged_in("bo").await;
    assert_eq!(bo.get("/ana/post").await.status, StatusCode::NOT_FOUND);
    let token = bo.get("/bo/post").await.csrf();
    let into_anas = bo
        .post_multipart(
            "/ana/post",
            &[("csrf", None, token.as_bytes()), ("text", None, b"hi")],
        )
        .await;
    assert_eq!(into_anas.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&app, "SELECT count(*) FROM items"), 0);
}

#[tokio::test]
async fn a_link_gets_its_preview_and_a_missing_page_a_note() {
    let fixtures = FixtureServer::start().await;
    fixtures.set(
        "/article",
        Reply::ok(
            r#"<html><head><title>Fallback</title>
            <meta property="og:title" content="The Article">
            <meta property="og:description" content="What it is about.">
            <meta property="og:image" content="/card.png"></head><body></body></html>"#,
        )
        .content_type("text/html; charset=utf-8"),
    );
    fixtures.set(
        "/card.png",
        Reply::ok(png(800, 400)).content_type("image/png"),
    );
    let (app, _ana, _bo) = setup(&fixtures.origin()).await;
    let ana = app.logged_in("ana").await;
    let link = fixtures.url("/article");
    let id = posted_id(
        &compose(
            &ana,
            "ana",
            &[
                ("text", None, b"Worth a read"),
                ("link", None, link.as_bytes()),
            ],
        )
        .await,
    );
    let stored = item(&app, id);
    assert_eq!(stored.kind, tributary::model::ItemKind::Link);
    assert_eq!(stored.title, "The Article");
    assert_eq!(
        stored.url.as_ref().map(url::Url::as_str),
        Some(link.as_str())
    );
    assert!(stored.content.as_str().contains("What it is about."));
    assert_eq!(stored.media.len(), 1, "{:?}", stored.media);
    assert!(stored.media[0].url.path().starts_with("/media/"));
    assert_eq!(fixtures.hits("/card.png"), 1);
    let page = app.client().get("/ana").await;
    assert!(card(&page.body, id).contains("The Article"));

    let missing = fixtures.url("/gone");
    fixtures.set("/gone", Reply::status(404));
    let plain = posted_id(&compose(&ana, "ana", &[("link", None, missing.as_bytes())]).await);
    let stored = item(&app, plain);
    assert_eq!(stored.title, missing);
    assert!(stored.media.is_empty());
    let own = ana.get("/ana").await;
    assert!(card(&own.body, plain).contains("No preview: the page answered HTTP 404"));
    // Only the author sees the note.
    assert!(!card(&app.client().get("/ana").await.body, plain).contains("No preview"));
}

#[tokio::test]
async fn a_photo_loses_its_exif_is_turned_upright_and_gets_a_thumbnail() {
    let (app, _ana, _bo) = setup(NO_FIXTURES).await;
    let ana = app.logged_in("ana").await;
    let photo = jpeg_with_gps(1300, 650);
    assert!(photo.windows(4).any(|w| w == b"Exif"));
    let id = posted_id(
        &compose(
            &ana,
            "ana",
            &[
                ("text", None, b"Sunset"),
                ("photo_1", Some("sunset.jpg"), &photo),
                ("alt_1", None, b"A red sky over the sea"),
            ],
        )
        .await,
    );
    let stored = item(&app, id);
    assert_eq!(stored.kind, tributary::model::ItemKind::Photo);
    let media = &stored.media[0];
    assert_eq!(media.alt.as_deref(), Some("A red sky over the sea"));
    // Orientation 6: the stored picture is upright, 650 × 1300.
    assert_eq!((media.width, media.height), (Some(650), Some(1300)));
    let full = stored_bytes(&app, &media.url);
    let thumb = stored_bytes(&app, media.thumbnail.as_ref().unwrap());
    for bytes in [&full, &thumb] {
        assert!(!bytes.windows(4).any(|w| w == b"Exif"), "EXIF kept");
        assert!(!bytes.windows(4).any(|w| w == b"GPS\0"));
    }
    let decoded = image::load_from_memory(&full).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (650, 1300));
    let small = image::load_from_memory(&thumb).unwrap();
    assert_eq!((small.width(), small.height()), (400, 800));
    let page = app.client().get(&format!("/e/{id}")).await;
    assert!(
        page.body.contains("alt=\"A red sky over the sea\""),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_photo_without_alt_text_gets_a_gentle_prompt() {
    let (app, _ana, _bo) = setup(NO_FIXTURES).await;
    let ana = app.logged_in("ana").await;
    let photo = png(50, 50);
    let page = compose(
        &ana,
        "ana",
        &[("text", None, b"Look"), ("photo_1", Some("a.png"), &photo)],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("Please describe each photo"),
        "{}",
        page.body
    );
    assert!(page.body.contains(">Look</textarea>"));
    assert_eq!(media_files(&app), 0);
    // Chosen on purpose, it is posted.
    posted_id(
        &compose(
            &ana,
            "ana",
            &[
                ("photo_1", Some("a.png"), &photo),
                ("without_alt", None, b"1"),
            ],
        )
        .await,
    );
}

#[tokio::test]
async fn hostile_uploads_are_refused_and_store_nothing() {
    let (app, _ana, _bo) = setup(NO_FIXTURES).await;
    let ana = app.logged_in("ana").await;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let html = b"<!doctype html><html><body><script>alert(1)</script></body></html>";
    let bomb = decompression_bomb();
    let cases: [(&str, &[u8], &str); 3] = [
        ("evil.svg", svg, "is not a photo Tributary takes"),
        ("cat.jpg", html, "is not a photo Tributary takes"),
        ("bomb.png", &bomb, "larger than 12000 × 12000 pixels"),
    ];
    for (name, bytes, message) in cases {
        let page = compose(
            &ana,
            "ana",
            &[
                ("text", None, b"Kept text"),
                ("photo_1", Some(name), bytes),
                ("alt_1", None, b"Kept alt"),
            ],
        )
        .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(page.body.contains(message), "{name}: {}", page.body);
        assert!(page.body.contains(name), "{name}");
        assert!(page.body.contains(">Kept text</textarea>"), "{name}");
        assert!(page.body.contains("value=\"Kept alt\""), "{name}");
    }

    // 200 MB: the server answers 413 long before the body is sent.
    let token = ana.get("/ana/post").await.csrf();
    let boundary = "----tributary-huge";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"photo_1\"; filename=\"huge.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    );
    const TOTAL: usize = 200 * 1024 * 1024;
    const CHUNK: usize = 1024 * 1024;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let chunks = futures_util::stream::unfold(0usize, move |at| {
        let counter = counter.clone();
        let head = head.clone();
        async move {
            if at >= TOTAL / CHUNK {
                return None;
            }
            counter.fetch_add(CHUNK, Ordering::SeqCst);
            let chunk = if at == 0 {
                let mut first = head.into_bytes();
                first.resize(CHUNK, 0);
                first
            } else {
                vec![0u8; CHUNK]
            };
            Some((Ok::<_, std::io::Error>(chunk), at + 1))
        }
    });
    let response = ana
        .http
        .post(format!("{}/ana/post", ana.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    // The server stops at the photo's cap and answers at once; it closes the connection
    // with the rest unread, so the page itself is checked below.
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        sent.load(Ordering::SeqCst) < TOTAL / 2,
        "the server read {} bytes",
        sent.load(Ordering::SeqCst)
    );

    assert_eq!(count(&app, "SELECT count(*) FROM items"), 0);
    assert_eq!(count(&app, "SELECT count(*) FROM media"), 0);
    assert_eq!(media_files(&app), 0);
}

#[tokio::test]
async fn only_the_author_edits_and_deletes_a_post() {
    let (app, ana_id, _bo) = setup(NO_FIXTURES).await;
    let ana = app.logged_in("ana").await;
    let id = posted_id(&compose(&ana, "ana", &[("text", None, b"First words")]).await);
    let bo = app.logged_in("bo").await;
    assert_eq!(
        bo.get(&format!("/e/{id}/edit")).await.status,
        StatusCode::FORBIDDEN
    );
    let forged = bo
        .post_form("/", &format!("/e/{id}/edit"), &[("text", "Mine now")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        bo.post_form("/", &format!("/e/{id}/delete"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert!(!card(&bo.get("/ana").await.body, id).contains("/edit"));

    let form = ana.get(&format!("/e/{id}/edit")).await;
    assert!(
        form.body.contains(">First words</textarea>"),
        "{}",
        form.body
    );
    let too_long = "x".repeat(tributary::posts::MAX_POST_CHARS + 5);
    let refused = ana
        .post_form("/", &format!("/e/{id}/edit"), &[("text", &too_long)])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(&too_long));
    let edited = ana
        .post_form("/", &format!("/e/{id}/edit"), &[("text", "Better words")])
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
    assert_eq!(item(&app, id).id, id);
    assert!(
        app.client()
            .get(&format!("/e/{id}"))
            .await
            .body
            .contains("Better words")
    );

    let confirm = ana.get(&format!("/e/{id}/delete")).await;
    assert!(confirm.body.contains("Delete this post?"));
    let deleted = ana.post_form("/", &format!("/e/{id}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(!app.client().get("/ana").await.body.contains("Better words"));
    let state = app
        .store
        .read_blocking(move |conn| social::item_state(conn, id))
        .unwrap();
    assert!(state.tombstoned);
    // Items from elsewhere cannot be edited here.
    let source = add_source(&app, ana_id, "feed");
    let polled = add_item(&app, source, ana_id, "polled", 5);
    assert_eq!(
        ana.get(&format!("/e/{polled}/edit")).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_share_names_the_original_notifies_its_owner_and_unsharing_takes_it_back() {
    let (app, ana_id, bo_id) = setup(NO_FIXTURES).await;
    let source = add_source(&app, ana_id, "feed");
    let original = add_item(&app, source, ana_id, "anas-post", 5);
    let bo = app.logged_in("bo").await;
    let stream = bo.get("/ana").await;
    assert!(card(&stream.body, original).contains(&format!("/e/{original}/share")));
    let shared = bo
        .post_form(
            &format!("/e/{original}/share"),
            &format!("/e/{original}/share"),
            &[("text", "Look at this")],
        )
        .await;
    assert_eq!(shared.status, StatusCode::SEE_OTHER, "{}", shared.body);
    let share = posted_id(&shared);
    let page = app.client().get("/bo").await;
    let share_card = card(&page.body, share);
    assert!(share_card.contains("shared"), "{share_card}");
    assert!(share_card.contains(&format!("href=\"/e/{original}\"")));
    assert!(share_card.contains("https://origin.example/anas-post"));
    assert!(share_card.contains("Look at this"));
    assert_eq!(kinds(&app, ana_id), vec![Kind::Share]);

    let twice = bo
        .post_form("/", &format!("/e/{original}/share"), &[("text", "")])
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.body.contains("shared this item already"));
    let own = app.logged_in("ana").await;
    assert_eq!(
        own.get(&format!("/e/{original}/share")).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(card(&bo.get("/ana").await.body, original).contains("Unshare"));

    let unshared = bo
        .post_form("/", &format!("/e/{original}/unshare"), &[])
        .await;
    assert_eq!(unshared.status, StatusCode::SEE_OTHER);
    assert!(kinds(&app, ana_id).is_empty());
    assert!(!app.client().get("/bo").await.body.contains("Look at this"));
    let again = app
        .store
        .read_blocking(move |conn| post_rows::share_of(conn, bo_id, original))
        .unwrap();
    assert_eq!(again, None);
}

#[tokio::test]
async fn the_cli_posts_into_a_users_stream() {
    let (app, _ana, _bo) = setup(NO_FIXTURES).await;
    let output = binary()
        .args(["post", "ana", "--text", "Hello from the command line"])
        .env(
            "TRIBUTARY_DATABASE_PATH",
            app.dir.path().join("tributary.db"),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("posted item"), "{stdout}");
    assert!(
        app.client()
            .get("/ana")
            .await
            .body
            .contains("Hello from the command line")
    );
    let refused = binary()
        .args(["post", "ana", "--text", ""])
        .env(
            "TRIBUTARY_DATABASE_PATH",
            app.dir.path().join("tributary.db"),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Write something"));
}
