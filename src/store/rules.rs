//! The `viewer_rules` and `source_rules` tables (migration 0021): a viewer's rules for
//! what their stream pages leave out, and a source owner's rules for what ingest skips.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::{StoreError, to_ms};
use crate::model::{SourceId, UserId};
use crate::rules::{MAX_RULES, SourceField, SourceMatcher, SourceOp, ViewerRule, ViewerRuleKind};

/// A viewer rule as its list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredViewerRule {
    pub id: i64,
    pub kind: ViewerRuleKind,
    pub value: String,
    /// The source's title or the person's name, for `source` and `person` rules.
    pub label: Option<String>,
}

/// A source rule as its list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSourceRule {
    pub id: i64,
    pub field: SourceField,
    pub op: SourceOp,
    pub pattern: String,
}

/// Adds a rule for `user`; adding one they already have changes nothing.
pub fn add_viewer_rule(
    tx: &Transaction<'_>,
    user: UserId,
    kind: ViewerRuleKind,
    value: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let n: i64 = tx
        .prepare_cached("SELECT count(*) FROM viewer_rules WHERE user_id = :user")?
        .query_row(named_params! { ":user": user.0 }, |row| row.get(0))?;
    if n as usize >= MAX_RULES {
        return Err(StoreError::Conflict(format!(
            "you have {MAX_RULES} rules already; delete one first"
        )));
    }
    tx.prepare_cached(
        "INSERT INTO viewer_rules (user_id, kind, value, created_at)
         VALUES (:user, :kind, :value, :now)
         ON CONFLICT (user_id, kind, value) DO NOTHING",
    )?
    .execute(named_params! {
        ":user": user.0,
        ":kind": kind.as_str(),
        ":value": value,
        ":now": to_ms(now),
    })?;
    Ok(())
}

/// Deletes one of `user`'s rules; `NotFound` when they have no such rule.
pub fn delete_viewer_rule(tx: &Transaction<'_>, user: UserId, id: i64) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM viewer_rules WHERE id = :id AND user_id = :user")?
        .execute(named_params! { ":id": id, ":user": user.0 })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// `user`'s rules, oldest first, with the labels of the sources and people they name.
pub fn viewer_rules(conn: &Connection, user: UserId) -> Result<Vec<StoredViewerRule>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.kind, r.value,
                CASE r.kind
                    WHEN 'source' THEN (SELECT CASE WHEN trim(s.title) = '' THEN s.kind
                                                    ELSE s.title END
                                        FROM sources s WHERE s.id = CAST(r.value AS INTEGER))
                    WHEN 'person' THEN (SELECT u.name FROM users u
                                        WHERE u.id = CAST(r.value AS INTEGER))
                END
         FROM viewer_rules r WHERE r.user_id = :user ORDER BY r.id",
    )?;
    let rows = stmt.query_map(named_params! { ":user": user.0 }, |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut rules = Vec::new();
    for row in rows {
        let (id, kind, value, label) = row?;
        if let Some(kind) = ViewerRuleKind::parse(&kind) {
            rules.push(StoredViewerRule {
                id,
                kind,
                value,
                label,
            });
        }
    }
    Ok(rules)
}

/// `user`'s rules, ready to match items.
pub fn viewer_matchers(conn: &Connection, user: UserId) -> Result<Vec<ViewerRule>, StoreError> {
    Ok(viewer_rules(conn, user)?
        .iter()
        .filter_map(|rule| ViewerRule::from_stored(rule.kind, &rule.value))
        .collect())
}

/// Adds a rule to `source` (already checked by `SourceMatcher::new`).
pub fn add_source_rule(
    tx: &Transaction<'_>,
    source: SourceId,
    field: SourceField,
    op: SourceOp,
    pattern: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let n: i64 = tx
        .prepare_cached("SELECT count(*) FROM source_rules WHERE source_id = :source")?
        .query_row(named_params! { ":source": source.0 }, |row| row.get(0))?;
    if n as usize >= MAX_RULES {
        return Err(StoreError::Conflict(format!(
            "this source has {MAX_RULES} rules already; delete one first"
        )));
    }
    tx.prepare_cached(
        "INSERT INTO source_rules (source_id, field, op, pattern, created_at)
         VALUES (:source, :field, :op, :pattern, :now)",
    )?
    .execute(named_params! {
        ":source": source.0,
        ":field": field.as_str(),
        ":op": op.as_str(),
        ":pattern": pattern,
        ":now": to_ms(now),
    })?;
    Ok(tx.last_insert_rowid())
}

/// Deletes a rule of `source`; `NotFound` when it has no such rule.
pub fn delete_source_rule(
    tx: &Transaction<'_>,
    source: SourceId,
    id: i64,
) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM source_rules WHERE id = :id AND source_id = :source")?
        .execute(named_params! { ":id": id, ":source": source.0 })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// `source`'s rules, oldest first.
pub fn source_rules(
    conn: &Connection,
    source: SourceId,
) -> Result<Vec<StoredSourceRule>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, field, op, pattern FROM source_rules WHERE source_id = :source ORDER BY id",
    )?;
    let rows = stmt.query_map(named_params! { ":source": source.0 }, |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    let mut rules = Vec::new();
    for row in rows {
        let (id, field, op, pattern) = row?;
        if let (Some(field), Some(op)) = (SourceField::parse(&field), SourceOp::parse(&op)) {
            rules.push(StoredSourceRule {
                id,
                field,
                op,
                pattern,
            });
        }
    }
    Ok(rules)
}

/// `source`'s rules compiled; a stored rule that no longer compiles is left out (each
/// was checked when it was added).
pub fn source_matchers(
    conn: &Connection,
    source: SourceId,
) -> Result<Vec<SourceMatcher>, StoreError> {
    Ok(source_rules(conn, source)?
        .iter()
        .filter_map(|rule| SourceMatcher::new(rule.field, rule.op, &rule.pattern).ok())
        .collect())
}

/// The id of the user named `name`, for a person rule.
pub fn user_id_named(conn: &Connection, name: &str) -> Result<Option<UserId>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM users WHERE name = :name")?
        .query_row(named_params! { ":name": name }, |row| row.get(0))
        .optional()?
        .map(UserId))
}
