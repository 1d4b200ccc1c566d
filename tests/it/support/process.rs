//! Herald as a real process (`herald serve` from the built binary): started on a free
//! port, killed on drop. Talk to it with `herald.api(token)`.
use super::{eventually, GqlClient, TestDb, TEST_ENCRYPTION_KEY};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `herald` command for `db` with the test settings (fast retries, short leases).
pub fn command(db: &TestDb, port: u16, extra: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_herald"));
    c.env("HERALD_DATABASE_URL", &db.url)
        .env("HERALD_JWT_SECRET", "process-test-secret")
        .env("HERALD_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
        .env("HERALD_ALLOW_PRIVATE_NETWORKS", "true")
        .env("HERALD_LISTEN", format!("127.0.0.1:{port}"))
        .env("HERALD_REQUEST_TIMEOUT_MS", "1500")
        .env("HERALD_LEASE_MS", "3000")
        .env("HERALD_POLL_INTERVAL_MS", "50")
        .env("HERALD_RETRY_BASE_DELAY_MS", "20")
        .env("HERALD_RETRY_MAX_DELAY_MS", "200")
        .env("HERALD_MAX_ATTEMPTS", "50")
        .env("HERALD_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

/// A running `herald serve`; SIGKILLed when dropped, so a failing test leaves no process.
pub struct Herald {
    child: Option<Child>,
    pub url: String,
}

impl Herald {
    pub async fn start(db: &TestDb, extra: &[(&str, &str)]) -> Herald {
        let port = free_port();
        Herald::spawn(command(db, port, extra), port).await
    }

    /// `cmd serve`, listening on `port` (set here), once `/healthz` answers 200.
    pub async fn spawn(cmd: Command, port: u16) -> Herald {
        let h = Herald::spawn_unready(cmd, port);
        h.wait_healthy(Duration::from_secs(30)).await;
        h
    }

    /// `cmd serve`, listening on `port` (set here), without waiting for it to be healthy
    /// (tests of a server that starts without its database).
    pub fn spawn_unready(mut cmd: Command, port: u16) -> Herald {
        let child = cmd
            .env("HERALD_LISTEN", format!("127.0.0.1:{port}"))
            .arg("serve")
            .spawn()
            .expect("start herald");
        Herald {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Whether the process has exited (it is not waited for).
    pub fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|c| c.try_wait().expect("try_wait").is_some())
    }

    /// A GraphQL client for this process with `token`.
    pub fn api(&self, token: &str) -> GqlClient {
        GqlClient::new(&self.url, token)
    }

    /// Graceful stop (SIGTERM); the process must exit successfully.
    pub async fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "herald exited with {status}");
    }

    pub async fn wait_healthy(&self, timeout: Duration) {
        let c = reqwest::Client::new();
        let url = format!("{}/healthz", self.url);
        eventually(timeout, "herald to answer /healthz with 200", || async {
            c.get(&url)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
                .map(|_| ())
        })
        .await;
    }

    /// The status `/healthz` answers now (0 when it does not answer).
    pub async fn health(&self) -> u16 {
        reqwest::Client::new()
            .get(format!("{}/healthz", self.url))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    /// Resident memory of the process, in KiB (0 once it is gone).
    pub fn rss_kib(&self) -> u64 {
        let Some(child) = &self.child else {
            return 0;
        };
        std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Herald {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `herald token create` against `db`: a token with every permission.
pub fn cli_token(db: &TestDb) -> String {
    cli_token_with(db, command(db, 0, &[]))
}

/// `cmd token create`: for tests whose servers use other settings (a JWT secret).
pub fn cli_token_with(db: &TestDb, mut cmd: Command) -> String {
    db.ensure_exists();
    let out = cmd
        .args(["token", "create", "--name", "process-test"])
        .stdout(Stdio::piped())
        .output()
        .expect("herald token create");
    assert!(out.status.success(), "token create failed: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
