//! `es-sim`: the Elasticsearch test server as a process, for `make ftest`, `make demo` and
//! `make bench`. Prints its URL on one line of stdout, serves until SIGTERM or SIGINT, then
//! exits 0.

use clap::Parser;
use sim::elastic::{EsSim, EsSimConfig};

/// Command line of `es-sim`.
#[derive(Debug, Parser)]
#[command(
    name = "es-sim",
    about = "An in-memory Elasticsearch test server, strict where Elasticsearch is strict"
)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 9200)]
    port: u16,
    /// Version reported by `GET /` (8.x or 9.x).
    #[arg(long, default_value = "9.1.0")]
    version: String,
    /// Accepted `Authorization: ApiKey <value>`.
    #[arg(long, env = "ES_SIM_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Accepted basic-auth user.
    #[arg(long, default_value = "elastic")]
    username: String,
    /// Accepted basic-auth password.
    #[arg(long, env = "ES_SIM_PASSWORD", default_value = "changeme", hide_env_values = true)]
    password: String,
    /// Background refresh interval in milliseconds.
    #[arg(long, default_value_t = 1000)]
    refresh_interval_ms: u64,
    /// Accept requests without credentials.
    #[arg(long)]
    no_security: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = EsSimConfig {
        version: args.version,
        api_key: args.api_key,
        username: args.username,
        password: args.password,
        refresh_interval: std::time::Duration::from_millis(args.refresh_interval_ms),
        port: args.port,
        security_enabled: !args.no_security,
        ..EsSimConfig::default()
    };
    let sim = EsSim::start(config).await?;
    println!("{}", sim.url());
    shutdown_signal().await?;
    drop(sim);
    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
