//! asgardeo-leptos server.
//!
//! Run it with `make run` (builds the wasm and serves on http://localhost:3000 with the built-in
//! development IdP on :9443), or point it at Asgardeo with the variables in `.env.example`
//! (read from the environment and from `.env`). `cargo leptos serve --release` also works once
//! the toolchain is installed (with cargo-leptos' own, larger, compression).

use anyhow::Context;
use server::{config::Config, startup::Application, telemetry};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    match dotenvy::dotenv() {
        Ok(path) => eprintln!("read {}", path.display()),
        Err(err) if err.not_found() => {}
        Err(err) => return Err(err).context(".env is malformed"),
    }
    telemetry::init();
    let config = Config::from_env().context("configuration")?;
    let leptos_options = leptos::config::get_configuration(None)
        .context("Leptos configuration (LEPTOS_* variables)")?
        .leptos_options;
    let app = Application::build(config, leptos_options).await?;
    app.run_until_stopped(shutdown_signal()).await
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
