//! `/media/{hash}` over real HTTP: the stored type, `nosniff`, the sandbox CSP, long cache
//! headers, 304 on the ETag, HEAD, and 404 for anything that is not a stored hash.

use reqwest::StatusCode;

use crate::support::web::WebApp;
use crate::web_stream::NO_FIXTURES;

/// A 1×1 transparent PNG.
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// A PNG signature followed by a page that would run script if a browser read it as HTML.
pub fn png_carrying_html() -> Vec<u8> {
    let mut bytes = PNG_1X1[..16].to_vec();
    bytes.extend_from_slice(
        b"<html><body><script>window.__xss_media=1</script>\
          <img src=x onerror=\"window.__xss_media_img=1\"></body></html>",
    );
    bytes
}

#[tokio::test]
async fn media_is_served_inert_with_long_cache_headers() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let bytes = png_carrying_html();
    let stored = app
        .state
        .media
        .put(ana, std::io::Cursor::new(bytes.clone()), "photo.html")
        .await
        .unwrap();
    assert_eq!(stored.mime, "image/png");
    let http = reqwest::Client::new();
    let url = app.url(&format!("/media/{}", stored.hash));
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("content-type").as_deref(), Some("image/png"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(
        header("content-security-policy").as_deref(),
        Some("default-src 'none'; sandbox")
    );
    assert_eq!(
        header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(header("content-disposition").as_deref(), Some("inline"));
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
    let etag = header("etag").unwrap();
    assert_eq!(etag, format!("\"{}\"", stored.hash));
    assert_eq!(response.bytes().await.unwrap(), bytes);

    let response = http
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        response
            .headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap(),
        "default-src 'none'; sandbox"
    );
    assert!(response.bytes().await.unwrap().is_empty());

    let response = http.head(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("content-type").unwrap(), "image/png");
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_hashes_and_traversal_are_not_found() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let stored = app.state.media.put(ana, PNG_1X1, "x.png").await.unwrap();
    let http = reqwest::Client::new();
    let unknown = "0".repeat(64);
    for path in [
        "/media/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/media/../../etc/passwd".to_owned(),
        "/media/abc".to_owned(),
        format!("/media/{}", &stored.hash[..63]),
        format!("/media/{}", stored.hash.to_uppercase()),
        format!("/media/{}x", stored.hash),
        format!("/media/{unknown}"),
        format!("/media/{}/{}", &stored.hash[..2], stored.hash),
    ] {
        let response = http.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_ne!(
            response.headers().get("content-type").unwrap(),
            "image/png",
            "{path}"
        );
    }
}
