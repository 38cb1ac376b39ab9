//! The one-scan text extraction for sanitized HTML gives exactly what the tokenizer gives,
//! on the content of every item in the corpus and on our hostile fixtures.

use tributary::normalize::html_to_text;
use tributary::normalize::sanitize::sanitize;
use tributary::normalize::text::sanitized_html_to_text;

use crate::export::{corpus_feeds, walk};

#[test]
fn fast_text_of_sanitized_html_matches_the_tokenizer_on_the_corpus() {
    let mut files = Vec::new();
    walk(&corpus_feeds(), &mut files);
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures");
    walk(std::path::Path::new(fixtures), &mut files);
    let base = url::Url::parse("https://feeds.example/feed.xml").unwrap();
    let extra = [
        "<p>a &amp; b &lt;c&gt; &quot;d&quot;&nbsp;e &#233; &#x1F600;</p><br>f",
        "<p title=\"x > y\">quoted &gt; inside</p><ul><li>one</li><li>two</li></ul>",
        "plain   text\n\twith\r\nspaces",
    ];
    let mut bodies: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let Ok(parsed) = connectors::protocol::feed::parse(&bytes, &base) else {
            continue;
        };
        for item in parsed.items {
            for body in [item.content, item.summary].into_iter().flatten() {
                if let connectors::Content::Html(html) = body {
                    bodies.push(html);
                }
            }
        }
    }
    assert!(bodies.len() > 1_000, "only {} bodies", bodies.len());
    for body in &bodies {
        let clean = sanitize(body, Some(&base));
        assert_eq!(
            sanitized_html_to_text(clean.as_str()),
            html_to_text(clean.as_str()),
            "for the sanitized form of:\n{body}"
        );
    }
    println!("{} bodies agree", bodies.len());
}
