//! RSS 2.0 documents of a stream, written with the `rss` crate: `guid isPermaLink="false"`
//! carrying the Atom entry id, `pubDate` in RFC 822, and `atom:link` for self and paging.
//! Pure: no IO.

use std::collections::BTreeMap;

use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Enclosure, Guid, Item};

use super::uri::uri_text;
use super::{ATOM_NS, ExportItem, FeedMeta, entry_title, rfc822, xml_text};

pub fn rss(meta: &FeedMeta, entries: &[ExportItem]) -> Vec<u8> {
    let mut links = vec![atom_link("self", &meta.self_url)];
    for (rel, url) in [
        ("hub", &meta.hub),
        ("current", &meta.paging.current),
        ("prev-archive", &meta.paging.prev_archive),
        ("next-archive", &meta.paging.next_archive),
    ] {
        if let Some(url) = url {
            links.push(atom_link(rel, url));
        }
    }
    let mut extensions = ExtensionMap::new();
    extensions.insert(
        "atom".to_owned(),
        BTreeMap::from([("link".to_owned(), links)]),
    );
    let channel = Channel {
        title: clean(&meta.title),
        link: clean_uri(&meta.alternate_url),
        description: clean(&meta.title),
        last_build_date: Some(rfc822(meta.updated)),
        generator: Some("Tributary".to_owned()),
        items: entries.iter().map(|entry| item(meta, entry)).collect(),
        extensions,
        namespaces: BTreeMap::from([("atom".to_owned(), ATOM_NS.to_owned())]),
        ..Channel::default()
    };
    let mut bytes = channel
        .pretty_write_to(Vec::new(), b' ', 1)
        .expect("writing XML to a Vec cannot fail");
    bytes.push(b'\n');
    bytes
}

fn item(meta: &FeedMeta, entry: &ExportItem) -> Item {
    let item = &entry.item;
    let item_page = meta.site.item_page(item.id);
    let author = item
        .author_name
        .as_deref()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or(&item.user_name);
    // RSS allows one enclosure per item (RSS 2.0 spec, "<enclosure>"); the first wins.
    let enclosure = item.media.first().map(|media| Enclosure {
        url: clean_uri(media.url.as_str()),
        length: media.length.unwrap_or(0).to_string(),
        mime_type: media
            .media_type
            .as_deref()
            .map(clean)
            .unwrap_or_else(|| "application/octet-stream".to_owned()),
    });
    Item {
        title: Some(entry_title(item).into_owned()),
        link: Some(clean_uri(
            item.url.as_ref().map(|u| u.as_str()).unwrap_or(&item_page),
        )),
        // An empty description is left out rather than written empty.
        description: Some(clean(item.content.as_str())).filter(|html| !html.trim().is_empty()),
        categories: item
            .tags
            .iter()
            .filter(|tag| !tag.trim().is_empty())
            .map(|tag| Category {
                name: clean(tag),
                domain: None,
            })
            .collect(),
        comments: Some(clean_uri(&item_page)),
        enclosure,
        guid: Some(Guid {
            value: meta.site.item_tag(item.id),
            permalink: false,
        }),
        pub_date: Some(rfc822(item.published_at)),
        dublin_core_ext: Some(DublinCoreExtension {
            creators: vec![clean(author)],
            ..DublinCoreExtension::default()
        }),
        ..Item::default()
    }
}

/// An `atom:link`; every rel but `hub` names another RSS document.
fn atom_link(rel: &str, href: &str) -> Extension {
    let mut attrs = BTreeMap::from([
        ("rel".to_owned(), rel.to_owned()),
        ("href".to_owned(), clean_uri(href)),
    ]);
    if rel != "hub" {
        attrs.insert("type".to_owned(), "application/rss+xml".to_owned());
    }
    Extension {
        name: "atom:link".to_owned(),
        value: None,
        attrs,
        children: BTreeMap::new(),
    }
}

fn clean(text: &str) -> String {
    xml_text(text).into_owned()
}

/// A URL as RFC 3986 writes it, safe for XML.
fn clean_uri(url: &str) -> String {
    clean(&uri_text(url))
}
