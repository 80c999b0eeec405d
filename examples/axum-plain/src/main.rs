//! `cargo run -p axum-plain-example`; see the library's documentation for the variables.

use axum_oidc_bff::{ServeLimits, SettingsBuilder};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt::init();
    let settings = SettingsBuilder::from_env(axum_plain_example::PROVIDER)?.build()?;
    let userinfo = std::env::var("EXAMPLE_USERINFO_URL")
        .map_err(|_| "EXAMPLE_USERINFO_URL is required (the API to call)")?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let app = axum_plain_example::app(settings, &userinfo).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum_oidc_bff::serve(listener, app, ServeLimits::default(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
