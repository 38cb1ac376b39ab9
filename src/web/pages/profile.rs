//! A person's profile (`/{user}/profile`): who they are, the services they bring in with
//! links to their accounts elsewhere, what they have done here in counts, and the people
//! they follow and who follow them.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use crate::model::{Source, SourceId};
use crate::store::StoreError;
use crate::store::social::{self, ActivityCounts};
use crate::store::{sources, visibility};
use crate::web::error::AppError;
use crate::web::session::PageCtx;
use crate::web::views::{bdi, shown_name};
use crate::web::{AppState, assets, services};

use super::stream::{self, Header, StreamFilter, Tab};

/// One source as the profile lists it.
struct Service {
    id: SourceId,
    kind: String,
    title: String,
    /// The person's page on that service, from the connector's addresses.
    page: Option<String>,
    n_items: u64,
}

/// Everything the profile page shows, read in one go.
struct ProfilePage {
    header: Header,
    activity: ActivityCounts,
    services: Vec<Service>,
    following: Vec<String>,
    followers: Vec<String>,
}

pub async fn profile_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let render = {
        let (state, ctx) = (state.clone(), ctx.clone());
        async move {
            let viewer = ctx.user.as_ref().map(|me| me.id);
            let found = state
                .store
                .read(move |conn| {
                    let header = stream::header_in(conn, &name, viewer)?;
                    let user = header.profile.user.id;
                    Ok((
                        header,
                        social::activity_counts(conn, user)?,
                        visible_sources(conn, user, viewer)?,
                        social::followee_names(conn, user)?,
                        social::follower_names(conn, user)?,
                    ))
                })
                .await;
            let (header, activity, list, following, followers) = match found {
                Ok(found) => found,
                Err(StoreError::NotFound) => return Ok(stream::not_found_in_layout(&ctx)),
                Err(err) => return Err(err.into()),
            };
            let services = services_of(&state.sources.registry, list);
            let page = ProfilePage {
                header,
                activity,
                services,
                following,
                followers,
            };
            Ok(render(&ctx, &page).into_response())
        }
    };
    stream::cached_for_anonymous(&state, &ctx, &headers, render).await
}

/// The owner's live sources that `viewer` may see (a friends-only or private source is
/// listed only to those who may see its items).
fn visible_sources(
    conn: &rusqlite::Connection,
    owner: crate::model::UserId,
    viewer: Option<crate::model::UserId>,
) -> Result<Vec<Source>, StoreError> {
    let relation = visibility::relation(conn, owner, viewer)?;
    let mut shown = Vec::new();
    for source in sources::list(conn, Some(owner))? {
        if relation.may_see(visibility::of_source(conn, source.id)?) {
            shown.push(source);
        }
    }
    Ok(shown)
}

/// The live sources, by service and then title, each with the page its connector names.
/// Parameters never leave this function: only the public page address does.
fn services_of(registry: &connectors::Registry, list: Vec<Source>) -> Vec<Service> {
    let mut services: Vec<Service> = list
        .into_iter()
        .map(|source| {
            let page = registry
                .get(&source.kind)
                .and_then(|connector| connector.addresses(&source.params).page)
                .map(|page| page.to_string())
                .filter(|page| is_web_url(page));
            Service {
                id: source.id,
                title: if source.title.trim().is_empty() {
                    services::service_of(&source.kind).name.to_owned()
                } else {
                    source.title
                },
                kind: source.kind,
                page,
                n_items: source.n_items,
            }
        })
        .collect();
    services.sort_by(|a, b| {
        let (sa, sb) = (
            services::service_of(&a.kind).name,
            services::service_of(&b.kind).name,
        );
        sa.cmp(sb).then_with(|| a.title.cmp(&b.title))
    });
    services
}

fn render(ctx: &PageCtx, page: &ProfilePage) -> Markup {
    let user = &page.header.profile.user;
    let name = shown_name(&user.display_name, &user.name);
    let counts = &page.header.counts;
    let body = html! {
        section.profile-page {
            h2 { "Services" }
            @if page.services.is_empty() {
                p.empty { (name) " brings in nothing from elsewhere yet." }
            } @else {
                ul.profile-services {
                    @for service in &page.services {
                        @let known = services::service_of(&service.kind);
                        li {
                            img.service-icon src=(assets::url(known.icon)) alt="" width="16" height="16";
                            " "
                            span.service-name { (known.name) }
                            " · "
                            a href={ "/" (user.name) "?source=" (service.id) } { (bdi(&service.title)) }
                            " "
                            span.muted { "(" (service.n_items) (if service.n_items == 1 { " item" } else { " items" }) ")" }
                            @if let Some(page_url) = &service.page {
                                " · "
                                a.elsewhere href=(page_url) rel="me nofollow noopener" { (shown_url(page_url)) }
                            }
                        }
                    }
                }
            }
            h2 { "Here" }
            dl.profile-counts {
                dt { "Items" } dd { (counts.n_items) }
                dt { "Comments" } dd { (page.activity.n_comments) }
                dt { "Likes" } dd { (page.activity.n_likes) }
                dt { "Followers" } dd { (counts.n_followers) }
                dt { "Following" } dd { (counts.n_following) }
                dt { "Joined" } dd { time datetime=(user.created_at.to_rfc3339()) { (user.created_at.format("%B %Y")) } }
            }
            (people("Following", &page.following))
            (people("Followers", &page.followers))
        }
    };
    stream::user_page(ctx, &page.header, Tab::Profile, &StreamFilter::All, body)
}

fn people(heading: &str, names: &[String]) -> Markup {
    html! {
        @if !names.is_empty() {
            h2 { (heading) }
            ul.profile-people {
                @for name in names {
                    li { a href={ "/" (name) } { "@" (name) } }
                }
            }
        }
    }
}

/// An address without its scheme and trailing slash, as people read one.
fn shown_url(url: &str) -> &str {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    rest.strip_suffix('/').unwrap_or(rest)
}

fn is_web_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_url_drops_the_scheme_and_the_last_slash() {
        assert_eq!(shown_url("https://github.com/ana/"), "github.com/ana");
        assert_eq!(shown_url("http://ana.example/blog"), "ana.example/blog");
        assert_eq!(shown_url("ftp://x"), "ftp://x");
    }
}
