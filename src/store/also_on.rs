//! One card per post ("also on"): the items of one user that are the same post on several
//! services form a group, computed when items are written. The main item of a group has
//! `items.main_id` NULL and each copy names it; streams show mains only, with links to the
//! copies, and a card gathers the likes and comments of the whole group.
//!
//! Two visible items of the same user are the same post when
//! - they come from different sources and have the same canonical URL (`dedup_key`
//!   `url:…`; within one source, two entries with one link are two posts about it), or
//! - they come from different sources, were published within [`WINDOW_MS`] of each other,
//!   and one links to the other's canonical URL (a copy linking back to the original, an
//!   original's `u-syndication` links; the sanitizer keeps no classes, so any link
//!   counts, and the window keeps a reference to an older post of one's own apart), or
//! - they come from different sources, were published within [`WINDOW_MS`] of each other,
//!   and the normalized text ([`text_key`]) of one is the other's or its beginning (a
//!   copy that has only the first paragraph, or was cut short).
//!
//! A group is the closure of these pairs, whatever order its items arrived in. Its main
//! is the earliest item of the owner's own site (a `feed` source), else the earliest
//! item; equal dates go to the lowest id. So the choice depends on the group alone.
//!
//! Hidden and tombstoned items and the items of removed sources belong to no group: when
//! a main is hidden, the next copy becomes the main ([`leave`]); when it is shown again,
//! it rejoins and, by the rule above, becomes the main again ([`regroup`]).

use std::collections::{BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension, Transaction, named_params};
use url::Url;

use super::StoreError;
use crate::model::{ItemId, UserId};

/// How far apart in time two items may be published and still be the same post by link
/// or by text (the same canonical URL needs no window).
pub const WINDOW_MS: i64 = 48 * 3600 * 1000;
/// The source kind of the owner's own site: its item is the main one of a group.
pub const OWN_SITE_KIND: &str = "feed";
/// How many characters of normalized text are compared.
const TEXT_CHARS: usize = 280;
/// Shorter normalized texts say nothing ("lol" twice is not one post).
/// Also the prefix length of the `items_user_text` index (migration 0011) and its query.
const MIN_TEXT_CHARS: usize = 30;
/// The most links of one item remembered in `item_links`.
const MAX_LINKS: usize = 32;

/// Another place the same post is, as a card links to it ("also on Mastodon").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlsoOn {
    pub id: ItemId,
    /// The copy's own address upstream, if it has one.
    pub url: Option<String>,
    /// Its source's label (`Item::source_label`: the title, else the kind).
    pub label: String,
    pub source_kind: String,
}

/// The key of an item's text for the "same text" rule (its normalized text): `None` when
/// the text is too short to tell.
pub fn text_key(title: &str, summary_text: &str) -> Option<String> {
    let text = if summary_text.trim().is_empty() {
        title
    } else {
        summary_text
    };
    let normalized = normalize_text(text);
    (normalized.chars().count() >= MIN_TEXT_CHARS).then_some(normalized)
}

/// Lowercased, links left out, every run of non-alphanumeric characters one space, the
/// first [`TEXT_CHARS`] characters.
fn normalize_text(text: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    for word in text.split_whitespace() {
        let lower = word.to_lowercase();
        if lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("www.")
        {
            continue;
        }
        for piece in lower.split(|c: char| !c.is_alphanumeric()) {
            if piece.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
                n += 1;
            }
            for c in piece.chars() {
                out.push(c);
                n += 1;
            }
            if n >= TEXT_CHARS {
                return out.chars().take(TEXT_CHARS).collect();
            }
        }
    }
    out
}

/// The canonical http(s) links of sanitized HTML (its `href="…"` attributes), at most
/// [`MAX_LINKS`], without duplicates.
pub fn links(html: &str) -> Vec<String> {
    let mut found = BTreeSet::new();
    let mut rest = html;
    while let Some(at) = rest.find("href=\"") {
        rest = &rest[at + 6..];
        let Some(end) = rest.find('"') else { break };
        let raw = rest[..end].replace("&amp;", "&");
        rest = &rest[end..];
        if let Ok(url) = Url::parse(&raw)
            && matches!(url.scheme(), "http" | "https")
        {
            found.insert(crate::canonical::canonical_url(&url).to_string());
            if found.len() >= MAX_LINKS {
                break;
            }
        }
    }
    found.into_iter().collect()
}

/// Remembers the text key and links of items just written (new or changed), then puts
/// each in its group. Runs inside the poll's transaction.
pub fn index_and_regroup(
    tx: &Transaction<'_>,
    user: UserId,
    ids: &[ItemId],
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut read =
        tx.prepare_cached("SELECT title, summary_text, content_html FROM items WHERE id = :id")?;
    let mut set_key = tx.prepare_cached("UPDATE items SET text_key = :key WHERE id = :id")?;
    let mut clear_links = tx.prepare_cached("DELETE FROM item_links WHERE item_id = :id")?;
    let mut add_link = tx.prepare_cached(
        "INSERT OR IGNORE INTO item_links (user_id, url, item_id) VALUES (:user, :url, :id)",
    )?;
    for id in ids {
        let Some((title, summary, html)) = read
            .query_row(named_params! { ":id": id.0 }, |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .optional()?
        else {
            continue;
        };
        set_key.execute(named_params! { ":id": id.0, ":key": text_key(&title, &summary) })?;
        clear_links.execute(named_params! { ":id": id.0 })?;
        for url in links(&html) {
            add_link.execute(named_params! { ":user": user.0, ":url": url, ":id": id.0 })?;
        }
    }
    for id in ids {
        regroup(tx, *id)?;
    }
    Ok(())
}

/// What grouping reads of an item.
struct Member {
    id: i64,
    user_id: i64,
    source_id: i64,
    own_site: bool,
    published_at: i64,
    main_id: Option<i64>,
    /// Visible, and its source not removed.
    groupable: bool,
    dedup_key: String,
    text_key: Option<String>,
}

fn member(conn: &Connection, id: i64) -> Result<Option<Member>, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT i.id, i.user_id, i.source_id, s.kind = :own, i.published_at, i.main_id,
                i.hidden = 0 AND s.deleted_at IS NULL, i.dedup_key, i.text_key
             FROM items i JOIN sources s ON s.id = i.source_id WHERE i.id = :id",
        )?
        .query_row(named_params! { ":id": id, ":own": OWN_SITE_KIND }, |row| {
            Ok(Member {
                id: row.get(0)?,
                user_id: row.get(1)?,
                source_id: row.get(2)?,
                own_site: row.get(3)?,
                published_at: row.get(4)?,
                main_id: row.get(5)?,
                groupable: row.get(6)?,
                dedup_key: row.get(7)?,
                text_key: row.get(8)?,
            })
        })
        .optional()?;
    Ok(found)
}

/// The ids of the visible items that are the same post as `item` by one of the rules.
fn matches(tx: &Transaction<'_>, item: &Member) -> Result<Vec<i64>, StoreError> {
    let mut found = BTreeSet::new();
    let window = named_params! {
        ":user": item.user_id,
        ":id": item.id,
        ":source": item.source_id,
        ":from": item.published_at - WINDOW_MS,
        ":to": item.published_at + WINDOW_MS,
    };
    // Every candidate is visible and its source is not removed.
    const GROUPABLE: &str = "i.hidden = 0 AND i.id != :id AND EXISTS (
        SELECT 1 FROM sources s WHERE s.id = i.source_id AND s.deleted_at IS NULL)";
    if item.dedup_key.starts_with("url:") {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT i.id FROM items i
             WHERE i.user_id = :user AND i.dedup_key = :key AND i.source_id != :source
               AND {GROUPABLE}"
        ))?;
        let rows = stmt.query_map(
            named_params! {
                ":user": item.user_id,
                ":key": item.dedup_key,
                ":id": item.id,
                ":source": item.source_id,
            },
            |row| row.get::<_, i64>(0),
        )?;
        for row in rows {
            found.insert(row?);
        }
        // Items that link to this one's canonical URL.
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT i.id FROM item_links l JOIN items i ON i.id = l.item_id
             WHERE l.user_id = :user AND l.url = :url AND i.source_id != :source
               AND i.published_at BETWEEN :from AND :to AND {GROUPABLE}"
        ))?;
        let url = &item.dedup_key["url:".len()..];
        let rows = stmt.query_map(
            [window, named_params! { ":url": url }].concat().as_slice(),
            |row| row.get::<_, i64>(0),
        )?;
        for row in rows {
            found.insert(row?);
        }
    }
    // Items whose canonical URL this one links to.
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT i.id FROM item_links l JOIN items i
            ON i.user_id = l.user_id AND i.dedup_key = 'url:' || l.url
         WHERE l.item_id = :id AND l.user_id = :user AND i.source_id != :source
           AND i.published_at BETWEEN :from AND :to AND {GROUPABLE}"
    ))?;
    let rows = stmt.query_map(window, |row| row.get::<_, i64>(0))?;
    for row in rows {
        found.insert(row?);
    }
    if let Some(key) = &item.text_key {
        let mut stmt = tx.prepare_cached(&format!(
            // `substr(…, 1, 30)` is the expression of the `items_user_text` index (30 =
            // MIN_TEXT_CHARS): only texts that share their start are read.
            "SELECT i.id FROM items i
             WHERE i.user_id = :user AND i.text_key IS NOT NULL
               AND substr(i.text_key, 1, 30) = substr(:key, 1, 30)
               AND i.published_at BETWEEN :from AND :to AND i.source_id != :source
               AND (substr(i.text_key, 1, length(:key)) = :key
                    OR substr(:key, 1, length(i.text_key)) = i.text_key)
               AND {GROUPABLE}"
        ))?;
        let rows = stmt.query_map(
            [window, named_params! { ":key": key }].concat().as_slice(),
            |row| row.get::<_, i64>(0),
        )?;
        for row in rows {
            found.insert(row?);
        }
    }
    Ok(found.into_iter().collect())
}

/// The ids of the group whose main is `main` (the main first).
fn group_of(conn: &Connection, main: i64) -> Result<Vec<i64>, StoreError> {
    let mut ids = vec![main];
    let mut stmt = conn.prepare_cached("SELECT id FROM items WHERE main_id = :main ORDER BY id")?;
    let rows = stmt.query_map(named_params! { ":main": main }, |row| row.get::<_, i64>(0))?;
    for row in rows {
        ids.push(row?);
    }
    Ok(ids)
}

/// Puts `item` in its group: the union of its own group and the groups of every item it
/// matches, with the main chosen again. An item that may not be grouped (hidden, its
/// source removed) leaves its group instead.
pub fn regroup(tx: &Transaction<'_>, item: ItemId) -> Result<(), StoreError> {
    let Some(me) = member(tx, item.0)? else {
        return Ok(());
    };
    if !me.groupable {
        return leave(tx, item);
    }
    let mut ids: BTreeSet<i64> = BTreeSet::new();
    ids.extend(group_of(tx, me.main_id.unwrap_or(me.id))?);
    for other in matches(tx, &me)? {
        let main = match member(tx, other)? {
            Some(found) => found.main_id.unwrap_or(found.id),
            None => continue,
        };
        ids.extend(group_of(tx, main)?);
    }
    let mut members = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(found) = member(tx, id)?
            && found.groupable
        {
            members.push(found);
        }
    }
    assign(tx, &members)
}

/// Takes `item` out of its group (it was hidden, tombstoned or its source removed): it
/// becomes a group of its own, and the rest of its group gets its main chosen again.
pub fn leave(tx: &Transaction<'_>, item: ItemId) -> Result<(), StoreError> {
    let Some(me) = member(tx, item.0)? else {
        return Ok(());
    };
    let rest = group_of(tx, me.main_id.unwrap_or(me.id))?;
    tx.prepare_cached("UPDATE items SET main_id = NULL WHERE id = :id")?
        .execute(named_params! { ":id": me.id })?;
    let mut members = Vec::new();
    for id in rest.into_iter().filter(|id| *id != me.id) {
        if let Some(found) = member(tx, id)? {
            if found.groupable {
                members.push(found);
            } else {
                tx.prepare_cached("UPDATE items SET main_id = NULL WHERE id = :id")?
                    .execute(named_params! { ":id": found.id })?;
            }
        }
    }
    assign(tx, &members)
}

/// Every item of a removed source leaves its group.
pub fn leave_source(
    tx: &Transaction<'_>,
    source: crate::model::SourceId,
) -> Result<(), StoreError> {
    let ids = tx
        .prepare_cached(
            "SELECT i.id FROM items i WHERE i.source_id = :source
               AND (i.main_id IS NOT NULL OR EXISTS (SELECT 1 FROM items c WHERE c.main_id = i.id))",
        )?
        .query_map(named_params! { ":source": source.0 }, |row| row.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for id in ids {
        leave(tx, ItemId(id))?;
    }
    Ok(())
}

/// Chooses the main of `members` (the owner's own site first, then the earliest, then the
/// lowest id) and points every other member at it.
fn assign(tx: &Transaction<'_>, members: &[Member]) -> Result<(), StoreError> {
    let Some(main) = members
        .iter()
        .min_by_key(|m| (!m.own_site, m.published_at, m.id))
    else {
        return Ok(());
    };
    let mut set = tx.prepare_cached("UPDATE items SET main_id = :main WHERE id = :id")?;
    for m in members {
        let to = (m.id != main.id).then_some(main.id);
        if m.main_id != to {
            set.execute(named_params! { ":id": m.id, ":main": to })?;
        }
    }
    Ok(())
}

/// For each of `items`, the other visible members of its group: the main first, then the
/// copies oldest first; in one query whatever the number of items.
pub fn for_items(
    conn: &Connection,
    items: &[ItemId],
) -> Result<HashMap<ItemId, Vec<AlsoOn>>, StoreError> {
    let mut out: HashMap<ItemId, Vec<AlsoOn>> = HashMap::new();
    if items.is_empty() {
        return Ok(out);
    }
    let ids = serde_json::to_string(&items.iter().map(|id| id.0).collect::<Vec<_>>())
        .map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let mut stmt = conn.prepare_cached(&format!(
        "WITH {GROUPS}
         SELECT g.id, o.id, o.url, coalesce(nullif(trim(s.title), ''), s.kind), s.kind
         FROM g JOIN items o ON o.id = g.member JOIN sources s ON s.id = o.source_id
         WHERE o.id != g.id AND o.hidden = 0 AND s.deleted_at IS NULL
         ORDER BY g.id, o.main_id IS NOT NULL, o.published_at, o.id"
    ))?;
    let mut rows = stmt.query(named_params! { ":ids": ids })?;
    while let Some(row) = rows.next()? {
        out.entry(ItemId(row.get(0)?)).or_default().push(AlsoOn {
            id: ItemId(row.get(1)?),
            // Only a web address is a link (stored URLs are http(s) already).
            url: row
                .get::<_, Option<String>>(2)?
                .filter(|url| url.starts_with("https://") || url.starts_with("http://")),
            label: row.get(3)?,
            source_kind: row.get(4)?,
        });
    }
    Ok(out)
}

/// A common table `g(id, member)`: for each id of the JSON array `:ids`, every member of
/// its group (itself included). Visible items only are grouped, so a hidden item's group
/// is itself.
pub const GROUPS: &str = "p(id, root) AS (
        SELECT i.id, coalesce(i.main_id, i.id) FROM items i
        WHERE i.id IN (SELECT value FROM json_each(:ids))),
    g(id, member) AS (
        SELECT id, id FROM p
        UNION SELECT id, root FROM p
        UNION SELECT p.id, c.id FROM p JOIN items c ON c.main_id = p.root)";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ItemKind, NewItem, SafeHtml, SourceId};
    use crate::store::items::{StreamQuery, stream_page, tombstone, upsert};
    use crate::store::tests::{temp_store, user_with_feed};
    use crate::store::{Store, social, sources};
    use chrono::{DateTime, Duration, TimeZone, Utc};

    const TEXT: &str = "Went kayaking on the river today, and the rapids were kind to us.";

    /// A user with a blog (`feed`), a Mastodon-like (`activitypub`) and a Bluesky source.
    fn three_services(store: &Store, name: &str) -> (UserId, [SourceId; 3]) {
        let (user, blog) = user_with_feed(store, name);
        let others = store
            .write_blocking(|tx| {
                let mut ids = Vec::new();
                for (kind, title) in [("activitypub", "Mastodon"), ("bluesky", "Bluesky")] {
                    let params = serde_json::json!({ "who": format!("{name}-{kind}") });
                    ids.push(sources::insert(
                        tx,
                        &sources::NewSource {
                            user_id: user,
                            kind,
                            params: &params,
                            title,
                            schedule: "",
                        },
                        Utc::now(),
                    )?);
                }
                Ok(ids)
            })
            .unwrap();
        (user, [blog, others[0], others[1]])
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn post(id: &str, url: &str, html: &str, text: &str, published: DateTime<Utc>) -> NewItem {
        let url = url::Url::parse(url).unwrap();
        NewItem {
            external_id: id.into(),
            dedup_key: format!("url:{url}"),
            canonical_url: Some(url.clone()),
            url: Some(url),
            title: String::new(),
            author_name: None,
            author_url: None,
            content: SafeHtml::assume_sanitized(html.to_owned()),
            summary_text: text.into(),
            kind: ItemKind::Note,
            media: Vec::new(),
            tags: Vec::new(),
            in_reply_to: None,
            extra: serde_json::Map::new(),
            published_at: published,
            updated_at: None,
            content_hash: [id.len() as u8; 32],
        }
    }

    fn put(store: &Store, user: UserId, source: SourceId, item: NewItem) -> ItemId {
        store
            .write_blocking(|tx| upsert(tx, source, user, &[item], Utc::now()))
            .unwrap()
            .new_ids[0]
    }

    fn main_of(store: &Store, id: ItemId) -> Option<i64> {
        store
            .read_blocking(|conn| {
                Ok(
                    conn.query_row("SELECT main_id FROM items WHERE id = ?1", [id.0], |row| {
                        row.get(0)
                    })?,
                )
            })
            .unwrap()
    }

    fn stream(store: &Store, user: UserId, kind: Option<&str>) -> Vec<ItemId> {
        store
            .read_blocking(|conn| {
                stream_page(
                    conn,
                    &StreamQuery {
                        user: Some(user),
                        source_kind: kind.map(str::to_owned),
                        limit: 50,
                        ..Default::default()
                    },
                )
            })
            .unwrap()
            .items
            .iter()
            .map(|item| item.id)
            .collect()
    }

    /// The three copies of one post, by rule: (blog, mastodon, bluesky).
    fn copies(rule: &str, blog_at: i64, toot_at: i64, skeet_at: i64) -> [NewItem; 3] {
        let blog = "https://ana.example/2026/kayaking";
        let toot = "https://social.example/@ana/1";
        let skeet = "https://bsky.app/profile/ana.example/post/3k";
        match rule {
            "url" => [
                post("b", blog, "<p>x</p>", "A blog post", at(blog_at)),
                post("m", blog, "<p>y</p>", "Toot", at(toot_at)),
                post("s", blog, "<p>z</p>", "Skeet", at(skeet_at)),
            ],
            "link" => [
                post(
                    "b",
                    blog,
                    &format!(r#"<p>Long post.</p><a href="{toot}">Mastodon</a>"#),
                    "Long post about kayaking",
                    at(blog_at),
                ),
                post("m", toot, "<p>Toot</p>", "New post", at(toot_at)),
                post(
                    "s",
                    skeet,
                    &format!(r#"<p>New post: <a href="{blog}">{blog}</a></p>"#),
                    "New post",
                    at(skeet_at),
                ),
            ],
            _ => [
                post("b", blog, "<p>x</p>", TEXT, at(blog_at)),
                post(
                    "m",
                    toot,
                    "<p>y</p>",
                    &format!("{TEXT} {blog}"),
                    at(toot_at),
                ),
                post("s", skeet, "<p>z</p>", &TEXT.to_uppercase(), at(skeet_at)),
            ],
        }
    }

    #[test]
    fn three_services_collapse_by_each_rule_with_the_own_site_as_main() {
        for rule in ["url", "link", "text"] {
            let (_dir, store) = temp_store();
            let (user, sources) = three_services(&store, "ana");
            // The blog post is the latest, and still the main: it is the owner's own site.
            let [blog, toot, skeet] = copies(rule, 30, 0, 5);
            let toot = put(&store, user, sources[1], toot);
            let skeet = put(&store, user, sources[2], skeet);
            let blog = put(&store, user, sources[0], blog);
            assert_eq!(main_of(&store, blog), None, "{rule}");
            assert_eq!(main_of(&store, toot), Some(blog.0), "{rule}");
            assert_eq!(main_of(&store, skeet), Some(blog.0), "{rule}");
            assert_eq!(stream(&store, user, None), [blog], "{rule}");
            // A service's own stream keeps its copy.
            assert_eq!(stream(&store, user, Some("activitypub")), [toot], "{rule}");
            assert_eq!(stream(&store, user, Some("bluesky")), [skeet], "{rule}");
            let also = store
                .read_blocking(|conn| for_items(conn, &[blog, toot]))
                .unwrap();
            let labels: Vec<&str> = also[&blog].iter().map(|a| a.label.as_str()).collect();
            assert_eq!(labels, ["Mastodon", "Bluesky"], "{rule}");
            // A copy's card names the others, the main first.
            let ids: Vec<ItemId> = also[&toot].iter().map(|a| a.id).collect();
            assert_eq!(ids, [blog, skeet], "{rule}");
        }
    }

    #[test]
    fn without_an_own_site_the_earliest_is_main_whatever_the_arrival_order() {
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for rule in ["url", "link", "text"] {
            for order in orders {
                let (_dir, store) = temp_store();
                let (user, sources) = three_services(&store, "ana");
                // Mastodon and Bluesky only (the "blog" copy goes into a second Bluesky-like
                // source), published at the same minute: the lowest id of the earliest wins.
                let extra = store
                    .write_blocking(|tx| {
                        let params = serde_json::json!({ "who": "ana-2" });
                        sources::insert(
                            tx,
                            &sources::NewSource {
                                user_id: user,
                                kind: "github",
                                params: &params,
                                title: "",
                                schedule: "",
                            },
                            Utc::now(),
                        )
                    })
                    .unwrap();
                let items = copies(rule, 10, 0, 10);
                let homes = [extra, sources[1], sources[2]];
                let mut ids = [ItemId(0); 3];
                for n in order {
                    ids[n] = put(&store, user, homes[n], items[n].clone());
                }
                let mains: Vec<Option<i64>> = ids.iter().map(|id| main_of(&store, *id)).collect();
                assert_eq!(
                    mains,
                    [Some(ids[1].0), None, Some(ids[1].0)],
                    "{rule} {order:?}"
                );
                assert_eq!(stream(&store, user, None), [ids[1]], "{rule} {order:?}");
            }
        }
    }

    #[test]
    fn a_copy_with_the_first_part_of_the_text_is_the_same_post() {
        let (_dir, store) = temp_store();
        let (user, sources) = three_services(&store, "ana");
        let [blog, toot, skeet] = copies("text", 0, 5, 6);
        let blog = put(
            &store,
            user,
            sources[0],
            NewItem {
                summary_text: format!("{TEXT} Then we had lunch by the water."),
                ..blog
            },
        );
        let toot = put(
            &store,
            user,
            sources[1],
            NewItem {
                summary_text: "Went kayaking on the river today, and the rap…".into(),
                ..toot
            },
        );
        // Too short a beginning says nothing.
        let skeet = put(
            &store,
            user,
            sources[2],
            NewItem {
                summary_text: "Went kayaking!".into(),
                ..skeet
            },
        );
        assert_eq!(main_of(&store, toot), Some(blog.0));
        assert_eq!(main_of(&store, skeet), None);
        assert_eq!(stream(&store, user, None), [skeet, blog]);
    }

    #[test]
    fn the_migration_groups_items_stored_before_it_by_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            // Every migration before this one's (later ones run on open as well).
            let before = crate::store::MIGRATIONS
                .iter()
                .position(|(name, _)| *name == "0011_also_on")
                .expect("the migration is listed");
            for (_, sql) in &crate::store::MIGRATIONS[..before] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", before as i64)
                .unwrap();
            conn.execute_batch(
                "INSERT INTO users (id, name, password_hash, created_at)
                    VALUES (1, 'ana', 'x', 0), (2, 'bo', 'x', 0);
                 INSERT INTO sources (id, user_id, kind, params, next_poll_at, created_at)
                    VALUES (1, 1, 'activitypub', '{}', 0, 0), (2, 1, 'feed', '{}', 0, 0),
                           (3, 1, 'bluesky', '{}', 0, 0), (4, 2, 'bluesky', '{}', 0, 0);
                 INSERT INTO items (id, source_id, user_id, external_id, dedup_key, title,
                    content_html, summary_text, kind, published_at, fetched_at, bumped_at,
                    content_hash) VALUES
                    (1, 1, 1, 'a', 'url:https://x.example/1', '', '', '', 'note', 10, 0, 0, x'00'),
                    (2, 2, 1, 'b', 'url:https://x.example/1', '', '', '', 'note', 20, 0, 0, x'00'),
                    (3, 3, 1, 'c', 'url:https://x.example/1', '', '', '', 'note', 5, 0, 0, x'00'),
                    (4, 3, 1, 'd', 'url:https://x.example/2', '', '', '', 'note', 5, 0, 0, x'00'),
                    (5, 3, 1, 'e', 'url:https://x.example/2', '', '', '', 'note', 6, 0, 0, x'00'),
                    (6, 4, 2, 'f', 'url:https://x.example/1', '', '', '', 'note', 1, 0, 0, x'00');",
            )
            .unwrap();
        }
        let store = Store::open(&path, 1).unwrap();
        let mains: Vec<(i64, Option<i64>)> = store
            .read_blocking(|conn| {
                let mut stmt = conn.prepare("SELECT id, main_id FROM items ORDER BY id")?;
                let rows = stmt
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .unwrap();
        // The blog's item leads its group; one source's two items with one URL, and
        // another user's item, stay apart.
        assert_eq!(
            mains,
            [
                (1, Some(2)),
                (2, None),
                (3, Some(2)),
                (4, None),
                (5, None),
                (6, None)
            ]
        );
    }

    #[test]
    fn equal_dates_go_to_the_lowest_id() {
        let (_dir, store) = temp_store();
        let (user, sources) = three_services(&store, "ana");
        let [_, toot, skeet] = copies("text", 0, 0, 0);
        let skeet = put(&store, user, sources[2], skeet);
        let toot = put(&store, user, sources[1], toot);
        assert_eq!(main_of(&store, skeet), None);
        assert_eq!(main_of(&store, toot), Some(skeet.0));
    }

    #[test]
    fn forty_nine_hours_apart_or_other_people_are_not_grouped() {
        for rule in ["link", "text"] {
            let (_dir, store) = temp_store();
            let (ana, mine) = three_services(&store, "ana");
            let [blog, toot, _] = copies(rule, 0, 49 * 60, 0);
            let blog = put(&store, ana, mine[0], blog);
            let toot = put(&store, ana, mine[1], toot);
            assert_eq!(
                (main_of(&store, blog), main_of(&store, toot)),
                (None, None),
                "{rule}"
            );
            assert_eq!(stream(&store, ana, None).len(), 2, "{rule}");
        }
        let (_dir, store) = temp_store();
        let (ana, mine) = three_services(&store, "ana");
        let (bo, theirs) = three_services(&store, "bo");
        // Just inside the window they are.
        let [blog, toot, _] = copies("text", 0, 47 * 60, 0);
        let blog = put(&store, ana, mine[0], blog);
        let toot = put(&store, ana, mine[1], toot);
        assert_eq!(main_of(&store, toot), Some(blog.0));
        // The same text and URL by someone else is their own post.
        let [_, theirs_toot, _] = copies("url", 0, 47 * 60, 0);
        let other = put(&store, bo, theirs[1], theirs_toot);
        assert_eq!(main_of(&store, other), None);
        let [_, _, same_text] = copies("text", 0, 47 * 60, 47 * 60);
        let other = put(&store, bo, theirs[2], same_text);
        assert_eq!(main_of(&store, other), None);
        assert_eq!(main_of(&store, toot), Some(blog.0));
        assert_eq!(stream(&store, bo, None).len(), 2);
    }

    #[test]
    fn one_source_with_one_link_twice_is_two_posts() {
        let (_dir, store) = temp_store();
        let (user, sources) = three_services(&store, "ana");
        let [a, b, _] = copies("url", 0, 5, 0);
        let a = put(&store, user, sources[0], a);
        let b = put(&store, user, sources[0], b);
        assert_eq!((main_of(&store, a), main_of(&store, b)), (None, None));
        assert_eq!(stream(&store, user, None).len(), 2);
    }

    #[test]
    fn hiding_the_main_promotes_the_next_copy_and_showing_it_takes_it_back() {
        let (_dir, store) = temp_store();
        let (user, sources) = three_services(&store, "ana");
        let [blog, toot, skeet] = copies("text", 30, 0, 5);
        let blog = put(&store, user, sources[0], blog);
        let toot = put(&store, user, sources[1], toot);
        let skeet = put(&store, user, sources[2], skeet);
        store.write_blocking(|tx| social::hide(tx, blog)).unwrap();
        // The earliest copy is the main now; the hidden post is in no group.
        assert_eq!(main_of(&store, blog), None);
        assert_eq!(main_of(&store, toot), None);
        assert_eq!(main_of(&store, skeet), Some(toot.0));
        assert_eq!(stream(&store, user, None), [toot]);
        store
            .write_blocking(|tx| social::unhide(tx, blog).map(|_| ()))
            .unwrap();
        assert_eq!(main_of(&store, toot), Some(blog.0));
        assert_eq!(stream(&store, user, None), [blog]);
        // A tombstoned main and a removed source do the same.
        store
            .write_blocking(|tx| tombstone(tx, blog, Utc::now()))
            .unwrap();
        assert_eq!(stream(&store, user, None), [toot]);
        store
            .write_blocking(|tx| sources::remove(tx, sources[1], Utc::now()))
            .unwrap();
        assert_eq!(main_of(&store, skeet), None);
        assert_eq!(stream(&store, user, None), [skeet]);
    }

    #[test]
    fn likes_and_comments_of_the_copies_are_on_the_main() {
        let (_dir, store) = temp_store();
        let (user, sources) = three_services(&store, "ana");
        let [blog, toot, skeet] = copies("url", 30, 0, 5);
        let blog = put(&store, user, sources[0], blog);
        let toot = put(&store, user, sources[1], toot);
        let skeet = put(&store, user, sources[2], skeet);
        store
            .write_blocking(|tx| {
                social::add_comment(tx, toot, user, "on the toot", at(40))?;
                social::add_comment(tx, blog, user, "on the blog", at(41))?;
                social::like(tx, skeet, user, at(42))?;
                social::like(tx, toot, user, at(43))?;
                Ok(())
            })
            .unwrap();
        let (cards, comments, likers) = store
            .read_blocking(|conn| {
                Ok((
                    social::for_items(conn, &[blog], Some(user), 3, 3)?,
                    social::comments_of(conn, blog, None)?,
                    social::likers_of(conn, blog)?,
                ))
            })
            .unwrap();
        let card = &cards[&blog];
        let bodies: Vec<&str> = card.comments.iter().map(|c| c.body.as_str()).collect();
        assert_eq!(bodies, ["on the toot", "on the blog"]);
        assert_eq!(card.n_comments, 2);
        // One person who liked two copies is one like.
        assert_eq!((card.n_likes, card.liked_by_viewer), (1, true));
        assert_eq!(comments.len(), 2);
        assert_eq!(likers.len(), 1);
        // The likes and discussions pages find the main by a like or comment on a copy.
        let (liked, discussed) = store
            .read_blocking(|conn| {
                let page = |query: StreamQuery| {
                    stream_page(conn, &StreamQuery { limit: 10, ..query })
                        .map(|page| page.items.iter().map(|i| i.id).collect::<Vec<_>>())
                };
                Ok((
                    page(StreamQuery {
                        liked_by: Some(user),
                        ..Default::default()
                    })?,
                    page(StreamQuery {
                        commented_by: Some(user),
                        ..Default::default()
                    })?,
                ))
            })
            .unwrap();
        assert_eq!((liked, discussed), (vec![blog], vec![blog]));
    }

    #[test]
    fn text_keys_ignore_case_links_and_punctuation() {
        let a = text_key(
            "",
            "Went kayaking on the river today! https://blog.example/p/1",
        );
        let b = text_key("", "went   kayaking on the river today https://bsky.app/x");
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, text_key("", "Went climbing on the granite today!"));
        assert_eq!(text_key("", "lol"), None);
        assert_eq!(a.as_deref(), Some("went kayaking on the river today"));
        assert_eq!(
            text_key("A title that is quite long enough", ""),
            text_key("", "a title that is quite long enough")
        );
    }

    #[test]
    fn links_are_canonical_and_unique() {
        let html = r#"<p><a href="https://Blog.Example/p/1#top">x</a> <a href="https://blog.example/p/1">y</a> <a href="mailto:a@b">m</a> <a href="https://e.example/?a=1&amp;b=2">z</a></p>"#;
        assert_eq!(
            links(html),
            ["https://blog.example/p/1", "https://e.example/?a=1&b=2"]
        );
    }
}
