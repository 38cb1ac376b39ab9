//! What a user (and the admin) decides about federation: on or off, followers approved
//! by hand, removing a follower, blocking an account or a domain. The settings pages
//! call these; each answer to a remote server (`Accept`, `Reject`) is queued in the
//! same transaction as the change.

use chrono::Utc;

use super::{Federation, FederationError, documents};
use crate::model::{ActorId, User, UserId};
use crate::store::federation::{self as db, Block, Follower, Settings};

impl Federation {
    pub async fn settings(&self, user: UserId) -> Result<Settings, FederationError> {
        Ok(self
            .inner
            .store
            .read(move |conn| db::settings(conn, user))
            .await?)
    }

    /// Stores the user's settings. Turning approval off accepts everyone waiting.
    pub async fn set_settings(
        &self,
        user: &User,
        settings: Settings,
    ) -> Result<(), FederationError> {
        let owner = user.clone();
        let base = self.base_url();
        let federation = self.clone();
        self.inner
            .store
            .write(move |tx| {
                db::set_settings(tx, owner.id, &settings)?;
                if !settings.approve_followers {
                    for follower in db::followers(tx, owner.id)? {
                        if !follower.accepted {
                            accept_in(tx, &federation, &owner, &base, &follower)?;
                        }
                    }
                }
                Ok(())
            })
            .await?;
        self.wake();
        Ok(())
    }

    /// The user's remote followers, newest first (pending ones too).
    pub async fn followers(&self, user: UserId) -> Result<Vec<Follower>, FederationError> {
        Ok(self
            .inner
            .store
            .read(move |conn| db::followers(conn, user))
            .await?)
    }

    /// Accepts a follower who waits for approval.
    pub async fn approve_follower(
        &self,
        user: &User,
        actor: ActorId,
    ) -> Result<bool, FederationError> {
        self.change_follower(user, actor, |tx, federation, owner, follower, base| {
            accept_in(tx, federation, owner, base, follower)
        })
        .await
    }

    /// Removes a follower (or refuses one who waits): they are told with a `Reject`.
    pub async fn remove_follower(
        &self,
        user: &User,
        actor: ActorId,
    ) -> Result<bool, FederationError> {
        self.change_follower(user, actor, |tx, federation, owner, follower, base| {
            if let Some(actor) = follower.actor.id {
                db::remove_follower(tx, owner.id, actor)?;
            }
            let reject = documents::reject(&follower.follow_uri, &follower.actor.uri, owner, base);
            let uri = reject["id"].as_str().unwrap_or_default().to_owned();
            federation.queue_in(
                tx,
                owner.id,
                &uri,
                &reject,
                std::slice::from_ref(&follower.actor.inbox),
            )?;
            Ok(())
        })
        .await
    }

    /// Runs `change` on the user's follower `actor` in one transaction and wakes the
    /// worker; false (and nothing done) when `actor` does not follow the user.
    async fn change_follower<F>(
        &self,
        user: &User,
        actor: ActorId,
        change: F,
    ) -> Result<bool, FederationError>
    where
        F: FnOnce(
                &rusqlite::Transaction<'_>,
                &Federation,
                &User,
                &Follower,
                &str,
            ) -> Result<(), crate::store::StoreError>
            + Send
            + 'static,
    {
        let id = user.id;
        let base = self.base_url();
        let federation = self.clone();
        let done = self
            .inner
            .store
            .write(move |tx| {
                let Some(follower) = db::followers(tx, id)?
                    .into_iter()
                    .find(|f| f.actor.id == Some(actor))
                else {
                    return Ok(false);
                };
                let owner = crate::store::users::get(tx, id)?;
                change(tx, &federation, &owner, &follower, &base)?;
                Ok(true)
            })
            .await?;
        self.wake();
        Ok(done)
    }

    /// A user's blocks (`Some`) or the instance's (`None`, the admin's list).
    pub async fn blocks(&self, user: Option<UserId>) -> Result<Vec<Block>, FederationError> {
        Ok(self
            .inner
            .store
            .read(move |conn| db::blocks(conn, user))
            .await?)
    }

    /// Blocks an account or a domain; its follows of the user (or of anyone, for the
    /// instance's list) end.
    pub async fn block(&self, user: Option<UserId>, block: Block) -> Result<(), FederationError> {
        self.inner
            .store
            .write(move |tx| db::add_block(tx, user, &block, Utc::now()))
            .await?;
        Ok(())
    }

    pub async fn unblock(&self, user: Option<UserId>, block: Block) -> Result<(), FederationError> {
        self.inner
            .store
            .write(move |tx| db::remove_block(tx, user, &block))
            .await?;
        Ok(())
    }
}

/// Accepts `follower` of `owner` and queues the `Accept` for its inbox.
fn accept_in(
    tx: &rusqlite::Transaction<'_>,
    federation: &Federation,
    owner: &User,
    base: &str,
    follower: &Follower,
) -> Result<(), crate::store::StoreError> {
    if let Some(actor) = follower.actor.id {
        db::accept_follower(tx, owner.id, actor)?;
    }
    let accept = documents::accept(&follower.follow_uri, &follower.actor.uri, owner, base);
    let uri = accept["id"].as_str().unwrap_or_default().to_owned();
    federation.queue_in(
        tx,
        owner.id,
        &uri,
        &accept,
        std::slice::from_ref(&follower.actor.inbox),
    )?;
    Ok(())
}
