//! Slow and idle clients cannot hold the server: against the server binary in a process of its
//! own, as an attacker would — partial request heads, idle keep-alive connections, more
//! connections than it takes, and SIGTERM under load.
//!
//! Times here are the server's bounds plus a margin (failure guards), never measurements; the
//! one figure a test prints (p99 of normal requests under attack) is checked against a generous
//! bound and is measured properly by `make bench`.

use crate::helpers::{process::ServerProcess, *};
use reqwest::{header, Client, StatusCode};
use std::time::{Duration, Instant};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A connection that sends the start of a request head and never its end.
async fn partial_head(server: &ServerProcess) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Never-Ends: aaaa")
        .await
        .unwrap();
    stream
}

/// A connection that makes one whole request, reads the answer, and stays open.
async fn idle_keep_alive(server: &ServerProcess) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    stream
        .write_all(b"GET /api/auth/session HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    // `{}`, the signed-out session, ends the answer.
    while !answer.ends_with(b"{}") {
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(n > 0, "answered: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buffer[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    stream
}

/// How long after `since` the server closed `stream` (EOF or reset); `None` if it was still
/// open at `until`.
async fn closed_after(mut stream: TcpStream, since: Instant, until: Instant) -> Option<Duration> {
    let mut buffer = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return since.elapsed(),
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout_at(until.into(), read).await.ok()
}

fn p99(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)]
}

/// Normal requests, one at a time on fresh connections, while an attack goes on.
async fn normal_requests(server: &ServerProcess, count: usize) -> Vec<Duration> {
    let client = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let response = client.get(server.url("/")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap();
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    latencies
}

#[tokio::test]
async fn partial_request_heads_are_closed_after_the_header_read_timeout_while_others_are_served() {
    let server = ServerProcess::start(&[
        ("SERVER_HEADER_READ_TIMEOUT", "2"),
        ("SERVER_IDLE_TIMEOUT", "30"),
    ])
    .await;
    let baseline = server.open_fds();
    let started = Instant::now();
    let mut heads = Vec::new();
    for _ in 0..300 {
        heads.push(partial_head(&server).await);
    }

    let served = normal_requests(&server, 100).await;
    let closes = futures_util::future::join_all(
        heads
            .into_iter()
            .map(|head| closed_after(head, started, started + Duration::from_secs(6))),
    )
    .await;

    let closed: Vec<Duration> = closes.iter().flatten().copied().collect();
    assert_eq!(
        closed.len(),
        300,
        "every partial head was closed within 2 s + margin"
    );
    let earliest = closed.iter().min().unwrap();
    assert!(
        *earliest >= Duration::from_millis(1500),
        "closed by the header-read timeout, not earlier: {earliest:?}"
    );
    let p99 = p99(served);
    println!(
        "300 partial heads: closed after {:?}..{:?}; 100 normal requests meanwhile, p99 {p99:?}",
        earliest,
        closed.iter().max().unwrap()
    );
    assert!(p99 < Duration::from_secs(2), "p99 {p99:?}");
    let mut left = server.open_fds();
    for _ in 0..100 {
        if left <= baseline + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = server.open_fds();
    }
    assert!(
        left <= baseline + 2,
        "{left} descriptors open, {baseline} before"
    );
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_the_idle_timeout_but_an_event_stream_lives_on(
) {
    let server = ServerProcess::start(&[
        ("SERVER_HEADER_READ_TIMEOUT", "1"),
        ("SERVER_IDLE_TIMEOUT", "3"),
    ])
    .await;
    let browser = browser();
    sign_in(&server, &browser, "/", "alice", "alice-pass").await;
    let mut stream = open_events(&server, &browser).await;
    assert_eq!(stream.status(), StatusCode::OK);

    let mut idle = Vec::new();
    let mut since = Vec::new();
    for _ in 0..200 {
        idle.push(idle_keep_alive(&server).await);
        since.push(Instant::now());
    }
    let closes = futures_util::future::join_all(
        idle.into_iter()
            .zip(since)
            .map(|(c, at)| closed_after(c, at, at + Duration::from_secs(6))),
    )
    .await;

    let closed: Vec<Duration> = closes.iter().flatten().copied().collect();
    assert_eq!(closed.len(), 200, "every idle connection was closed");
    let earliest = closed.iter().min().unwrap();
    assert!(
        *earliest >= Duration::from_millis(2500),
        "by the idle timeout (3 s), not the header-read one (1 s): {earliest:?}"
    );
    println!(
        "200 idle keep-alive connections closed after {earliest:?}..{:?}",
        closed.iter().max().unwrap()
    );
    // The event stream, open all along (longer than the idle timeout), still works.
    let out = browser
        .post(server.url("/api/auth/signout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(next_event(&mut stream).await.as_deref(), Some("signed-out"));
}

#[tokio::test]
async fn past_the_connection_cap_a_request_is_answered_at_once_and_no_descriptor_leaks() {
    let server = ServerProcess::start(&[
        ("SERVER_MAX_CONNECTIONS", "64"),
        ("SERVER_HEADER_READ_TIMEOUT", "60"),
    ])
    .await;
    assert_eq!(
        reqwest::get(server.url("/")).await.unwrap().status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = server.open_fds();

    // 64 connections take every place, and 500 more try.
    let mut held = Vec::new();
    for _ in 0..64 {
        held.push(partial_head(&server).await);
    }
    for _ in 0..100 {
        if server.open_fds() >= baseline + 64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut more = Vec::new();
    for _ in 0..500 {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", server.port)).await {
            more.push(stream);
        }
    }
    let peak = server.open_fds();

    let client = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), client.get(server.url("/")).send())
        .await
        .expect("an answer, not a wait")
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.headers().contains_key(header::RETRY_AFTER));
    println!("descriptors: {baseline} before, {peak} at the peak of the attack");
    assert!(
        peak <= baseline + 64 + axum_oidc_bff::serve::MAX_REJECTING + 8,
        "beyond the cap, connections are not kept: {peak} open ({baseline} before)"
    );

    drop((held, more));
    let mut left = server.open_fds();
    for _ in 0..200 {
        if left <= baseline + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = server.open_fds();
    }
    assert!(
        left <= baseline + 2,
        "{left} descriptors open after the attack, {baseline} before"
    );
    let served = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK, "served again");
}

#[tokio::test]
async fn sigterm_under_load_lets_every_accepted_request_finish_and_exits_within_the_grace() {
    let mut server = ServerProcess::start(&[("SERVER_SHUTDOWN_GRACE", "5")]).await;
    let browser = browser();
    sign_in(&server, &browser, "/", "alice", "alice-pass").await;
    let mut stream = open_events(&server, &browser).await;
    assert_eq!(stream.status(), StatusCode::OK);
    // scim2/Me (behind every /server-profile) answers in 1.5 s from now on.
    let slow = Client::new()
        .post(server.idp_url("/t/dev/_test/scim-delay"))
        .form(&[("millis", "1500")])
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status(), StatusCode::NO_CONTENT);
    let scim_calls = idp_stats(&server).await["scim_me"].as_u64().unwrap();

    // 40 page loads, each on its own connection, all in flight at once.
    let cookie_jar_browser = browser.clone();
    let loads: Vec<_> = (0..40)
        .map(|_| {
            let (browser, url) = (cookie_jar_browser.clone(), server.url("/server-profile"));
            tokio::spawn(async move {
                browser
                    .get(url)
                    .header(header::ACCEPT, "text/html")
                    .header(header::CONNECTION, "close")
                    .send()
                    .await
            })
        })
        .collect();
    for _ in 0..250 {
        if idp_stats(&server).await["scim_me"].as_u64().unwrap() >= scim_calls + 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        idp_stats(&server).await["scim_me"].as_u64().unwrap(),
        scim_calls + 40,
        "all 40 are in flight"
    );

    let stopped_at = Instant::now();
    server.terminate();

    for load in loads {
        let answer = load.await.unwrap().expect("an answer, not a reset");
        assert_eq!(answer.status(), StatusCode::OK);
        assert!(answer.text().await.unwrap().contains("profile-given-name"));
    }
    assert_eq!(
        next_event(&mut stream).await.as_deref(),
        Some("reconnect"),
        "the open tab is told to reconnect elsewhere"
    );
    let status = server.exited_within(Duration::from_secs(5 + 3)).await;
    assert!(status.success(), "{status}: {}", server.log());
    println!("exited {:?} after SIGTERM", stopped_at.elapsed());
    assert!(
        TcpStream::connect(("127.0.0.1", server.port))
            .await
            .is_err(),
        "no new connections after it stopped"
    );
}
