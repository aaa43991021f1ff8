//! Configuration: defaults, then `KOPPEL_*` environment variables, then flags; validated once at start
//! and shared as `Arc<Config>`. An invalid value stops start-up with a message naming the variable.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything `koppel serve` needs to know.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://…` or `postgres://…`. Default: a SQLite file in the data directory.
    #[arg(long = "database-url", env = "KOPPEL_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Address to listen on.
    #[arg(long, env = "KOPPEL_BIND", default_value = "127.0.0.1:8080", value_parser = parse_bind)]
    pub bind: SocketAddr,

    /// Directory for the embedded database and generated development keys.
    #[arg(long = "data-dir", env = "KOPPEL_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Secret that signs login tokens (at least 32 bytes). Unset: a development key is generated
    /// into the data directory, with a warning.
    #[arg(long = "jwt-secret", env = "KOPPEL_JWT_SECRET", hide_env_values = true, value_parser = parse_jwt_secret)]
    pub jwt_secret: Option<String>,

    /// Lifetime of a login token, in minutes.
    #[arg(long = "jwt-ttl-minutes", env = "KOPPEL_JWT_TTL_MINUTES", default_value_t = 720,
          value_parser = whole_number("KOPPEL_JWT_TTL_MINUTES", 1, 43_200))]
    pub jwt_ttl_minutes: u32,

    /// Deepest query nesting accepted.
    #[arg(long = "max-query-depth", env = "KOPPEL_MAX_QUERY_DEPTH", default_value_t = 12,
          value_parser = whole_number("KOPPEL_MAX_QUERY_DEPTH", 2, 100))]
    pub max_query_depth: u32,

    /// Highest query complexity accepted (every field counts 1, lists count their page size).
    #[arg(long = "max-query-complexity", env = "KOPPEL_MAX_QUERY_COMPLEXITY", default_value_t = 5_000,
          value_parser = whole_number("KOPPEL_MAX_QUERY_COMPLEXITY", 10, 1_000_000))]
    pub max_query_complexity: u32,

    /// Most operations accepted in one batched request.
    #[arg(long = "max-batch-size", env = "KOPPEL_MAX_BATCH_SIZE", default_value_t = 10,
          value_parser = whole_number("KOPPEL_MAX_BATCH_SIZE", 1, 1000))]
    pub max_batch_size: u32,

    /// Largest request body accepted, in bytes.
    #[arg(long = "max-body-bytes", env = "KOPPEL_MAX_BODY_BYTES", default_value_t = 1_048_576,
          value_parser = whole_number("KOPPEL_MAX_BODY_BYTES", 1024, u32::MAX))]
    pub max_body_bytes: u32,

    /// Database connections in the pool. Default: 8 on SQLite, 16 on PostgreSQL. Behind a pooler such
    /// as PgBouncer, size it to the pooler's share for this process.
    #[arg(long = "db-max-connections", env = "KOPPEL_DB_MAX_CONNECTIONS",
          value_parser = whole_number("KOPPEL_DB_MAX_CONNECTIONS", 1, 1000))]
    pub db_max_connections: Option<u32>,
    /// The largest file accepted (an upload, or an attachment a peer pass downloads), in bytes.
    #[arg(long = "max-file-bytes", env = "KOPPEL_MAX_FILE_BYTES", default_value_t = 10 * 1024 * 1024,
          value_parser = byte_count("KOPPEL_MAX_FILE_BYTES", 1024, 1024 * 1024 * 1024))]
    pub max_file_bytes: u64,

    /// The most bytes of files one account stores (each content once), in bytes.
    #[arg(long = "max-account-file-bytes", env = "KOPPEL_MAX_ACCOUNT_FILE_BYTES", default_value_t = 1024 * 1024 * 1024,
          value_parser = byte_count("KOPPEL_MAX_ACCOUNT_FILE_BYTES", 1024, 1 << 50))]
    pub max_account_file_bytes: u64,

    /// How long a download link (`url` of an attachment or a logo) stays valid, in seconds.
    #[arg(long = "file-link-ttl-seconds", env = "KOPPEL_FILE_LINK_TTL_SECONDS", default_value_t = 300,
          value_parser = whole_number("KOPPEL_FILE_LINK_TTL_SECONDS", 10, 86_400))]
    pub file_link_ttl_seconds: u32,

    /// Keep files in this S3 bucket (any S3-compatible storage) instead of the data directory: for API
    /// replicas and daemons that share no disk.
    #[arg(long = "s3-bucket", env = "KOPPEL_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// The S3 endpoint, e.g. `https://s3.eu-central-1.amazonaws.com` or a MinIO server; unset: AWS.
    #[arg(long = "s3-endpoint", env = "KOPPEL_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// The bucket's region.
    #[arg(long = "s3-region", env = "KOPPEL_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// The access key id for the bucket (required with KOPPEL_S3_BUCKET).
    #[arg(long = "s3-access-key-id", env = "KOPPEL_S3_ACCESS_KEY_ID", hide_env_values = true)]
    pub s3_access_key_id: Option<String>,

    /// The secret access key for the bucket (required with KOPPEL_S3_BUCKET).
    #[arg(long = "s3-secret-access-key", env = "KOPPEL_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,

    /// Where in the bucket the files go.
    #[arg(long = "s3-prefix", env = "KOPPEL_S3_PREFIX", default_value = "koppel/files")]
    pub s3_prefix: String,

    /// Whether the schema can be introspected.
    #[arg(long, env = "KOPPEL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = boolean("KOPPEL_INTROSPECTION"))]
    pub introspection: bool,

    /// Whether GET /graphql serves the GraphiQL page.
    #[arg(long, env = "KOPPEL_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = boolean("KOPPEL_GRAPHIQL"))]
    pub graphiql: bool,

    /// The key that encrypts integration credentials at rest: 32 bytes, base64-encoded. Unset: a
    /// development key is generated into the data directory, with a warning.
    #[arg(long = "master-key", env = "KOPPEL_MASTER_KEY", hide_env_values = true, value_parser = parse_master_key)]
    pub master_key: Option<String>,

    /// Allow integrations to reach private, loopback and link-local addresses and plain http (tests, demos).
    #[arg(long = "allow-private-remotes", env = "KOPPEL_ALLOW_PRIVATE_REMOTES", default_value_t = false,
          action = clap::ArgAction::Set, value_parser = boolean("KOPPEL_ALLOW_PRIVATE_REMOTES"))]
    pub allow_private_remotes: bool,

    /// How long a call to a remote may take, in seconds.
    #[arg(long = "remote-timeout-seconds", env = "KOPPEL_REMOTE_TIMEOUT_SECONDS", default_value_t = 20,
          value_parser = whole_number("KOPPEL_REMOTE_TIMEOUT_SECONDS", 1, 300))]
    pub remote_timeout_seconds: u32,

    /// Requests per minute from one client address (IPv6: one /64), as a burst that refills evenly.
    #[arg(long = "rate-limit-per-address", env = "KOPPEL_RATE_LIMIT_PER_ADDRESS", default_value_t = 6_000,
          value_parser = whole_number("KOPPEL_RATE_LIMIT_PER_ADDRESS", 1, 1_000_000))]
    pub rate_limit_per_address: u32,

    /// Requests per minute with one bearer token (login token or API token).
    #[arg(long = "rate-limit-per-token", env = "KOPPEL_RATE_LIMIT_PER_TOKEN", default_value_t = 1_200,
          value_parser = whole_number("KOPPEL_RATE_LIMIT_PER_TOKEN", 1, 1_000_000))]
    pub rate_limit_per_token: u32,

    /// Login attempts per minute for one account and username (each costs an argon2 hash).
    #[arg(long = "login-rate-limit", env = "KOPPEL_LOGIN_RATE_LIMIT", default_value_t = 10,
          value_parser = whole_number("KOPPEL_LOGIN_RATE_LIMIT", 1, 10_000))]
    pub login_rate_limit: u32,

    /// Login attempts per minute from one client address, whichever the account and username.
    #[arg(long = "login-rate-limit-per-address", env = "KOPPEL_LOGIN_RATE_LIMIT_PER_ADDRESS", default_value_t = 60,
          value_parser = whole_number("KOPPEL_LOGIN_RATE_LIMIT_PER_ADDRESS", 1, 100_000))]
    pub login_rate_limit_per_address: u32,

    /// How often the products of an integration that sets no `productSyncSchedule` are reconciled, in
    /// minutes. The daemon queues by it; the API shows it as the integration's schedule.
    #[arg(long = "product-sync-minutes", env = "KOPPEL_PRODUCT_SYNC_MINUTES", default_value_t = 15,
          value_parser = whole_number("KOPPEL_PRODUCT_SYNC_MINUTES", 1, 1440))]
    pub product_sync_minutes: u32,

    /// The address people and remotes reach this server at, e.g. `https://koppel.example.com`: OAuth2
    /// remotes (Exact Online) send the admin's browser back to `{KOPPEL_PUBLIC_URL}/oauth/callback`,
    /// which must be the redirect URI registered with the remote. Unset: OAuth2 integrations cannot be
    /// connected.
    #[arg(long = "public-url", env = "KOPPEL_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// Log format: `text` or `json`.
    #[arg(long = "log-format", env = "KOPPEL_LOG_FORMAT", default_value = "text", value_parser = log_format)]
    pub log_format: String,
}

/// Where OAuth2 remotes send the admin's browser back to, below `KOPPEL_PUBLIC_URL`.
pub const OAUTH_CALLBACK_PATH: &str = "/oauth/callback";

impl Config {
    /// The redirect URI of OAuth2 remotes: `{KOPPEL_PUBLIC_URL}/oauth/callback`, when the public URL is set.
    pub fn oauth_redirect_uri(&self) -> Option<String> {
        let public = self.public_url.as_deref()?;
        Some(format!("{}{OAUTH_CALLBACK_PATH}", public.trim_end_matches('/')))
    }

    /// The database URL in force: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("koppel.db").display()),
        }
    }

    /// The rate limits in force (every value is at least 1, as the parsers check).
    /// The largest body `/graphql` reads: a multipart upload of one file at the limit with room to spare,
    /// so that a file somewhat over the limit gets its `TOO_LARGE` user error; far over it, HTTP 413.
    /// JSON bodies stay held to `KOPPEL_MAX_BODY_BYTES`.
    pub fn upload_body_limit(&self) -> usize {
        let limit = self.max_file_bytes.saturating_mul(2).saturating_add(u64::from(self.max_body_bytes));
        usize::try_from(limit).unwrap_or(usize::MAX)
    }

    /// Where the bytes of files live: `files` in the data directory.
    pub fn files_dir(&self) -> PathBuf {
        self.data_dir.join("files")
    }

    /// The file store in force: the S3 bucket when `KOPPEL_S3_BUCKET` is set, else [`Config::files_dir`].
    pub fn file_store(&self) -> Result<koppel_daemon::files::FileStore, String> {
        let Some(bucket) = self.s3_bucket.as_deref().map(str::trim).filter(|b| !b.is_empty()) else {
            return Ok(koppel_daemon::files::FileStore::directory(self.files_dir()));
        };
        let required = |value: &Option<String>, variable: &str| {
            value
                .clone()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{variable} must be set with KOPPEL_S3_BUCKET"))
        };
        let settings = koppel_daemon::files::s3::S3Settings {
            bucket: bucket.to_owned(),
            endpoint: self.s3_endpoint.clone().filter(|e| !e.is_empty()),
            region: self.s3_region.clone(),
            access_key_id: required(&self.s3_access_key_id, "KOPPEL_S3_ACCESS_KEY_ID")?,
            secret_access_key: required(&self.s3_secret_access_key, "KOPPEL_S3_SECRET_ACCESS_KEY")?,
            prefix: self.s3_prefix.clone(),
        };
        let storage = koppel_daemon::files::s3::S3Storage::new(&settings)
            .map_err(|e| format!("the S3 settings (KOPPEL_S3_*) are not usable: {e}"))?;
        Ok(koppel_daemon::files::FileStore::new(std::sync::Arc::new(storage)))
    }

    pub fn rate_limits(&self) -> crate::rate_limit::Settings {
        let per_minute = |value: u32| std::num::NonZeroU32::new(value).unwrap_or(std::num::NonZeroU32::MIN);
        crate::rate_limit::Settings {
            requests_per_address: per_minute(self.rate_limit_per_address),
            requests_per_token: per_minute(self.rate_limit_per_token),
            logins_per_user: per_minute(self.login_rate_limit),
            logins_per_address: per_minute(self.login_rate_limit_per_address),
        }
    }

    /// A configuration for tests and embedding: defaults, with the given database and data directory.
    pub fn for_database(database_url: &str, data_dir: PathBuf) -> Self {
        Self {
            database_url: Some(database_url.to_owned()),
            bind: "127.0.0.1:0".parse().expect("a valid address"),
            data_dir,
            jwt_secret: None,
            jwt_ttl_minutes: 720,
            max_query_depth: 12,
            max_query_complexity: 5_000,
            max_batch_size: 10,
            max_body_bytes: 1_048_576,
            db_max_connections: None,
            max_file_bytes: 10 * 1024 * 1024,
            max_account_file_bytes: 1024 * 1024 * 1024,
            file_link_ttl_seconds: 300,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_prefix: "koppel/files".into(),
            introspection: true,
            graphiql: true,
            master_key: None,
            allow_private_remotes: false,
            remote_timeout_seconds: 20,
            rate_limit_per_address: 6_000,
            rate_limit_per_token: 1_200,
            login_rate_limit: 10,
            login_rate_limit_per_address: 60,
            product_sync_minutes: 15,
            public_url: None,
            log_format: "text".into(),
        }
    }
}

fn parse_bind(value: &str) -> Result<SocketAddr, String> {
    value.parse().map_err(|_| format!("KOPPEL_BIND must be an address like 127.0.0.1:8080, not {value:?}"))
}

fn parse_public_url(value: &str) -> Result<String, String> {
    let problem = || {
        format!(
            "KOPPEL_PUBLIC_URL must be the http(s) address of this server without a query, e.g. \
             https://koppel.example.com, not {value:?}"
        )
    };
    let url = url::Url::parse(value.trim()).map_err(|_| problem())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || url.query().is_some() {
        return Err(problem());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn parse_jwt_secret(value: &str) -> Result<String, String> {
    if value.len() < 32 {
        return Err("KOPPEL_JWT_SECRET must be at least 32 bytes long".into());
    }
    Ok(value.to_owned())
}

fn parse_master_key(value: &str) -> Result<String, String> {
    koppel_daemon::crypto::MasterKey::from_base64(value)
        .map(|_| value.to_owned())
        .map_err(|_| "KOPPEL_MASTER_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)".into())
}

/// A parser for a boolean setting whose error names the variable.
/// What the daemon does and how often (`koppel daemon`, and `koppel serve` unless `--no-daemon`).
#[derive(Debug, Clone, Args)]
pub struct DaemonConfig {
    /// Jobs one daemon runs at the same time.
    #[arg(long = "daemon-workers", env = "KOPPEL_DAEMON_WORKERS", default_value_t = 2,
          value_parser = whole_number("KOPPEL_DAEMON_WORKERS", 1, 32))]
    pub workers: u32,

    /// How long a worker's claim on a job lasts without renewal, in seconds (renewed every third of it
    /// while the job runs): a job whose daemon died is taken again this long after its last renewal.
    #[arg(long = "job-lease-seconds", env = "KOPPEL_JOB_LEASE_SECONDS", default_value_t = 60,
          value_parser = whole_number("KOPPEL_JOB_LEASE_SECONDS", 2, 3600))]
    pub job_lease_seconds: u32,

    /// The first wait before a sale that could not be sent (remote down or busy) is tried again, in
    /// seconds; each next attempt waits twice as long (with jitter), never less than the remote's
    /// `Retry-After`.
    #[arg(long = "send-retry-seconds", env = "KOPPEL_SEND_RETRY_SECONDS", default_value_t = 10,
          value_parser = whole_number("KOPPEL_SEND_RETRY_SECONDS", 1, 3600))]
    pub send_retry_seconds: u32,

    /// How many sales one daemon has on their way to remotes at once.
    #[arg(long = "send-concurrency", env = "KOPPEL_SEND_CONCURRENCY", default_value_t = 32,
          value_parser = whole_number("KOPPEL_SEND_CONCURRENCY", 1, 256))]
    pub send_concurrency: u32,

    /// How long finished runs, their events and finished jobs are kept, in days.
    #[arg(long = "event-retention-days", env = "KOPPEL_EVENT_RETENTION_DAYS", default_value_t = 30,
          value_parser = whole_number("KOPPEL_EVENT_RETENTION_DAYS", 1, 3650))]
    pub event_retention_days: u32,

    /// `daemon` only: also serve the daemon's metrics as Prometheus text on `http://ADDR/metrics` (the
    /// daemon inside `serve` shows them on the server's `/metrics`).
    #[arg(long = "daemon-metrics-addr", env = "KOPPEL_DAEMON_METRICS_ADDR",
          value_parser = socket_address("KOPPEL_DAEMON_METRICS_ADDR"))]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// A parser for an `ip:port` setting, whose error names the variable.
fn socket_address(
    variable: &'static str,
) -> impl Fn(&str) -> Result<std::net::SocketAddr, String> + Clone + Send + Sync + 'static {
    move |value| {
        value
            .trim()
            .parse()
            .map_err(|_| format!("{variable} must be an address and port such as 127.0.0.1:9464, not {value:?}"))
    }
}

fn boolean(variable: &'static str) -> impl Fn(&str) -> Result<bool, String> + Clone + Send + Sync + 'static {
    move |value| match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{variable} must be true or false, not {value:?}")),
    }
}

/// A parser for a whole-number setting within `min..=max`, whose error names the variable.
fn whole_number(
    variable: &'static str,
    min: u32,
    max: u32,
) -> impl Fn(&str) -> Result<u32, String> + Clone + Send + Sync + 'static {
    move |value| match value.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{variable} must be a whole number from {min} to {max}, not {value:?}")),
    }
}

/// A parser for a size in bytes within `min..=max`, whose error names the variable.
fn byte_count(
    variable: &'static str,
    min: u64,
    max: u64,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |value| match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{variable} must be a number of bytes from {min} to {max}, not {value:?}")),
    }
}

fn log_format(value: &str) -> Result<String, String> {
    match value {
        "text" | "json" => Ok(value.to_owned()),
        _ => Err(format!("KOPPEL_LOG_FORMAT must be text or json, not {value:?}")),
    }
}
