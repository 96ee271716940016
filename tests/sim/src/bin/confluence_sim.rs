//! `confluence-sim`: serves a simulated Confluence site until SIGTERM or Ctrl-C, for
//! `make demo`, `make bench` and manual `curl` walks. Prints the URL to put in
//! `confluence_url`, the REST base and the credentials, one `key: value` per line.

use std::time::Duration;

use clap::Parser;
use sim::confluence::{ConfluenceSim, Flavour, SimConfig, Size};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "confluence-sim", about = "A simulated Confluence site (Cloud, Server or Data Center)")]
struct Options {
    /// cloud, server or data-center.
    #[arg(long, default_value = "server", value_parser = parse_flavour)]
    flavour: Flavour,
    /// small (≈1,500 documents), medium (≈5,000) or large (≈50,000).
    #[arg(long, default_value = "small", value_parser = parse_size)]
    size: Size,
    /// Generate this many pages instead of a named size (up to 1,000,000).
    #[arg(long)]
    pages: Option<u64>,
    /// Seed of the generated site.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Port to listen on (0 = a free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Server/DC context path, e.g. /confluence.
    #[arg(long, default_value = "")]
    context_path: String,
    /// The site's time zone (IANA name).
    #[arg(long, default_value = "Australia/Sydney")]
    time_zone: chrono_tz::Tz,
    /// Data Center version, e.g. 9.2.
    #[arg(long, default_value = "9.2")]
    dc_version: String,
    /// Serve the Extender for Confluence plugin endpoints.
    #[arg(long)]
    extender: bool,
    /// Turn off the imitation of the Server/DC pagination bugs.
    #[arg(long)]
    no_quirks: bool,
    /// Search-index lag in milliseconds.
    #[arg(long, default_value_t = 0)]
    search_lag_ms: u64,
}

fn parse_flavour(text: &str) -> Result<Flavour, String> {
    Flavour::parse(text).ok_or_else(|| format!("unknown flavour '{text}': use cloud, server or data-center"))
}

fn parse_size(text: &str) -> Result<Size, String> {
    Size::parse(text).ok_or_else(|| format!("unknown size '{text}': use small, medium or large"))
}

fn parse_version(text: &str) -> anyhow::Result<(u32, u32)> {
    let (major, minor) = text.split_once('.').unwrap_or((text, "0"));
    Ok((major.parse()?, minor.parse()?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let mut config = SimConfig::new(options.flavour, options.size);
    config.pages = options.pages;
    config.seed = options.seed;
    config.latency = Duration::from_millis(options.latency_ms);
    config.port = options.port;
    config.context_path = options.context_path;
    config.time_zone = options.time_zone;
    config.dc_version = parse_version(&options.dc_version)
        .map_err(|e| anyhow::anyhow!("--dc-version '{}' is not MAJOR.MINOR: {e}", options.dc_version))?;
    config.extender = options.extender;
    config.quirks = !options.no_quirks;
    config.search_lag = Duration::from_millis(options.search_lag_ms);
    let sim = ConfluenceSim::start(config).await?;
    let credentials = sim.credentials();
    println!("url: {}", sim.url());
    println!("base: {}", sim.base_url());
    println!("documents: {}", sim.document_count());
    match options.flavour {
        Flavour::Cloud => {
            println!("account_email: {}", credentials.email);
            println!("api_token: {}", credentials.api_token);
        }
        _ => {
            println!("username: {}", credentials.username);
            println!("password: {}", credentials.password);
            if options.flavour == Flavour::DataCenter {
                println!("personal_access_token: {}", credentials.pat);
            }
        }
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(sim);
    Ok(())
}
