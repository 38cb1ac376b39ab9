//! A link's preview: the page fetched through the app's fetcher (SSRF guard, size cap,
//! deadline), then its title, description and image read from `og:` and `twitter:` meta
//! tags, with `<title>` and `<meta name="description">` as fallbacks (`parse`, pure, with
//! `scraper`). The image is fetched into the media store by the caller.

use connectors::{FetchRequest, Http};
use scraper::{Html, Selector};
use url::Url;

use crate::normalize::text::plain_line;

/// The most of a page read for its preview.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;
/// The largest preview image fetched.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// The longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 300;
/// The longest description kept, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;

const ACCEPT_PAGES: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5";
const ACCEPT_IMAGES: &str = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9";

/// What a page says of itself. Plain text; the image an absolute http(s) address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preview {
    pub title: Option<String>,
    pub description: Option<String>,
    pub image: Option<Url>,
}

/// Fetches `url` and reads its preview. The error is in words, for the post's note.
pub async fn fetch(http: &dyn Http, url: &Url) -> Result<Preview, String> {
    let mut request = FetchRequest::new(url.clone(), ACCEPT_PAGES);
    request.max_bytes = Some(MAX_PAGE_BYTES);
    let response = http.get(request).await.map_err(|err| err.to_string())?;
    if response.status != 200 {
        return Err(format!("the page answered HTTP {}", response.status));
    }
    let is_html = response.content_type.as_deref().is_none_or(|t| {
        let t = t.to_ascii_lowercase();
        t.contains("html") || t.starts_with("text/")
    });
    if !is_html {
        return Err("the address is not a web page".to_owned());
    }
    Ok(parse(&response.body, &response.final_url))
}

/// Fetches the preview image's bytes (capped), for the media store.
pub async fn fetch_image(http: &dyn Http, url: &Url) -> Result<Vec<u8>, String> {
    let mut request = FetchRequest::new(url.clone(), ACCEPT_IMAGES);
    request.max_bytes = Some(MAX_IMAGE_BYTES);
    let response = http.get(request).await.map_err(|err| err.to_string())?;
    if response.status != 200 || response.body.is_empty() {
        return Err(format!("the image answered HTTP {}", response.status));
    }
    Ok(response.body.to_vec())
}

/// Reads the preview of an HTML page fetched from `base`. Pure.
pub fn parse(html: &[u8], base: &Url) -> Preview {
    let text = String::from_utf8_lossy(html);
    let document = Html::parse_document(&text);
    let meta = |keys: &[&str]| -> Option<String> {
        for key in keys {
            for attribute in ["property", "name"] {
                let selector = Selector::parse(&format!("meta[{attribute}=\"{key}\"]")).ok()?;
                let found = document
                    .select(&selector)
                    .filter_map(|element| element.value().attr("content"))
                    .map(str::trim)
                    .find(|content| !content.is_empty());
                if let Some(found) = found {
                    return Some(found.to_owned());
                }
            }
        }
        None
    };
    let title = meta(&["og:title", "twitter:title"])
        .or_else(|| {
            let selector = Selector::parse("title").ok()?;
            document
                .select(&selector)
                .next()
                .map(|title| title.text().collect::<String>())
        })
        .map(|title| plain_line(&title, MAX_TITLE_CHARS))
        .filter(|title| !title.is_empty());
    let description = meta(&["og:description", "twitter:description", "description"])
        .map(|text| plain_line(&text, MAX_DESCRIPTION_CHARS))
        .filter(|text| !text.is_empty());
    let image = meta(&[
        "og:image:secure_url",
        "og:image",
        "og:image:url",
        "twitter:image",
        "twitter:image:src",
    ])
    .and_then(|src| base.join(&src).ok())
    .filter(|url| matches!(url.scheme(), "http" | "https"));
    Preview {
        title,
        description,
        image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://site.example/a/page").unwrap()
    }

    #[test]
    fn open_graph_comes_first() {
        let html = br#"<html><head><title>Plain</title>
            <meta property="og:title" content="The &amp; title">
            <meta name="description" content="Fallback">
            <meta property="og:description" content="  Said here. ">
            <meta property="og:image" content="/img/card.png"></head></html>"#;
        assert_eq!(
            parse(html, &base()),
            Preview {
                title: Some("The & title".into()),
                description: Some("Said here.".into()),
                image: Some(Url::parse("https://site.example/img/card.png").unwrap()),
            }
        );
    }

    #[test]
    fn title_and_twitter_tags_are_the_fallbacks() {
        let html = br#"<title> Just <b>a</b> page </title>
            <meta name="twitter:image" content="javascript:alert(1)">
            <meta name="description" content="About it">"#;
        let preview = parse(html, &base());
        assert_eq!(preview.title.as_deref(), Some("Just a page"));
        assert_eq!(preview.description.as_deref(), Some("About it"));
        assert_eq!(preview.image, None);
    }
}
