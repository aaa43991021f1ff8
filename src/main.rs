//! `koppel`: the command line. `serve` runs the API with the daemon inside it (unless `--no-daemon`),
//! `daemon` runs the daemon alone, `migrate` applies the schema, `schema` prints the GraphQL SDL,
//! `account create` adds a tenant.
// The schema's root futures nest deeper than the default limit of 128 in release builds.
#![recursion_limit = "256"]

/// mimalloc instead of the system allocator: a request allocates and frees many small objects across
/// worker threads, and glibc's malloc took a fifth of the CPU of a list request (docs/BENCHMARKS.md §7).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use koppel_api::Config;
use koppel_api::config::DaemonConfig;
use koppel_daemon::process::{DaemonOptions, SqliteDaemonLock};
use sea_orm::EntityTrait;

#[derive(Parser)]
#[command(name = "koppel", version, about = "Koppel: a self-hosted integration hub")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API (embedded SQLite under ./data unless KOPPEL_DATABASE_URL is set).
    Serve {
        /// Also create a provider and a consumer account connected by a peer integration, and print
        /// how to use them (allows private remotes, since the demo connects the server to itself).
        #[arg(long)]
        demo: bool,
        /// Do not run the daemon (schedules and jobs) in this process: run `koppel daemon` elsewhere.
        #[arg(long = "no-daemon")]
        no_daemon: bool,
        #[command(flatten)]
        daemon: DaemonConfig,
        #[command(flatten)]
        config: Config,
    },
    /// Run the daemon alone: the schedules and the job workers (reconcile passes), until stopped.
    /// Any number may run against one PostgreSQL database; on SQLite one daemon is the rule.
    Daemon {
        #[command(flatten)]
        daemon: DaemonConfig,
        #[command(flatten)]
        config: Config,
    },
    /// Run one reconcile pass of an integration now, against the configured database, and print its
    /// counts (`--dry-run`: print what it would do, change nothing). The pass is recorded as a run.
    Sync {
        /// The integration's id (from `integrations` in the API).
        #[arg(long)]
        integration: String,
        /// The entity to reconcile (`products`; the entities Koppel has a pass for).
        #[arg(long, default_value = "products", value_parser = parse_entity)]
        entity: koppel_entity::enums::LinkedEntity,
        #[arg(long = "dry-run")]
        dry_run: bool,
        #[command(flatten)]
        config: Config,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        config: Config,
    },
    /// Print the GraphQL schema (SDL); `schema.graphql` in the repository is its output.
    Schema,
    /// Manage accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account and its first admin user; prints the admin's password once.
    Create {
        /// The account's name, used to sign in (a–z, 0–9, _).
        #[arg(long)]
        name: String,
        /// The admin's username.
        #[arg(long, default_value = "admin")]
        admin: String,
        /// The admin's password; generated and printed when unset.
        #[arg(long = "admin-password", env = "KOPPEL_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
        #[command(flatten)]
        config: Config,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Schema => {
            print!("{}", koppel_api::schema::sdl());
            Ok(())
        }
        Command::Serve { demo, no_daemon, daemon: daemon_config, mut config } => {
            init_tracing(&config.log_format);
            if demo {
                // The demo accounts have a published password: keep them off the network.
                if !config.bind.ip().is_loopback() {
                    anyhow::bail!(
                        "--demo only listens on a loopback address (KOPPEL_BIND={}): its passwords are public",
                        config.bind
                    );
                }
                config.allow_private_remotes = true;
            }
            let database_url = config.database_url();
            let server = koppel_api::start(config).await?;
            // After start-up, so that a bad data directory or database is reported by its variable.
            let lock = match no_daemon {
                true => None,
                false => match daemon_lock(&database_url) {
                    Ok(lock) => Some(lock),
                    Err(refused) => {
                        server.stop().await?;
                        return Err(refused);
                    }
                },
            };
            announce(&format!("Koppel is listening on http://{}/graphql", server.addr));
            if demo {
                announce(&koppel_api::demo::seed(&server.state, server.addr).await?);
            }
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let daemon = lock.map(|lock| {
                let engine = server.state.engine.clone();
                tokio::spawn(async move {
                    koppel_daemon::process::run(engine, daemon_options(&daemon_config), stopped).await;
                    drop(lock);
                })
            });
            shutdown_signal().await;
            tracing::info!("shutting down");
            let _ = stop.send(true);
            if let Some(daemon) = daemon {
                let _ = daemon.await;
            }
            server.stop().await
        }
        Command::Daemon { daemon: daemon_config, config } => {
            init_tracing(&config.log_format);
            let database_url = config.database_url();
            let state = koppel_api::server::prepare(config).await?;
            let lock = daemon_lock(&database_url)?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let metrics = match daemon_config.metrics_addr {
                Some(addr) => Some(serve_metrics(addr, stopped.clone()).await?),
                None => None,
            };
            let daemon =
                tokio::spawn(koppel_daemon::process::run(state.engine, daemon_options(&daemon_config), stopped));
            announce("Koppel daemon is running");
            shutdown_signal().await;
            tracing::info!("shutting down");
            let _ = stop.send(true);
            daemon.await?;
            if let Some(metrics) = metrics {
                metrics.await??;
            }
            drop(lock);
            Ok(())
        }
        Command::Sync { integration, entity, dry_run, config } => {
            init_tracing(&config.log_format);
            let state = koppel_api::server::prepare(config).await?;
            let id = uuid::Uuid::parse_str(integration.trim())
                .map_err(|_| anyhow::anyhow!("--integration must be an integration id, not {integration:?}"))?;
            // The operator's command: it may name any account's integration.
            let found = koppel_entity::integration::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("there is no integration {id}"))?;
            let (progress, steps) = koppel_daemon::reconcile::Progress::channel();
            let shown = tokio::spawn(show_progress(steps));
            let outcome = if dry_run {
                koppel_daemon::reconcile::reconcile(
                    &state.engine,
                    &found,
                    entity,
                    false,
                    &progress,
                    &koppel_daemon::reconcile::NoRecorder,
                )
                .await
                .map(|r| (None, r))
            } else {
                let trigger = koppel_entity::enums::RunTrigger::Manual;
                koppel_daemon::reconcile::job::run_now(&state.engine, &found, entity, trigger, &progress)
                    .await
                    .map(|(run, report)| (Some(run), report))
            };
            drop(progress);
            let _ = shown.await;
            let (run, report) = outcome?;
            if let Some(run) = run {
                println!("run {} {}", run.id, run.state.as_str());
            }
            print_report(&found.name, entity, &report);
            Ok(())
        }
        Command::Migrate { config } => {
            init_tracing(&config.log_format);
            koppel_api::server::prepare(config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Account { command: AccountCommand::Create { name, admin, admin_password, config } } => {
            init_tracing(&config.log_format);
            let state = koppel_api::server::prepare(config).await?;
            let generated = admin_password.is_none();
            let password = admin_password.unwrap_or_else(koppel_api::auth::password::generate);
            let (account, user) = koppel_api::accounts::create_account(&state.db, &name, &admin, &password)
                .await
                .map_err(describe)
                .context("cannot create the account")?;
            println!("created account {} with admin user {}", account.name, user.username);
            if generated {
                println!("admin password (shown once): {password}");
            }
            Ok(())
        }
    }
}

/// Names every field problem in a CLI error.
fn describe(error: koppel_api::error::ApiError) -> anyhow::Error {
    match error {
        koppel_api::error::ApiError::Invalid(problems) => anyhow::anyhow!(
            "{}",
            problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

/// The counts of a pass as plain lines, for terminals and scripts alike.
/// The entity `--entity` names: `products`, `product`, `customers`, …
fn parse_entity(value: &str) -> Result<koppel_entity::enums::LinkedEntity, String> {
    use sea_orm::Iterable;
    let wanted = value.trim().to_ascii_lowercase();
    let known: Vec<_> = koppel_entity::enums::LinkedEntity::iter()
        .filter(|e| koppel_daemon::reconcile::pass_for(*e).is_some())
        .collect();
    known.iter().copied().find(|e| wanted == e.as_str() || wanted == format!("{}s", e.as_str())).ok_or_else(|| {
        let names: Vec<String> = known.iter().map(|e| format!("{}s", e.as_str())).collect();
        format!("--entity must be one of {}, not {value:?}", names.join(", "))
    })
}

/// A progress bar on a terminal; plain lines, at most one a second, otherwise (a log, a pipe).
async fn show_progress(mut steps: tokio::sync::watch::Receiver<koppel_daemon::reconcile::Step>) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        let style = indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} records {wide_bar} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        while steps.changed().await.is_ok() {
            let step = *steps.borrow_and_update();
            if let Some(total) = step.total {
                bar.set_length(total);
            }
            bar.set_position(step.done);
        }
        bar.finish_and_clear();
    } else {
        let mut last = None::<std::time::Instant>;
        while steps.changed().await.is_ok() {
            let step = *steps.borrow_and_update();
            if last.is_some_and(|at| at.elapsed() < std::time::Duration::from_secs(1)) && step.total.is_none() {
                continue;
            }
            last = Some(std::time::Instant::now());
            match step.total {
                Some(total) => eprintln!("progress: {} of {total} records", step.done),
                None => eprintln!("progress: {} records read", step.done),
            }
        }
    }
}

fn print_report(name: &str, entity: koppel_entity::enums::LinkedEntity, report: &koppel_daemon::reconcile::PassReport) {
    use koppel_daemon::reconcile::ChangeAction as A;
    let verb = if report.applied { "synced" } else { "would sync (dry run)" };
    println!("{name}: {entity}s {verb}");
    for (label, action) in [
        ("updated", A::Update),
        ("unchanged", A::Unchanged),
        ("deactivated", A::Deactivate),
        ("deleted", A::Delete),
        ("ignored", A::Ignore),
        ("not imported", A::NotImported),
        ("failed", A::Failed),
        ("reactivated", A::Reactivate),
        ("unmapped", A::Unmapped),
    ] {
        println!("  {label:<13}{}", report.count(action));
    }
    if let Some(reason) = &report.held_back {
        println!("  held back: {reason}");
    }
}

fn daemon_options(config: &DaemonConfig) -> DaemonOptions {
    DaemonOptions {
        workers: config.workers as usize,
        lease: std::time::Duration::from_secs(config.job_lease_seconds.into()),
        retention: std::time::Duration::from_secs(u64::from(config.event_retention_days) * 24 * 60 * 60),
        send_retry_base: std::time::Duration::from_secs(config.send_retry_seconds.into()),
        send_concurrency: config.send_concurrency as usize,
        ..DaemonOptions::default()
    }
}

/// Serves the daemon's metrics on `addr` (`KOPPEL_DAEMON_METRICS_ADDR`) until `stop` turns true.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on KOPPEL_DAEMON_METRICS_ADDR={addr}"))?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], koppel_daemon::telemetry::render())
        }),
    );
    tracing::info!(%addr, "the daemon's metrics are at /metrics");
    announce(&format!("Koppel daemon metrics on http://{addr}/metrics"));
    Ok(tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await
    }))
}

/// The SQLite single-daemon lock (nothing on PostgreSQL); a second daemon is refused with the reason.
fn daemon_lock(database_url: &str) -> anyhow::Result<Option<SqliteDaemonLock>> {
    SqliteDaemonLock::acquire(database_url).map_err(|message| anyhow::anyhow!(message))
}

fn init_tracing(format: &str) {
    koppel_api::telemetry::init(format);
}

/// Prints a line for whoever started the server. Once the reader has gone (a script that read the
/// address and closed the pipe), the text is dropped: `println!` would panic on the broken pipe and
/// take the running server down with it.
fn announce(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
