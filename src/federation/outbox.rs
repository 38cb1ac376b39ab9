//! The outbox fan-out: items a poll stored or changed (queued in its own transaction by
//! `store::federation::queue_items`) become `Create`, `Update` or `Delete` activities,
//! each stored once with one delivery per follower inbox (shared inboxes once).
//! A `Create` of an item published more than `federation.deliver_max_age_hours` ago is
//! not sent: that is a new source's backlog or an import, not news.

use chrono::{TimeDelta, Utc};

use super::Federation;
use super::documents;
use crate::store::federation::{self as db, Verb};
use crate::store::{StoreError, items, social, users};

/// Queue entries turned into activities per transaction.
const BATCH: usize = 64;

impl Federation {
    /// Turns waiting outbox entries into activities and deliveries; answers how many
    /// deliveries were queued.
    pub async fn fan_out(&self) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let entries = self
                .inner
                .store
                .read(|conn| db::outbox_queue(conn, BATCH))
                .await?;
            if entries.is_empty() {
                return Ok(total);
            }
            let base = self.base_url();
            let max_age =
                TimeDelta::hours(self.inner.config.federation.deliver_max_age_hours as i64);
            let federation = self.clone();
            total += self
                .inner
                .store
                .write_quiet(move |tx| {
                    let now = Utc::now();
                    let mut n = 0;
                    for (entry, item_id, verb) in entries {
                        db::drop_outbox_entry(tx, entry)?;
                        let item = match items::get(tx, item_id) {
                            Ok(item) => item,
                            Err(StoreError::NotFound) => continue,
                            Err(err) => return Err(err),
                        };
                        if verb == Verb::Create && item.published_at < now - max_age {
                            continue;
                        }
                        if verb != Verb::Delete && !social::item_state(tx, item_id)?.is_public() {
                            continue;
                        }
                        if !db::settings(tx, item.user_id)?.enabled {
                            continue;
                        }
                        let owner = users::get(tx, item.user_id)?;
                        let activity = match verb {
                            Verb::Create => documents::create(
                                &documents::note(&item, &owner, &base),
                                &owner,
                                &base,
                            ),
                            Verb::Update => documents::update(
                                &documents::note(&item, &owner, &base),
                                &owner,
                                &base,
                                item.updated_at.unwrap_or(item.fetched_at),
                            ),
                            Verb::Delete => {
                                let former = if documents::is_article(&item) {
                                    "Article"
                                } else {
                                    "Note"
                                };
                                documents::delete(item.id, &owner, &base, former, now)
                            }
                        };
                        let uri = activity
                            .get("id")
                            .and_then(|id| id.as_str())
                            .unwrap_or_default()
                            .to_owned();
                        let inboxes = db::follower_inboxes(tx, item.user_id)?;
                        n += federation.queue_in(tx, item.user_id, &uri, &activity, &inboxes)?;
                    }
                    Ok(n)
                })
                .await?;
        }
    }
}

impl Federation {
    /// The owner of an item commented on it: when people elsewhere commented there too,
    /// the comment goes to them (and to the owner's followers) as a reply to the newest
    /// remote comment, so it joins their thread. Runs in the comment's own transaction;
    /// call [`Federation::wake`] after the commit. Answers the deliveries queued.
    pub fn owner_reply_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        item: &crate::model::Item,
        comment: crate::model::CommentId,
        body: &str,
        now: chrono::DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        if !db::settings(tx, item.user_id)?.enabled {
            return Ok(0);
        }
        let thread = db::remote_thread(tx, item.id)?;
        let Some((last_note, _, _)) = thread.last() else {
            return Ok(0);
        };
        let base = self.base_url();
        let actor = super::actor_uri(&base, &item.user_name);
        let note_id = format!("{base}/e/{}#c-{}", item.id, comment.0);
        let mut cc: Vec<String> = vec![format!("{actor}/followers")];
        let mut inboxes: Vec<String> = Vec::new();
        for (_, author, inbox) in &thread {
            if !cc.contains(author) {
                cc.push(author.clone());
            }
            if !inboxes.contains(inbox) {
                inboxes.push(inbox.clone());
            }
        }
        for inbox in db::follower_inboxes(tx, item.user_id)? {
            if !inboxes.contains(&inbox) {
                inboxes.push(inbox);
            }
        }
        let published = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let note = serde_json::json!({
            "id": note_id,
            "type": "Note",
            "attributedTo": actor,
            "inReplyTo": last_note,
            "content": crate::normalize::text::text_to_html(body).as_str(),
            "published": published,
            "url": note_id,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": cc,
        });
        let create = serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{note_id}-create"),
            "type": "Create",
            "actor": actor,
            "published": published,
            "to": note["to"],
            "cc": note["cc"],
            "object": note,
        });
        let uri = format!("{note_id}-create");
        self.queue_in(tx, item.user_id, &uri, &create, &inboxes)
    }
}
