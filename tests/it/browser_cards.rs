//! The stream's cards in a real browser (headless Chromium): the podcast card's `<audio>`
//! plays the enclosure, the video card's thumbnail loads, a photo appears once, and the
//! Older and Newer links walk a stream both ways showing every item once.
//! Screenshots `stream-{375,1280}.png` and `item-{375,1280}.png` go to
//! `target/screenshots/` (or `$TRIBUTARY_SCREENSHOTS`).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::tools::BROWSER_CARDS;
use crate::web_cards::CardsFixture;

/// How long a thumbnail may take to load.
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What the checks read from the live DOM of `/ana`, once the video's thumbnail is in view.
const INSPECT_CARDS: &str = r#"
const audio = [...document.querySelectorAll('article.item audio')].map(a => a.src);
const thumb = document.querySelector('article.item a.video img');
if (thumb) thumb.scrollIntoView();
const cats = [...document.querySelectorAll('img')].filter(img => img.src.endsWith('/cat.png'));
const catCard = cats.length ? cats[0].closest('article.item') : null;
const siteIcon = catCard ? catCard.querySelector('img.service-icon') : null;
return {
  site_icon: siteIcon ? siteIcon.getAttribute('src') : null,
  site_icon_width: siteIcon ? siteIcon.naturalWidth : -1,
  audio: audio,
  thumb_width: thumb ? thumb.naturalWidth : -1,
  thumb_complete: thumb ? thumb.complete : false,
  play_mark: !!document.querySelector('article.item a.video .play-mark'),
  cats: cats.length,
  bursts: document.querySelectorAll('article.burst').length,
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podcast_plays_video_shows_its_thumbnail_and_a_photo_appears_once() {
    let Some(browser) = Browser::start_in(&BROWSER_CARDS, BrowserOptions::default()).await else {
        return;
    };
    let fixture = CardsFixture::start().await;
    let origin = fixture.server.origin();
    browser.goto(&fixture.app.url("/ana")).await;
    let started = Instant::now();
    let seen = loop {
        let seen = browser.eval(INSPECT_CARDS).await;
        let loaded = seen["thumb_width"].as_i64().unwrap_or(0) > 0
            && seen["site_icon_width"].as_i64().unwrap_or(0) > 0;
        if loaded || started.elapsed() > LOAD_TIMEOUT {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        seen["audio"],
        Value::from(vec![format!("{origin}/ep1.mp3")]),
        "{seen}"
    );
    assert!(seen["thumb_width"].as_i64().unwrap_or(0) > 0, "{seen}");
    assert_eq!(seen["play_mark"], Value::Bool(true), "{seen}");
    assert_eq!(seen["cats"], Value::from(1), "{seen}");
    assert_eq!(seen["bursts"], Value::from(1), "{seen}");
    // The photo site's favicon (an ICO from the media store) is drawn on its card.
    assert!(
        seen["site_icon"]
            .as_str()
            .is_some_and(|src| src.starts_with("/media/")),
        "{seen}"
    );
    assert!(seen["site_icon_width"].as_i64().unwrap_or(0) > 0, "{seen}");

    browser.eval("window.scrollTo(0, 0); return null;").await;
    for width in [375, 1280] {
        browser.screenshot("stream", width).await;
    }
    // The podcast's own page.
    let href = browser
        .eval(
            "const card = [...document.querySelectorAll('article.item')]
                .find(a => a.querySelector('audio'));
             return card.querySelector('.item-meta a[href^=\"/e/\"]').getAttribute('href');",
        )
        .await;
    let href = href.as_str().expect("the podcast's permalink").to_owned();
    browser.goto(&fixture.app.url(&href)).await;
    assert!(
        browser.exists("main h1").await,
        "{}",
        browser.main_html().await
    );
    assert!(browser.exists("article.item audio").await);
    for width in [375, 1280] {
        browser.screenshot("item", width).await;
    }
    browser.reset_window().await;
    browser.close().await;
}

/// The ids of the cards on the page, top to bottom, and the page's Older and Newer links.
const READ_PAGE: &str = r#"
const link = rel => { const a = document.querySelector('nav.pages a[rel=' + rel + ']'); return a ? a.href : null; };
return {
  ids: [...document.querySelectorAll('article.item[id^="item-"]')].map(a => Number(a.id.slice(5))),
  older: link('next'),
  newer: link('prev'),
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_both_ways_in_the_browser_shows_every_item_once() {
    let Some(browser) = Browser::start_in(&BROWSER_CARDS, BrowserOptions::default()).await else {
        return;
    };
    let app = crate::support::web::WebApp::start(crate::web_stream::NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let source = crate::web_stream::add_source(&app, ana, "feed");
    let ids = crate::web_pages::add_items(&app, source, ana, 67);
    browser.goto(&app.url("/ana")).await;
    let mut older: Vec<Vec<i64>> = Vec::new();
    loop {
        let page = browser.eval(READ_PAGE).await;
        older.push(serde_json::from_value(page["ids"].clone()).expect("ids"));
        let Some(next) = page["older"].as_str() else {
            break;
        };
        browser.goto(next).await;
        assert!(older.len() < 10, "paging does not end");
    }
    assert_eq!(older.len(), 3, "{older:?}");
    assert_eq!(
        older.concat(),
        ids,
        "Older shows every item once, newest first"
    );
    let mut newer: Vec<Vec<i64>> = Vec::new();
    loop {
        let page = browser.eval(READ_PAGE).await;
        let Some(prev) = page["newer"].as_str() else {
            break;
        };
        browser.goto(prev).await;
        let page = browser.eval(READ_PAGE).await;
        newer.push(serde_json::from_value(page["ids"].clone()).expect("ids"));
        assert!(newer.len() < 10, "paging back does not end");
    }
    let mut back = older[..older.len() - 1].to_vec();
    back.reverse();
    assert_eq!(newer, back, "Newer shows the same pages back to the first");
}
