//! Lifts what feed-rs cannot read into what it can, as one XML rewrite in front of it:
//! Atom 0.3 into Atom 1.0, RSS 0.90 and Userland RSS into the namespaces feed-rs knows,
//! RDF items without a link, internal DTD entities, Atom text constructs with types
//! feed-rs refuses, and the title, text, date and permalink fallbacks of RSS items. Also
//! splits a document into its entries, for reading them one by one when the whole fails.
//! Pure: bytes in, bytes out. Only documents that need it pay for the rewrite.

use std::borrow::Cow;
use std::ops::Range;

use base64::Engine as _;
use quick_xml::escape::{escape, resolve_predefined_entity, unescape};
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::{NsReader, Reader, Writer, XmlVersion};

const ATOM03: &str = "http://purl.org/atom/ns#";
const ATOM10: &str = "http://www.w3.org/2005/Atom";
const RSS090: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS10: &str = "http://purl.org/rss/1.0/";
const RSS11: &str = "http://purl.org/net/rss1.1#";
const USERLAND: [&str; 2] = [
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss",
];
const XHTML: &str = "http://www.w3.org/1999/xhtml";
const DC: &str = "http://purl.org/dc/elements/1.1/";
const DCTERMS: &str = "http://purl.org/dc/terms/";
const CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";
const MEDIA_RSS: &str = "http://search.yahoo.com/mrss/";
const ITUNES: &str = "http://www.itunes.com/dtds/podcast-1.0.dtd";

/// Internal-subset entities read at most; a document that declares more is refused.
pub const MAX_ENTITIES: usize = 64;
/// Longest replacement text of one entity, in bytes.
pub const MAX_ENTITY_BYTES: usize = 4 * 1024;
/// Bytes that all entity references of a document may expand to, together. This keeps a
/// quadratic blow-up (one long entity referenced many times) out; references inside an
/// entity's value are never expanded, which keeps the billion laughs out.
pub const MAX_EXPANDED_BYTES: usize = 1024 * 1024;

/// What the root element says about the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Atom03,
    /// Atom 1.0, or a `<feed>` in another namespace.
    Atom,
    /// `<rss>` in no namespace.
    Rss,
    /// `<rss>` in Userland's RSS namespace.
    RssUserland,
    /// `<rdf:RDF>` with RSS 1.0 items.
    Rdf,
    /// `<rdf:RDF>` with RSS 0.90 items.
    Rdf090,
    /// RSS 1.1: `<Channel>` in its own namespace, its items inside `<items>`.
    Rss11,
    Other,
}

impl Dialect {
    pub fn is_rss(self) -> bool {
        matches!(
            self,
            Dialect::Rss | Dialect::RssUserland | Dialect::Rdf | Dialect::Rdf090 | Dialect::Rss11
        )
    }

    pub fn is_rdf(self) -> bool {
        matches!(self, Dialect::Rdf | Dialect::Rdf090)
    }
}

/// The document's dialect and whether it has a DOCTYPE (feed-rs finds no feed root
/// behind one; its internal entities are expanded when it is left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sniff {
    pub dialect: Dialect,
    pub has_doctype: bool,
    /// A `<feed>` root in a namespace that is neither Atom's (a misspelled one, say).
    pub misdeclared_atom: bool,
}

/// Which rewrites to make.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Atom 0.3 names, dates, persons and `mode` into Atom 1.0.
    pub atom03: bool,
    /// Atom text constructs: `type=""` and MIME types into `text`/`html`/`xhtml`, and
    /// empty ones left out (feed-rs rejects the whole document over either).
    pub repair_text: bool,
    /// RSS and RDF item fallbacks (see [`lift`]).
    pub items: bool,
    /// Leave the DOCTYPE out, expanding the entities of its internal subset.
    pub doctype: bool,
    /// Read the root's namespace as Atom 1.0's.
    pub atom_namespace: bool,
}

impl Plan {
    /// What a document of this kind needs before feed-rs can read it at all.
    pub fn needed(sniff: Sniff) -> Plan {
        Plan {
            atom03: sniff.dialect == Dialect::Atom03,
            doctype: sniff.has_doctype,
            // feed-rs drops RDF items without a link; RDF and Userland documents are rare
            // enough that every one is lifted.
            items: matches!(
                sniff.dialect,
                Dialect::Rdf | Dialect::Rdf090 | Dialect::RssUserland | Dialect::Rss11
            ),
            repair_text: false,
            atom_namespace: sniff.misdeclared_atom,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Plan::default()
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LiftError {
    /// Not well-formed enough to rewrite; the caller keeps feed-rs's own verdict.
    #[error("{0}")]
    Xml(String),
    /// The internal subset asks for more than the caps allow.
    #[error("{0}")]
    Entities(String),
}

/// Reads up to the root element: its dialect, and whether a DOCTYPE declares entities.
/// `None` when there is no root element to read.
pub fn sniff(document: &str) -> Option<Sniff> {
    let mut reader = NsReader::from_str(document);
    let mut has_doctype = false;
    let mut misdeclared_atom = false;
    loop {
        match reader.read_resolved_event().ok()? {
            (_, Event::DocType(_)) => has_doctype = true,
            (ns, Event::Start(start) | Event::Empty(start)) => {
                let dialect = match (start.local_name().as_ref(), bound(&ns)) {
                    ("feed", Some(ATOM03)) => Dialect::Atom03,
                    ("feed", ns) => {
                        misdeclared_atom = ns.is_some_and(|ns| ns != ATOM10);
                        Dialect::Atom
                    }
                    ("rss", Some(ns)) if USERLAND.contains(&ns) => Dialect::RssUserland,
                    ("rss", _) => Dialect::Rss,
                    ("RDF", _) if declares(&start, RSS090) => Dialect::Rdf090,
                    ("RDF", _) => Dialect::Rdf,
                    ("Channel", Some(RSS11)) => Dialect::Rss11,
                    _ => Dialect::Other,
                };
                return Some(Sniff {
                    dialect,
                    has_doctype,
                    misdeclared_atom,
                });
            }
            (_, Event::Eof) => return None,
            _ => {}
        }
    }
}

/// The Atom Tombstones namespace (RFC 6721).
const TOMBSTONES: &str = "http://purl.org/atompub/tombstones/1.0";

/// The `ref`s of RFC 6721 `<at:deleted-entry>` elements: the ids of entries the feed
/// reports deleted. Empty unless the document names the element at all (a byte search
/// first, so ordinary feeds pay nothing more).
pub fn deleted_entries(document: &str) -> Vec<String> {
    if !document.contains("deleted-entry") {
        return Vec::new();
    }
    let mut reader = NsReader::from_str(document);
    let mut refs = Vec::new();
    loop {
        match reader.read_resolved_event() {
            Ok((ns, Event::Start(start) | Event::Empty(start)))
                if start.local_name().as_ref() == "deleted-entry"
                    && bound(&ns) == Some(TOMBSTONES) =>
            {
                let reference = attribute(&start, "ref")
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty());
                if let Some(reference) = reference
                    && !refs.contains(&reference)
                {
                    refs.push(reference);
                }
            }
            Ok((_, Event::Eof)) | Err(_) => return refs,
            _ => {}
        }
    }
}

/// Rewrites `document` as `plan` says. Namespace declarations of Atom 0.3, RSS 0.90 and
/// Userland RSS always move to the ones feed-rs reads.
///
/// Item fallbacks, each only where the item lacks what feed-rs reads:
/// - `dc:title` becomes `title`, `dc:description` becomes `description`;
/// - `xhtml:body` becomes `content:encoded` (its markup, serialized without prefixes);
/// - `dcterms:issued` (else `dcterms:created`, an RDF item's `pubDate`, which RSS 1.0 does
///   not have, or `atom:published`) becomes `dc:date`, and `dcterms:modified`
///   becomes `atom:updated`, or `dc:date` in RDF, which has no updated date of its own;
/// - an RSS 2.0 `guid` that is a permalink (`isPermaLink` is true unless it is "false",
///   RSS 2.0 "guid") and an http(s) URL becomes the `link`;
/// - an RDF item's `rdf:about` becomes its `link` (feed-rs drops RDF items without one;
///   the feed connector makes a link that is not http(s) the item's id).
pub fn lift(document: &str, dialect: Dialect, plan: Plan) -> Result<Vec<u8>, LiftError> {
    let mut reader = NsReader::from_str(document);
    reader.config_mut().check_end_names = true;
    let mut lifter = Lifter {
        reader,
        writer: Writer::new(Vec::with_capacity(document.len() + document.len() / 8)),
        dialect,
        plan,
        entities: Vec::new(),
        expanded_bytes: 0,
        misdeclared: None,
    };
    lifter.run()?;
    Ok(lifter.writer.into_inner())
}

/// A document cut at its entries: `head` runs up to the first entry, `tail` from the end
/// of the last one, and each entry is its own range.
#[derive(Debug, PartialEq, Eq)]
pub struct Split {
    pub head: Range<usize>,
    pub entries: Vec<Range<usize>>,
    pub tail: Range<usize>,
}

impl Split {
    /// The document with only the entry at `entry_idx` (or none).
    pub fn document(&self, document: &str, entry_idx: Option<usize>) -> String {
        let entry = entry_idx
            .and_then(|idx| self.entries.get(idx))
            .map(|range| &document[range.clone()])
            .unwrap_or_default();
        let mut out = String::with_capacity(self.head.len() + entry.len() + self.tail.len());
        out.push_str(&document[self.head.clone()]);
        out.push_str(entry);
        out.push_str(&document[self.tail.clone()]);
        out
    }
}

/// Finds the entries (`entry` in Atom, `item` in RSS, whatever their namespace) at the
/// depth where the dialect keeps them. `None` when the document is not well-formed up to
/// its last entry.
pub fn split(document: &str, dialect: Dialect) -> Option<Split> {
    let (entry_name, entry_depth) = match dialect {
        Dialect::Atom | Dialect::Atom03 => ("entry", 1),
        Dialect::Rss | Dialect::RssUserland => ("item", 2),
        Dialect::Rdf | Dialect::Rdf090 => ("item", 1),
        Dialect::Rss11 => ("item", 2),
        Dialect::Other => return None,
    };
    let mut reader = Reader::from_str(document);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut entries = Vec::new();
    let mut entry_start = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().ok()?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(start) => {
                if depth == entry_depth && start.local_name().as_ref() == entry_name {
                    entry_start = Some(before);
                }
                depth += 1;
            }
            Event::Empty(start)
                if depth == entry_depth && start.local_name().as_ref() == entry_name =>
            {
                entries.push(before..after);
            }
            Event::End(_) => {
                depth = depth.checked_sub(1)?;
                if depth == entry_depth
                    && let Some(start) = entry_start.take()
                {
                    entries.push(start..after);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let first = entries.first()?.start;
    let last = entries.last()?.end;
    Some(Split {
        head: 0..first,
        entries,
        tail: last..document.len(),
    })
}

/// An owned event with the namespace its element name resolved to.
struct Node {
    ns: Option<String>,
    event: Event<'static>,
}

impl Node {
    fn local(&self) -> Option<&str> {
        match &self.event {
            Event::Start(start) | Event::Empty(start) => Some(local_of(start.name().0)),
            Event::End(end) => Some(local_of(end.name().0)),
            _ => None,
        }
    }

    fn is(&self, ns: Option<&str>, local: &str) -> bool {
        self.ns.as_deref() == ns && self.local() == Some(local)
    }
}

struct Lifter<'a> {
    reader: NsReader<&'a [u8]>,
    writer: Writer<Vec<u8>>,
    dialect: Dialect,
    plan: Plan,
    entities: Vec<(String, String)>,
    expanded_bytes: usize,
    /// The namespace a misdeclared Atom root is in, read as Atom 1.0's.
    misdeclared: Option<String>,
}

impl Lifter<'_> {
    fn run(&mut self) -> Result<(), LiftError> {
        loop {
            let node = self.next()?;
            match &node.event {
                Event::Eof => return Ok(()),
                Event::DocType(doctype) if self.plan.doctype => {
                    let doctype = doctype.to_string();
                    self.entities = read_entities(&doctype)?;
                    // The entities are expanded from here on; the DOCTYPE has done its job.
                }
                Event::Start(_) | Event::Empty(_) | Event::End(_) if self.is_rss11_frame(&node) => {
                    self.write_rss11_frame(node.event)?;
                }
                Event::Start(start) | Event::Empty(start) if self.is_entry(&node) => {
                    let about = attribute(start, "about");
                    let children = match &node.event {
                        Event::Start(_) => self.read_children()?,
                        // `<item rdf:about="…"/>`: an item with nothing but its name.
                        _ => vec![Node {
                            ns: node.ns.clone(),
                            event: Event::End(BytesEnd::new(start.name().as_ref().to_owned())),
                        }],
                    };
                    let node = match node.event {
                        Event::Empty(start) => Node {
                            ns: node.ns,
                            event: Event::Start(start),
                        },
                        _ => node,
                    };
                    let nodes = if self.dialect == Dialect::Atom03 {
                        self.lift_atom03_entry(children)
                    } else {
                        self.lift_item(children, about)
                    };
                    self.write(node.event)?;
                    self.write_all(nodes)?;
                }
                Event::Start(start) if self.is_link_with_text(&node) => {
                    // RFC 4287 4.2.7: a link is empty and names its IRI in `href`; one
                    // written as `<link>IRI</link>` is read as that.
                    let mut tag = start.clone().into_owned();
                    let children = self.read_children()?;
                    let text = text_of(&children);
                    if is_http_url(text.trim()) {
                        tag.push_attribute(("href", text.trim()));
                    }
                    self.write(Event::Empty(tag))?;
                }
                Event::Start(_) if self.is_text_construct(&node) => {
                    let children = self.read_children()?;
                    let nodes = self.lift_text_construct(node, children);
                    self.write_all(nodes)?;
                }
                Event::Start(start) | Event::Empty(start) if self.is_content_with_src(&node) => {
                    // RFC 4287 4.1.3.2: out-of-line content is empty and its type a MIME
                    // type; feed-rs refuses the document over either.
                    let tag = content_with_src(start);
                    if matches!(node.event, Event::Start(_)) {
                        let _ = self.read_children()?;
                    }
                    self.write(Event::Empty(tag))?;
                }
                _ => self.write(node.event)?,
            }
        }
    }

    /// The next event, owned and with its names and namespaces rewritten, entity
    /// references expanded when the plan says so.
    fn next(&mut self) -> Result<Node, LiftError> {
        let (ns, event) = self
            .reader
            .read_resolved_event()
            .map_err(|err| LiftError::Xml(err.to_string()))?;
        let original_ns = bound(&ns).map(str::to_owned);
        if self.plan.atom_namespace
            && self.misdeclared.is_none()
            && matches!(event, Event::Start(_) | Event::Empty(_))
        {
            self.misdeclared = original_ns.clone();
        }
        let ns = original_ns.as_deref();
        let event = match event {
            Event::GeneralRef(reference) if !self.entities.is_empty() => {
                match self.entity(reference.as_ref())? {
                    Some(value) => Event::Text(BytesText::new(&value).into_owned()),
                    None => Event::GeneralRef(reference.into_owned()),
                }
            }
            Event::Start(start) => Event::Start(self.rewrite_start(&start, ns)?),
            Event::Empty(start) => Event::Empty(self.rewrite_start(&start, ns)?),
            Event::End(end) => Event::End(self.rewrite_end(&end, ns)),
            other => other.into_owned(),
        };
        // The namespace the element is in once the document is rewritten.
        let ns = match original_ns.as_deref() {
            Some(ATOM03) if self.plan.atom03 => Some(ATOM10.to_owned()),
            ns if ns.is_some() && ns == self.misdeclared.as_deref() => Some(ATOM10.to_owned()),
            Some(RSS090) => Some(RSS10.to_owned()),
            Some(ns) if USERLAND.contains(&ns) => None,
            Some(RSS11) => None,
            _ => original_ns,
        };
        Ok(Node { ns, event })
    }

    /// Every event after the start tag just read, up to and including its end tag.
    fn read_children(&mut self) -> Result<Vec<Node>, LiftError> {
        let mut children = Vec::new();
        let mut depth = 1usize;
        loop {
            let node = self.next()?;
            match node.event {
                Event::Start(_) => depth += 1,
                Event::End(_) => depth -= 1,
                Event::Eof => {
                    return Err(LiftError::Xml("the document ends inside an element".into()));
                }
                _ => {}
            }
            children.push(node);
            if depth == 0 {
                return Ok(children);
            }
        }
    }

    fn write(&mut self, event: Event<'_>) -> Result<(), LiftError> {
        self.writer
            .write_event(event)
            .map_err(|err| LiftError::Xml(err.to_string()))
    }

    fn write_all(&mut self, nodes: Vec<Node>) -> Result<(), LiftError> {
        for node in nodes {
            self.write(node.event)?;
        }
        Ok(())
    }

    /// RSS 1.1's `<Channel>` root and its `<items>` wrapper, which become RSS 2.0's
    /// `<rss><channel>` and nothing (items are the channel's children in RSS 2.0).
    fn is_rss11_frame(&self, node: &Node) -> bool {
        self.dialect == Dialect::Rss11
            && node.ns.is_none()
            && matches!(node.local(), Some("Channel" | "items"))
    }

    fn write_rss11_frame(&mut self, event: Event<'static>) -> Result<(), LiftError> {
        match event {
            Event::Start(start) if start.local_name().as_ref() == "Channel" => {
                let mut rss = start.into_owned();
                rss.set_name("rss");
                rss.push_attribute(("version", "2.0"));
                self.write(Event::Start(rss))?;
                self.write(Event::Start(BytesStart::new("channel")))
            }
            Event::End(end) if end.local_name().as_ref() == "Channel" => {
                self.write(end_event("channel"))?;
                self.write(end_event("rss"))
            }
            // `<items>`: its items stay, the wrapper goes.
            _ => Ok(()),
        }
    }

    fn is_entry(&self, node: &Node) -> bool {
        match self.dialect {
            Dialect::Atom03 => self.plan.atom03 && node.is(Some(ATOM10), "entry"),
            dialect if dialect.is_rss() => {
                self.plan.items && node.local() == Some("item") && is_rss_ns(node.ns.as_deref())
            }
            _ => false,
        }
    }

    fn is_content_with_src(&self, node: &Node) -> bool {
        let in_atom = match node.ns.as_deref() {
            Some(ATOM10) => true,
            None => self.dialect == Dialect::Atom,
            _ => false,
        };
        let (Event::Start(start) | Event::Empty(start)) = &node.event else {
            return false;
        };
        self.plan.repair_text
            && in_atom
            && node.local() == Some("content")
            && attribute(start, "src").is_some()
    }

    fn is_link_with_text(&self, node: &Node) -> bool {
        let in_atom = match node.ns.as_deref() {
            Some(ATOM10) => true,
            None => self.dialect == Dialect::Atom,
            _ => false,
        };
        let Event::Start(start) = &node.event else {
            return false;
        };
        self.plan.repair_text
            && in_atom
            && node.local() == Some("link")
            && attribute(start, "href").is_none()
    }

    /// Names are compared after the rewrite: Atom 0.3 elements are Atom 1.0 by now.
    fn is_text_construct(&self, node: &Node) -> bool {
        let in_atom = match node.ns.as_deref() {
            Some(ATOM10) => self.plan.atom03 || self.plan.repair_text,
            None => self.plan.repair_text && self.dialect == Dialect::Atom,
            _ => false,
        };
        let Event::Start(start) = &node.event else {
            return false;
        };
        in_atom
            && node
                .local()
                .is_some_and(|local| TEXT_CONSTRUCTS.contains(&local))
            && attribute(start, "src").is_none()
    }

    /// Renames Atom 0.3 elements to their Atom 1.0 names and moves namespace
    /// declarations. `ns` is the element's namespace as the document declared it.
    fn rewrite_start(
        &mut self,
        start: &BytesStart,
        ns: Option<&str>,
    ) -> Result<BytesStart<'static>, LiftError> {
        let name = start.name();
        let name = match (ns, self.plan.atom03) {
            (Some(ATOM03), true) => renamed(name.as_ref(), atom03_name(local_of(name.as_ref()))),
            // RSS 1.1 elements become RSS 2.0's, in no namespace.
            (Some(RSS11), _) => local_of(name.as_ref()).to_owned(),
            _ => name.as_ref().to_owned(),
        };
        let mut out = BytesStart::new(name);
        for attr in start.attributes().with_checks(false) {
            let attr = attr.map_err(|err| LiftError::Xml(err.to_string()))?;
            let key = attr.key.as_ref();
            let value = attr.value.as_ref();
            // Media RSS 5.2: a title or description is of type "plain" or "html"; feed-rs
            // refuses the document over any other.
            if self.plan.repair_text
                && ns == Some(MEDIA_RSS)
                && key == "type"
                && matches!(local_of(start.name().0), "title" | "description")
                && !matches!(value, "plain" | "html")
            {
                continue;
            }
            if attr.key.as_namespace_binding().is_some() {
                match value {
                    value if Some(value) == self.misdeclared.as_deref() => {
                        out.push_attribute((key, ATOM10));
                    }
                    // Apple's namespace written in another case (`…/DTDs/PodCast-1.0.dtd`), as
                    // podcast apps read it.
                    value if value != ITUNES && value.eq_ignore_ascii_case(ITUNES) => {
                        out.push_attribute((key, ITUNES));
                    }
                    ATOM03 => out.push_attribute((key, ATOM10)),
                    RSS090 => out.push_attribute((key, RSS10)),
                    // RSS 2.0 has no namespace: its elements are read in none.
                    value if key == "xmlns" && USERLAND.contains(&value) => {}
                    RSS11 => {}
                    _ => out.push_attribute(raw(key, value)),
                }
                continue;
            }
            if self.entities.is_empty() || !value.contains('&') {
                out.push_attribute(raw(key, value));
            } else {
                let expanded = self.expand_in(value)?;
                out.push_attribute(raw(key, &expanded));
            }
        }
        Ok(out)
    }

    fn rewrite_end(&self, end: &BytesEnd, ns: Option<&str>) -> BytesEnd<'static> {
        let name = end.name();
        match (ns, self.plan.atom03) {
            (Some(ATOM03), true) => {
                BytesEnd::new(renamed(name.as_ref(), atom03_name(local_of(name.as_ref()))))
            }
            (Some(RSS11), _) => BytesEnd::new(local_of(name.as_ref()).to_owned()),
            _ => BytesEnd::new(name.as_ref().to_owned()),
        }
    }

    /// The replacement text of entity `name`, counted against the cap, or `None` when
    /// the document did not declare it (it stays a reference).
    fn entity(&mut self, name: &str) -> Result<Option<String>, LiftError> {
        let Some((_, value)) = self.entities.iter().find(|(entity, _)| entity == name) else {
            return Ok(None);
        };
        self.expanded_bytes += value.len();
        if self.expanded_bytes > MAX_EXPANDED_BYTES {
            return Err(LiftError::Entities(format!(
                "its entity references expand to more than {MAX_EXPANDED_BYTES} bytes \
                 (an entity expansion attack?)"
            )));
        }
        Ok(Some(value.clone()))
    }

    /// An attribute value (escaped, as written) with declared entities expanded.
    fn expand_in(&mut self, value: &str) -> Result<String, LiftError> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let after = &rest[amp + 1..];
            match after.find(';') {
                Some(semi) => match self.entity(&after[..semi])? {
                    Some(text) => {
                        out.push_str(&escape(text.as_str()));
                        rest = &after[semi + 1..];
                    }
                    None => {
                        out.push('&');
                        rest = after;
                    }
                },
                None => {
                    out.push('&');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// An Atom 0.3 entry (already renamed): `created` is the published date only when
    /// there is no `issued`; text constructs get Atom 1.0 types.
    fn lift_atom03_entry(&self, children: Vec<Node>) -> Vec<Node> {
        let has_published =
            direct_children(&children).any(|node| node.is(Some(ATOM10), "published"));
        let mut out = Vec::with_capacity(children.len());
        let mut nodes = children.into_iter().peekable();
        let mut depth = 0usize;
        while let Some(node) = nodes.next() {
            let at_top = depth == 0;
            match &node.event {
                Event::Start(_) if at_top && node.is(Some(ATOM10), "created") => {
                    let subtree = take_subtree(&mut nodes);
                    if !has_published {
                        out.push(rename_node(node, "published"));
                        out.extend(subtree.into_iter().map(|n| match n.event {
                            Event::End(_) => Node {
                                ns: n.ns,
                                event: end_event("published"),
                            },
                            _ => n,
                        }));
                    }
                    continue;
                }
                Event::Start(_) if at_top && self.is_text_construct(&node) => {
                    let subtree = take_subtree(&mut nodes);
                    out.extend(self.lift_text_construct(node, subtree));
                    continue;
                }
                Event::Start(_) => depth += 1,
                Event::End(_) => depth = depth.saturating_sub(1),
                _ => {}
            }
            out.push(node);
        }
        out
    }

    /// An Atom text construct: its type in Atom 1.0 terms, base64 decoded, left out when
    /// empty. `start` is its start tag, `children` everything up to its end tag.
    fn lift_text_construct(&self, start: Node, mut children: Vec<Node>) -> Vec<Node> {
        let Event::Start(tag) = &start.event else {
            return Vec::new();
        };
        let local = start.local().unwrap_or_default().to_owned();
        if local == "info" {
            // Atom 0.3's note to people who open the feed in a browser.
            return Vec::new();
        }
        let end = children.pop();
        let inner = children;
        let has_markup = inner
            .iter()
            .any(|node| matches!(node.event, Event::Start(_) | Event::Empty(_)));
        let text = text_of(&inner);
        if !has_markup && text.trim().is_empty() {
            return Vec::new();
        }
        let declared_type = attribute(tag, "type").unwrap_or_default();
        let mode = attribute(tag, "mode");
        let (new_type, body) = if mode.is_some() || self.plan.atom03 {
            atom03_type(
                &declared_type,
                mode.as_deref().unwrap_or("xml"),
                &local,
                &text,
                has_markup,
            )
        } else {
            atom10_type_and_body(&declared_type, &local, &text, has_markup)
        };
        // Markup written as elements inside a construct that says text or html is read as
        // the XHTML it is, so its text is not lost.
        let new_type =
            if body.is_none() && has_markup && matches!(new_type.as_str(), "text" | "html") {
                "xhtml".to_owned()
            } else {
                new_type
            };
        let mut new_tag = BytesStart::new(tag.name().as_ref().to_owned());
        for attr in tag.attributes().with_checks(false).flatten() {
            if !matches!(attr.key.as_ref(), "type" | "mode") {
                new_tag.push_attribute(raw(attr.key.as_ref(), attr.value.as_ref()));
            }
        }
        new_tag.push_attribute(("type", new_type.as_str()));
        let mut out = vec![Node {
            ns: start.ns,
            event: Event::Start(new_tag),
        }];
        match body {
            Some(decoded) => out.push(Node {
                ns: None,
                event: Event::Text(BytesText::new(&decoded).into_owned()),
            }),
            None => out.extend(inner),
        }
        out.extend(end);
        out
    }

    /// An RSS or RDF item's fallbacks (see [`lift`]), appended before its end tag.
    fn lift_item(&self, children: Vec<Node>, about: Option<String>) -> Vec<Node> {
        let mut children = markup_as_text(children);
        let end = children.pop();
        let mut found = ItemParts::default();
        let mut depth = 0usize;
        for (idx, node) in children.iter().enumerate() {
            match &node.event {
                Event::Start(start) | Event::Empty(start) if depth == 0 => {
                    let is_start = matches!(node.event, Event::Start(_));
                    let local = node.local().unwrap_or_default();
                    let subtree_end = if is_start {
                        subtree_end(&children, idx)
                    } else {
                        idx
                    };
                    let inner = &children[(idx + 1).min(subtree_end)..subtree_end];
                    match (node.ns.as_deref(), local) {
                        (ns, "title") if is_rss_ns(ns) => found.title = true,
                        (ns, "link") if is_rss_ns(ns) => found.link = true,
                        (ns, "description") if is_rss_ns(ns) => found.description = true,
                        // RSS 1.0 has no pubDate of its own; feed-rs reads only dc:date there.
                        (ns, "pubDate") if is_rss_ns(ns) && self.dialect.is_rdf() => {
                            found.pub_date = Some(text_of(inner));
                        }
                        (ns, "pubDate") if is_rss_ns(ns) => found.date = true,
                        (Some(ATOM10), "published") => found.published = Some(text_of(inner)),
                        (ns, "guid") if is_rss_ns(ns) => {
                            found.guid = true;
                            let permalink = attribute(start, "isPermaLink")
                                .is_none_or(|value| !value.trim().eq_ignore_ascii_case("false"));
                            if permalink {
                                found.guid_link = Some(text_of(inner).trim().to_owned());
                            }
                        }
                        (Some(DC), "date") => found.date = true,
                        (Some(DC), "title") => found.dc_title = Some(text_of(inner)),
                        (Some(DC), "description") => found.dc_description = Some(text_of(inner)),
                        (Some(CONTENT), "encoded") => found.content = true,
                        (Some(ATOM10), "updated") => found.updated = true,
                        (Some(XHTML), "body") => found.xhtml_body = Some(serialize_xhtml(inner)),
                        (Some(DCTERMS), "issued") => found.issued = Some(text_of(inner)),
                        (Some(DCTERMS), "created") => found.created = Some(text_of(inner)),
                        (Some(DCTERMS), "modified") => found.modified = Some(text_of(inner)),
                        _ => {}
                    }
                    if is_start {
                        depth += 1;
                    }
                }
                Event::Start(_) => depth += 1,
                Event::End(_) => depth = depth.saturating_sub(1),
                _ => {}
            }
        }

        let rdf = self.dialect.is_rdf();
        let mut added = Vec::new();
        if !found.title
            && let Some(title) = found.dc_title.filter(|text| !text.trim().is_empty())
        {
            added.push(("title", None, title));
        }
        if !found.description
            && !rdf
            && let Some(text) = found.dc_description.filter(|text| !text.trim().is_empty())
        {
            added.push(("description", None, text));
        }
        if !found.content
            && let Some(body) = found.xhtml_body.filter(|body| !body.trim().is_empty())
        {
            added.push(("content:encoded", Some(("xmlns:content", CONTENT)), body));
        }
        let issued = found
            .issued
            .or(found.created)
            .or(found.pub_date)
            .or(found.published);
        match (found.date, issued, found.modified) {
            (false, Some(date), modified) => {
                added.push(("dc:date", Some(("xmlns:dc", DC)), date));
                if !rdf
                    && !found.updated
                    && let Some(modified) = modified
                {
                    added.push(("atom:updated", Some(("xmlns:atom", ATOM10)), modified));
                }
            }
            (false, None, Some(modified)) if rdf => {
                added.push(("dc:date", Some(("xmlns:dc", DC)), modified));
            }
            (_, _, Some(modified)) if !rdf && !found.updated => {
                added.push(("atom:updated", Some(("xmlns:atom", ATOM10)), modified));
            }
            _ => {}
        }
        if !found.link {
            let link = match self.dialect {
                _ if rdf => about.clone(),
                Dialect::Rss11 => about.clone().filter(|about| is_http_url(about)),
                _ => found.guid_link.filter(|guid| is_http_url(guid)),
            };
            if let Some(link) = link {
                added.push(("link", None, link));
            }
        }
        // RSS 1.1 names an item by its `rdf:about`, as RSS 1.0 does.
        if self.dialect == Dialect::Rss11
            && !found.guid
            && let Some(about) = about.filter(|about| !about.trim().is_empty())
        {
            added.push(("guid", Some(("isPermaLink", "false")), about));
        }
        for (name, attribute, text) in added {
            let mut tag = BytesStart::new(name);
            if let Some(attribute) = attribute {
                tag.push_attribute(attribute);
            }
            children.push(Node {
                ns: None,
                event: Event::Start(tag),
            });
            children.push(Node {
                ns: None,
                event: Event::Text(BytesText::new(&text).into_owned()),
            });
            children.push(Node {
                ns: None,
                event: end_event(name),
            });
        }
        children.extend(end);
        children
    }
}

/// What an RSS item has of its own, and what could stand in for what it lacks.
#[derive(Default)]
struct ItemParts {
    title: bool,
    link: bool,
    description: bool,
    content: bool,
    date: bool,
    updated: bool,
    guid: bool,
    guid_link: Option<String>,
    dc_title: Option<String>,
    dc_description: Option<String>,
    xhtml_body: Option<String>,
    issued: Option<String>,
    pub_date: Option<String>,
    published: Option<String>,
    created: Option<String>,
    modified: Option<String>,
}

/// Atom elements that are text constructs, and Atom 0.3's `info`.
const TEXT_CONSTRUCTS: [&str; 6] = ["title", "subtitle", "summary", "content", "rights", "info"];

/// An out-of-line `atom:content` as RFC 4287 4.1.3.2 has it: empty, its type a MIME type.
fn content_with_src(start: &BytesStart) -> BytesStart<'static> {
    let mut tag = BytesStart::new(start.name().as_ref().to_owned());
    for attr in start.attributes().with_checks(false).flatten() {
        if attr.key.as_ref() != "type" {
            tag.push_attribute(raw(attr.key.as_ref(), attr.value.as_ref()));
        }
    }
    let mime = match attribute(start, "type").unwrap_or_default().trim() {
        "" => None,
        "text" => Some("text/plain".to_owned()),
        "html" | "xhtml" => Some("text/html".to_owned()),
        other if other.contains('/') && !other.contains(char::is_whitespace) => {
            Some(other.to_owned())
        }
        _ => None,
    };
    if let Some(mime) = mime {
        tag.push_attribute(("type", mime.as_str()));
    }
    tag
}

/// The Atom 1.0 name of an Atom 0.3 element.
fn atom03_name(local: &str) -> &str {
    match local {
        "issued" => "published",
        "modified" => "updated",
        "tagline" => "subtitle",
        "copyright" => "rights",
        "url" => "uri",
        other => other,
    }
}

/// The Atom 1.0 `type` of an Atom 0.3 text construct (RFC 4287 has no `mode`), and the
/// decoded text when it was base64. Atom 0.3 "3.1.1": `type` is a MIME type, default
/// text/plain; `mode` is xml (the default), escaped or base64.
/// Inline markup in `mode="xml"` is XHTML whatever the type says.
fn atom03_type(
    declared: &str,
    mode: &str,
    local: &str,
    text: &str,
    has_markup: bool,
) -> (String, Option<String>) {
    let mime = declared.trim().to_ascii_lowercase();
    let mime = if mime.is_empty() {
        "text/plain".to_owned()
    } else {
        mime
    };
    let inline_markup = has_markup && mode.trim().eq_ignore_ascii_case("xml");
    let html_like = inline_markup
        || matches!(
            mime.as_str(),
            "text/html" | "html" | "application/xhtml+xml" | "xhtml"
        );
    let plain = matches!(mime.as_str(), "text/plain" | "text");
    match mode.trim().to_ascii_lowercase().as_str() {
        "base64" => {
            let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(compact) {
                Ok(bytes) if html_like || plain || mime.starts_with("text/") => {
                    let decoded = String::from_utf8_lossy(&bytes).into_owned();
                    let kind = if html_like { "html" } else { "text" };
                    (kind.to_owned(), Some(decoded))
                }
                _ => (atom10_type(&mime, local), None),
            }
        }
        "escaped" if html_like => ("html".to_owned(), None),
        "escaped" => (atom10_type(&mime, local), None),
        _ if html_like => ("xhtml".to_owned(), None),
        _ => (atom10_type(&mime, local), None),
    }
}

/// An Atom 1.0 text construct's type as feed-rs reads it (RFC 4287 3.1.1: "text", "html"
/// or "xhtml"; `atom:content` may carry a MIME type, 4.1.3.1).
fn atom10_type(declared: &str, local: &str) -> String {
    let declared = declared.trim().to_ascii_lowercase();
    match declared.as_str() {
        "" | "text" | "text/plain" => "text",
        "html" | "text/html" => "html",
        "xhtml" | "application/xhtml+xml" => "xhtml",
        other if local == "content" && other.contains('/') => return other.to_owned(),
        _ => "text",
    }
    .to_owned()
}

/// An Atom 1.0 construct's type, and its text when it is base64 (RFC 4287 4.1.3.3: any
/// MIME type but text and XML ones). A text construct with such a type is invalid; it is
/// decoded the same way, as text (or HTML when the type says so).
fn atom10_type_and_body(
    declared: &str,
    local: &str,
    text: &str,
    has_markup: bool,
) -> (String, Option<String>) {
    let mime = declared.trim().to_ascii_lowercase();
    let base64 = mime.contains('/')
        && !has_markup
        && !mime.starts_with("text/")
        && !mime.ends_with("xml")
        && !matches!(mime.as_str(), "application/xhtml" | "application/html");
    if base64
        && let Some(decoded) = decode_base64_text(text)
        && (local != "content" || mime != "application/octet-stream" || !decoded.is_empty())
    {
        let kind = if mime.contains("html") {
            "html"
        } else {
            "text"
        };
        return (kind.to_owned(), Some(decoded));
    }
    (atom10_type(declared, local), None)
}

/// Base64 (whitespace ignored) that decodes to UTF-8 text.
pub fn decode_base64_text(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The internal subset's general entities with literal values. Parameter entities and
/// external ones (SYSTEM, PUBLIC) are never read: their references stay as they are.
fn read_entities(doctype: &str) -> Result<Vec<(String, String)>, LiftError> {
    let mut entities = Vec::new();
    let Some(subset_start) = doctype.find('[') else {
        return Ok(entities);
    };
    let mut rest = &doctype[subset_start + 1..];
    while let Some(at) = rest.find("<!ENTITY") {
        rest = rest[at + "<!ENTITY".len()..].trim_start();
        if rest.starts_with('%') {
            continue;
        }
        let name_len = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        let name = rest[..name_len].to_owned();
        rest = rest[name_len..].trim_start();
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            // SYSTEM or PUBLIC: an external entity, never fetched.
            continue;
        };
        let Some(len) = rest[1..].find(quote) else {
            break;
        };
        let raw = &rest[1..1 + len];
        rest = &rest[1 + len + 1..];
        if raw.len() > MAX_ENTITY_BYTES {
            return Err(LiftError::Entities(format!(
                "its DTD declares an entity of more than {MAX_ENTITY_BYTES} bytes"
            )));
        }
        if entities.len() == MAX_ENTITIES {
            return Err(LiftError::Entities(format!(
                "its DTD declares more than {MAX_ENTITIES} entities"
            )));
        }
        // Character references are replaced where the entity is declared (XML 1.0 4.5);
        // a reference to another entity stays text, so nothing expands twice.
        let value = unescape(raw)
            .map(Cow::into_owned)
            .unwrap_or_else(|_| raw.to_owned());
        if !name.is_empty() && !entities.iter().any(|(known, _)| *known == name) {
            entities.push((name, value));
        }
    }
    Ok(entities)
}

/// An RSS `title` or `description` holds text (RSS 2.0 "Elements of <item>"); one that
/// holds elements instead keeps them as the escaped markup feed-rs reads.
fn markup_as_text(children: Vec<Node>) -> Vec<Node> {
    let mut out = Vec::with_capacity(children.len());
    let mut nodes = children.into_iter().peekable();
    let mut depth = 0usize;
    while let Some(node) = nodes.next() {
        let flatten = depth == 0
            && matches!(node.event, Event::Start(_))
            && is_rss_ns(node.ns.as_deref())
            && matches!(node.local(), Some("title" | "description"));
        if flatten {
            let mut subtree = take_subtree(&mut nodes);
            let end = subtree.pop();
            let has_markup = subtree
                .iter()
                .any(|n| matches!(n.event, Event::Start(_) | Event::Empty(_)));
            out.push(node);
            if has_markup {
                out.push(Node {
                    ns: None,
                    event: Event::Text(BytesText::new(&serialize_xhtml(&subtree)).into_owned()),
                });
            } else {
                out.extend(subtree);
            }
            out.extend(end);
            continue;
        }
        match node.event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push(node);
    }
    out
}

/// The events of the direct children of a list that ends at its parent's end tag.
fn direct_children(children: &[Node]) -> impl Iterator<Item = &Node> {
    let mut depth = 0usize;
    children.iter().filter(move |node| match node.event {
        Event::Start(_) => {
            depth += 1;
            depth == 1
        }
        Event::End(_) => {
            depth = depth.saturating_sub(1);
            false
        }
        Event::Empty(_) => depth == 0,
        _ => false,
    })
}

/// The index of the end tag that closes the start tag at `start_idx`.
fn subtree_end(nodes: &[Node], start_idx: usize) -> usize {
    let mut depth = 0usize;
    for (idx, node) in nodes.iter().enumerate().skip(start_idx) {
        match node.event {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return idx;
                }
            }
            _ => {}
        }
    }
    nodes.len()
}

/// The rest of a subtree whose start tag was just taken: its content and its end tag.
fn take_subtree(nodes: &mut impl Iterator<Item = Node>) -> Vec<Node> {
    let mut out = Vec::new();
    let mut depth = 1usize;
    for node in nodes.by_ref() {
        match node.event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth -= 1,
            _ => {}
        }
        out.push(node);
        if depth == 0 {
            break;
        }
    }
    out
}

/// The text of a run of events: character data, CDATA and references resolved.
fn text_of(nodes: &[Node]) -> String {
    let mut text = String::new();
    for node in nodes {
        match &node.event {
            Event::Text(chunk) => match unescape(chunk.as_ref()) {
                Ok(unescaped) => text.push_str(&unescaped),
                Err(_) => text.push_str(chunk.as_ref()),
            },
            Event::CData(chunk) => text.push_str(chunk.as_ref()),
            Event::GeneralRef(reference) => {
                if let Ok(Some(ch)) = reference.resolve_char_ref() {
                    text.push(ch);
                } else if let Some(text_of_ref) = resolve_predefined_entity(reference.as_ref()) {
                    text.push_str(text_of_ref);
                }
            }
            _ => {}
        }
    }
    text
}

/// XHTML events as HTML markup: element names without their prefix, no namespace
/// declarations.
fn serialize_xhtml(nodes: &[Node]) -> String {
    let mut writer = Writer::new(Vec::new());
    for node in nodes {
        let event = match &node.event {
            Event::Start(start) | Event::Empty(start) => {
                let mut tag = BytesStart::new(local_of(start.name().as_ref()).to_owned());
                for attr in start.attributes().with_checks(false).flatten() {
                    if attr.key.as_namespace_binding().is_none() {
                        tag.push_attribute(raw(attr.key.as_ref(), attr.value.as_ref()));
                    }
                }
                if matches!(node.event, Event::Start(_)) {
                    Event::Start(tag)
                } else {
                    Event::Empty(tag)
                }
            }
            Event::End(end) => Event::End(BytesEnd::new(local_of(end.name().as_ref()).to_owned())),
            other => other.clone(),
        };
        let _ = writer.write_event(event);
    }
    String::from_utf8(writer.into_inner()).unwrap_or_default()
}

fn rename_node(node: Node, local: &str) -> Node {
    let Event::Start(start) = &node.event else {
        return node;
    };
    let mut tag = BytesStart::new(renamed(start.name().as_ref(), local));
    tag.extend_attributes(start.attributes().with_checks(false).flatten());
    Node {
        ns: node.ns,
        event: Event::Start(tag),
    }
}

/// An attribute whose value is written as it is (already escaped).
fn raw<'v>(key: &'v str, value: &'v str) -> Attribute<'v> {
    Attribute {
        key: QName(key),
        value: Cow::Borrowed(value),
    }
}

fn end_event(name: &str) -> Event<'static> {
    Event::End(BytesEnd::new(name.to_owned()))
}

/// `qname` with its local part replaced, keeping its prefix.
fn renamed(qname: &str, local: &str) -> String {
    match qname.split_once(':') {
        Some((prefix, _)) => format!("{prefix}:{local}"),
        None => local.to_owned(),
    }
}

fn local_of(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, local)| local)
}

fn bound<'n>(ns: &'n ResolveResult<'_>) -> Option<&'n str> {
    match ns {
        ResolveResult::Bound(namespace) => Some(namespace.as_ref()),
        _ => None,
    }
}

/// RSS elements: in no namespace, RSS 1.0's, RSS 0.90's or Userland's (before or after
/// the rewrite).
fn is_rss_ns(ns: Option<&str>) -> bool {
    matches!(ns, None | Some(RSS10) | Some(RSS090)) || ns.is_some_and(|ns| USERLAND.contains(&ns))
}

/// Whether `start` declares `namespace` (as the default or for a prefix).
fn declares(start: &BytesStart, namespace: &str) -> bool {
    start
        .attributes()
        .with_checks(false)
        .flatten()
        .any(|attr| attr.key.as_namespace_binding().is_some() && attr.value.as_ref() == namespace)
}

/// The unescaped value of the attribute with local name `name`.
fn attribute(start: &BytesStart, name: &str) -> Option<String> {
    start
        .attributes()
        .with_checks(false)
        .flatten()
        .find(|attr| {
            local_of(attr.key.as_ref()) == name && attr.key.as_namespace_binding().is_none()
        })
        .map(|attr| {
            attr.normalized_value(XmlVersion::Implicit1_0)
                .map(Cow::into_owned)
                .unwrap_or_else(|_| attr.value.clone().into_owned())
        })
}

pub fn is_http_url(text: &str) -> bool {
    let lower = text
        .trim_start()
        .get(..8)
        .unwrap_or(text)
        .to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tombstones_are_read_in_their_namespace_only() {
        let feed = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:at="http://purl.org/atompub/tombstones/1.0" xmlns:x="urn:other">
            <at:deleted-entry ref="tag:a,2026:1" when="2026-11-20T10:00:00Z"/>
            <at:deleted-entry ref=" tag:a,2026:2 "><at:comment>gone</at:comment></at:deleted-entry>
            <at:deleted-entry ref="tag:a,2026:1"/>
            <x:deleted-entry ref="tag:a,2026:3"/>
            <deleted-entry ref="tag:a,2026:4"/>
            <entry><id>tag:a,2026:5</id></entry></feed>"#;
        assert_eq!(deleted_entries(feed), ["tag:a,2026:1", "tag:a,2026:2"]);
        assert!(deleted_entries("<feed><entry/></feed>").is_empty());
    }

    #[track_caller]
    fn check_lift(input: &str, dialect: Dialect, plan: Plan, expected: &str) {
        let lifted = lift(input, dialect, plan).unwrap();
        assert_eq!(String::from_utf8(lifted).unwrap(), expected);
    }

    #[test]
    fn sniff_tells_dialects_apart() {
        let cases = [
            (
                r#"<feed xmlns="http://purl.org/atom/ns#"/>"#,
                Dialect::Atom03,
            ),
            (
                r#"<feed xmlns="http://www.w3.org/2005/Atom"/>"#,
                Dialect::Atom,
            ),
            (r#"<rss version="2.0"/>"#, Dialect::Rss),
            (
                r#"<rss xmlns="http://backend.userland.com/rss2"/>"#,
                Dialect::RssUserland,
            ),
            (
                r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"/>"#,
                Dialect::Rdf,
            ),
            (
                r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/"/>"#,
                Dialect::Rdf090,
            ),
            ("<html/>", Dialect::Other),
        ];
        for (input, dialect) in cases {
            assert_eq!(sniff(input).unwrap().dialect, dialect, "{input}");
        }
        let with_entities = r#"<!DOCTYPE rss [<!ENTITY id "x">]><rss/>"#;
        assert!(sniff(with_entities).unwrap().has_doctype);
    }

    #[test]
    fn atom03_names_and_modes_become_atom10() {
        check_lift(
            r#"<feed xmlns="http://purl.org/atom/ns#"><tagline>t</tagline><entry><issued>2004-01-01T00:00:00Z</issued><created>2003-01-01T00:00:00Z</created><title mode="escaped" type="text/html">&lt;b&gt;x&lt;/b&gt;</title><content type="text/plain" mode="base64">aGVsbG8=</content></entry></feed>"#,
            Dialect::Atom03,
            Plan {
                atom03: true,
                ..Plan::default()
            },
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><subtitle type="text">t</subtitle><entry><published>2004-01-01T00:00:00Z</published><title type="html">&lt;b&gt;x&lt;/b&gt;</title><content type="text">hello</content></entry></feed>"#,
        );
    }

    #[test]
    fn atom03_created_stands_in_for_a_missing_issued() {
        check_lift(
            r#"<feed xmlns="http://purl.org/atom/ns#"><entry><created>2003-01-01T00:00:00Z</created></entry></feed>"#,
            Dialect::Atom03,
            Plan {
                atom03: true,
                ..Plan::default()
            },
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><published>2003-01-01T00:00:00Z</published></entry></feed>"#,
        );
    }

    #[test]
    fn repaired_text_types_and_empty_titles() {
        check_lift(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><title type="">a</title><summary type="application/xhtml+xml"><div xmlns="http://www.w3.org/1999/xhtml">b</div></summary></entry><entry><title type="text"></title></entry></feed>"#,
            Dialect::Atom,
            Plan {
                repair_text: true,
                ..Plan::default()
            },
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><title type="text">a</title><summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">b</div></summary></entry><entry></entry></feed>"#,
        );
    }

    #[test]
    fn userland_and_netscape_namespaces_move() {
        check_lift(
            r#"<rss xmlns="http://backend.userland.com/rss2" version="2.0"><channel/></rss>"#,
            Dialect::RssUserland,
            Plan::default(),
            r#"<rss version="2.0"><channel/></rss>"#,
        );
        check_lift(
            r#"<RDF xmlns="http://my.netscape.com/rdf/simple/0.9/"/>"#,
            Dialect::Rdf090,
            Plan::default(),
            r#"<RDF xmlns="http://purl.org/rss/1.0/"/>"#,
        );
    }

    #[test]
    fn rss_item_fallbacks_fill_only_what_is_missing() {
        check_lift(
            r#"<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xhtml="http://www.w3.org/1999/xhtml"><channel><item><dc:title>T &amp; U</dc:title><guid>https://a.example/1</guid><xhtml:body><xhtml:p>hi</xhtml:p></xhtml:body><dcterms:issued>2004-01-01T00:00:00Z</dcterms:issued></item><item><title>kept</title><link>https://a.example/2</link><guid isPermaLink="false">https://a.example/x</guid></item></channel></rss>"#,
            Dialect::Rss,
            Plan {
                items: true,
                ..Plan::default()
            },
            r#"<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xhtml="http://www.w3.org/1999/xhtml"><channel><item><dc:title>T &amp; U</dc:title><guid>https://a.example/1</guid><xhtml:body><xhtml:p>hi</xhtml:p></xhtml:body><dcterms:issued>2004-01-01T00:00:00Z</dcterms:issued><title>T &amp; U</title><content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">&lt;p&gt;hi&lt;/p&gt;</content:encoded><dc:date xmlns:dc="http://purl.org/dc/elements/1.1/">2004-01-01T00:00:00Z</dc:date><link>https://a.example/1</link></item><item><title>kept</title><link>https://a.example/2</link><guid isPermaLink="false">https://a.example/x</guid></item></channel></rss>"#,
        );
    }

    #[test]
    fn rdf_item_without_link_gets_its_about() {
        let input = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><item rdf:about="https://a.example/1"><title>a</title></item><item rdf:about="https://a.example/2"><title>b</title><link>https://a.example/b</link></item></rdf:RDF>"#;
        check_lift(
            input,
            Dialect::Rdf,
            Plan {
                items: true,
                ..Plan::default()
            },
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><item rdf:about="https://a.example/1"><title>a</title><link>https://a.example/1</link></item><item rdf:about="https://a.example/2"><title>b</title><link>https://a.example/b</link></item></rdf:RDF>"#,
        );
    }

    #[test]
    fn declared_entities_expand_in_text_and_attributes() {
        check_lift(
            r#"<!DOCTYPE rss [<!ENTITY id "a&#38;b"><!ENTITY ext SYSTEM "http://x.invalid/e">]><rss><guid x="&id;">&id;-&ext;-&amp;</guid></rss>"#,
            Dialect::Rss,
            Plan {
                doctype: true,
                ..Plan::default()
            },
            r#"<rss><guid x="a&amp;b">a&amp;b-&ext;-&amp;</guid></rss>"#,
        );
    }

    #[test]
    fn nested_entities_never_expand_twice() {
        let laughs = r#"<!DOCTYPE rss [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;">]><rss>&b;</rss>"#;
        check_lift(
            laughs,
            Dialect::Rss,
            Plan {
                doctype: true,
                ..Plan::default()
            },
            "<rss>&amp;a;&amp;a;&amp;a;</rss>",
        );
    }

    #[track_caller]
    fn check_refused(document: &str) {
        let plan = Plan {
            doctype: true,
            ..Plan::default()
        };
        let err = lift(document, Dialect::Rss, plan).unwrap_err();
        assert!(matches!(err, LiftError::Entities(_)), "{err:?}");
    }

    #[test]
    fn quadratic_blowup_is_refused() {
        let value = "x".repeat(MAX_ENTITY_BYTES);
        let refs = "&big;".repeat(MAX_EXPANDED_BYTES / MAX_ENTITY_BYTES + 1);
        check_refused(&format!(
            r#"<!DOCTYPE rss [<!ENTITY big "{value}">]><rss>{refs}</rss>"#
        ));
    }

    #[test]
    fn too_many_entities_are_refused() {
        let decls: String = (0..=MAX_ENTITIES)
            .map(|idx| format!(r#"<!ENTITY e{idx} "v">"#))
            .collect();
        check_refused(&format!("<!DOCTYPE rss [{decls}]><rss/>"));
    }

    #[test]
    fn split_finds_entries_at_their_depth() {
        let doc =
            "<rss><channel><title>t</title><item><title>a</title></item><item/></channel></rss>";
        let split = split(doc, Dialect::Rss).unwrap();
        assert_eq!(split.entries.len(), 2);
        assert_eq!(
            split.document(doc, Some(1)),
            "<rss><channel><title>t</title><item/></channel></rss>"
        );
        assert_eq!(
            split.document(doc, None),
            "<rss><channel><title>t</title></channel></rss>"
        );
    }
}
