//! Sends site connectors' requests to the fixture server instead of the real API host.
//!
//! Site connectors and recipes only ever talk to constant hosts (`api.github.com`…), so
//! tests do not change the connector: this `Http` wraps the real client and rewrites
//! `https://api.github.com/users/ana/events/public?x` into
//! `http://127.0.0.1:PORT/api.github.com/users/ana/events/public?x`. Everything else —
//! the guard, headers, limits, gzip, validators — is the real client's. The response's
//! final URL is mapped back, so links resolve as they would against the real host.

use connectors::{FetchError, FetchRequest, FetchResponse, Http};
use tributary::config::FetchConfig;
use tributary::fetch::HttpClient;
use url::Url;

pub struct Rewrite {
    inner: HttpClient,
    origin: String,
}

impl Rewrite {
    /// A real client allowed to reach only the fixture server at `origin`.
    pub fn new(origin: &str) -> Rewrite {
        let cfg = FetchConfig {
            allowed_private_origins: vec![origin.to_owned()],
            ..FetchConfig::default()
        };
        Rewrite {
            inner: HttpClient::new(&cfg).expect("test client builds"),
            origin: origin.trim_end_matches('/').to_owned(),
        }
    }

    /// The fixture-server path a real URL is served at: `/{host}{path}`.
    pub fn path_of(url: &str) -> String {
        let url = Url::parse(url).expect("test URL parses");
        format!("/{}{}", url.host_str().unwrap_or_default(), url.path())
    }

    fn rewrite(&self, url: &Url) -> Url {
        let mut text = format!(
            "{}/{}{}",
            self.origin,
            url.host_str().unwrap_or_default(),
            url.path()
        );
        if let Some(query) = url.query() {
            text.push('?');
            text.push_str(query);
        }
        Url::parse(&text).expect("rewritten URL parses")
    }

    fn unrewrite(&self, url: &Url) -> Option<Url> {
        let rest = url.as_str().strip_prefix(&format!("{}/", self.origin))?;
        Url::parse(&format!("https://{rest}")).ok()
    }
}

#[async_trait::async_trait]
impl Http for Rewrite {
    async fn get(&self, mut req: FetchRequest) -> Result<FetchResponse, FetchError> {
        req.url = self.rewrite(&req.url);
        let mut response = self.inner.get(req).await?;
        if let Some(real) = self.unrewrite(&response.final_url) {
            response.final_url = real;
        }
        response.moved_permanently_to = response
            .moved_permanently_to
            .as_ref()
            .and_then(|moved| self.unrewrite(moved));
        Ok(response)
    }
}
