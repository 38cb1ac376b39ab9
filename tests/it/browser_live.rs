//! Live updates in real headless Chromium, two people in two browsers at once: a comment
//! posted in one appears in the other within 2 s without a reload, a like updates the count
//! in both without a reload, j/k move the focus between cards, and without JavaScript the
//! "Comment" link and the forms still work; a page left behind closes its stream.
//! Screenshots `live-item` and `live-stream` at
//! 375 px and 1280 px go to `target/screenshots/`.

use std::time::Duration;

use serde_json::Value;
use tributary::model::ItemId;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::tools::BROWSER_LIVE;
use crate::support::web::{PASSWORD, WebApp};
use crate::web_stream::{NO_FIXTURES, add_item, add_source};

/// The acceptance bound: an event reaches the other browser this fast.
const LIVE_WITHIN: Duration = Duration::from_secs(2);

/// ana owns two items; bo is another user.
async fn setup() -> (WebApp, ItemId, ItemId) {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let source = add_source(&app, ana, "feed");
    let older = add_item(&app, source, ana, "older", 60);
    let newer = add_item(&app, source, ana, "newer", 30);
    (app, older, newer)
}

async fn log_in(browser: &Browser, app: &WebApp, name: &str) {
    browser.goto(&app.url("/login")).await;
    browser.fill("input[name=name]", name).await;
    browser.fill("input[name=password]", PASSWORD).await;
    browser.press(None, "Log in").await;
}

/// Marks the loaded document; `still_marked` is false once the page was reloaded.
async fn mark(browser: &Browser) {
    browser.eval("window.__liveMark = 1; return true;").await;
}

async fn still_marked(browser: &Browser) -> bool {
    browser.eval("return window.__liveMark === 1;").await == Value::Bool(true)
}

/// Waits until the page's event stream is open (the script marks `main[data-live=open]`).
async fn wait_for_stream(browser: &Browser) {
    for _ in 0..100 {
        if browser.exists("main[data-live=open]").await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page opened no event stream:\n{}", browser.html().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_in_one_browser_appears_in_the_other_without_a_reload() {
    let Some(ana_browser) = Browser::start_in(&BROWSER_LIVE, BrowserOptions::default()).await
    else {
        return;
    };
    let bo_browser = ana_browser.another(BrowserOptions::default(), "bo").await;
    let (app, item, _) = setup().await;
    log_in(&ana_browser, &app, "ana").await;
    log_in(&bo_browser, &app, "bo").await;
    let item_url = app.url(&format!("/e/{item}"));
    ana_browser.goto(&item_url).await;
    mark(&ana_browser).await;
    wait_for_stream(&ana_browser).await;

    bo_browser.goto(&item_url).await;
    let text = "Seen live, from bo";
    bo_browser
        .fill("form#comment textarea[name=body]", text)
        .await;
    let form = bo_browser.find("form#comment").await;
    bo_browser.click(Some(&form), "Comment").await;
    // bo's own page shows it without a reload too.
    assert!(
        bo_browser
            .wait_for_text("ul.comments", text, LIVE_WITHIN)
            .await,
        "bo's comment is not on bo's page:\n{}",
        bo_browser.main_html().await
    );
    assert!(
        ana_browser
            .wait_for_text("ul.comments", text, LIVE_WITHIN)
            .await,
        "bo's comment did not reach ana's open page within {LIVE_WITHIN:?}:\n{}",
        ana_browser.main_html().await
    );
    assert!(still_marked(&ana_browser).await, "ana's page was reloaded");
    assert_eq!(ana_browser.text("span.n-comments").await, "1");
    for width in [375, 1280] {
        ana_browser.screenshot("live-item", width).await;
    }
    bo_browser.close().await;
    ana_browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_like_counts_in_both_browsers_without_a_reload_and_j_k_move_focus() {
    let Some(ana_browser) = Browser::start_in(&BROWSER_LIVE, BrowserOptions::default()).await
    else {
        return;
    };
    let bo_browser = ana_browser.another(BrowserOptions::default(), "bo").await;
    let (app, older, newer) = setup().await;
    log_in(&ana_browser, &app, "ana").await;
    log_in(&bo_browser, &app, "bo").await;
    ana_browser.goto(&app.url("/ana")).await;
    mark(&ana_browser).await;
    wait_for_stream(&ana_browser).await;
    bo_browser.goto(&app.url("/ana")).await;
    mark(&bo_browser).await;

    let card = bo_browser.find(&format!("#item-{older}")).await;
    bo_browser.click(Some(&card), "Like").await;
    let count = format!("#item-{older} span.n-likes");
    assert!(
        bo_browser.wait_for_text(&count, "1", LIVE_WITHIN).await,
        "bo's like did not count on bo's page"
    );
    assert!(
        bo_browser
            .wait_for_text(&format!("#item-{older} button.like"), "Unlike", LIVE_WITHIN)
            .await,
        "the button did not turn into Unlike"
    );
    assert!(
        ana_browser.wait_for_text(&count, "1", LIVE_WITHIN).await,
        "bo's like did not reach ana's open stream within {LIVE_WITHIN:?}"
    );
    assert!(still_marked(&ana_browser).await && still_marked(&bo_browser).await);

    // j/k: the newest card first, then the next, then back.
    let focused = "return (document.activeElement || {}).id || '';";
    let key = |k: &str| {
        format!(
            "document.body.dispatchEvent(new KeyboardEvent('keydown', {{ key: '{k}', bubbles: true }})); return true;"
        )
    };
    ana_browser.eval(&key("j")).await;
    assert_eq!(ana_browser.eval(focused).await, format!("item-{newer}"));
    ana_browser.eval(&key("j")).await;
    assert_eq!(ana_browser.eval(focused).await, format!("item-{older}"));
    ana_browser.eval(&key("k")).await;
    assert_eq!(ana_browser.eval(focused).await, format!("item-{newer}"));
    // l likes the focused card, in place.
    ana_browser.eval(&key("l")).await;
    assert!(
        ana_browser
            .wait_for_text(&format!("#item-{newer} span.n-likes"), "1", LIVE_WITHIN)
            .await,
        "l did not like the focused card"
    );
    // c opens a comment form under the focused card, with the cursor in it.
    ana_browser.eval(&key("c")).await;
    let typing = ana_browser.eval("return document.activeElement.id;").await;
    assert_eq!(typing, format!("comment-body-{newer}"));
    // Keys typed into the form are text, not shortcuts.
    ana_browser
        .find(&format!("#comment-body-{newer}"))
        .await
        .send_keys("jk")
        .await
        .unwrap();
    assert_eq!(
        ana_browser.eval(focused).await,
        format!("comment-body-{newer}")
    );
    for width in [375, 1280] {
        ana_browser.screenshot("live-stream", width).await;
    }
    bo_browser.close().await;
    ana_browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_the_comment_link_and_forms_still_work() {
    let options = BrowserOptions { javascript: false };
    let Some(browser) = Browser::start_in(&BROWSER_LIVE, options).await else {
        return;
    };
    let (app, item, _) = setup().await;
    log_in(&browser, &app, "bo").await;
    browser.goto(&app.url("/ana")).await;
    let link = browser
        .find(&format!("#item-{item} .item-actions a[href$='#comment']"))
        .await;
    link.click().await.unwrap();
    assert_eq!(browser.path().await, format!("/e/{item}"));
    browser
        .fill("form#comment textarea[name=body]", "Plain form")
        .await;
    let form = browser.find("form#comment").await;
    browser.press(Some(&form), "Comment").await;
    assert!(browser.text("ul.comments").await.contains("Plain form"));
    let card = browser.find(&format!("#item-{item}")).await;
    browser.press(Some(&card), "Like").await;
    assert_eq!(
        browser.text(&format!("#item-{item} span.n-likes")).await,
        "1"
    );
    browser.close().await;
}

/// A page left for another closes its stream: Chromium keeps at most six connections to
/// a server, and pages kept for "back" held theirs until the seventh page could not load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_left_behind_keep_no_stream_open() {
    let Some(browser) = Browser::start_in(&BROWSER_LIVE, BrowserOptions::default()).await else {
        return;
    };
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    let mut paths = vec!["/ana".to_owned()];
    for n in 0..9 {
        let item = add_item(&app, source, ana, &format!("p{n}"), 30);
        paths.push(format!("/e/{item}"));
    }
    for path in &paths {
        browser.goto(&app.url(path)).await;
        wait_for_stream(&browser).await;
        let deadline = std::time::Instant::now() + LIVE_WITHIN;
        while app.state.events.n_subscribers() > 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "on {path}: {} streams open",
                app.state.events.n_subscribers()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    browser.close().await;
}
