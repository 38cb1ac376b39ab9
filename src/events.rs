//! The live-update hub: one broadcast channel of what just changed (new items, comments,
//! likes, finished polls), and the scope rules that decide which page's event stream hears
//! which event. No IO, no SQL: publishers tell it facts, subscribers filter in memory.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::model::{CommentId, ItemId, SourceId, UserId};

/// Events kept for a slow subscriber before it skips ahead (it misses those, and a page
/// only shows a count or reloads, so nothing is lost that a reload would not bring back).
pub const CHANNEL_CAPACITY: usize = 1024;

/// Something a page may want to show without a reload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A poll stored `n_new` new items for `user_id` (items of a live source: public).
    NewItems { user_id: UserId, n_new: usize },
    /// A comment was added to (or taken from) an item; `comment_id` names a new one.
    Comment {
        item_id: ItemId,
        owner_id: UserId,
        public: bool,
        comment_id: Option<CommentId>,
        n_comments: usize,
    },
    /// Somebody liked or unliked an item.
    Likes {
        item_id: ItemId,
        owner_id: UserId,
        public: bool,
        n_likes: usize,
    },
    /// A poll of a source ended; `result` in words ("ok: 2 new items", "failing: …").
    PollFinished {
        source_id: SourceId,
        owner_id: UserId,
        result: String,
    },
}

/// Which page a stream serves, resolved once when it opens (the friends stream's followees
/// are read then, so no event costs a query per subscriber).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `/{user}`: the user's new items, and comments and likes on the user's items.
    User(UserId),
    /// `/{user}/friends`: the same for the people the user follows.
    Friends(HashSet<UserId>),
    /// `/e/{id}`: comments and likes on the item.
    Item(ItemId),
    /// `/settings/sources/{id}`: its finished polls, for its owner only.
    Source(SourceId),
}

impl Scope {
    /// Whether `viewer` on this scope's page hears `event`. An event about an item that is
    /// not public reaches its owner only, and a finished poll reaches the source's owner
    /// only.
    pub fn admits(&self, event: &Event, viewer: Option<UserId>) -> bool {
        match event {
            Event::NewItems { user_id, .. } => match self {
                Scope::User(user) => user == user_id,
                Scope::Friends(followees) => followees.contains(user_id),
                Scope::Item(_) | Scope::Source(_) => false,
            },
            Event::Comment {
                item_id,
                owner_id,
                public,
                ..
            }
            | Event::Likes {
                item_id,
                owner_id,
                public,
                ..
            } => {
                if !*public && viewer != Some(*owner_id) {
                    return false;
                }
                match self {
                    Scope::User(user) => user == owner_id,
                    Scope::Friends(followees) => followees.contains(owner_id),
                    Scope::Item(item) => item == item_id,
                    Scope::Source(_) => false,
                }
            }
            Event::PollFinished {
                source_id,
                owner_id,
                ..
            } => *self == Scope::Source(*source_id) && viewer == Some(*owner_id),
        }
    }
}

/// What an event stream sends: the SSE event name and its JSON data.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Frame<'a> {
    Items {
        n_new: usize,
    },
    Comment {
        item: ItemId,
        comment: Option<CommentId>,
        n_comments: usize,
    },
    Likes {
        item: ItemId,
        n_likes: usize,
    },
    Poll {
        source: SourceId,
        result: &'a str,
    },
}

impl Event {
    /// The SSE event name (`items`, `comment`, `likes`, `poll`) and its data as JSON.
    pub fn frame(&self) -> (&'static str, String) {
        let (name, frame) = match self {
            Event::NewItems { n_new, .. } => ("items", Frame::Items { n_new: *n_new }),
            Event::Comment {
                item_id,
                comment_id,
                n_comments,
                ..
            } => (
                "comment",
                Frame::Comment {
                    item: *item_id,
                    comment: *comment_id,
                    n_comments: *n_comments,
                },
            ),
            Event::Likes {
                item_id, n_likes, ..
            } => (
                "likes",
                Frame::Likes {
                    item: *item_id,
                    n_likes: *n_likes,
                },
            ),
            Event::PollFinished {
                source_id, result, ..
            } => (
                "poll",
                Frame::Poll {
                    source: *source_id,
                    result,
                },
            ),
        };
        let data = serde_json::to_string(&frame).expect("frames are plain numbers and text");
        (name, data)
    }
}

/// The hub: cheap to clone, one channel for the process. Each open event stream holds one
/// receiver, dropped when the client goes away.
#[derive(Clone)]
pub struct Events {
    sender: broadcast::Sender<Arc<Event>>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            sender: broadcast::channel(CHANNEL_CAPACITY).0,
        }
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("n_subscribers", &self.n_subscribers())
            .finish()
    }
}

impl Events {
    /// Tells every open stream; nobody listening is not an error.
    pub fn publish(&self, event: Event) {
        tracing::debug!(?event, n_subscribers = self.n_subscribers(), "event");
        let _ = self.sender.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// Open subscriptions (event streams, and a "poll now" waiting for its poll).
    pub fn n_subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANA: UserId = UserId(1);
    const BO: UserId = UserId(2);

    fn comment(public: bool) -> Event {
        Event::Comment {
            item_id: ItemId(7),
            owner_id: ANA,
            public,
            comment_id: Some(CommentId(3)),
            n_comments: 1,
        }
    }

    #[track_caller]
    fn check(scope: Scope, event: &Event, viewer: Option<UserId>, expected: bool) {
        assert_eq!(scope.admits(event, viewer), expected, "{scope:?} {event:?}");
    }

    #[test]
    fn new_items_reach_the_user_and_followers_pages() {
        let event = Event::NewItems {
            user_id: ANA,
            n_new: 3,
        };
        check(Scope::User(ANA), &event, None, true);
        check(Scope::User(BO), &event, Some(BO), false);
        check(Scope::Friends([ANA].into()), &event, Some(BO), true);
        check(Scope::Friends([BO].into()), &event, Some(BO), false);
        check(Scope::Item(ItemId(7)), &event, Some(ANA), false);
    }

    #[test]
    fn public_comments_reach_everyone_on_the_item_and_owner_pages() {
        let event = comment(true);
        check(Scope::Item(ItemId(7)), &event, None, true);
        check(Scope::Item(ItemId(8)), &event, None, false);
        check(Scope::User(ANA), &event, Some(BO), true);
        check(Scope::Friends([ANA].into()), &event, Some(BO), true);
    }

    #[test]
    fn hidden_items_events_reach_only_their_owner() {
        let event = comment(false);
        check(Scope::Item(ItemId(7)), &event, None, false);
        check(Scope::Item(ItemId(7)), &event, Some(BO), false);
        check(Scope::User(ANA), &event, Some(BO), false);
        check(Scope::Item(ItemId(7)), &event, Some(ANA), true);
        check(Scope::User(ANA), &event, Some(ANA), true);
    }

    #[test]
    fn finished_polls_reach_only_the_sources_owner() {
        let event = Event::PollFinished {
            source_id: SourceId(5),
            owner_id: ANA,
            result: "ok".into(),
        };
        check(Scope::Source(SourceId(5)), &event, Some(ANA), true);
        check(Scope::Source(SourceId(5)), &event, Some(BO), false);
        check(Scope::Source(SourceId(5)), &event, None, false);
        check(Scope::Source(SourceId(6)), &event, Some(ANA), false);
        check(Scope::User(ANA), &event, Some(ANA), false);
    }

    #[test]
    fn frames_are_named_json() {
        assert_eq!(
            comment(true).frame(),
            (
                "comment",
                r#"{"item":7,"comment":3,"n_comments":1}"#.to_owned()
            )
        );
        let poll = Event::PollFinished {
            source_id: SourceId(5),
            owner_id: ANA,
            result: "failing: \"x\"".into(),
        };
        assert_eq!(
            poll.frame(),
            (
                "poll",
                r#"{"source":5,"result":"failing: \"x\""}"#.to_owned()
            )
        );
    }

    #[tokio::test]
    async fn subscribers_hear_published_events_and_leave_when_dropped() {
        let events = Events::default();
        assert_eq!(events.n_subscribers(), 0);
        let mut first = events.subscribe();
        let second = events.subscribe();
        assert_eq!(events.n_subscribers(), 2);
        events.publish(comment(true));
        assert_eq!(*first.recv().await.unwrap(), comment(true));
        drop(second);
        drop(first);
        assert_eq!(events.n_subscribers(), 0);
        // Publishing with nobody listening is fine.
        events.publish(comment(true));
    }
}
