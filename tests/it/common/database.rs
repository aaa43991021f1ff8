//! A fresh database for every test server, gone when the test ends.
//!
//! SQLite: a new file in a temporary directory, removed with it. PostgreSQL (when
//! `KOPPEL_TEST_DATABASE_URL` names a server, e.g. `postgres://postgres@127.0.0.1:5432/test`): like
//! crates.io's harness, the first test of the process creates one migrated template database,
//! `koppel_template_<uuid>`; every test server then gets `koppel_test_<uuid>`, a copy of it
//! (`CREATE DATABASE … TEMPLATE`, much faster than migrating), dropped with `WITH (FORCE)` when the
//! test ends, pass or fail, without waiting for the server's pool. The template is dropped when the
//! test process exits, however it exits: a janitor, [`template_janitor`] run by this same binary in
//! a process of its own, waits for its parent to be gone (its standard input reaches end of file) and
//! then drops it. A database that cannot be dropped is named on stderr; `.ci/run` fails on leftovers.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use tempfile::TempDir;
use tokio::sync::OnceCell;

/// Set for the janitor process: the name of the template it is to drop.
const JANITOR: &str = "KOPPEL_TEST_TEMPLATE_JANITOR";

/// This process's migrated template, made by the first test that needs one.
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The janitor process. Kept, never waited for: its standard input stays open until this process ends.
static JANITOR_PROCESS: OnceLock<Child> = OnceLock::new();

/// A fresh, migrated or empty database for one test server.
pub struct TestDb {
    pub url: String,
    /// The SQLite file's directory, removed on drop.
    _sqlite_dir: Option<TempDir>,
    /// The PostgreSQL database, dropped on drop.
    postgres: Option<Postgres>,
}

struct Postgres {
    admin_url: String,
    name: String,
}

impl TestDb {
    pub async fn new() -> Self {
        match admin_url() {
            Some(admin_url) => Self::postgres(admin_url).await,
            None => Self::sqlite(),
        }
    }

    fn sqlite() -> Self {
        let dir = TempDir::new().expect("a temporary directory for SQLite");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("koppel.db").display());
        Self { url, _sqlite_dir: Some(dir), postgres: None }
    }

    async fn postgres(admin_url: String) -> Self {
        let template = TEMPLATE.get_or_init(|| create_template(&admin_url)).await;
        let name = format!("koppel_test_{}", uuid::Uuid::now_v7().simple());
        let admin = connect(&admin_url).await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""))
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name} from {template}: {e}"));
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Self { url, _sqlite_dir: None, postgres: Some(Postgres { admin_url, name }) }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(Postgres { admin_url, name }) = self.postgres.take() {
            // Drop runs inside the test's runtime, which cannot block on a future of its own: the DROP
            // gets a thread with its own runtime, and the test waits for it.
            let dropped = std::thread::spawn(move || drop_database(&admin_url, &name)).join();
            if let Ok(Err(message)) | Err(message) = dropped.map_err(|_| "the drop panicked".to_owned()) {
                eprintln!("{message}");
            }
        }
    }
}

fn admin_url() -> Option<String> {
    std::env::var("KOPPEL_TEST_DATABASE_URL").ok().map(|url| url.trim().to_owned()).filter(|url| !url.is_empty())
}

async fn connect(admin_url: &str) -> DatabaseConnection {
    sea_orm::Database::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to KOPPEL_TEST_DATABASE_URL={admin_url}: {e}"))
}

/// Creates and migrates the template, and starts the janitor that drops it when this process is gone.
async fn create_template(admin_url: &str) -> String {
    use koppel_migration::{Migrator, MigratorTrait};
    let name = format!("koppel_template_{}", uuid::Uuid::now_v7().simple());
    let admin = connect(admin_url).await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("cannot create the template database {name}: {e}"));
    let _ = admin.close().await;
    start_janitor(&name);
    let template = connect(&with_database(admin_url, &name)).await;
    Migrator::up(&template, None).await.unwrap_or_else(|e| panic!("cannot migrate the template {name}: {e}"));
    // A database is copied only while nobody is connected to it.
    template.close().await.unwrap_or_else(|e| panic!("cannot close the connection to {name}: {e}"));
    name
}

/// Runs [`template_janitor`] in a process of its own, in its own process group so that a Ctrl-C to
/// the test run does not stop it before it has cleaned up. Its standard input is a pipe that only this
/// process writes to: the operating system closes it when this process ends.
fn start_janitor(template: &str) {
    use std::os::unix::process::CommandExt;
    // The janitor's test name is its module path without the crate's name, e.g. `common::database::…`.
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    let started = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .args(["--exact", &format!("{module}::template_janitor"), "--ignored", "--test-threads=1", "-q"])
            .env(JANITOR, template)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
    });
    match started {
        Ok(child) => {
            let _ = JANITOR_PROCESS.set(child);
        }
        Err(e) => eprintln!("no janitor for the template database {template} ({e}): drop it by hand"),
    }
}

#[test]
#[ignore = "started by the harness: drops the PostgreSQL template database once the tests are done"]
fn template_janitor() {
    let (Ok(template), Some(admin_url)) = (std::env::var(JANITOR), admin_url()) else { return };
    // End of file: the test process that started this one is gone.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    if let Err(message) = drop_database(&admin_url, &template) {
        panic!("{message}");
    }
}

/// `DROP DATABASE … WITH (FORCE)` (PostgreSQL 13+): connections still open to it are ended first.
fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("test database {name} left in place, cannot drop it: {e}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| failed(&e))?;
    runtime.block_on(async {
        let admin = sea_orm::Database::connect(admin_url).await.map_err(|e| failed(&e))?;
        let dropped = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        let _ = admin.close().await;
        dropped.map(|_| ()).map_err(|e| failed(&e))
    })
}

/// `url` with its database (the path) replaced by `name`, keeping any `?query`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let server = base[authority..].find('/').map_or(base, |slash| &base[..authority + slash]);
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}
