//! The S3 backend passes the same storage tests as the directory backend, against a local
//! S3-compatible server: moto's server mode, installed from `tests/s3/requirements.txt` into a virtual
//! environment under the target directory (once; later runs reuse it). `KOPPEL_TEST_S3_ENDPOINT` points
//! the test at a running server instead (its bucket `koppel-test` is created if missing). Skipped, with a
//! message saying why, only when moto cannot be installed (no Python, no network), and never in CI (`CI` set).

use koppel_daemon::files::s3::{S3Settings, S3Storage};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Stops the server when the test ends, passed or failed.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

/// moto's `moto_server`, installed into a virtual environment under the target directory.
fn moto_server() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("s3-venv");
    let server = venv.join("bin").join("moto_server");
    let requirements = repository().join("tests").join("s3").join("requirements.txt");
    let stamp = venv.join("requirements.installed");
    let wanted = std::fs::read_to_string(&requirements).map_err(|e| format!("cannot read {requirements:?}: {e}"))?;
    if server.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(server);
    }
    let run = |command: &mut Command| -> Result<(), String> {
        let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr)))
        }
    };
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin").join("pip")).args(["install", "--quiet", "-r"]).arg(&requirements))?;
    std::fs::write(&stamp, wanted).map_err(|e| e.to_string())?;
    Ok(server)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_until_up(endpoint: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let http = reqwest::Client::new();
    while http.get(endpoint).send().await.is_err() {
        assert!(Instant::now() < deadline, "the S3 server at {endpoint} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_s3_backend_passes_the_storage_tests() {
    let (endpoint, _server) = match std::env::var("KOPPEL_TEST_S3_ENDPOINT") {
        Ok(endpoint) => (endpoint, None),
        Err(_) => {
            let moto = match moto_server() {
                Ok(moto) => moto,
                // In CI (`.ci/run` sets CI=true) the project's own files must install it: no skipping.
                Err(why) if std::env::var_os("CI").is_some() => panic!("moto cannot be installed: {why}"),
                Err(why) => {
                    eprintln!("SKIPPED: the S3 backend's tests need moto, which cannot be installed here: {why}");
                    return;
                }
            };
            let port = free_port();
            let child = Command::new(moto)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server starts");
            (format!("http://127.0.0.1:{port}"), Some(Server(child)))
        }
    };
    wait_until_up(&endpoint).await;
    // A fresh bucket per run (moto takes any credentials; creating an existing bucket is harmless).
    let bucket = format!("koppel-test-{}", uuid::Uuid::now_v7().simple());
    let created = reqwest::Client::new().put(format!("{endpoint}/{bucket}")).send().await.expect("create the bucket");
    assert!(created.status().is_success(), "creating the bucket: {}", created.status());
    let settings = S3Settings {
        bucket,
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        access_key_id: "koppel".into(),
        secret_access_key: "koppel-secret".into(),
        prefix: "koppel/files".into(),
    };
    koppel_daemon::files::conformance::run(std::sync::Arc::new(S3Storage::new(&settings).expect("a client"))).await;
}
