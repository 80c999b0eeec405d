//! Memory per held session: signs 100 000 users in (through the same typed-session code as the
//! callback) into the memory store and reports how much resident memory grew.
//!
//! `cargo run --release -p server --example session_memory [count]`; `make bench` runs it.
//! Token sizes are those the development IdP issues (opaque 43-character tokens, a 958-character
//! RS256 ID token).

use app::auth::SessionUser;
use server::{
    auth::session::{AuthSession, SignedIn, Tokens},
    config::SessionStoreConfig,
    sessions::{AnyStore, BackendOptions, SessionBackend},
};
use std::{sync::Arc, time::Duration};
use tower_sessions::{Expiry, Session};

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn random(len: usize) -> String {
    use rand::{distributions::Alphanumeric, Rng};
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let backend = SessionBackend::connect(
        &SessionStoreConfig::Memory,
        BackendOptions {
            key_prefix: "asgardeo-leptos:".into(),
            refresh_wait: Duration::from_secs(15),
        },
    )
    .await
    .expect("memory store");
    let store = Arc::new(AnyStore(backend.clone()));
    let expiry = Some(Expiry::OnInactivity(time::Duration::days(1)));
    let id_token = format!("{}.{}.{}", random(101), random(513), random(342));

    let before = resident_bytes();
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let session = AuthSession::new(Session::new(None, store.clone(), expiry));
        let signed_in = SignedIn {
            user: SessionUser {
                email: format!("user{i}"),
                given_name: Some("Alice".into()),
                family_name: Some("Liddell".into()),
            },
            sub: format!("{:08x}-fb98-3463-29a1-7aa20f5a73cd", i),
            sid: Some(random(43)),
            auth_time: None,
            tokens: Tokens {
                access_token: random(43),
                expires_at: Some(1_800_000_000),
                refresh_at: Some(1_799_999_940),
                refresh_token: Some(random(43)),
                id_token: id_token.clone(),
            },
            signed_in_at: 1_795_000_000,
            touched_at: 1_795_000_000,
            refreshed_at: None,
        };
        session.begin(&signed_in).await.expect("store the session");
        ids.push(session.id());
    }
    let after = resident_bytes();
    let per_session = (after.saturating_sub(before)) as f64 / count as f64;
    println!("sessions={count}");
    println!("resident_growth_bytes={}", after.saturating_sub(before));
    println!("bytes_per_session={per_session:.0}");
    assert_eq!(ids.len(), count);
}
