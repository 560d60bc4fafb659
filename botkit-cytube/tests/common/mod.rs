//! The CyTube-like test peer (`tests/peer/server.js`, npm `socket.io` 4.5.4), started per
//! test on a free port and killed by pid when the test drops it. Shared by the test files.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct Peer {
    child: Child,
    /// The port the peer listens on (127.0.0.1).
    pub port: u16,
    tls: bool,
}

/// The test CA that signed the TLS peer's certificate.
pub fn ca_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peer/ca.pem")
}

impl Peer {
    pub fn start(env: &[(&str, &str)]) -> Peer {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peer");
        assert!(
            dir.join("node_modules/socket.io").exists(),
            "the test peer is not installed: run `npm ci --prefix botkit-cytube/tests/peer` (.ci/run does)"
        );
        let mut cmd = Command::new("node");
        cmd.arg("server.js")
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .expect("node must be installed to run the test peer");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("peer prints its port");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected peer output {line:?}"));
        let tls = env.iter().any(|(k, v)| *k == "PEER_TLS" && *v == "1");
        Peer { child, port, tls }
    }

    pub fn web(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn ws(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub async fn control(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let url = format!("{}/control/{path}", self.web());
        let url = reqwest::Url::parse_with_params(&url, query).expect("control URL");
        let ca = std::fs::read(ca_path()).expect("the test CA");
        reqwest::Client::builder()
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).expect("PEM"))
            .build()
            .expect("client")
            .get(url)
            .send()
            .await
            .expect("control request")
            .json()
            .await
            .expect("control answer is JSON")
    }

    /// The events the peer received, as `(user, event, args)`.
    pub async fn log(&self) -> Vec<(String, String, Value)> {
        let log = self.control("log", &[]).await;
        log.as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["user"].as_str().unwrap_or_default().to_owned(),
                    e["event"].as_str().unwrap_or_default().to_owned(),
                    e["args"].clone(),
                )
            })
            .collect()
    }

    pub async fn count(&self, event: &str) -> usize {
        self.log()
            .await
            .iter()
            .filter(|(_, e, _)| e == event)
            .count()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
