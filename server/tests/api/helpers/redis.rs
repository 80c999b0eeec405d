//! A real redis-server (Debian's package) on a free loopback port, for the session-store tests.
//! Append-only with fsync on every write, so a restart keeps the sessions.
#![allow(dead_code)]

use std::{path::PathBuf, process::Stdio, time::Duration};
use tokio::process::{Child, Command};

pub struct RedisServer {
    pub port: u16,
    /// Extra redis-server arguments (e.g. a password, an eviction policy).
    args: Vec<String>,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    pub async fn start() -> RedisServer {
        RedisServer::start_with(&[]).await
    }

    pub async fn start_with(args: &[&str]) -> RedisServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "asgardeo-leptos-redis-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer {
            port,
            args: args.iter().map(|a| a.to_string()).collect(),
            dir,
            child: None,
        };
        server.restart().await;
        server
    }

    /// A one-node Redis Cluster holding every slot: keys in different slots cannot be read
    /// together (`CROSSSLOT`), as in a real cluster. Its URL is [`RedisServer::cluster_url`].
    pub async fn start_cluster() -> RedisServer {
        // The cluster bus listens on the port + 10000.
        let port = loop {
            let port = free_port();
            if port < 55_000 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
                break port;
            }
        };
        let dir = std::env::temp_dir().join(format!(
            "asgardeo-leptos-redis-cluster-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let nodes = dir.join("nodes.conf").display().to_string();
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            &nodes,
            "--cluster-announce-ip",
            "127.0.0.1",
            "--cluster-node-timeout",
            "500",
        ];
        let mut server = RedisServer {
            port,
            args: args.iter().map(|a| a.to_string()).collect(),
            dir,
            child: None,
        };
        server.restart().await;
        let cli = |args: &[&str]| {
            let out = std::process::Command::new("redis-cli")
                .args(["-p", &port.to_string()])
                .args(args)
                .output()
                .expect("redis-cli (Debian's redis-tools) must be installed");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert_eq!(
            cli(&["cluster", "addslotsrange", "0", "16383"]).trim(),
            "OK"
        );
        for _ in 0..200 {
            if cli(&["cluster", "info"]).contains("cluster_state:ok") {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the one-node Redis Cluster on port {port} did not become ready");
    }

    /// `redis-cluster://127.0.0.1:<port>`.
    pub fn cluster_url(&self) -> String {
        format!("redis-cluster://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and data directory.
    pub async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--protected-mode",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed (make test installs Debian's redis-server)");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Kills the server (its data is on disk).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
