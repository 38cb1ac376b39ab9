//! The generic `html` connector: any web page with a repeated element per item. The
//! parameters are CSS selectors: `items` selects each item, and the others select inside
//! an item (`title`, `link`, `date`, `content`, `image`). A selector may end in `@attr` to
//! read an attribute instead of the text (`a.more@href`); `link` reads `href`, `image`
//! reads `src` and `date` reads `datetime` when none is named. Content is the selected
//! element's inner HTML, sanitized later by the app.

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::http::FetchRequest;
use crate::item::{Content, ItemKind, Media, RawItem};
use crate::params::{optional, required};
use crate::protocol::ItemSpec;
use crate::protocol::json::parse_date;
use crate::{
    ConnectorError, ConnectorInfo, Http, Poll, PollState, SourceAddresses, TypedConnector,
};

/// Items kept from one page.
pub const MAX_ITEMS: usize = 200;
/// A page larger than this is refused.
const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;
/// Longest selector accepted.
const MAX_SELECTOR_CHARS: usize = 300;

/// One field: a selector inside the item (none: the item itself) and the attribute read.
#[derive(Clone, Debug)]
struct Pick {
    selector: Option<Selector>,
    attr: Option<String>,
}

/// Selectors for one kind of page, checked.
#[derive(Clone, Debug)]
pub struct HtmlSpec {
    items: Selector,
    fields: Vec<(&'static str, Pick)>,
    kind: Option<ItemKind>,
}

fn parse_pick(name: &str, text: &str) -> Result<Pick, ConnectorError> {
    let bad = |why: String| ConnectorError::Unsupported(format!("`{name}` {why}"));
    if text.chars().count() > MAX_SELECTOR_CHARS {
        return Err(bad(format!(
            "is longer than {MAX_SELECTOR_CHARS} characters"
        )));
    }
    let (selector, attr) = match text.rsplit_once('@') {
        Some((selector, attr))
            if !attr.is_empty()
                && attr
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            (selector.trim(), Some(attr.to_ascii_lowercase()))
        }
        _ => (text.trim(), None),
    };
    let selector = if selector.is_empty() {
        None
    } else {
        Some(
            Selector::parse(selector)
                .map_err(|err| bad(format!("is not a CSS selector ({err})")))?,
        )
    };
    let attr = attr.or(match name {
        "link" => Some("href".to_owned()),
        "image" => Some("src".to_owned()),
        _ => None,
    });
    Ok(Pick { selector, attr })
}

impl HtmlSpec {
    /// Reads and compiles a spec from source parameters.
    pub fn from_params(params: &Value) -> Result<HtmlSpec, ConnectorError> {
        HtmlSpec::compile(&crate::params::read(params)?)
    }

    /// Every selector of `spec` parsed.
    pub fn compile(spec: &ItemSpec) -> Result<HtmlSpec, ConnectorError> {
        let items_text = spec.items.trim();
        if items_text.is_empty() {
            return Err(ConnectorError::Unsupported(
                "needs `items`: a CSS selector for each item, e.g. article.post".into(),
            ));
        }
        let items = parse_pick("items", items_text)?;
        let (Some(items), None) = (items.selector, items.attr) else {
            return Err(ConnectorError::Unsupported(
                "`items` must be a CSS selector, without `@attr`".into(),
            ));
        };
        spec.tells_items_apart()?;
        let fields = spec
            .fields()
            .map(|(name, text)| Ok((name, parse_pick(name, text)?)))
            .collect::<Result<_, ConnectorError>>()?;
        Ok(HtmlSpec {
            items,
            fields,
            kind: spec.kind,
        })
    }

    fn pick(&self, name: &str) -> Option<&Pick> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, p)| p)
    }
}

fn read(element: ElementRef<'_>, pick: &Pick, as_html: bool) -> Option<String> {
    let target = match &pick.selector {
        Some(selector) => element.select(selector).next()?,
        None => element,
    };
    let value = match &pick.attr {
        Some(attr) => target.value().attr(attr).map(str::to_owned).or_else(|| {
            // `link` on an element without href: the first link inside it.
            let inner = Selector::parse(&format!("[{attr}]")).ok()?;
            target
                .select(&inner)
                .next()
                .and_then(|e| e.value().attr(attr))
                .map(str::to_owned)
        })?,
        None if as_html => target.inner_html(),
        None => target.text().collect::<Vec<_>>().join(" "),
    };
    let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
    (!value.is_empty()).then_some(value)
}

/// Maps a page to items; pure.
pub fn map_page(html: &str, spec: &HtmlSpec, base: &Url) -> (Vec<RawItem>, Vec<String>) {
    let document = Html::parse_document(html);
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    for (idx, element) in document.select(&spec.items).enumerate() {
        if idx >= MAX_ITEMS {
            warnings.push(format!("more than {MAX_ITEMS} items; the rest are skipped"));
            break;
        }
        let get = |name: &str| spec.pick(name).and_then(|p| read(element, p, false));
        let absolute = |text: String| {
            base.join(&text)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
        };
        let link = get("link").and_then(absolute);
        let title = get("title");
        let id = get("id")
            .or_else(|| link.as_ref().map(|l| l.to_string()))
            .or_else(|| {
                title
                    .as_ref()
                    .map(|t| format!("{:x}", Sha256::digest(t.as_bytes())))
            });
        let Some(id) = id else {
            warnings.push(format!("item {idx} has no id, link or title; skipped"));
            continue;
        };
        let mut item = RawItem::new(id);
        item.url = link;
        item.title = title;
        item.published = spec.pick("date").and_then(|pick| {
            let pick = Pick {
                attr: pick.attr.clone().or(Some("datetime".into())),
                ..pick.clone()
            };
            read(element, &pick, false)
                .or_else(|| read(element, &Pick { attr: None, ..pick }, false))
                .and_then(|d| parse_date(&d))
        });
        item.content = spec
            .pick("content")
            .and_then(|p| read(element, p, true))
            .map(Content::Html);
        if let Some(image) = get("image").and_then(absolute) {
            item.media.push(Media {
                alt: item.title.clone(),
                ..Media::at(image)
            });
        }
        item.kind = spec.kind.unwrap_or(if item.media.is_empty() {
            ItemKind::Link
        } else {
            ItemKind::Photo
        });
        items.push(item);
    }
    (items, warnings)
}

pub struct HtmlConnector;

#[async_trait::async_trait]
impl TypedConnector for HtmlConnector {
    type Params = ItemSpec;

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "html",
            title: "Web page",
            description: "Any web page with one element per item, read with CSS selectors",
            params: vec![
                required("url", "Address of the page"),
                required("items", "CSS selector of each item, e.g. article.post"),
                optional(
                    "id",
                    "Selector (inside an item) of a stable id; `@attr` reads an attribute",
                ),
                optional("title", "Selector of the title, e.g. h2"),
                optional("link", "Selector of the permalink (its href), e.g. h2 a"),
                optional(
                    "date",
                    "Selector of the date (its datetime or text), e.g. time",
                ),
                optional("content", "Selector of the body (inner HTML; sanitized)"),
                optional("image", "Selector of an image (its src), e.g. img"),
                optional("kind", "Kind of every item: note, article, photo, link…"),
            ],
            default_schedule: None,
            can_backfill: false,
            example_input: "--kind html https://site.example/news --param items=article --param title=h2 --param link=\"h2 a\"",
        }
    }

    /// Never recognizes pasted text: a page says nothing about where its items are.
    fn recognize(&self, _input: &str) -> Option<ItemSpec> {
        None
    }

    fn check(&self, mut params: ItemSpec) -> Result<ItemSpec, ConnectorError> {
        params.url("the page")?;
        HtmlSpec::compile(&params)?;
        params.items = params.items.trim().to_owned();
        Ok(params)
    }

    /// The page it reads is a web page, not a feed.
    fn addresses(&self, params: &ItemSpec) -> SourceAddresses {
        SourceAddresses {
            feed: None,
            page: params.url("the page").ok(),
        }
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &ItemSpec,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let url = params.url("the page")?;
        let spec = HtmlSpec::compile(params)?;
        poll_request(http, FetchRequest::new(url, ACCEPT_HTML), &spec, state).await
    }
}

/// What a page request accepts.
pub const ACCEPT_HTML: &str = "text/html, application/xhtml+xml;q=0.9";

/// Fetches and maps one page (also used by recipes over this connector).
pub async fn poll_request(
    http: &dyn Http,
    request: FetchRequest,
    spec: &HtmlSpec,
    state: &PollState,
) -> Result<Poll, ConnectorError> {
    super::poll_document(http, request, MAX_PAGE_BYTES, state, |response| {
        let text = String::from_utf8_lossy(&response.body);
        Ok(map_page(&text, spec, &response.final_url))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PAGE: &str = r#"<html><body>
      <article class="post"><h2><a href="/p/1">First &amp; best</a></h2>
        <time datetime="2026-11-30T10:00:00Z">Yesterday</time>
        <div class="body"><p>Hello <b>there</b></p></div><img src="/i/1.jpg"></article>
      <article class="post"><h2><a href="https://other.example/2">Second</a></h2>
        <span class="when">Mon, 30 Nov 2026 09:00:00 +0000</span></article>
      <article class="post"><p>nothing to tell it apart</p></article>
    </body></html>"#;

    #[test]
    fn maps_articles_with_selectors() {
        let spec = HtmlSpec::from_params(&json!({
            "items": "article.post", "title": "h2", "link": "h2 a", "date": "time, .when",
            "content": ".body", "image": "img"
        }))
        .unwrap();
        let base = Url::parse("https://site.example/news").unwrap();
        let (items, warnings) = map_page(PAGE, &spec, &base);
        assert_eq!(items.len(), 2, "{warnings:?}");
        assert_eq!(warnings.len(), 1);
        assert_eq!(items[0].title.as_deref(), Some("First & best"));
        assert_eq!(
            items[0].url.as_ref().unwrap().as_str(),
            "https://site.example/p/1"
        );
        assert_eq!(
            items[0].published.unwrap().to_rfc3339(),
            "2026-11-30T10:00:00+00:00"
        );
        assert_eq!(
            items[0].media[0].url.as_str(),
            "https://site.example/i/1.jpg"
        );
        assert!(matches!(&items[0].content, Some(Content::Html(h)) if h.contains("<b>there</b>")));
        assert_eq!(
            items[1].published.unwrap().to_rfc3339(),
            "2026-11-30T09:00:00+00:00"
        );
        assert_eq!(items[1].kind, ItemKind::Link);
    }

    #[test]
    fn bad_selectors_are_named() {
        let err = HtmlSpec::from_params(&json!({"items": "article[", "title": "h2"})).unwrap_err();
        assert!(err.to_string().contains("`items`"), "{err}");
        let err = HtmlSpec::from_params(&json!({"items": "article", "title": "h2>>"})).unwrap_err();
        assert!(err.to_string().contains("`title`"), "{err}");
        let err = HtmlSpec::from_params(&json!({"title": "h2"})).unwrap_err();
        assert!(err.to_string().contains("items"), "{err}");
    }
}
