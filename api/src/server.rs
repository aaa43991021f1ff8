//! The server's life: preparing keys, database and migrations, listening, stopping. The routes are
//! in [`crate::http`].

use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use crate::rate_limit::RateLimits;
use crate::state::AppState;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Stops accepting requests and waits for the ones in flight.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }
}

/// Everything `serve` does before accepting requests: keys, database, migrations.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    let jwt_secret = match &config.jwt_secret {
        Some(secret) => secret.clone(),
        None => crate::secrets::development_key(&config.data_dir, "jwt-secret")?,
    };
    let master_key = match &config.master_key {
        Some(key) => key.clone(),
        None => crate::secrets::development_value(
            &config.data_dir,
            "master-key",
            koppel_daemon::crypto::MasterKey::generate,
        )?,
    };
    let master_key = koppel_daemon::crypto::MasterKey::from_base64(&master_key)
        .map_err(|_| anyhow::anyhow!("the master key in the data directory is not 32 base64-encoded bytes"))?;
    let remotes = koppel_daemon::net::client(
        config.allow_private_remotes,
        std::time::Duration::from_secs(config.remote_timeout_seconds.into()),
    );
    // The engine's figures (claim latency, pass durations, alerts, deliveries) for `/metrics`.
    koppel_daemon::telemetry::install();
    let statements = Arc::new(AtomicU64::new(0));
    let db = crate::db::connect(&config.database_url(), config.db_max_connections, statements.clone()).await?;
    crate::db::migrate(&db).await?;
    let engine = koppel_daemon::Context {
        db: db.clone(),
        master_key: Arc::new(master_key),
        http: remotes,
        files: config.file_store().map_err(|e| anyhow::anyhow!(e))?,
        limits: koppel_daemon::Limits {
            allow_private_remotes: config.allow_private_remotes,
            product_sync_every: std::time::Duration::from_secs(u64::from(config.product_sync_minutes) * 60),
            max_file_bytes: config.max_file_bytes,
            max_account_file_bytes: config.max_account_file_bytes,
        },
        shared: Default::default(),
    };
    Ok(AppState {
        feed: koppel_daemon::feed::Feed::start(db.clone(), std::time::Duration::from_millis(250)),
        sale_feed: koppel_daemon::sale_feed::SaleFeed::start(db.clone(), std::time::Duration::from_millis(250)),
        sessions: crate::auth::sessions::LiveSessions::start(db.clone(), crate::graphql::live::RECHECK),
        auth: {
            let cache = Arc::new(crate::auth::AuthCache::disarmed());
            crate::auth::cache::follow(cache.clone(), &db);
            cache
        },
        db,
        jwt: Arc::new(JwtKeys::new(jwt_secret.as_bytes(), config.jwt_ttl_minutes)),
        file_links: Arc::new(koppel_daemon::files::links::LinkSigner::from_secret(jwt_secret.as_bytes())),
        limits: Arc::new(RateLimits::new(config.rate_limits())),
        config: Arc::new(config),
        engine,
        statements,
    })
}

/// Prepares and starts serving on the configured address (port 0 picks a free one).
pub async fn start(config: Config) -> anyhow::Result<Server> {
    let bind = config.bind;
    let state = prepare(config).await?;
    let listener =
        tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on KOPPEL_BIND={bind}"))?;
    let addr = listener.local_addr()?;
    let app = crate::http::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, "Koppel is listening; GraphQL at /graphql");
    Ok(Server { addr, state, shutdown: Some(shutdown), task })
}
