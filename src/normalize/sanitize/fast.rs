//! The sanitizer's fast path: one forward scan that writes the same bytes as the ammonia
//! policy, for the HTML most feeds carry, and gives up on anything else.
//!
//! Parsing HTML into a tree, cleaning it and serializing it again is most of the cost of
//! ingesting an item. Most feed HTML, though, is well nested: every end tag closes the
//! element opened last. For such input the HTML tree builder's elaborate rules (implied end
//! tags, the adoption agency, foster parenting, reconstruction of formatting elements) never
//! fire, and the tree is the token stream. This scan keeps a stack of open elements, checks
//! that every token is one whose tree-building effect it knows exactly, and writes what
//! ammonia would have serialized. The moment it meets anything else (a comment, a misnested
//! end tag, an element it does not model, a character reference it does not know, a tag the
//! parser would close implicitly) it returns `None`, and the caller runs ammonia.
//!
//! Invariant: whenever [`clean`] returns `Some`, the string equals ammonia's output under the
//! same policy. `sanitize::tests` checks this over every document of the shared corpus, the
//! hostile payloads and markup generated with proptest. Even a mistake in the tree model could
//! only produce a differently nested arrangement of allowed elements: everything written here
//! is an allowed tag, an allowed attribute with an escaped value and a checked URL, or escaped
//! text.

use html5ever::data::NAMED_ENTITIES;
use url::Url;

use super::{
    ALLOWED_TAGS, GENERIC_ATTRIBUTES, LINK_REL, MAX_NESTING_DEPTH, REFERRER_POLICY, TAG_ATTRIBUTES,
    URL_SCHEMES,
};

/// How an element takes part in tree building, as far as this scan models it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `b`, `em`, `code`, …: on the list of active formatting elements.
    Formatting,
    /// `a`: a formatting element that may not nest.
    Anchor,
    /// An ordinary inline element (`span`, `sub`, `cite`, …).
    Ordinary,
    /// A block element whose start tag closes an open `p` (`div`, `ul`, `blockquote`, …).
    Block,
    /// `div` and `address`: blocks an `li` start tag looks through.
    BlockTransparent,
    Paragraph,
    Heading,
    /// `pre`: a block that drops a newline right after its start tag.
    Pre,
    ListItem,
    /// `br`, `img`, `wbr`: void, and no effect on an open `p`.
    Void,
    /// `hr`: void, and closes an open `p`.
    BlockVoid,
    Table,
    TableSection,
    Row,
    Cell,
    /// Elements parsed as raw text up to their end tag (`style`, `iframe`, …).
    RawText,
    /// `script`: like raw text, but `<!--` inside changes where it ends.
    Script,
}

impl Kind {
    /// The HTML "special" category, for the `li` start tag's walk down the stack.
    fn is_special(self) -> bool {
        !matches!(self, Kind::Formatting | Kind::Anchor | Kind::Ordinary)
    }
}

/// Every element the scan models. Anything else sends the input to ammonia.
const ELEMENTS: &[(&str, Kind)] = &[
    ("p", Kind::Paragraph),
    ("a", Kind::Anchor),
    ("br", Kind::Void),
    ("img", Kind::Void),
    ("wbr", Kind::Void),
    ("hr", Kind::BlockVoid),
    ("b", Kind::Formatting),
    ("strong", Kind::Formatting),
    ("i", Kind::Formatting),
    ("em", Kind::Formatting),
    ("u", Kind::Formatting),
    ("s", Kind::Formatting),
    ("small", Kind::Formatting),
    ("code", Kind::Formatting),
    ("big", Kind::Formatting),
    ("font", Kind::Formatting),
    ("strike", Kind::Formatting),
    ("tt", Kind::Formatting),
    ("span", Kind::Ordinary),
    ("mark", Kind::Ordinary),
    ("sub", Kind::Ordinary),
    ("sup", Kind::Ordinary),
    ("kbd", Kind::Ordinary),
    ("samp", Kind::Ordinary),
    ("var", Kind::Ordinary),
    ("q", Kind::Ordinary),
    ("cite", Kind::Ordinary),
    ("abbr", Kind::Ordinary),
    ("dfn", Kind::Ordinary),
    ("time", Kind::Ordinary),
    ("del", Kind::Ordinary),
    ("ins", Kind::Ordinary),
    ("div", Kind::BlockTransparent),
    ("address", Kind::BlockTransparent),
    ("blockquote", Kind::Block),
    ("ul", Kind::Block),
    ("ol", Kind::Block),
    ("figure", Kind::Block),
    ("figcaption", Kind::Block),
    ("section", Kind::Block),
    ("article", Kind::Block),
    ("aside", Kind::Block),
    ("header", Kind::Block),
    ("footer", Kind::Block),
    ("nav", Kind::Block),
    ("main", Kind::Block),
    ("center", Kind::Block),
    ("h1", Kind::Heading),
    ("h2", Kind::Heading),
    ("h3", Kind::Heading),
    ("h4", Kind::Heading),
    ("h5", Kind::Heading),
    ("h6", Kind::Heading),
    ("pre", Kind::Pre),
    ("li", Kind::ListItem),
    ("table", Kind::Table),
    ("tbody", Kind::TableSection),
    ("thead", Kind::TableSection),
    ("tfoot", Kind::TableSection),
    ("tr", Kind::Row),
    ("td", Kind::Cell),
    ("th", Kind::Cell),
    ("style", Kind::RawText),
    ("iframe", Kind::RawText),
    ("noscript", Kind::RawText),
    ("noembed", Kind::RawText),
    ("noframes", Kind::RawText),
    ("script", Kind::Script),
];

/// Where the scan is, in tree-builder terms: the insertion mode follows from the current node.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Body,
    Table,
    TableBody,
    Row,
}

struct Open {
    name: &'static str,
    kind: Kind,
    /// Written to the output (an allowed tag), or only tracked (unwrapped).
    written: bool,
}

/// Gives up: the input needs the full parser.
struct Bail;

type Step<T = ()> = Result<T, Bail>;

/// The sanitized form of `html`, or `None` when the input needs the full parser. Relative
/// URLs resolve against `base` when it is given (it must be http or https) and are dropped
/// otherwise, as in the ammonia policy.
pub(super) fn clean(html: &str, base: Option<&Url>) -> Option<String> {
    // The tokenizer turns CR and CRLF into LF and NUL into errors; leave both to it.
    if html.bytes().any(|b| b == b'\r' || b == 0) {
        return None;
    }
    let mut scan = Scan {
        html,
        bytes: html.as_bytes(),
        at: 0,
        out: String::with_capacity(html.len()),
        stack: Vec::new(),
        base,
        attrs: Vec::new(),
    };
    scan.run().ok()?;
    Some(scan.out)
}

struct Scan<'a> {
    html: &'a str,
    bytes: &'a [u8],
    at: usize,
    out: String,
    stack: Vec<Open>,
    base: Option<&'a Url>,
    /// Scratch space for the attributes of the tag being read.
    attrs: Vec<(String, String)>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b' ')
}

impl Scan<'_> {
    fn run(&mut self) -> Step {
        while self.at < self.bytes.len() {
            match self.bytes[self.at] {
                b'<' => self.tag()?,
                _ => self.text()?,
            }
        }
        // End of input: every open element is closed, innermost first.
        while let Some(open) = self.stack.pop() {
            self.write_end(&open);
        }
        Ok(())
    }

    fn mode(&self) -> Mode {
        match self.stack.last().map(|open| open.kind) {
            Some(Kind::Table) => Mode::Table,
            Some(Kind::TableSection) => Mode::TableBody,
            Some(Kind::Row) => Mode::Row,
            _ => Mode::Body,
        }
    }

    /// A run of text up to the next `<`, with character references decoded and the result
    /// escaped the way the serializer escapes text.
    fn text(&mut self) -> Step {
        let end = self.html[self.at..]
            .find('<')
            .map_or(self.html.len(), |n| self.at + n);
        let run = &self.html[self.at..end];
        if self.mode() != Mode::Body {
            // Inside a table only whitespace stays where it is; other text is moved out of
            // the table (foster parenting).
            if !run.bytes().all(is_space) {
                return Err(Bail);
            }
            self.out.push_str(run);
            self.at = end;
            return Ok(());
        }
        let mut rest = run;
        while let Some(amp) = rest.find('&') {
            push_escaped_text(&mut self.out, &rest[..amp]);
            let (decoded, used) = char_ref(&rest[amp..])?;
            match decoded {
                Some(decoded) => {
                    let mut buf = [0; 4];
                    push_escaped_text(&mut self.out, decoded.encode_utf8(&mut buf));
                }
                None => self.out.push_str("&amp;"),
            }
            rest = &rest[amp + used..];
        }
        push_escaped_text(&mut self.out, rest);
        self.at = end;
        Ok(())
    }

    fn tag(&mut self) -> Step {
        let next = self.bytes.get(self.at + 1).copied();
        match next {
            Some(b) if b.is_ascii_alphabetic() => self.start_tag(),
            Some(b'/') => self.end_tag(),
            // `<!` (comments, doctypes, CDATA), `<?`: bogus comments and friends.
            Some(b'!' | b'?') => Err(Bail),
            // A `<` that starts no tag is text.
            _ => {
                if self.mode() != Mode::Body {
                    return Err(Bail);
                }
                self.out.push_str("&lt;");
                self.at += 1;
                Ok(())
            }
        }
    }

    /// The lower-cased tag name starting at `at`, as the known element it names.
    fn tag_name(&mut self) -> Step<(&'static str, Kind)> {
        let start = self.at;
        while self.at < self.bytes.len() {
            let b = self.bytes[self.at];
            if is_space(b) || b == b'/' || b == b'>' {
                break;
            }
            self.at += 1;
        }
        let raw = &self.html[start..self.at];
        ELEMENTS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(raw))
            .copied()
            .ok_or(Bail)
    }

    fn start_tag(&mut self) -> Step {
        self.at += 1;
        let (name, kind) = self.tag_name()?;
        let self_closing = self.attributes()?;
        let is_void = matches!(kind, Kind::Void | Kind::BlockVoid);
        if self_closing && !is_void {
            return Err(Bail);
        }
        self.tree_rules_for_start(kind)?;
        match kind {
            Kind::RawText | Kind::Script => return self.skip_raw_text(name, kind),
            _ => {}
        }
        let written = ALLOWED_TAGS.contains(&name);
        if written {
            self.write_start(name)?;
        }
        if !is_void {
            if self.stack.len() >= MAX_NESTING_DEPTH {
                return Err(Bail);
            }
            self.stack.push(Open {
                name,
                kind,
                written,
            });
        }
        if kind == Kind::Pre {
            // The parser drops a newline right after `<pre>`; a reference to one as well,
            // which is left to it.
            match self.bytes.get(self.at) {
                Some(b'\n') => self.at += 1,
                Some(b'&') => return Err(Bail),
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks that a start tag of `kind` here is inserted at the current node with no other
    /// change to the tree, and inserts the `tbody` a `tr` implies.
    fn tree_rules_for_start(&mut self, kind: Kind) -> Step {
        match self.mode() {
            Mode::Body => {}
            Mode::Table => {
                return match kind {
                    Kind::TableSection => Ok(()),
                    Kind::Row => {
                        // The parser puts a row straight in a table into a new `tbody`.
                        self.out.push_str("<tbody>");
                        self.stack.push(Open {
                            name: "tbody",
                            kind: Kind::TableSection,
                            written: true,
                        });
                        Ok(())
                    }
                    _ => Err(Bail),
                };
            }
            Mode::TableBody => {
                return if kind == Kind::Row { Ok(()) } else { Err(Bail) };
            }
            Mode::Row => {
                return if kind == Kind::Cell {
                    Ok(())
                } else {
                    Err(Bail)
                };
            }
        }
        // In body.
        let p_open = self.stack.iter().any(|open| open.kind == Kind::Paragraph);
        match kind {
            Kind::Formatting | Kind::Ordinary | Kind::Void | Kind::RawText | Kind::Script => {}
            Kind::Anchor => {
                if self.stack.iter().any(|open| open.kind == Kind::Anchor) {
                    return Err(Bail);
                }
            }
            Kind::Block
            | Kind::BlockTransparent
            | Kind::Paragraph
            | Kind::Pre
            | Kind::BlockVoid
            | Kind::Table => {
                // These close an open `p` first.
                if p_open {
                    return Err(Bail);
                }
            }
            Kind::Heading => {
                let in_heading = self.stack.last().map(|open| open.kind) == Some(Kind::Heading);
                if p_open || in_heading {
                    return Err(Bail);
                }
            }
            Kind::ListItem => {
                if p_open {
                    return Err(Bail);
                }
                // An `li` closes an open `li` unless a special element other than `div`,
                // `address` or `p` is in between.
                for open in self.stack.iter().rev() {
                    match open.kind {
                        Kind::ListItem => return Err(Bail),
                        Kind::BlockTransparent | Kind::Paragraph => {}
                        other if other.is_special() => break,
                        _ => {}
                    }
                }
            }
            // Table parts outside a table are ignored by the parser.
            Kind::TableSection | Kind::Row | Kind::Cell => return Err(Bail),
        }
        Ok(())
    }

    /// Skips the content of a raw-text element up to its end tag; nothing is written, since
    /// all of these are removed with their content.
    fn skip_raw_text(&mut self, name: &str, kind: Kind) -> Step {
        let content_start = self.at;
        let mut search = content_start;
        loop {
            let found = self.html[search..].find("</").ok_or(Bail)? + search;
            let after = found + 2;
            let candidate = self.bytes.get(after..after + name.len()).ok_or(Bail)?;
            if candidate.eq_ignore_ascii_case(name.as_bytes()) {
                // Only a plain `</name>` ends it here; anything fancier goes to the tokenizer.
                if self.bytes.get(after + name.len()) != Some(&b'>') {
                    return Err(Bail);
                }
                if kind == Kind::Script && self.html[content_start..found].contains("<!--") {
                    return Err(Bail);
                }
                self.at = after + name.len() + 1;
                return Ok(());
            }
            search = after;
        }
    }

    fn end_tag(&mut self) -> Step {
        self.at += 2;
        if !self.bytes.get(self.at).is_some_and(u8::is_ascii_alphabetic) {
            return Err(Bail);
        }
        let (name, kind) = self.tag_name()?;
        while self.bytes.get(self.at).is_some_and(|&b| is_space(b)) {
            self.at += 1;
        }
        if self.bytes.get(self.at) != Some(&b'>') {
            return Err(Bail);
        }
        self.at += 1;
        if name == "br" {
            // `</br>` (XHTML's `<br></br>` written out as HTML) is read as `<br>`.
            if self.mode() != Mode::Body {
                return Err(Bail);
            }
            self.out.push_str("<br>");
            return Ok(());
        }
        if matches!(kind, Kind::Void | Kind::BlockVoid) {
            // `</img>` matches no open element: the parser ignores it.
            return Ok(());
        }
        if kind == Kind::Table {
            // `</table>` also closes a table section it is in, written or implied.
            if self.stack.last().map(|open| open.kind) == Some(Kind::TableSection)
                && self.stack.len() >= 2
                && self.stack[self.stack.len() - 2].kind == Kind::Table
            {
                let section = self.stack.pop().ok_or(Bail)?;
                self.write_end(&section);
            }
        }
        match self.stack.last() {
            Some(open) if open.name == name => {
                let open = self.stack.pop().ok_or(Bail)?;
                self.write_end(&open);
                Ok(())
            }
            _ => Err(Bail),
        }
    }

    fn write_end(&mut self, open: &Open) {
        if open.written {
            self.out.push_str("</");
            self.out.push_str(open.name);
            self.out.push('>');
        }
    }

    /// Reads the attributes of a start tag up to and including its `>` into `self.attrs`
    /// (names lower-cased, values decoded, later duplicates dropped). Returns whether the tag
    /// was self-closing.
    fn attributes(&mut self) -> Step<bool> {
        self.attrs.clear();
        loop {
            while self.bytes.get(self.at).is_some_and(|&b| is_space(b)) {
                self.at += 1;
            }
            match self.bytes.get(self.at) {
                None => return Err(Bail),
                Some(b'>') => {
                    self.at += 1;
                    return Ok(false);
                }
                Some(b'/') => {
                    if self.bytes.get(self.at + 1) == Some(&b'>') {
                        self.at += 2;
                        return Ok(true);
                    }
                    return Err(Bail);
                }
                Some(b'=') => return Err(Bail),
                Some(_) => {}
            }
            let name_start = self.at;
            while let Some(&b) = self.bytes.get(self.at) {
                match b {
                    b'"' | b'\'' | b'<' => return Err(Bail),
                    b'=' | b'/' | b'>' => break,
                    b if is_space(b) => break,
                    _ => self.at += 1,
                }
            }
            let name = self.html[name_start..self.at].to_ascii_lowercase();
            while self.bytes.get(self.at).is_some_and(|&b| is_space(b)) {
                self.at += 1;
            }
            let value = if self.bytes.get(self.at) == Some(&b'=') {
                self.at += 1;
                while self.bytes.get(self.at).is_some_and(|&b| is_space(b)) {
                    self.at += 1;
                }
                let raw = match self.bytes.get(self.at) {
                    Some(&quote @ (b'"' | b'\'')) => {
                        let start = self.at + 1;
                        let len = self.html[start..].find(char::from(quote)).ok_or(Bail)?;
                        self.at = start + len + 1;
                        // A quoted value runs straight into the next attribute: an error the
                        // tokenizer recovers from in its own way.
                        match self.bytes.get(self.at) {
                            Some(&b) if is_space(b) || b == b'>' || b == b'/' => {}
                            _ => return Err(Bail),
                        }
                        &self.html[start..start + len]
                    }
                    Some(b'>') | None => return Err(Bail),
                    Some(_) => {
                        let start = self.at;
                        while let Some(&b) = self.bytes.get(self.at) {
                            match b {
                                b'"' | b'\'' | b'<' | b'=' | b'`' => return Err(Bail),
                                b'>' => break,
                                b if is_space(b) => break,
                                _ => self.at += 1,
                            }
                        }
                        &self.html[start..self.at]
                    }
                };
                decode_attribute(raw)?
            } else {
                String::new()
            };
            if !self.attrs.iter().any(|(seen, _)| *seen == name) {
                self.attrs.push((name, value));
            }
        }
    }

    /// Writes an allowed start tag with the attributes the policy keeps, in ammonia's order:
    /// the kept ones as they came, then `referrerpolicy`, then `rel`.
    fn write_start(&mut self, name: &'static str) -> Step {
        self.out.push('<');
        self.out.push_str(name);
        let per_tag = TAG_ATTRIBUTES
            .iter()
            .find(|(tag, _)| *tag == name)
            .map_or(&[][..], |(_, attributes)| *attributes);
        let attrs = std::mem::take(&mut self.attrs);
        for (attr, value) in &attrs {
            if !GENERIC_ATTRIBUTES.contains(&attr.as_str()) && !per_tag.contains(&attr.as_str()) {
                continue;
            }
            let resolved;
            let value = if attr == "href" || attr == "src" {
                match Url::parse(value) {
                    Ok(url) if URL_SCHEMES.contains(&url.scheme()) => value.as_str(),
                    Ok(_) => continue,
                    Err(url::ParseError::RelativeUrlWithoutBase) => {
                        let Some(base) = self.base else { continue };
                        // ammonia drops an attribute whose join fails by swapping the last
                        // one into its place; leave that ordering to it.
                        resolved = base.join(value).map_err(|_| Bail)?;
                        resolved.as_str()
                    }
                    Err(_) => continue,
                }
            } else {
                value.as_str()
            };
            write_attribute(&mut self.out, attr, value);
        }
        self.attrs = attrs;
        if matches!(name, "a" | "img") {
            write_attribute(&mut self.out, "referrerpolicy", REFERRER_POLICY);
        }
        if name == "a" {
            write_attribute(&mut self.out, "rel", LINK_REL);
        }
        self.out.push('>');
        Ok(())
    }
}

fn write_attribute(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    push_escaped(out, value, true);
    out.push('"');
}

fn push_escaped_text(out: &mut String, text: &str) {
    push_escaped(out, text, false);
}

/// The serializer's escaping: `&`, `<`, `>` and no-break spaces, and `"` in attributes.
fn push_escaped(out: &mut String, text: &str, attribute: bool) {
    let bytes = text.as_bytes();
    // `<` twice when quotes need no escaping: memchr3 wants three bytes.
    let quote = if attribute { b'"' } else { b'<' };
    let mut start = 0;
    while start < bytes.len() {
        let rest = &bytes[start..];
        let first = memchr::memchr3(quote, b'<', b'>', rest).unwrap_or(rest.len());
        let at = start + memchr::memchr2(b'&', 0xc2, &rest[..first]).unwrap_or(first);
        // `at` is at an ASCII byte or a lead byte: a character boundary.
        out.push_str(&text[start..at]);
        let Some(&b) = bytes.get(at) else { break };
        let replacement = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            // 0xC2 leads a two-byte character; only U+00A0 is escaped.
            _ if bytes.get(at + 1) == Some(&0xa0) => "&nbsp;",
            _ => &text[at..at + 2],
        };
        out.push_str(replacement);
        start = at + if b == 0xc2 { 2 } else { 1 };
    }
}

/// An attribute value with its character references decoded.
fn decode_attribute(raw: &str) -> Step<String> {
    let mut value = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        value.push_str(&rest[..amp]);
        let (decoded, used) = char_ref(&rest[amp..])?;
        value.push(decoded.unwrap_or('&'));
        rest = &rest[amp + used..];
    }
    value.push_str(rest);
    Ok(value)
}

/// The character reference at the start of `text` (which starts with `&`): the character
/// and the bytes it took, `None` and 1 for an `&` that starts no reference, or a bail-out
/// for everything the tokenizer treats specially (no semicolon, unknown names, odd code
/// points, names that stand for two characters).
fn char_ref(text: &str) -> Step<(Option<char>, usize)> {
    let bytes = text.as_bytes();
    match bytes.get(1) {
        Some(b'#') => {
            let (digits_start, radix) = match bytes.get(2) {
                Some(b'x' | b'X') => (3, 16),
                _ => (2, 10),
            };
            let digits = bytes[digits_start..]
                .iter()
                .take_while(|b| b.is_ascii_hexdigit())
                .count()
                .min(8);
            let end = digits_start + digits;
            if digits == 0 || bytes.get(end) != Some(&b';') {
                return Err(Bail);
            }
            let code = u32::from_str_radix(&text[digits_start..end], radix).map_err(|_| Bail)?;
            Ok((Some(plain_code_point(code)?), end + 1))
        }
        Some(b) if b.is_ascii_alphanumeric() => {
            let len = bytes[1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            let end = 1 + len;
            if bytes.get(end) != Some(&b';') {
                return Err(Bail);
            }
            match NAMED_ENTITIES.get(&text[1..=end]) {
                Some(&(code, 0)) if code != 0 => Ok((Some(plain_code_point(code)?), end + 1)),
                _ => Err(Bail),
            }
        }
        // `&` followed by anything else is just an ampersand.
        _ => Ok((None, 1)),
    }
}

/// A code point a character reference stands for as itself: no NUL, C0 or C1 controls
/// (remapped or reported by the tokenizer), surrogates or noncharacters.
fn plain_code_point(code: u32) -> Step<char> {
    let plain = matches!(code, 0x09 | 0x0a | 0x20..=0x7e | 0xa0..)
        && !(0xfdd0..=0xfdef).contains(&code)
        && code & 0xfffe != 0xfffe;
    if !plain {
        return Err(Bail);
    }
    char::from_u32(code).ok_or(Bail)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::path::{Path, PathBuf};

    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;
    use proptest::test_runner::{Config as ProptestConfig, TestRunner};

    use super::super::tests::HOSTILE_PAYLOADS;
    use super::super::{CONTENT_DROPPED_TAGS, sanitize_with_ammonia};
    use super::*;

    /// Runs both paths; when the fast one answers, the answers must be identical.
    /// Returns whether the fast path answered.
    fn agrees(html: &str, base: Option<&Url>) -> bool {
        let Some(fast) = clean(html, base) else {
            return false;
        };
        let full = sanitize_with_ammonia(html, base);
        assert_eq!(
            fast, full,
            "fast path differs from ammonia for {html:?} (base {base:?})"
        );
        true
    }

    fn base() -> Url {
        Url::parse("https://blog.example/posts/feed.xml").expect("test base URL parses")
    }

    #[test]
    fn typical_feed_markup_takes_the_fast_path() {
        let base = base();
        let inputs = [
            "<p>Hello <a href=\"/about\" title=\"About &amp; more\">me</a> &mdash; &#8220;hi&#x201D;</p>",
            "<p><img src=\"pic.jpg\" alt=\"A cat\" width=\"640\" height=\"480\" loading=\"lazy\"></p>",
            "<ul><li>one</li><li>two <em>three</em></li></ul>\n<blockquote><p>q</p><cite>c</cite></blockquote>",
            "<pre><code>fn main() {\n    println!(\"x &lt;1&gt;\");\n}</code></pre>",
            "<script type=\"text/javascript\">var t=1;document.write(\"x\");</script><p>after</p>",
            "<iframe src=\"https://video.example/embed/1\" width=\"560\" allowfullscreen></iframe>",
            "<div class=\"embed\" data-id=\"7\"><h3>Title</h3><p>Body</p></div>",
            "<table><tr><th>a</th><td>b</td></tr></table>",
            "<table>\n<thead><tr><th scope=\"col\">a</th></tr></thead>\n<tbody><tr><td colspan=\"2\">b</td></tr></tbody>\n</table>",
            "<table><tr><td><table><tr><td><b>in</b></td></tr></table></td></tr></table>",
            "<p><img src=\"a.png\" alt=\"a\"></img> <b>b<br></br></b></p><hr></hr>",
            "<p style=\"margin:0\" onmouseover=\"x()\">one<br/>two</p>",
            "<span style=\"color:red\" class=\"hl\">red</span> and <a href=\"javascript:alert(1)\" onclick=\"steal()\">bad</a>",
            "plain text, 3 < 4 & 5 > 2",
        ];
        for input in inputs {
            assert!(agrees(input, Some(&base)), "fast path gave up on {input:?}");
            assert!(
                agrees(input, None),
                "fast path gave up on {input:?} without a base"
            );
        }
    }

    #[test]
    fn unusual_markup_is_left_to_the_parser() {
        let inputs = [
            "<p>one<p>two",
            "<b><i>x</b></i>",
            "<ul><li>a<li>b</ul>",
            "<!-- c --><p>x</p>",
            "<table><tr><td>1<td>2</table>",
            "<table>text</table>",
            "<a href=x><a href=y>z</a></a>",
            "<p><div>x</div></p>",
            "<svg><script>alert(1)</script></svg>",
            "<script><!--<script>x</script>--></script>",
            "<p>&copy 2024</p>",
            "<p>&#x80;</p>",
            "<xmp><p>x</xmp>",
            "<div/>text",
            "a\r\nb",
            "<title>t</title>",
            "<img src=\"a\"onerror=\"x\">",
        ];
        for input in inputs {
            assert_eq!(clean(input, None), None, "fast path took {input:?}");
        }
    }

    #[test]
    fn the_modelled_elements_agree_with_the_policy_lists() {
        for (name, kind) in ELEMENTS {
            let dropped = CONTENT_DROPPED_TAGS.contains(name);
            let raw = matches!(kind, Kind::RawText | Kind::Script);
            assert_eq!(
                dropped, raw,
                "{name}: content dropped in the policy is {dropped}"
            );
            if raw {
                assert!(
                    !ALLOWED_TAGS.contains(name),
                    "{name} is raw text and allowed"
                );
            }
        }
    }

    #[test]
    fn hostile_payloads_agree() {
        let base = base();
        for payload in HOSTILE_PAYLOADS {
            agrees(payload, None);
            agrees(payload, Some(&base));
        }
    }

    fn corpus_feeds() -> PathBuf {
        std::env::var_os("TRIBUTARY_CORPUS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"))
            })
            .join("feeds")
    }

    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("corpus folder is readable") {
            let path = entry.expect("corpus entry is readable").path();
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push(path);
            }
        }
    }

    /// Every HTML body of every parsable feed of the corpus: the fast path either gives up
    /// or writes exactly what ammonia writes.
    #[test]
    fn corpus_html_agrees_with_ammonia() {
        use connectors::Content;
        let mut files = Vec::new();
        walk(&corpus_feeds(), &mut files);
        files.sort();
        let (mut bodies, mut fast) = (0, 0);
        for path in &files {
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("feed");
            let base = base().join(name).expect("file names join");
            let Ok(parsed) = connectors::protocol::feed::parse(&bytes, &base) else {
                continue;
            };
            for item in parsed.items {
                for body in [item.content, item.summary].into_iter().flatten() {
                    if let Content::Html(html) = body {
                        bodies += 1;
                        if agrees(&html, Some(&base)) {
                            fast += 1;
                        }
                        agrees(&html, None);
                    }
                }
            }
        }
        eprintln!("corpus: {fast} of {bodies} HTML bodies took the fast path");
        assert!(bodies > 1000, "only {bodies} HTML bodies in the corpus");
        // The fast path must be worth having on real feeds, not only on the benchmark's.
        assert!(
            fast * 3 > bodies,
            "the fast path took only {fast} of {bodies}"
        );
    }

    /// Markup pieces that reach every branch of the scan: known and unknown tags, every
    /// quoting of attributes, URLs of every kind, references known and odd, raw text and
    /// broken markup. The first `TAME_*` of each list are what the fast path models.
    const TAGS: &[&str] = &[
        "p",
        "a",
        "b",
        "i",
        "em",
        "strong",
        "span",
        "div",
        "ul",
        "ol",
        "li",
        "blockquote",
        "pre",
        "code",
        "h2",
        "h3",
        "img",
        "br",
        "hr",
        "cite",
        "q",
        "font",
        "section",
        "figure",
        "figcaption",
        "sub",
        "time",
        "del",
        "u",
        "table",
        "tbody",
        "tr",
        "td",
        "th",
        "dl",
        "dt",
        "caption",
        "svg",
        "math",
        "form",
        "input",
        "button",
        "nobr",
        "textarea",
        "DIV",
        "Span",
        "custom-element",
        "o:p",
    ];
    const TAME_TAGS: usize = 29;
    const RAW: &[&str] = &["script", "style", "iframe", "noscript", "title", "xmp"];
    const TAME_RAW: usize = 3;
    const RAW_BODIES: &[&str] = &[
        "x<p>y",
        "a</b>",
        "<!--",
        "",
        "if (a < b) {}",
        "</scrip",
        "<script>",
    ];
    const ATTRS: &[&str] = &[
        "href",
        "src",
        "title",
        "alt",
        "lang",
        "dir",
        "class",
        "style",
        "onclick",
        "width",
        "colspan",
        "datetime",
        "start",
        "rel",
        "referrerpolicy",
        "id",
        "HREF",
        "Title",
        "xlink:href",
        "data-x",
    ];
    const VALUES: &[&str] = &[
        "https://ex.example/a?b=1&amp;c=2",
        "/rel/path",
        "rel path",
        "../up.png",
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "mailto:a@b.example",
        "data:text/html,x",
        "http://",
        "//cdn.example/x.js",
        "&#106;avascript:x",
        "a \"quoted\" & <angled>",
        "&nbsp;&lt;",
        "&bogus;",
        "x&y",
        "",
        "http://[::1",
        "ftp://files.example/",
        "java\tscript:x",
        "&#0;",
    ];
    const TAME_VALUES: usize = 13;
    const TEXT: &[&str] = &[
        "Hello",
        " world ",
        "\n",
        "a & b",
        "3 < 4",
        "5 > 2",
        "&amp;",
        "&mdash;",
        "&#8220;",
        "&#x201D;",
        "&#0;",
        "&#x80;",
        "&copy",
        "&notin;",
        "&NotEqualTilde;",
        "\u{a0}",
        "caf\u{e9}",
        "\"quotes\"",
        "&",
        "\t",
    ];
    const TAME_TEXT: usize = 10;
    const BROKEN: &[&str] = &[
        "<",
        ">",
        "&#",
        "<a",
        "</",
        "< p",
        "</ p>",
        "</>",
        "<!-- c -->",
        "<!doctype html>",
        "<?xml?>",
        "<![CDATA[x]]>",
        "\u{0}",
        "\r\n",
        "<b",
        "=\"",
    ];

    /// Text: listed pieces, references of every kind, or loose characters with `<` and `&`.
    fn text(tame: bool) -> BoxedStrategy<String> {
        let pieces = if tame { &TEXT[..TAME_TEXT] } else { TEXT };
        let loose = if tame {
            "[a-zA-Z0-9 .,!?]{1,12}"
        } else {
            "[a-z0-9 <>&;#\"'=/!-]{1,12}"
        };
        let named: Vec<&'static str> = NAMED_ENTITIES.keys().copied().collect();
        prop_oneof![
            4 => select(pieces).prop_map(str::to_owned),
            3 => loose,
            1 => select(named).prop_map(|name| format!("&{name}")),
            1 => (0u32..0x11_0000, any::<bool>()).prop_map(|(code, hex)| if hex {
                format!("&#x{code:X};")
            } else {
                format!("&#{code};")
            }),
        ]
        .boxed()
    }

    /// One attribute: bare, unquoted, single- or double-quoted.
    fn attribute(tame: bool) -> impl Strategy<Value = String> {
        let values = if tame { &VALUES[..TAME_VALUES] } else { VALUES };
        (select(ATTRS), select(values), 0..5u8).prop_map(|(name, value, quoting)| match quoting {
            0 => format!(" {name}"),
            1 if !value.is_empty() && !value.contains([' ', '"', '\'', '<', '\t']) => {
                format!(" {name}={value}")
            }
            2 => format!(" {name}='{value}'"),
            _ => format!(" {name}=\"{}\"", value.replace('"', "&quot;")),
        })
    }

    /// How an element ends: its own end tag (most often), none, or another element's.
    #[derive(Clone, Debug)]
    enum End {
        Own,
        Missing,
        Other(&'static str),
    }

    /// An element around `children`, a raw-text element, text or broken markup.
    fn markup(tame: bool) -> BoxedStrategy<String> {
        let tags = if tame { &TAGS[..TAME_TAGS] } else { TAGS };
        let raw = if tame { &RAW[..TAME_RAW] } else { RAW };
        let raw_element =
            (select(raw), select(RAW_BODIES), any::<bool>()).prop_map(|(name, body, closed)| {
                let end = if closed {
                    format!("</{name}>")
                } else {
                    String::new()
                };
                format!("<{name}>{body}{end}")
            });
        let leaf = if tame {
            prop_oneof![4 => text(tame), 1 => raw_element].boxed()
        } else {
            prop_oneof![
                4 => text(tame),
                1 => raw_element,
                1 => select(BROKEN).prop_map(str::to_owned),
            ]
            .boxed()
        };
        let end = if tame {
            prop_oneof![4 => Just(End::Own), 1 => Just(End::Missing)].boxed()
        } else {
            prop_oneof![
                6 => Just(End::Own),
                2 => Just(End::Missing),
                1 => select(tags).prop_map(End::Other),
            ]
            .boxed()
        };
        let self_closing = if tame {
            Just(false).boxed()
        } else {
            any::<bool>().boxed()
        };
        leaf.prop_recursive(6, 64, 5, move |inner| {
            (
                select(tags),
                vec(attribute(tame), 0..3),
                self_closing.clone(),
                vec(inner, 0..5),
                end.clone(),
            )
                .prop_map(|(name, attributes, self_closing, children, end)| {
                    let mut html = format!("<{name}{}", attributes.concat());
                    html.push_str(if self_closing { "/>" } else { ">" });
                    html.push_str(&children.concat());
                    match end {
                        End::Own => html.push_str(&format!("</{name}>")),
                        End::Missing => {}
                        End::Other(other) => html.push_str(&format!("</{other}>")),
                    }
                    html
                })
        })
        .boxed()
    }

    /// A document: a few pieces of tame or wild markup side by side.
    fn document() -> impl Strategy<Value = String> {
        prop_oneof![vec(markup(true), 0..6), vec(markup(false), 0..6)]
            .prop_map(|pieces| pieces.concat())
    }

    /// Differential test: for generated markup, whenever the fast path answers, its answer
    /// is ammonia's (with a base URL and without). Failures are shrunk to a small input.
    #[test]
    fn generated_markup_agrees_with_ammonia() {
        const CASES: u32 = 3_000;
        let base = base();
        // PROPTEST_CASES asks for more (or fewer) cases, as for any proptest test.
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(CASES);
        let mut runner = TestRunner::new(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::with_cases(cases)
        });
        let (cases, fast) = (Cell::new(0u32), Cell::new(0u32));
        let result = runner.run(&document(), |html| {
            cases.set(cases.get() + 1);
            let mut answered = false;
            for base in [Some(&base), None] {
                if let Some(cleaned) = clean(&html, base) {
                    answered = true;
                    prop_assert_eq!(
                        cleaned,
                        sanitize_with_ammonia(&html, base),
                        "fast path differs from ammonia for {:?} (base {:?})",
                        html,
                        base
                    );
                }
            }
            fast.set(fast.get() + u32::from(answered));
            Ok(())
        });
        if let Err(err) = result {
            panic!("{err}");
        }
        let (cases, fast) = (cases.get(), fast.get());
        eprintln!("generated: {fast} of {cases} took the fast path");
        // Both outcomes must be common, or the test checks nothing.
        assert!(
            fast * 10 > cases,
            "only {fast} of {cases} took the fast path"
        );
        assert!(
            fast * 10 < cases * 9,
            "{fast} of {cases} took the fast path"
        );
    }
}
