//! Accessibility in a real browser: axe-core (`support::axe`) over the main pages (the
//! notifications among them) at 1280 and 375 px finds no serious or critical violation. Writes `sources-375.png` and
//! `sources-1280.png` (the sources list as cards at phone width).

use chrono::Utc;
use tributary::model::ItemId;
use tributary::store::social;

use crate::support::axe::serious_violations;
use crate::support::browser::{Browser, BrowserOptions};
use crate::support::tools::A11Y;
use crate::support::web::{PASSWORD, WebApp};
use crate::web_stream::{NO_FIXTURES, add_item, add_source};

/// The widths every page is checked at.
const WIDTHS: [u32; 2] = [1280, 375];

/// Opens `path` at each width and collects what axe reports, labelled by page and width.
async fn check_page(browser: &Browser, app: &WebApp, path: &str, found: &mut Vec<String>) {
    browser.goto(&app.url(path)).await;
    for width in WIDTHS {
        browser
            .client
            .set_window_size(width, 900)
            .await
            .expect("resize the window");
        for violation in serious_violations(browser).await {
            found.push(format!("{path} at {width} px: {violation}"));
        }
    }
    browser.reset_window().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_pages_have_no_serious_or_critical_axe_violations() {
    if A11Y.tools().is_none() {
        return;
    }
    let Some(browser) = Browser::start(BrowserOptions::default()).await else {
        return;
    };
    let app = WebApp::start(NO_FIXTURES).await;
    let mut found = Vec::new();
    // Before anyone exists the front page is the setup form.
    check_page(&browser, &app, "/", &mut found).await;

    let ana = app.create_user("ana", true);
    let bo = app.create_user("bo", false);
    let ana_source = add_source(&app, ana, "feed");
    let bo_source = add_source(&app, bo, "feed");
    let mut items: Vec<ItemId> = Vec::new();
    for n in 0..5 {
        items.push(add_item(&app, ana_source, ana, &format!("ana-{n}"), 10 + n));
        add_item(&app, bo_source, bo, &format!("bo-{n}"), 20 + n);
    }
    let item = items[0];
    app.store
        .write_blocking(|tx| {
            social::follow(tx, ana, bo, Utc::now())?;
            social::add_comment(tx, item, bo, "A first comment.", Utc::now())?;
            social::add_comment(tx, item, ana, "And an answer.", Utc::now())?;
            social::like(tx, item, bo, Utc::now())?;
            Ok(())
        })
        .unwrap();

    check_page(&browser, &app, "/login", &mut found).await;
    browser.fill("input[name=name]", "ana").await;
    browser.fill("input[name=password]", PASSWORD).await;
    browser.press(None, "Log in").await;
    for path in [
        // First, while bo's comment and like are unread.
        "/notifications".to_owned(),
        "/ana".to_owned(),
        "/ana/friends".to_owned(),
        "/ana/discussions".to_owned(),
        format!("/e/{item}"),
        "/settings/sources".to_owned(),
        format!("/settings/sources/{ana_source}"),
        "/settings".to_owned(),
        "/settings/users".to_owned(),
        "/settings/import".to_owned(),
        "/settings/fediverse".to_owned(),
    ] {
        check_page(&browser, &app, &path, &mut found).await;
    }

    browser.goto(&app.url("/settings/sources")).await;
    for width in [375, 1280] {
        browser.screenshot("sources", width).await;
    }
    // At phone width no cell of the sources list reaches past the window.
    browser.client.set_window_size(375, 900).await.unwrap();
    let overflow = browser
        .eval(
            "const w = document.documentElement.clientWidth; \
             return [...document.querySelectorAll('table.sources td')] \
               .filter(td => td.getBoundingClientRect().right > w + 1).map(td => td.dataset.label);",
        )
        .await;
    assert_eq!(overflow, serde_json::json!([]), "cells cut off at 375 px");
    browser.reset_window().await;
    browser.close().await;
    assert!(
        found.is_empty(),
        "axe-core found serious or critical violations:\n{}",
        found.join("\n")
    );
}
