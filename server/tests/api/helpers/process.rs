//! The server binary itself, in a process of its own (with its built-in development IdP): for
//! what only a real process shows — its open file descriptors, its memory, and SIGTERM.
#![allow(dead_code)]

use super::Served;
use std::{path::PathBuf, process::Stdio, time::Duration};
use tokio::process::{Child, Command};

pub struct ServerProcess {
    child: Child,
    pub pid: u32,
    /// `http://localhost:<port>`
    pub base: String,
    pub port: u16,
    idp_port: u16,
    /// What the process wrote to stderr (for a failing test's message).
    log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ServerProcess {
    /// Starts `target/…/server` (built with the development IdP) with `vars` added to its
    /// environment, and waits until it answers.
    pub async fn start(vars: &[(&str, &str)]) -> ServerProcess {
        let (port, idp_port) = (free_port(), free_port());
        let log = std::env::temp_dir().join(format!(
            "asgardeo-leptos-server-{}-{port}.log",
            std::process::id()
        ));
        let stderr = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .env("LEPTOS_OUTPUT_NAME", "asgardeo-leptos")
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("AUTH_URL", format!("http://localhost:{port}"))
            .env("DEV_IDP_PORT", idp_port.to_string())
            .env("DEV_IDP_TEST_CONTROLS", "true")
            .env("AUTH_SECRET", "process-test-secret-process-test-secret")
            .env("RUST_LOG", "info")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary");
        let pid = child.id().expect("a running process");
        let mut server = ServerProcess {
            child,
            pid,
            base: format!("http://localhost:{port}"),
            port,
            idp_port,
            log,
        };
        let probe = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(response) = probe.get(server.url("/api/auth/session")).send().await {
                if response.status().is_success() {
                    return server;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the server exited ({status}): {}", server.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not answer within 30 s: {}", server.log());
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many file descriptors the process has open.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    /// Its resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `within`.
    pub async fn exited_within(&mut self, within: Duration) -> std::process::ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("the server's exit status"),
            Err(_) => panic!(
                "the server was still running after {within:?}: {}",
                self.log()
            ),
        }
    }
}

impl Served for ServerProcess {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn idp_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.idp_port)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_file(&self.log);
    }
}
