//! `tributary source`: add, list, remove and test sources through the sources service,
//! with the same recognition, discovery, test fetch and duplicate check as the web's
//! sources page.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, anyhow};
use chrono::Utc;
use clap::Subcommand;
use connectors::PollState;

use crate::app;
use crate::config::Config;
use crate::model::{NewItem, SourceId};
use crate::normalize::text::truncate_chars;
use crate::normalize::{NormalizeCtx, normalize};
use crate::sources::{self, AddInput, NewRule, SourcesError};
use crate::users::Users;

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Add a source to a user's stream: a feed URL, a page that names its feed, or
    /// anything a connector recognizes. It is fetched once first, as the web's preview
    /// does: a page becomes the feed it names, and what cannot be read is refused.
    Add {
        user: String,
        input: String,
        /// Cron schedule (5 fields as in crontab); the configured default otherwise.
        #[arg(long)]
        schedule: Option<String>,
        /// The source's title; the feed's own title otherwise.
        #[arg(long)]
        title: Option<String>,
        /// Use this connector instead of recognizing the input.
        #[arg(long)]
        kind: Option<String>,
        /// A connector parameter, KEY=VALUE (repeatable), beside or instead of what the
        /// input gives: `include_replies=true`, or for the json connector (with --kind)
        /// `--param items=/posts --param title=/title`.
        #[arg(long, value_name = "KEY=VALUE", value_parser = param_pair)]
        param: Vec<(String, String)>,
        /// Store without fetching (no discovery, no test fetch), for a source that is
        /// offline now; the input is still recognized and checked.
        #[arg(long)]
        no_check: bool,
    },
    /// List sources, of one user or of everyone.
    List { user: Option<String> },
    /// Remove a source: its items leave the stream; comments and likes are kept.
    Remove { id: i64 },
    /// A source's ingest rules: items that match one are not stored.
    #[command(subcommand)]
    Rule(RuleCommand),
    /// Fetch (or read from a file), parse and normalize, print the items; store nothing.
    Test {
        input: String,
        /// One JSON object per item instead of a table.
        #[arg(long)]
        json: bool,
        /// Use this connector instead of recognizing the input.
        #[arg(long)]
        kind: Option<String>,
        /// A connector parameter, KEY=VALUE (repeatable; with --kind).
        #[arg(long, value_name = "KEY=VALUE", value_parser = param_pair)]
        param: Vec<(String, String)>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    /// Add a rule: items whose FIELD (title, text, url, kind, author) contains the text,
    /// or matches the regex with --regex, are skipped at ingest.
    Add {
        source: i64,
        field: String,
        pattern: String,
        /// PATTERN is a regular expression (the `regex` crate's syntax).
        #[arg(long)]
        regex: bool,
        /// Also hide the stored items the rule matches.
        #[arg(long)]
        apply_to_existing: bool,
    },
    /// List a source's rules.
    List { source: i64 },
    /// Delete a rule of a source.
    Rm { source: i64, rule: i64 },
}

pub async fn run(config: Config, command: SourceCommand) -> anyhow::Result<()> {
    match command {
        SourceCommand::Add {
            user,
            input,
            schedule,
            title,
            kind,
            param,
            no_check,
        } => {
            let services = app::services(&config)?;
            let owner = find_user(&services.users, &user).await?;
            let add = AddInput {
                input,
                kind,
                params: param,
                title: title.unwrap_or_default(),
                schedule: schedule.unwrap_or_default(),
                check: !no_check,
            };
            let added = services
                .sources
                .add_input(&owner, &add)
                .await
                .map_err(in_words)?;
            let shown = sources::shown_params(&added.params);
            match &added.preview {
                Some(preview) => println!(
                    "added source {} ({} {shown}) to {}'s stream: \"{}\", {} items now; a running \
                     `tributary serve` polls it within a minute, or run `tributary poll`",
                    added.id, added.kind, owner.name, preview.title, preview.n_items
                ),
                None => println!(
                    "added source {} ({} {shown}) to {}'s stream without fetching it; it is polled \
                     on the next pass of `tributary serve` or `tributary poll`",
                    added.id, added.kind, owner.name
                ),
            }
        }
        SourceCommand::List { user } => {
            let services = app::services(&config)?;
            let owner = match user {
                Some(name) => Some(find_user(&services.users, &name).await?.id),
                None => None,
            };
            let list = services
                .sources
                .operator_list(owner)
                .await
                .map_err(in_words)?;
            if list.is_empty() {
                println!("no sources; add one with `tributary source add USER URL`");
            }
            for source in list {
                let status = match (&source.last_error, source.enabled) {
                    (_, false) => "disabled".to_owned(),
                    (Some(err), true) => format!("failing ({} times): {err}", source.failure_count),
                    (None, true) if source.last_success_at.is_some() => "ok".to_owned(),
                    (None, true) => "not polled yet".to_owned(),
                };
                println!(
                    "{:>4}  {:<8} {:<10} {:>6} items  next {}  {}  [{}]",
                    source.id,
                    source.user_name,
                    source.kind,
                    source.n_items,
                    source.next_poll_at.format("%Y-%m-%d %H:%M"),
                    source
                        .url()
                        .or_else(|| source.params.get("account").and_then(|a| a.as_str()))
                        .unwrap_or(&source.title),
                    status
                );
            }
        }
        SourceCommand::Remove { id } => {
            let services = app::services(&config)?;
            services
                .sources
                .operator_remove(SourceId(id))
                .await
                .map_err(|err| match err {
                    SourcesError::NotFound => anyhow!("no source with id {id}"),
                    other => in_words(other),
                })?;
            println!("removed source {id}; its items are hidden, comments and likes are kept");
        }
        SourceCommand::Rule(command) => rule(&config, command).await?,
        SourceCommand::Test {
            input,
            json,
            kind,
            param,
        } => source_test(&config, &input, json, kind.as_deref(), &param).await?,
    }
    Ok(())
}

async fn rule(config: &Config, command: RuleCommand) -> anyhow::Result<()> {
    let services = app::services(config)?;
    let no_source = |id: i64| {
        move |err| match err {
            SourcesError::NotFound => anyhow!("no source with id {id} (or no such rule)"),
            other => in_words(other),
        }
    };
    match command {
        RuleCommand::Add {
            source,
            field,
            pattern,
            regex,
            apply_to_existing,
        } => {
            let rule = NewRule {
                field,
                op: if regex { "regex" } else { "contains" }.to_owned(),
                pattern,
                apply_to_existing,
            };
            let added = services
                .sources
                .add_rule(None, SourceId(source), &rule)
                .await
                .map_err(no_source(source))?;
            println!(
                "added rule {} to source {source}; {} stored items hidden",
                added.id, added.n_hidden
            );
        }
        RuleCommand::List { source } => {
            let rules = services
                .sources
                .rules(None, SourceId(source))
                .await
                .map_err(no_source(source))?;
            if rules.is_empty() {
                println!("no rules; add one with `tributary source rule add {source} FIELD TEXT`");
            }
            for rule in rules {
                println!(
                    "{}\t{}\t{}\t{}",
                    rule.id,
                    rule.field.as_str(),
                    rule.op.as_str(),
                    rule.pattern
                );
            }
        }
        RuleCommand::Rm { source, rule } => {
            services
                .sources
                .remove_rule(None, SourceId(source), rule)
                .await
                .map_err(no_source(source))?;
            println!("deleted rule {rule} of source {source}");
        }
    }
    Ok(())
}

/// The user a command names.
pub async fn find_user(users: &Users, name: &str) -> anyhow::Result<crate::model::User> {
    users.by_name(name).await.map_err(|err| match err {
        crate::users::UsersError::NotFound => anyhow!("no user named `{name}`"),
        other => other.into(),
    })
}

/// The service's refusals in the words the web uses, on one line, with the option they
/// are about.
pub fn in_words(err: SourcesError) -> anyhow::Error {
    match err {
        SourcesError::Fields(errors) => anyhow!(
            errors
                .into_iter()
                .map(|(field, message)| match field {
                    "schedule" => format!("--schedule: {message}"),
                    "title" => format!("--title: {message}"),
                    _ => message,
                })
                .collect::<Vec<_>>()
                .join("; ")
        ),
        SourcesError::Several(found) => anyhow!(
            "this page names {} feeds; add one of them: {}",
            found.len(),
            found
                .iter()
                .filter_map(|candidate| candidate.url.as_deref())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        SourcesError::Duplicate { owner, shown } => anyhow!(
            "{owner} already has this source ({shown}); see `tributary source list {owner}`"
        ),
        other => anyhow!(other.to_string()),
    }
}

/// `KEY=VALUE` of `--param`.
fn param_pair(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("`{text}` has no key"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

async fn source_test(
    config: &Config,
    input: &str,
    json: bool,
    kind: Option<&str>,
    extra: &[(String, String)],
) -> anyhow::Result<()> {
    let fetched_at = Utc::now();
    let path = Path::new(input);
    let (raw_items, base_url, warnings) = if kind.is_none() && path.is_file() {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let absolute = std::fs::canonicalize(path)?;
        let base = url::Url::from_file_path(&absolute)
            .map_err(|_| anyhow!("cannot make a URL of {}", absolute.display()))?;
        let parsed = ::connectors::protocol::feed::parse(&bytes, &base)?;
        (parsed.items, None, parsed.warnings)
    } else {
        let registry = app::build_registry(config)?;
        let candidate = sources::recognize(&registry, input, kind, extra)?;
        let connector = registry
            .get(&candidate.kind)
            .expect("recognize returned a registered kind");
        let http = app::http_client(config)?;
        let poll = connector
            .poll(&http, &candidate.params, &PollState::default())
            .await?;
        (poll.items, poll.base_url, poll.warnings)
    };
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let ctx = NormalizeCtx {
        base_url,
        fetched_at,
        sanitize_fast_path: config.normalize.sanitize_fast_path,
    };
    let items: Vec<NewItem> = raw_items
        .into_iter()
        .map(|raw| {
            let (item, item_warnings) = normalize(raw, &ctx);
            for warning in item_warnings {
                eprintln!("warning: item {}: {warning}", item.external_id);
            }
            item
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        for item in &items {
            let line = serde_json::json!({
                "id": item.external_id,
                "title": item.title,
                "url": item.url.as_ref().map(|u| u.as_str()),
                "published": item.published_at.to_rfc3339(),
                "updated": item.updated_at.map(|t| t.to_rfc3339()),
                "kind": item.kind.as_str(),
                "author": item.author_name,
                "tags": item.tags,
                "media": item.media,
                "summary": truncate_chars(&item.summary_text, 280),
            });
            writeln!(out, "{line}")?;
        }
    } else {
        writeln!(
            out,
            "{:<16}  {:<7}  {:<50}  url",
            "published", "kind", "title"
        )?;
        for item in &items {
            writeln!(
                out,
                "{:<16}  {:<7}  {:<50}  {}",
                item.published_at.format("%Y-%m-%d %H:%M"),
                item.kind.as_str(),
                truncate_chars(&item.title, 50),
                item.url.as_ref().map(|u| u.as_str()).unwrap_or("")
            )?;
        }
        writeln!(out, "{} items", items.len())?;
    }
    Ok(())
}
