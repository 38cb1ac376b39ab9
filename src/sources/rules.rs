//! A source's ingest rules through the sources service, for the source's settings page
//! and `tributary source rule` alike: the pattern is checked (a regex compiled under its
//! size limit) once here, and "apply to existing items" hides the stored items a new rule
//! matches, in the rule's own transaction.

use chrono::Utc;

use super::{Sources, SourcesError};
use crate::model::{SourceId, User};
use crate::rules::{SourceField, SourceMatcher, SourceOp};
use crate::store::rules::{self as rule_rows, StoredSourceRule};
use crate::store::sources as source_rows;
use crate::store::{items, social};

/// A new rule as a form or the command line gives it.
#[derive(Clone, Debug, Default)]
pub struct NewRule {
    pub field: String,
    pub op: String,
    pub pattern: String,
    /// Also hide the stored items it matches.
    pub apply_to_existing: bool,
}

/// What adding a rule did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleAdded {
    pub id: i64,
    /// Stored items hidden because the rule matches them.
    pub n_hidden: usize,
}

impl Sources {
    /// The rules of a source; `viewer` `None` is the operator (the command line).
    pub async fn rules(
        &self,
        viewer: Option<&User>,
        id: SourceId,
    ) -> Result<Vec<StoredSourceRule>, SourcesError> {
        self.rule_owner(viewer, id).await?;
        Ok(self
            .store
            .read(move |conn| rule_rows::source_rules(conn, id))
            .await?)
    }

    /// Adds a rule. A field, operator or pattern that cannot be used is a
    /// `Fields` error naming `field`, `op` or `pattern`.
    pub async fn add_rule(
        &self,
        viewer: Option<&User>,
        id: SourceId,
        rule: &NewRule,
    ) -> Result<RuleAdded, SourcesError> {
        self.rule_owner(viewer, id).await?;
        let mut errors = std::collections::BTreeMap::new();
        let field = SourceField::parse(rule.field.trim());
        if field.is_none() {
            errors.insert(
                "field",
                "Choose title, text, url, kind or author.".to_owned(),
            );
        }
        let op = SourceOp::parse(rule.op.trim());
        if op.is_none() {
            errors.insert("op", "Choose contains or regex.".to_owned());
        }
        let (Some(field), Some(op)) = (field, op) else {
            return Err(SourcesError::Fields(errors));
        };
        let matcher = SourceMatcher::new(field, op, &rule.pattern).map_err(|message| {
            SourcesError::Fields(std::collections::BTreeMap::from([("pattern", message)]))
        })?;
        let pattern = match op {
            SourceOp::Contains => rule.pattern.trim().to_owned(),
            SourceOp::Regex => rule.pattern.clone(),
        };
        let apply = rule.apply_to_existing;
        let now = Utc::now();
        let added = self
            .store
            .write(move |tx| {
                let rule_id = rule_rows::add_source_rule(tx, id, field, op, &pattern, now)?;
                let mut n_hidden = 0;
                if apply {
                    for item in items::of_source(tx, id)? {
                        if matcher.matches_item(&item) {
                            social::hide(tx, item.id)?;
                            n_hidden += 1;
                        }
                    }
                }
                Ok(RuleAdded {
                    id: rule_id,
                    n_hidden,
                })
            })
            .await?;
        Ok(added)
    }

    /// Deletes one rule of a source.
    pub async fn remove_rule(
        &self,
        viewer: Option<&User>,
        id: SourceId,
        rule: i64,
    ) -> Result<(), SourcesError> {
        self.rule_owner(viewer, id).await?;
        self.store
            .write(move |tx| rule_rows::delete_source_rule(tx, id, rule))
            .await?;
        Ok(())
    }

    /// The source exists, and `viewer` (when there is one) owns it.
    async fn rule_owner(&self, viewer: Option<&User>, id: SourceId) -> Result<(), SourcesError> {
        let source = self
            .store
            .read(move |conn| source_rows::get(conn, id))
            .await?;
        match viewer {
            Some(viewer) if viewer.id != source.user_id => Err(SourcesError::Forbidden),
            _ => Ok(()),
        }
    }
}
