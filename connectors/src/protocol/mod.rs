//! Protocol connectors: formats shared by many sites.

pub mod activitypub;
pub mod discover;
pub mod feed;
pub mod html;
pub mod json;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::http::{FetchRequest, FetchResponse};
use crate::item::ItemKind;
use crate::item::RawItem;
use crate::params::{HttpUrl, lenient};
use crate::{ConnectorError, Http, Poll, PollState};

/// Where the items of a document are and where each field of an item is: JSON pointers
/// for `json`, CSS selectors for `html`. The parameters of such a source (with its `url`)
/// and the `[json]` or `[html]` table of a recipe (whose URL is its template).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<HttpUrl>,
    /// What selects the list of items (json: empty for a top-level array).
    #[serde(default)]
    pub items: String,
    #[serde(
        default,
        deserialize_with = "lenient::text",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::text",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::text",
        skip_serializing_if = "Option::is_none"
    )]
    pub link: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::text",
        skip_serializing_if = "Option::is_none"
    )]
    pub date: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::text",
        skip_serializing_if = "Option::is_none"
    )]
    pub content: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::text",
        skip_serializing_if = "Option::is_none"
    )]
    pub image: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::kind",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<ItemKind>,
}

impl ItemSpec {
    /// The fields that are given, by name.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &String)> {
        [
            ("id", &self.id),
            ("title", &self.title),
            ("link", &self.link),
            ("date", &self.date),
            ("content", &self.content),
            ("image", &self.image),
        ]
        .into_iter()
        .filter_map(|(name, field)| field.as_ref().map(|text| (name, text)))
    }

    /// Refuses a spec that gives nothing to tell items apart by.
    fn tells_items_apart(&self) -> Result<(), ConnectorError> {
        if self.id.is_none() && self.link.is_none() && self.title.is_none() {
            return Err(ConnectorError::Unsupported(
                "needs at least one of `id`, `link` or `title` to tell items apart".into(),
            ));
        }
        Ok(())
    }

    /// The `url` of a source's checked parameters (a recipe's spec has none).
    pub(crate) fn url(&self, what: &str) -> Result<Url, ConnectorError> {
        self.url.as_ref().map(|url| url.0.clone()).ok_or_else(|| {
            ConnectorError::Unsupported(format!("needs the parameter `url`: the address of {what}"))
        })
    }
}

/// One document of a generic connector: sent with the stored validators (a 304 keeps
/// `state`), capped at `max_bytes` unless the request says less, any other status
/// classified, and the body turned into items by `map`.
pub(crate) async fn poll_document(
    http: &dyn Http,
    request: FetchRequest,
    max_bytes: usize,
    state: &PollState,
    map: impl FnOnce(&FetchResponse) -> Result<(Vec<RawItem>, Vec<String>), ConnectorError>,
) -> Result<Poll, ConnectorError> {
    let mut request = request.with_validators(state.validators.clone());
    request.max_bytes = Some(request.max_bytes.unwrap_or(max_bytes));
    let response = http.get(request).await?;
    if response.status == 304 {
        return Ok(Poll {
            not_modified: true,
            state: state.not_modified(&response.validators),
            hint: response.hint,
            ..Poll::default()
        });
    }
    let response = response.check_status()?;
    let (items, warnings) = map(&response)?;
    Ok(Poll {
        items,
        warnings,
        state: PollState {
            validators: response.validators.clone(),
            cursor: None,
        },
        hint: response.hint,
        base_url: Some(response.final_url.clone()),
        ..Poll::default()
    })
}
