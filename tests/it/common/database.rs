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
//! then drops it, and every test database it was told about that a killed run could not drop. A
//! database that cannot be dropped is named on stderr; `.ci/run` fails on leftovers.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use tempfile::TempDir;
use tokio::sync::OnceCell;

/// Set for the janitor process: the name of the template it is to drop.
const JANITOR: &str = "KOPPEL_TEST_TEMPLATE_JANITOR";

/// This process's migrated template, made by the first test that needs one.
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The janitor processes (one, unless making a template failed). Kept and never waited for: their
/// standard input stays open until this process ends.
static JANITORS: Mutex<Vec<Child>> = Mutex::new(Vec::new());

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
        tell_janitors(&name);
        let url = with_database(&admin_url, &name);
        Self { url, _sqlite_dir: None, postgres: Some(Postgres { admin_url, name }) }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(Postgres { admin_url, name }) = self.postgres.take() {
            // Drop runs inside the test's runtime, which cannot block on a future of its own: the DROP
            // gets a thread with its own runtime, and the test waits for it.
            let failures = std::thread::spawn(move || drop_databases(&admin_url, [name.as_str()])).join();
            for message in failures.unwrap_or_else(|_| vec!["the drop of a test database panicked".to_owned()]) {
                report(&message);
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
    // The janitor's test name is its module path without the crate's name, e.g. `common::database::…`.
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    let started = std::env::current_exe().and_then(|exe| {
        let mut command = Command::new(exe);
        command
            .args(["--exact", &format!("{module}::template_janitor"), "--ignored", "--test-threads=1", "-q"])
            .env(JANITOR, template)
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command.spawn()
    });
    match started {
        Ok(child) => JANITORS.lock().unwrap_or_else(|e| e.into_inner()).push(child),
        Err(e) => report(&format!("no janitor for the template database {template} ({e}): drop it by hand")),
    }
}

/// Names a test database to the janitors, one line each, in case this process is killed before the
/// test's drop ran.
fn tell_janitors(name: &str) {
    use std::io::Write;
    for janitor in JANITORS.lock().unwrap_or_else(|e| e.into_inner()).iter_mut() {
        if let Some(stdin) = janitor.stdin.as_mut() {
            let _ = writeln!(stdin, "{name}");
        }
    }
}

#[test]
#[ignore = "started by the harness: drops the PostgreSQL template database once the tests are done"]
fn template_janitor() {
    let (Ok(template), Some(admin_url)) = (std::env::var(JANITOR), admin_url()) else { return };
    // End of file: the test process that started this one is gone. Before that, it named its test
    // databases; those its tests dropped are dropped `IF EXISTS`, that is not again.
    let mut named = String::new();
    let _ = std::io::stdin().read_to_string(&mut named);
    let failures = drop_databases(&admin_url, named.lines().chain([template.as_str()]));
    for message in &failures {
        report(message);
    }
    assert!(failures.is_empty(), "{failures:?}");
}

/// Writes to the real stderr: `eprintln!` in a test is captured, and shown only if the test fails.
fn report(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// `DROP DATABASE … WITH (FORCE)` (PostgreSQL 13+): connections still open to it are ended first.
/// Returns a message for each database that could not be dropped.
fn drop_databases<'a>(admin_url: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let names: Vec<&str> = names.into_iter().collect();
    let failed =
        |name: &str, e: &dyn std::fmt::Display| format!("test database {name} left in place, cannot drop it: {e}");
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return names.iter().map(|name| failed(name, &e)).collect(),
    };
    runtime.block_on(async {
        let admin = match sea_orm::Database::connect(admin_url).await {
            Ok(admin) => admin,
            Err(e) => return names.iter().map(|name| failed(name, &e)).collect(),
        };
        let mut failures = Vec::new();
        for name in names {
            let dropped = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
            if let Err(e) = dropped {
                failures.push(failed(name, &e));
            }
        }
        let _ = admin.close().await;
        failures
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
