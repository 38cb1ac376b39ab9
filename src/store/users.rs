//! The `users` table.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::{User, UserId};

pub struct NewUser<'a> {
    pub name: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub is_admin: bool,
}

pub fn create(
    tx: &Transaction<'_>,
    user: &NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<UserId, StoreError> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO users (name, display_name, password_hash, is_admin, created_at)
             VALUES (:name, :display_name, :password_hash, :is_admin, :now)
             ON CONFLICT (name) DO NOTHING",
        )?
        .execute(named_params! {
            ":name": user.name,
            ":display_name": user.display_name,
            ":password_hash": user.password_hash,
            ":is_admin": user.is_admin,
            ":now": to_ms(now),
        })?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "a user named `{}` already exists",
            user.name
        )));
    }
    Ok(UserId(tx.last_insert_rowid()))
}

const COLUMNS: &str = "id, name, display_name, is_admin, created_at";

pub fn by_name(conn: &Connection, name: &str) -> Result<User, StoreError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE name = :name"))?
        .query_row(named_params! { ":name": name }, from_row)
        .optional()?
        .ok_or(StoreError::NotFound)
}

pub fn get(conn: &Connection, id: UserId) -> Result<User, StoreError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = :id"))?
        .query_row(named_params! { ":id": id.0 }, from_row)
        .optional()?
        .ok_or(StoreError::NotFound)
}

pub fn list(conn: &Connection) -> Result<Vec<User>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users ORDER BY name"))?;
    let users = stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(users)
}

pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM users")?
        .query_row([], |row| row.get(0))?;
    Ok(n as u64)
}

/// What a profile page and the settings page show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub user: User,
    pub bio: String,
    pub avatar_url: Option<String>,
}

pub fn profile(conn: &Connection, name: &str) -> Result<Profile, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, bio, avatar_url FROM users WHERE name = :name"
    ))?
    .query_row(named_params! { ":name": name }, |row| {
        Ok(Profile {
            user: from_row(row)?,
            bio: row.get(5)?,
            avatar_url: row.get(6)?,
        })
    })
    .optional()?
    .ok_or(StoreError::NotFound)
}

/// The user and their password hash, for login.
pub fn credentials(conn: &Connection, name: &str) -> Result<(User, String), StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, password_hash FROM users WHERE name = :name"
    ))?
    .query_row(named_params! { ":name": name }, |row| {
        Ok((from_row(row)?, row.get(5)?))
    })
    .optional()?
    .ok_or(StoreError::NotFound)
}

pub fn update_profile(
    tx: &Transaction<'_>,
    id: UserId,
    display_name: &str,
    bio: &str,
    avatar_url: Option<&str>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE users SET display_name = :display_name, bio = :bio, avatar_url = :avatar_url
         WHERE id = :id",
    )?
    .execute(named_params! {
        ":id": id.0,
        ":display_name": display_name,
        ":bio": bio,
        ":avatar_url": avatar_url,
    })?;
    Ok(())
}

pub fn set_password(tx: &Transaction<'_>, id: UserId, hash: &str) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE users SET password_hash = :hash WHERE id = :id")?
        .execute(named_params! { ":id": id.0, ":hash": hash })?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId(row.get(0)?),
        name: row.get(1)?,
        display_name: row.get(2)?,
        is_admin: row.get(3)?,
        created_at: from_ms(row.get(4)?),
    })
}

/// What NodeInfo counts of the users whose federation is on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FederatedUsage {
    pub users: u64,
    /// Users with an item newer than 30 days.
    pub active_month: u64,
    /// Users with an item newer than 180 days.
    pub active_halfyear: u64,
    /// Their visible items.
    pub local_posts: u64,
}

pub fn federated_usage(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<FederatedUsage, StoreError> {
    let day_ms = 24 * 60 * 60 * 1000;
    let month = to_ms(now) - 30 * day_ms;
    let halfyear = to_ms(now) - 180 * day_ms;
    // One index probe per user (`items_user_bumped`), however many items there are.
    conn.prepare_cached(
        "SELECT
            (SELECT count(*) FROM users WHERE federation = 1),
            (SELECT count(*) FROM users u WHERE u.federation = 1 AND EXISTS (
                SELECT 1 FROM items i WHERE i.user_id = u.id AND i.bumped_at >= :month)),
            (SELECT count(*) FROM users u WHERE u.federation = 1 AND EXISTS (
                SELECT 1 FROM items i WHERE i.user_id = u.id AND i.bumped_at >= :halfyear)),
            (SELECT coalesce(sum(s.n_visible), 0) FROM sources s JOIN users u ON u.id = s.user_id
             WHERE s.deleted_at IS NULL AND u.federation = 1)",
    )?
    .query_row(
        named_params! { ":month": month, ":halfyear": halfyear },
        |row| {
            Ok(FederatedUsage {
                users: row.get::<_, i64>(0)? as u64,
                active_month: row.get::<_, i64>(1)? as u64,
                active_halfyear: row.get::<_, i64>(2)? as u64,
                local_posts: row.get::<_, i64>(3)? as u64,
            })
        },
    )
    .map_err(StoreError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    #[test]
    fn duplicate_name_is_a_conflict_regardless_of_case() {
        let (_dir, store) = temp_store();
        let user = |name| NewUser {
            name,
            display_name: "",
            password_hash: "x",
            is_admin: false,
        };
        store
            .write_blocking(|tx| create(tx, &user("ana"), Utc::now()))
            .unwrap();
        let err = store
            .write_blocking(|tx| create(tx, &user("Ana"), Utc::now()))
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        let found = store.read_blocking(|conn| by_name(conn, "ANA")).unwrap();
        assert_eq!(found.name, "ana");
    }
}
