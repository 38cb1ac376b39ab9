//! Settings → Hide rules (`/settings/rules`): the viewer's rules for what their stream
//! pages leave out (words, a service, a source, a person, everything but photos), listed
//! with "Delete" and added by one form. The stream pages apply them (`stream::stream_in`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use crate::model::{SourceId, User, UserId};
use crate::rules::{ViewerRuleKind, check_text_value};
use crate::store::rules::{self, StoredViewerRule};
use crate::store::{StoreError, sources, visibility};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::pages::auth::FormErrors;
use crate::web::session::{CsrfForm, CurrentUser, PageCtx};
use crate::web::views::{bdi, csrf_field, layout, notice};

const PAGE: &str = "/settings/rules";

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The "add a rule" form as sent.
#[derive(Debug, Default, Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct EmptyForm {}

pub async fn rules_get(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    Query(query): Query<DoneQuery>,
) -> Result<Markup, AppError> {
    let message = match query.done.as_deref() {
        Some("added") => Some("Added: items it matches are left out of your stream pages."),
        Some("deleted") => Some("Deleted."),
        _ => None,
    };
    let form = RuleForm {
        kind: ViewerRuleKind::Keyword.as_str().to_owned(),
        value: String::new(),
    };
    rules_page(&state, &ctx, &user, &form, &FormErrors::new(), message).await
}

pub async fn rules_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<RuleForm>,
) -> Result<Response, AppError> {
    let me = user.id;
    let checked = match ViewerRuleKind::parse(form.kind.trim()) {
        None => Err(("kind", "Choose what to hide.".to_owned())),
        Some(kind) => {
            let value = form.value.clone();
            state
                .store
                .read(move |conn| check_value(conn, me, kind, &value))
                .await?
                .map(|value| (kind, value))
                .map_err(|message| ("value", message))
        }
    };
    let (kind, value) = match checked {
        Ok(checked) => checked,
        Err((key, message)) => {
            return invalid(
                &state,
                &ctx,
                &user,
                &form,
                FormErrors::from([(key, message)]),
            )
            .await;
        }
    };
    let now = Utc::now();
    let added = state
        .store
        .write(move |tx| rules::add_viewer_rule(tx, me, kind, &value, now))
        .await;
    match added {
        Ok(()) => Ok(Redirect::to(&format!("{PAGE}?done=added")).into_response()),
        Err(StoreError::Conflict(message)) => {
            let message = format!("{}{}.", message[..1].to_uppercase(), &message[1..]);
            invalid(
                &state,
                &ctx,
                &user,
                &form,
                FormErrors::from([("value", message)]),
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn rule_delete_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    state
        .store
        .write(move |tx| rules::delete_viewer_rule(tx, user.id, id))
        .await?;
    Ok(Redirect::to(&format!("{PAGE}?done=deleted")).into_response())
}

/// The value to store for a rule of `kind`, or the message to show beside the field. A
/// source must be one `me` may see, a person one who exists and has not blocked `me`
/// (either way the answer says no more than "no such …").
fn check_value(
    conn: &rusqlite::Connection,
    me: UserId,
    kind: ViewerRuleKind,
    value: &str,
) -> Result<Result<String, String>, StoreError> {
    let value = value.trim();
    Ok(match kind {
        ViewerRuleKind::Keyword | ViewerRuleKind::Service => check_text_value(kind, value),
        ViewerRuleKind::PhotosOnly => Ok(String::new()),
        ViewerRuleKind::Person => {
            let name = value.trim_start_matches('@');
            if name.is_empty() {
                return Ok(Err("Type the person's user name.".to_owned()));
            }
            match rules::user_id_named(conn, name)? {
                Some(id) if id == me => Err("That is you: your own items are never hidden.".into()),
                Some(id)
                    if visibility::relation(conn, id, Some(me))?
                        != crate::social::Relation::Blocked =>
                {
                    Ok(id.0.to_string())
                }
                _ => Err(format!("There is no user named {name} here.")),
            }
        }
        ViewerRuleKind::Source => {
            let digits = value.trim_start_matches('#');
            let Ok(id) = digits.parse::<i64>() else {
                return Ok(Err(
                    "Type the source's number (it is in the address of the source's stream, ?source=…)."
                        .to_owned(),
                ));
            };
            let id = SourceId(id);
            let source = match sources::get(conn, id) {
                Ok(source) => Some(source),
                Err(StoreError::NotFound) => None,
                Err(err) => return Err(err),
            };
            let visible = match &source {
                Some(source) => visibility::relation(conn, source.user_id, Some(me))?
                    .may_see(visibility::of_source(conn, id)?),
                None => false,
            };
            match source {
                Some(source) if source.user_id == me => {
                    Err("That is your own source: your own items are never hidden.".into())
                }
                Some(_) if visible => Ok(id.0.to_string()),
                _ => Err(format!("There is no source {} you can see.", id.0)),
            }
        }
    })
}

async fn invalid(
    state: &AppState,
    ctx: &PageCtx,
    user: &User,
    form: &RuleForm,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let page = rules_page(state, ctx, user, form, &errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn rules_page(
    state: &AppState,
    ctx: &PageCtx,
    user: &User,
    form: &RuleForm,
    errors: &FormErrors,
    message: Option<&str>,
) -> Result<Markup, AppError> {
    let me = user.id;
    let list = state
        .store
        .read(move |conn| rules::viewer_rules(conn, me))
        .await?;
    let err = |key: &str| errors.get(key).map(String::as_str);
    let value_error = err("value");
    Ok(layout(
        ctx,
        "Hide rules",
        html! {
            p.breadcrumb { a href="/settings" { "Settings" } }
            h1 { "Hide rules" }
            (notice(message, false))
            p.help { "Your rules leave items out of the stream pages you read: everyone's, friends, people's lifestreams, likes and discussions. Your own items are never hidden. A stream page says how many items it hid, with a link to show them." }
            section.rules-list {
                h2 { "Your rules" }
                @if list.is_empty() {
                    p.empty { "No rules yet." }
                } @else {
                    ul.rules {
                        @for rule in &list {
                            li {
                                (rule_in_words(rule)) " "
                                form.inline method="post" action={ (PAGE) "/" (rule.id) "/delete" } {
                                    (csrf_field(ctx))
                                    button.secondary type="submit" aria-label={ "Delete the rule: " (rule_in_words_plain(rule)) } { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
            section.rules-add {
                h2 { "Add a rule" }
                form id="rule-add" method="post" action=(PAGE) {
                    (csrf_field(ctx))
                    div.field.invalid[err("kind").is_some()] {
                        label for="f-kind" { "Hide" }
                        select id="f-kind" name="kind" {
                            @for kind in ViewerRuleKind::ALL {
                                option value=(kind.as_str()) selected[kind.as_str() == form.kind.trim()] { (kind.label()) }
                            }
                        }
                        @if let Some(error) = err("kind") { p.error role="alert" { (error) } }
                    }
                    div.field.invalid[value_error.is_some()] {
                        label for="f-value" { "Words, service, source number or user name" }
                        input id="f-value" name="value" type="text" value=(form.value)
                            aria-invalid=[value_error.map(|_| "true")]
                            aria-describedby=[value_error.map(|_| "f-value-error")];
                        small.help { "Words match whole words in the title or text, in any case. Leave it empty for “Everything but photos”." }
                        @if let Some(error) = value_error { p.error id="f-value-error" role="alert" { (error) } }
                    }
                    button type="submit" { "Add the rule" }
                }
            }
        },
    ))
}

fn rule_in_words(rule: &StoredViewerRule) -> Markup {
    let label = rule.label.as_deref().unwrap_or(&rule.value);
    html! {
        @match rule.kind {
            ViewerRuleKind::Keyword => { "Items with the words " strong { "“" (bdi(&rule.value)) "”" } }
            ViewerRuleKind::Service => { "Items from " strong { (crate::web::services::service_of(&rule.value).name) } }
            ViewerRuleKind::Source => { "Items of the source " strong { (bdi(label)) } }
            ViewerRuleKind::Person => { "Items of " strong { (bdi(label)) } }
            ViewerRuleKind::PhotosOnly => { "Everything but photos" }
        }
    }
}

fn rule_in_words_plain(rule: &StoredViewerRule) -> String {
    let label = rule.label.as_deref().unwrap_or(&rule.value);
    match rule.kind {
        ViewerRuleKind::Keyword => format!("words “{}”", rule.value),
        ViewerRuleKind::Service => format!("service {}", rule.value),
        ViewerRuleKind::Source => format!("source {label}"),
        ViewerRuleKind::Person => format!("person {label}"),
        ViewerRuleKind::PhotosOnly => "everything but photos".to_owned(),
    }
}
