//! Notifications in a real browser (headless Chromium over WebDriver): the navigation's
//! count rises after another user's comment and clears once `/notifications` is open.
//! Screenshots `notifications-375.png` and `notifications-1280.png` go to
//! `target/screenshots/` (or `$TRIBUTARY_SCREENSHOTS`).

use crate::support::browser::{Browser, BrowserOptions, screenshot_dir};
use crate::support::tools::BROWSER_NOTIFICATIONS;
use crate::support::web::{PASSWORD, WebApp};
use crate::web_stream::{NO_FIXTURES, add_item, add_source, comment, post};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_count_rises_after_a_comment_and_clears_on_the_notifications_page() {
    let Some(browser) = Browser::start_in(&BROWSER_NOTIFICATIONS, BrowserOptions::default()).await
    else {
        return;
    };
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let item = add_item(&app, add_source(&app, ana, "feed"), ana, "post", 10);

    browser.goto(&app.url("/login")).await;
    browser.fill("input[name=name]", "ana").await;
    browser.fill("input[name=password]", PASSWORD).await;
    browser.press(None, "Log in").await;
    browser.goto(&app.url("/")).await;
    assert!(browser.exists("a.nav-notifications").await);
    assert!(!browser.exists("a.nav-notifications span.count").await);

    let bo = app.logged_in("bo").await;
    comment(&bo, item, "Lovely post, @ana").await;
    post(&bo, &format!("/e/{item}/like")).await;
    browser.goto(&app.url("/")).await;
    assert_eq!(browser.text("a.nav-notifications span.count").await, "2");
    let label = browser
        .eval("return document.querySelector('a.nav-notifications').getAttribute('aria-label')")
        .await;
    assert_eq!(label, "Notifications 2 unread");

    browser
        .find("a.nav-notifications")
        .await
        .click()
        .await
        .unwrap();
    assert_eq!(browser.path().await, "/notifications");
    let main = browser.main_html().await;
    assert!(main.contains("Lovely post"), "{main}");
    assert_eq!(browser.find_all("li.notification.unread").await.len(), 2);
    assert!(!browser.exists("a.nav-notifications span.count").await);
    for width in [375, 1280] {
        let path = browser.screenshot("notifications", width).await;
        assert!(path.starts_with(screenshot_dir()));
        assert!(std::fs::metadata(&path).unwrap().len() > 1000);
    }
    browser.reset_window().await;
    // Back on the stream, the count stays cleared.
    browser.goto(&app.url("/")).await;
    assert!(!browser.exists("a.nav-notifications span.count").await);
    browser.close().await;
}
