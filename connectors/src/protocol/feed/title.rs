//! Whether an RSS title is HTML or plain text. RSS 2.0 does not say, and feeds write both:
//! `Ben &amp;amp; Jerry&lt;b&gt;s` and `A&lt;B`. A title is read as HTML only when it looks
//! like HTML: it has a closing tag or a character reference, and every tag in it names an
//! HTML element. This is the rule Universal Feed Parser applies to the same question
//! (`_looks_like_html`), so titles read the same in Tributary as in the readers people
//! compare it with.

/// Elements that make a title HTML. Any other name (`<gorilla>`, `<B` in `A<B`) means the
/// `<` is a character of the title. Unlike feedparser's list this one also has the
/// elements the sanitizer removes (`script`, `iframe`, …): a title holding them is HTML,
/// so they are stripped rather than kept as text.
const HTML_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "big",
    "blockquote",
    "br",
    "button",
    "canvas",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "command",
    "datagrid",
    "datalist",
    "dd",
    "del",
    "details",
    "dfn",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "em",
    "event-source",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "input",
    "ins",
    "kbd",
    "keygen",
    "label",
    "legend",
    "li",
    "m",
    "map",
    "mark",
    "menu",
    "meter",
    "multicol",
    "nav",
    "nextid",
    "noscript",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "pre",
    "progress",
    "q",
    "s",
    "samp",
    "section",
    "select",
    "small",
    "sound",
    "source",
    "spacer",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "video",
    "bdi",
    "bdo",
    "data",
    "main",
    "picture",
    "rp",
    "rt",
    "ruby",
    "wbr",
    "template",
    "track",
    // Not shown, but HTML all the same.
    "applet",
    "base",
    "basefont",
    "body",
    "embed",
    "frame",
    "frameset",
    "head",
    "html",
    "iframe",
    "link",
    "math",
    "meta",
    "object",
    "param",
    "script",
    "style",
    "svg",
    "title",
    "xmp",
    "plaintext",
    "listing",
    "noembed",
    "noframes",
];

/// Whether `title` (as the feed wrote it, entities of the XML already decoded) is HTML.
pub fn looks_like_html(title: &str) -> bool {
    let has_close_tag = tags(title).any(|(closing, name)| closing && !name.is_empty());
    if !has_close_tag && !has_reference(title) {
        return false;
    }
    tags(title).all(|(_, name)| {
        !name.is_empty()
            && HTML_ELEMENTS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(name))
    })
}

/// Each `<name` or `</name` in `text`: whether it closes, and the name (word characters).
/// A `<` followed by no word character is no tag at all and is left out.
fn tags(text: &str) -> impl Iterator<Item = (bool, &str)> {
    text.match_indices('<').filter_map(|(at, _)| {
        let rest = &text[at + 1..];
        let closing = rest.starts_with('/');
        let rest = &rest[usize::from(closing)..];
        let len = rest
            .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
            .unwrap_or(rest.len());
        (len > 0).then(|| (closing, &rest[..len]))
    })
}

/// A character reference: `&name;` or `&#digits;` (or `&#xhex;`).
fn has_reference(text: &str) -> bool {
    text.match_indices('&').any(|(at, _)| {
        let rest = &text[at + 1..];
        let rest = rest.strip_prefix('#').unwrap_or(rest);
        let len = rest
            .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
            .unwrap_or(rest.len());
        len > 0 && rest[len..].starts_with(';')
    })
}

#[cfg(test)]
mod tests {
    use super::looks_like_html;

    #[test]
    fn titles_with_html_elements_and_references_are_html() {
        for title in [
            "Ben &amp; Jerry",
            "<b>bold</b> move",
            "caf&#233;",
            "line<br/>break and <i>more</i>",
            "<img src=x onerror=alert(1)><script>alert(1)</script>",
        ] {
            assert!(looks_like_html(title), "{title}");
        }
    }

    #[test]
    fn stray_angle_brackets_and_unknown_names_are_text() {
        for title in [
            "A<B",
            "Nice <gorilla> what's he weigh?",
            "&<a",
            "&#0",
            "x < y and y > z",
            "<b>unclosed",
            "<gorilla>big</gorilla>",
            "plain words",
        ] {
            assert!(!looks_like_html(title), "{title}");
        }
    }
}
