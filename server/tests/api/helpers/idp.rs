//! The development IdP on its own, shared by several app instances (and surviving their
//! restarts), as a real Asgardeo organisation would be.
#![allow(dead_code)]

use dev_idp::{users::default_users, DevClient, DevIdp, DevIdpSettings, IdpState, StatsSnapshot};
use secrecy::SecretString;
use std::{sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::oneshot};
use url::Url;

pub const CLIENT_ID: &str = "shared-test-client";
pub const CLIENT_SECRET: &str = "shared-test-client-secret";

pub struct TestIdp {
    pub issuer: Url,
    state: Arc<IdpState>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// App listeners bound in advance, so the IdP can register their URLs.
pub async fn bind_apps(count: usize) -> Vec<TcpListener> {
    let mut listeners = Vec::new();
    for _ in 0..count {
        listeners.push(TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    listeners
}

impl TestIdp {
    /// Registers one client for apps on `ports`, with back-channel logout to the first one.
    pub async fn start(ports: &[u16], access_token_ttl: Duration) -> TestIdp {
        let origin = |port: &u16| format!("http://localhost:{port}");
        let client = DevClient {
            client_id: CLIENT_ID.to_owned(),
            client_secret: SecretString::from(CLIENT_SECRET),
            redirect_uris: ports
                .iter()
                .map(|p| format!("{}/api/auth/callback/asgardeo", origin(p)))
                .collect(),
            post_logout_redirect_uris: ports.iter().map(|p| format!("{}/", origin(p))).collect(),
            allowed_origins: ports.iter().map(origin).collect(),
            backchannel_logout_uri: ports
                .first()
                .map(|p| format!("{}/api/auth/backchannel-logout", origin(p))),
        };
        let idp = DevIdp::bind(DevIdpSettings {
            port: 0,
            users: default_users(),
            clients: vec![client],
            access_token_ttl,
            minimal_id_token: false,
            test_controls: true,
        })
        .await
        .expect("development IdP");
        let issuer = idp.issuer.clone();
        let state = idp.stats();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(idp.serve(async move {
            let _ = stopped.await;
        }));
        TestIdp {
            issuer,
            state,
            stop: Some(stop),
        }
    }

    /// The app's environment for this IdP.
    pub fn app_env(&self) -> Vec<(&'static str, String)> {
        super::client_env(&self.issuer, CLIENT_ID, CLIENT_SECRET)
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.state.snapshot()
    }

    pub fn url(&self, path: &str) -> String {
        let mut url = self.issuer.clone();
        url.set_path(path);
        url.to_string()
    }
}
