//! The local AWS emulator: moto server behind the CloudWatch RPCv2-CBOR front (`governance/emulator/moto_front.py`,
//! embedded in this crate), started on a free loopback port and stopped when the [`Emulator`] is dropped — also
//! when a test panics.
//!
//! Used by the `collectiq-ops demo` command and by every emulator test; it lives in the test kit so no
//! production build compiles it. The real SDK clients talk to it through an
//! ordinary `endpoint_url`; nothing here is a mock. What moto does not do (composite alarms, cost forecast,
//! alarm history, DescribeAlarms paging) is tested with SDK test clients instead (see `docs/harness.md`).

pub mod moto_api;
pub mod webhook_sink;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use aws_types::SdkConfig;
use thiserror::Error;

use governance::aws::{AwsClients, AwsTarget, sdk_config};

/// The translating front, embedded so the CLI's `demo` works from any directory.
const FRONT_SCRIPT: &str = include_str!("../../../governance/emulator/moto_front.py");

/// Environment variable naming the Python interpreter that has `moto[server]` and `cbor2` installed.
pub const PYTHON_ENV: &str = "COLLECTIQ_EMULATOR_PYTHON";

/// Why the emulator could not be started or used.
#[derive(Debug, Error)]
pub enum EmulatorError {
    /// No Python with moto was found.
    #[error(
        "no emulator Python found (looked at ${PYTHON_ENV} and {looked}); run `scripts/setup-emulator` to create \
         the project venv with moto[server] and cbor2"
    )]
    PythonMissing {
        /// Where it looked.
        looked: String,
    },
    /// The process could not be spawned or its script written.
    #[error("cannot start the emulator: {0}")]
    Spawn(#[source] std::io::Error),
    /// The process exited or stayed silent before it was ready.
    #[error("the emulator did not start within {timeout:?}: {output}")]
    NotReady {
        /// How long it waited.
        timeout: Duration,
        /// What the process printed.
        output: String,
    },
    /// A `/moto-api` call failed.
    #[error("emulator control call {what} failed: {detail}")]
    Control {
        /// Which call.
        what: &'static str,
        /// Why.
        detail: String,
    },
}

/// A running emulator process on `127.0.0.1:<port>`.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    // Held open: the front exits when this pipe closes, so a killed parent never leaves an orphan.
    _stdin: Option<ChildStdin>,
    endpoint: String,
    http: reqwest::Client,
    _script_dir: tempfile::TempDir,
}

impl Emulator {
    /// Starts a fresh emulator on a free loopback port and waits until it answers.
    ///
    /// # Errors
    /// [`EmulatorError::PythonMissing`] when no venv with moto exists, [`EmulatorError::Spawn`] or
    /// [`EmulatorError::NotReady`] when the process does not come up within 60 s.
    pub async fn start() -> Result<Self, EmulatorError> {
        let python = find_python()?;
        let script_dir = tempfile::tempdir().map_err(EmulatorError::Spawn)?;
        let script = script_dir.path().join("moto_front.py");
        std::fs::write(&script, FRONT_SCRIPT).map_err(EmulatorError::Spawn)?;
        let mut child = Command::new(&python)
            .arg(&script)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--quiet",
                "--exit-on-stdin-eof",
            ])
            .env("PYTHONUNBUFFERED", "1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(EmulatorError::Spawn)?;
        let stdin = child.stdin.take();
        let timeout = Duration::from_secs(60);
        let port = match read_port(&mut child, timeout).await {
            Ok(port) => port,
            Err(output) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(EmulatorError::NotReady { timeout, output });
            }
        };
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| EmulatorError::Control {
                what: "http client",
                detail: e.to_string(),
            })?;
        let emulator = Self {
            child,
            _stdin: stdin,
            endpoint,
            http,
            _script_dir: script_dir,
        };
        emulator.wait_healthy(Instant::now() + timeout).await?;
        Ok(emulator)
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The target for `sdk_config`: this endpoint, static test credentials, us-east-1, one attempt.
    #[must_use]
    pub fn target(&self) -> AwsTarget {
        AwsTarget {
            endpoint_url: Some(self.endpoint.clone()),
            ..AwsTarget::default()
        }
    }

    /// An `SdkConfig` pointing every client at this emulator.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config(&self.target()).await
    }

    /// Every client the governance pass uses, pointed at this emulator.
    pub async fn clients(&self) -> AwsClients {
        AwsClients::new(&self.sdk_config().await)
    }

    /// The HTTP client used for control calls (also handy for tests).
    #[must_use]
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    async fn wait_healthy(&self, deadline: Instant) -> Result<(), EmulatorError> {
        let url = format!("{}/__front/health", self.endpoint);
        loop {
            match self.http.get(&url).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                result if Instant::now() >= deadline => {
                    return Err(EmulatorError::NotReady {
                        timeout: Duration::from_secs(60),
                        output: format!("health check never passed: {result:?}"),
                    });
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the child's stdout until it announces `listening on http://127.0.0.1:<port>`. Both pipes keep
/// being drained afterwards so the child can never block on a full pipe; what it printed before the
/// announcement (or before dying) is returned as the error.
async fn read_port(child: &mut Child, timeout: Duration) -> Result<u16, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let errors = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let errors_sink = std::sync::Arc::clone(&errors);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(mut e) = errors_sink.lock()
                && e.len() < 16 * 1024
            {
                e.push_str(&line);
                e.push('\n');
            }
        }
    });
    let (tx, rx) = std::sync::mpsc::channel::<Result<u16, String>>();
    std::thread::spawn(move || {
        let mut announced = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if announced {
                continue;
            }
            let port = line
                .contains("listening on")
                .then(|| line.rsplit(':').next())
                .flatten();
            match port.and_then(|p| p.trim().parse::<u16>().ok()) {
                Some(port) => {
                    announced = true;
                    let _ = tx.send(Ok(port));
                }
                None => {
                    let _ = tx.send(Err(line));
                }
            }
        }
    });
    let waited = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + timeout;
        let mut seen = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Ok(port)) => return Ok(port),
                Ok(Err(line)) => {
                    seen.push_str(&line);
                    seen.push('\n');
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("{seen}timed out waiting for the port announcement"));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(format!("{seen}the process exited"));
                }
            }
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    waited.map_err(|out| {
        // Give the stderr drain a moment to collect the traceback of a dying child.
        std::thread::sleep(Duration::from_millis(200));
        let err = errors.lock().map(|e| e.clone()).unwrap_or_default();
        format!("{out}\n{err}").trim().to_owned()
    })
}

/// The Python with moto: `$COLLECTIQ_EMULATOR_PYTHON`, else `.venv/bin/python` in the current directory or
/// any parent (the workspace root when run from the repo), else the one next to this crate's sources.
fn find_python() -> Result<PathBuf, EmulatorError> {
    if let Some(p) = std::env::var_os(PYTHON_ENV) {
        return Ok(PathBuf::from(p));
    }
    let mut candidates = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        candidates.extend(cwd.ancestors().map(|d| d.join(".venv/bin/python")));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| EmulatorError::PythonMissing {
            looked: "./.venv/bin/python and its parents".to_owned(),
        })
}
