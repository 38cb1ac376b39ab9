//! Plain text from untrusted HTML and HTML from plain text. Pure: no IO, no SQL.

use std::cell::{Cell, RefCell};

use html5ever::LocalName;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use super::MAX_TITLE_CHARS;
use super::sanitize::sanitize;
use crate::model::SafeHtml;

/// What ends a cut string, so a reader sees that something was left out.
const ELLIPSIS: char = '…';

/// The text content of an HTML fragment: character references decoded once, script and style
/// content dropped, block elements on their own lines, other whitespace collapsed to one space.
pub fn html_to_text(html: &str) -> String {
    let tokenizer = Tokenizer::new(TextSink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(html));
    // The sink never asks for a script to run, so the only result is `Done`.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.text.into_inner()
}

/// [`html_to_text`] for HTML that came out of the sanitizer, with the same result: that
/// HTML has no comments, no raw-text elements and only the character references the
/// serializer writes, so one scan over it suffices. Anything else it meets (a comment, an
/// unknown reference) sends it to the tokenizer instead.
pub fn sanitized_html_to_text(html: &str) -> String {
    fast_text(html).unwrap_or_else(|| html_to_text(html))
}

fn fast_text(html: &str) -> Option<String> {
    let sink = TextSink::default();
    let bytes = html.as_bytes();
    let mut run = String::new();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'<' => {
                if !run.is_empty() {
                    sink.push_text(&run);
                    run.clear();
                }
                let rest = &html[at + 1..];
                let name_start = usize::from(rest.starts_with('/'));
                let name_len = rest[name_start..]
                    .bytes()
                    .take_while(u8::is_ascii_alphanumeric)
                    .count();
                if name_len == 0 {
                    return None;
                }
                let name = &rest[name_start..name_start + name_len];
                if is_raw_text_name(name) {
                    return None;
                }
                if is_block_name(name) {
                    sink.pending_newline.set(true);
                }
                // Skip to the end of the tag; attribute values may hold `>` in quotes.
                let mut quote: Option<u8> = None;
                let mut end = None;
                for (offset, &b) in rest.as_bytes().iter().enumerate() {
                    match (quote, b) {
                        (Some(q), b) if b == q => quote = None,
                        (Some(_), _) => {}
                        (None, b'"' | b'\'') => quote = Some(b),
                        (None, b'>') => {
                            end = Some(offset);
                            break;
                        }
                        (None, _) => {}
                    }
                }
                at += 1 + end? + 1;
            }
            b'&' => {
                let rest = &html[at..];
                let semi = rest.bytes().take(12).position(|b| b == b';')?;
                let decoded = match &rest[1..semi] {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "nbsp" => '\u{a0}',
                    reference => {
                        let number = reference.strip_prefix('#')?;
                        let code = match number.strip_prefix(['x', 'X']) {
                            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                            None => number.parse().ok()?,
                        };
                        // Leave the odd ones (NUL, surrogates, C1 remapping) to the tokenizer.
                        if code < 0x20 || (0x7f..0xa0).contains(&code) {
                            return None;
                        }
                        char::from_u32(code)?
                    }
                };
                run.push(decoded);
                at += semi + 1;
            }
            _ => {
                let next = memchr::memchr2(b'<', b'&', &bytes[at..]).map_or(html.len(), |n| at + n);
                run.push_str(&html[at..next]);
                at = next;
            }
        }
    }
    if !run.is_empty() {
        sink.push_text(&run);
    }
    Some(sink.text.into_inner())
}

/// A title (or any one-line label) is plain text: tags stripped, references decoded once,
/// whitespace and control characters collapsed to single spaces, at most `MAX_TITLE_CHARS`.
pub fn plain_title(raw: &str) -> String {
    plain_line(raw, MAX_TITLE_CHARS)
}

/// Like `plain_title` with another cap, for author names, tags and alt text.
pub fn plain_line(raw: &str, max_chars: usize) -> String {
    let text = html_to_text(raw);
    let one_line = text.split('\n').collect::<Vec<_>>().join(" ");
    truncate_chars(&one_line, max_chars)
}

/// At most `max_chars` characters; a cut string ends in "…" (counted in `max_chars`).
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    if max_chars == 0 {
        return String::new();
    }
    let kept: String = text.chars().take(max_chars - 1).collect();
    let mut truncated = kept.trim_end().to_string();
    truncated.push(ELLIPSIS);
    truncated
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character boundary.
pub fn truncate_bytes(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// HTML for plain-text content: escaped, blank lines start paragraphs, line breaks become `<br>`.
/// The result still goes through the sanitizer so every `SafeHtml` has one origin.
pub fn text_to_html(text: &str) -> SafeHtml {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut html = String::with_capacity(normalized.len() + normalized.len() / 8);
    let mut lines_in_paragraph: Vec<&str> = Vec::new();
    for line in normalized.split('\n').chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if !lines_in_paragraph.is_empty() {
                html.push_str("<p>");
                for (line_idx, paragraph_line) in lines_in_paragraph.iter().enumerate() {
                    if line_idx > 0 {
                        html.push_str("<br>");
                    }
                    push_escaped(&mut html, paragraph_line.trim());
                }
                html.push_str("</p>");
                lines_in_paragraph.clear();
            }
        } else {
            lines_in_paragraph.push(line);
        }
    }
    sanitize(&html, None)
}

/// Appends `text` to `html` with `&`, `<`, `>`, `"` and `'` escaped (text or attribute).
pub fn push_escaped(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            _ => html.push(c),
        }
    }
}

/// Collects text tokens. Uses cells because html5ever's sink takes `&self`.
#[derive(Default)]
struct TextSink {
    text: RefCell<String>,
    /// The element whose content is being dropped (script, style, …), until its end tag.
    skipping: RefCell<Option<LocalName>>,
    pending_space: Cell<bool>,
    pending_newline: Cell<bool>,
}

impl TextSink {
    /// Appends the words of `chunk`; runs of whitespace and control characters between
    /// words become one space (or the newline a block boundary asked for).
    fn push_text(&self, chunk: &str) {
        let mut text = self.text.borrow_mut();
        let bytes = chunk.as_bytes();
        let mut word_start = None;
        let mut at = 0;
        while at < bytes.len() {
            let (separator, len) = match bytes[at] {
                // ASCII whitespace and controls are exactly the bytes up to space, and DEL.
                b @ 0..0x80 => (b <= b' ' || b == 0x7f, 1),
                _ => match chunk[at..].chars().next() {
                    Some(c) => (c.is_whitespace() || c.is_control(), c.len_utf8()),
                    None => break,
                },
            };
            if separator {
                if let Some(start) = word_start.take() {
                    self.push_word(&mut text, &chunk[start..at]);
                }
                self.pending_space.set(true);
            } else if word_start.is_none() {
                word_start = Some(at);
            }
            at += len;
        }
        if let Some(start) = word_start {
            self.push_word(&mut text, &chunk[start..]);
        }
    }

    fn push_word(&self, text: &mut String, word: &str) {
        if !text.is_empty() {
            if self.pending_newline.get() {
                text.push('\n');
            } else if self.pending_space.get() {
                text.push(' ');
            }
        }
        self.pending_space.set(false);
        self.pending_newline.set(false);
        text.push_str(word);
    }
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        if let Some(skipped) = self.skipping.borrow().as_ref() {
            let ends_skipped = matches!(
                &token,
                Token::TagToken(tag) if tag.kind == TagKind::EndTag && tag.name == *skipped
            );
            if !ends_skipped {
                return TokenSinkResult::Continue;
            }
        }
        match token {
            Token::CharacterTokens(chunk) => self.push_text(&chunk),
            Token::TagToken(tag) => {
                if tag.kind == TagKind::EndTag {
                    self.skipping.replace(None);
                }
                if is_block(&tag.name) {
                    self.pending_newline.set(true);
                }
                // `<script/>` still opens a script element in HTML, so self-closing is ignored.
                if tag.kind == TagKind::StartTag
                    && let Some(kind) = raw_text_kind(&tag.name)
                {
                    self.skipping.replace(Some(tag.name));
                    return TokenSinkResult::RawData(kind);
                }
            }
            Token::CommentToken(_)
            | Token::DoctypeToken(_)
            | Token::NullCharacterToken
            | Token::EOFToken
            | Token::ParseError(_) => {}
        }
        TokenSinkResult::Continue
    }
}

/// Elements whose content is not text a reader sees. Their content is tokenized the way the
/// HTML parser would (raw text), so a `<p>` inside `<style>` does not leak out.
pub(super) fn raw_text_kind(name: &str) -> Option<RawKind> {
    match name {
        "script" => Some(RawKind::ScriptData),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => Some(RawKind::Rawtext),
        "textarea" | "title" => Some(RawKind::Rcdata),
        _ => None,
    }
}

/// [`raw_text_kind`] by name, in any case.
fn is_raw_text_name(name: &str) -> bool {
    lowercase_name(name, |name| raw_text_kind(name).is_some())
}

/// [`is_block`] by name, in any case.
fn is_block_name(name: &str) -> bool {
    lowercase_name(name, is_block)
}

/// Calls `check` with `name` lower-cased, without allocating for the short names of HTML.
fn lowercase_name(name: &str, check: impl Fn(&str) -> bool) -> bool {
    let mut buf = [0u8; 16];
    let Some(lower) = buf.get_mut(..name.len()) else {
        // No element either list names is this long.
        return false;
    };
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    std::str::from_utf8(lower).is_ok_and(check)
}

/// Elements that start a new line in extracted text (lower-case names).
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "hr"
            | "pre"
            | "blockquote"
            | "figure"
            | "figcaption"
            | "table"
            | "tr"
            | "caption"
            | "details"
            | "summary"
            | "section"
            | "article"
            | "aside"
            | "header"
            | "footer"
            | "nav"
            | "main"
            | "address"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(html_to_text(input), expected);
    }

    #[track_caller]
    fn check_title(input: &str, expected: &str) {
        assert_eq!(plain_title(input), expected);
    }

    #[track_caller]
    fn check_text_html(input: &str, expected: &str) {
        assert_eq!(text_to_html(input).as_str(), expected);
    }

    #[test]
    fn tags_are_stripped() {
        check("<p>Hello <b>world</b></p>", "Hello world")
    }

    #[test]
    fn blocks_are_separated_by_newlines() {
        check(
            "<p>one</p><p>two</p><ul><li>a</li><li>b</li></ul>",
            "one\ntwo\na\nb",
        )
    }

    #[test]
    fn br_separates_lines() {
        check("a<br>b<br/>c", "a\nb\nc")
    }

    #[test]
    fn whitespace_is_collapsed() {
        check("  a \n\t b\u{a0}\u{a0}c  ", "a b c")
    }

    #[test]
    fn entities_are_decoded_once() {
        check(
            "AT&amp;amp;T &lt;b&gt; &eacute; &#x263A; &hellip;",
            "AT&amp;T <b> é ☺ …",
        )
    }

    #[test]
    fn script_and_style_content_is_dropped() {
        check(
            "a<script>alert('<p>x</p>')</script>b<style>p{}</style>c<ScRiPt >d()</ScRiPt >e",
            "abce",
        )
    }

    #[test]
    fn self_closing_script_still_drops_content() {
        check("a<script/>alert(1)</script>b", "ab")
    }

    #[test]
    fn unclosed_script_drops_the_rest() {
        check("a<script>alert(1)", "a")
    }

    #[test]
    fn comments_are_dropped() {
        check("a<!-- hidden -->b", "ab")
    }

    #[test]
    fn control_characters_become_spaces_and_nul_is_dropped() {
        check("a\u{1b}[31mb\u{0}c", "a [31mbc")
    }

    #[test]
    fn title_html_becomes_plain_text() {
        check_title("<b>Big</b> &amp; <i>bold</i>", "Big & bold")
    }

    #[test]
    fn title_script_is_dropped() {
        check_title("<script>alert(1)</script>Hello", "Hello")
    }

    #[test]
    fn title_is_one_line() {
        check_title("<p>one</p>\n<p>two</p>", "one two")
    }

    #[test]
    fn title_lone_angle_bracket_is_text() {
        check_title("a < b && c > d", "a < b && c > d")
    }

    #[test]
    fn title_is_capped() {
        let title = plain_title(&"x".repeat(MAX_TITLE_CHARS * 2));
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
        assert!(title.ends_with(ELLIPSIS));
    }

    #[test]
    fn truncate_keeps_short_strings() {
        assert_eq!(truncate_chars("héllo", 5), "héllo")
    }

    #[test]
    fn truncate_cuts_on_char_boundaries() {
        assert_eq!(truncate_chars("héllo wörld", 8), "héllo w…")
    }

    #[test]
    fn truncate_trims_before_ellipsis() {
        assert_eq!(truncate_chars("ab cd", 4), "ab…")
    }

    #[test]
    fn truncate_to_zero_is_empty() {
        assert_eq!(truncate_chars("abc", 0), "")
    }

    #[test]
    fn truncate_bytes_respects_char_boundaries() {
        assert_eq!(truncate_bytes("aé", 2), "a");
        assert_eq!(truncate_bytes("aé", 3), "aé");
        assert_eq!(truncate_bytes("日本", 4), "日");
    }

    #[test]
    fn text_is_escaped() {
        check_text_html(
            "<script>alert(1)</script> & co",
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</p>",
        )
    }

    #[test]
    fn text_paragraphs_and_lines() {
        check_text_html("one\r\ntwo\n\n\nthree", "<p>one<br>two</p><p>three</p>")
    }

    #[test]
    fn empty_text_is_empty_html() {
        check_text_html(" \n ", "")
    }

    #[test]
    fn text_round_trips_through_html() {
        let text = "a < b & \"c\"\nnext";
        assert_eq!(
            html_to_text(text_to_html(text).as_str()),
            "a < b & \"c\"\nnext"
        );
    }
}
