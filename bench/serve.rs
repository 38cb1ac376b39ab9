//! The serving side of the benchmarks: the real router on a generated database, plus one
//! measuring route behind the same middleware. `/_bench/mem/{user}` renders the user's
//! lifestream page from a value loaded once at start: the render ceiling that `/{user}`
//! (read from SQLite on every request) is compared with. `user0` and `user1` get the
//! password [`BENCH_PASSWORD`], so the driver can weigh their pages logged in.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::response::IntoResponse;
use axum::routing::get;
use connectors::Registry;
use tributary::config::Config;
use tributary::fetch::HttpClient;
use tributary::scheduler::SchedulerHandle;
use tributary::sources::Sources;
use tributary::store::Store;
use tributary::web::pages::stream::{Lifestream, StreamParams, load_lifestream, render_lifestream};
use tributary::web::session::PageCtx;
use tributary::web::{self, AppState};

/// The password of `user0` and `user1` while served here.
pub const BENCH_PASSWORD: &str = "bench-password";

pub async fn run(db: PathBuf, listen: SocketAddr, users: usize) -> anyhow::Result<()> {
    let mut config = Config::default();
    config.database.path = db;
    let store = Store::open(&config.database.path, config.database.readers)?;
    let hash = tributary::auth::hash_password(BENCH_PASSWORD)?;
    store
        .write(move |tx| {
            for name in ["user0", "user1"] {
                if let Ok(user) = tributary::store::users::by_name(tx, name) {
                    tributary::store::users::set_password(tx, user.id, &hash)?;
                }
            }
            Ok(())
        })
        .await?;
    let http: Arc<dyn connectors::Http> = Arc::new(HttpClient::new(&config.fetch)?);
    let sources = Sources::new(
        store.clone(),
        Arc::new(Registry::default()),
        http,
        SchedulerHandle::default(),
    );
    let anonymous = PageCtx {
        user: None,
        csrf: String::new(),
        signup: config.auth.signup,
        path: String::new(),
        unread: 0,
        saved_searches: Vec::new(),
    };
    let mut prepared: HashMap<String, Lifestream> = HashMap::new();
    for n in 0..users {
        let name = format!("user{n}");
        if let Some(page) = load_lifestream(&store, &anonymous, &name, &StreamParams::default())
            .await
            .map_err(|err| anyhow::anyhow!("cannot load {name}: {err:?}"))?
        {
            prepared.insert(name, page);
        }
    }
    let prepared = Arc::new(prepared);
    let state = AppState::new(store, Arc::new(config), sources)?;
    let extra: Router<AppState> = Router::new().route(
        "/_bench/mem/{user}",
        get(move |ctx: PageCtx, Path(name): Path<String>| {
            let prepared = prepared.clone();
            async move {
                match prepared.get(&name) {
                    Some(page) => {
                        render_lifestream(&ctx, page, &StreamParams::default()).into_response()
                    }
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("ready {}", listener.local_addr()?);
    axum::serve(
        listener,
        web::router_with(state, extra).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
