//! The command-line form of the sandbox, shared by the `nexotp-sandbox` binary and (later) the
//! `nexotp sandbox` subcommand, so the flags are defined once.

use std::ffi::OsString;
use std::io::{self, Write};
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use rust_decimal::Decimal;

use crate::config::{DEFAULT_API_KEY, DEFAULT_REQUEST_LOG_LIMIT, DEFAULT_SEED, SandboxBuilder};
use crate::faults::Faults;
use crate::handle::Sandbox;
use crate::rate_limit::{Bucket, RateLimit};

/// The sandbox's command-line flags (a `clap::Args` group, to flatten into another CLI).
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Host or IP to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// API key the sandbox accepts in X-NexOTP-API-Key.
    #[arg(long, default_value = DEFAULT_API_KEY)]
    pub api_key: String,
    /// Seed of the catalogue, phone numbers, codes, secrets and random faults.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Milliseconds from order creation (or resend) to the code's arrival.
    #[arg(long, default_value_t = 2000)]
    pub code_delay_ms: u64,
    /// Spreads code arrivals: each code comes up to this many milliseconds after
    /// --code-delay-ms (a seeded share per order; 0 = none).
    #[arg(long, default_value_t = 0)]
    pub code_delay_spread_ms: u64,
    /// Seconds after which a pending order expires and is refunded.
    #[arg(long, default_value_t = 1200)]
    pub order_ttl_s: u64,
    /// Countries in the catalogue: the five named ones, then made-up ones (`cty_x0005`,
    /// "Sample Country 5", ...) up to this number. 250 make `GET /countries` a ~20 KB answer.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub countries: u16,
    /// Starting wallet balance.
    #[arg(long, default_value = "25.00", value_parser = parse_decimal)]
    pub balance: Decimal,
    /// Rate limit of a bucket, e.g. `POLL=5/s` (repeatable; buckets GENERAL, ORDER, POLL).
    ///
    /// Options after commas: `burst=N` (requests that may arrive at once; default N/s, at
    /// least 1) and `retry_after=VALUE` (the bucket's 429s then carry exactly this Retry-After
    /// and no retry-after-ms; it comes last and takes the rest, so an HTTP date with commas
    /// works). E.g. `--rate POLL=50/s,burst=10,retry_after=0`. Without `retry_after`, a 429
    /// carries Retry-After in whole seconds (at least 1) and retry-after-ms.
    #[arg(
        long = "rate",
        value_name = "BUCKET=N/s[,burst=N][,retry_after=V]",
        value_parser = parse_rate,
        verbatim_doc_comment
    )]
    pub rate: Vec<(Bucket, RateLimit)>,
    /// Milliseconds added to every API answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share (0..=1) of API requests answered 503.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub error_rate: f64,
    /// Share (0..=1) of API requests applied and then left without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub drop_rate: f64,
    /// Share (0..=1) of API requests answered 200 with a truncated JSON body.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub malformed_rate: f64,
    /// Faults as JSON (the `POST /__sandbox/faults` form); the rate flags above override its
    /// fields when given.
    ///
    /// {"latency_ms": 0, "error_rate": 0.0, "drop_rate": 0.0, "malformed_rate": 0.0,
    ///  "script": [{"match": "POST /order", "fault": "drop", "times": 1}, ...],
    ///  "random": [{"rate": 0.2, "match": "GET /**", "fault": "status", "status": 503}, ...]}
    /// or one scripted fault object. `match` is "METHOD /path" under the API prefix (`*` = one
    /// segment, a final `**` = the rest; absent = any request). Scripted faults are consumed
    /// first; else one seeded draw per request walks the matching `random` entries adding up
    /// their rates (then error/drop/malformed_rate). Faults (applied = the order is created,
    /// the wallet debited):
    ///   {"fault":"status","status":503}          not applied; error envelope (code from the
    ///       status, or "code"; a 200 gives success:false); "retry_after":"1" sent verbatim;
    ///       "envelope":false → an HTML page: nginx's for 429/502/503/504, Cloudflare's for
    ///       520-526, WordPress's critical error otherwise; "body":"..." (+"content_type")
    ///       sent verbatim; "after_apply":true → applied first, then this answer
    ///   {"fault":"wp_internal_error"}            applied; 500 WordPress fatal-error JSON
    ///       (code internal_server_error)
    ///   {"fault":"drop"}                         applied; connection closed, no answer
    ///   {"fault":"drop_before_apply"}            not applied; connection closed
    ///   {"fault":"malformed"}                    applied; 200 with cut-off JSON
    ///   {"fault":"truncate","bytes":40}          applied; real status, first N bytes of the
    ///       real body (default half)
    ///   {"fault":"html500"}                      not applied; 500 WordPress HTML page
    ///   {"fault":"delay","ms":1500}              wait, then handled normally
    ///   {"fault":"slow_after_apply","ms":1500}   applied, then wait before answering
    ///   {"fault":"instant_code"}                 applied; a created or resent order gets its
    ///       next code before the answer, which shows it
    #[arg(long, value_name = "JSON", verbatim_doc_comment)]
    pub faults: Option<String>,
    /// How many API requests `GET /__sandbox/requests` keeps (the oldest are forgotten first;
    /// 0 keeps none).
    #[arg(long, default_value_t = DEFAULT_REQUEST_LOG_LIMIT)]
    pub request_log_limit: usize,
    /// Print one line per API request to stdout (after the base URL line).
    #[arg(long, short)]
    pub verbose: bool,
    /// Also exit when stdin is closed (handy when a test harness spawns the sandbox).
    #[arg(long)]
    pub exit_on_stdin_close: bool,
}

fn parse_decimal(s: &str) -> Result<Decimal, String> {
    Decimal::from_str(s.trim()).map_err(|e| format!("not a decimal amount: {e}"))
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err("expected a number between 0 and 1".into()),
    }
}

fn parse_rate(s: &str) -> Result<(Bucket, RateLimit), String> {
    let (bucket, rest) = s
        .split_once('=')
        .ok_or("expected BUCKET=N/s, e.g. POLL=5/s")?;
    let bucket: Bucket = bucket
        .parse()
        .map_err(|e: crate::rate_limit::UnknownBucket| e.to_string())?;
    let (rate, mut options) = rest.split_once(',').unwrap_or((rest, ""));
    let rate = rate.trim();
    let rate = rate.strip_suffix("/s").unwrap_or(rate);
    let mut limit = match rate.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => RateLimit::new(r),
        _ => {
            return Err(format!(
                "expected a positive number of requests per second, got {rate:?}"
            ));
        }
    };
    while !options.trim().is_empty() {
        let (key, value) = options
            .split_once('=')
            .ok_or_else(|| format!("expected burst=N or retry_after=VALUE, got {options:?}"))?;
        match key.trim() {
            // Last option: takes the rest, commas included (an HTTP date has some).
            "retry_after" | "retry-after" => {
                limit.retry_after = Some(value.trim().to_string());
                options = "";
            }
            "burst" => {
                let (n, rest) = value.split_once(',').unwrap_or((value, ""));
                let n = n
                    .trim()
                    .parse()
                    .map_err(|_| format!("burst must be a whole number, got {n:?}"))?;
                limit.burst = Some(n);
                options = rest;
            }
            other => return Err(format!("unknown rate option {other:?}")),
        }
    }
    limit.validate()?;
    Ok((bucket, limit))
}

impl SandboxArgs {
    /// A builder configured from these flags.
    pub fn builder(&self) -> io::Result<SandboxBuilder> {
        let mut faults = match &self.faults {
            Some(json) => {
                let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("--faults: {e}"))
                })?;
                crate::control::parse_faults(value).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("--faults: {e}"))
                })?
            }
            None => Faults::default(),
        };
        if self.latency_ms > 0 {
            faults.latency_ms = self.latency_ms;
        }
        if self.error_rate > 0.0 {
            faults.error_rate = self.error_rate;
        }
        if self.drop_rate > 0.0 {
            faults.drop_rate = self.drop_rate;
        }
        if self.malformed_rate > 0.0 {
            faults.malformed_rate = self.malformed_rate;
        }
        let mut b = Sandbox::builder()
            .host(self.host.clone())
            .port(self.port)
            .api_key(self.api_key.clone())
            .seed(self.seed)
            .countries(usize::from(self.countries))
            .code_delay(Duration::from_millis(self.code_delay_ms))
            .code_delay_spread(Duration::from_millis(self.code_delay_spread_ms))
            .order_ttl(Duration::from_secs(self.order_ttl_s))
            .initial_balance(self.balance)
            .faults(faults)
            .request_log_limit(self.request_log_limit)
            .log_requests(self.verbose);
        for (bucket, limit) in &self.rate {
            b = b.rate_limit_with(*bucket, limit.clone());
        }
        Ok(b)
    }
}

/// Starts a sandbox from flags, prints its base URL as the first line of stdout (flushed at
/// once) and its console's URL on stderr (`console: http://127.0.0.1:PORT/__sandbox/ui/`), and
/// serves until SIGINT / SIGTERM (or stdin closing, with `--exit-on-stdin-close`).
pub async fn serve_from_args(args: SandboxArgs) -> io::Result<()> {
    let handle = args.builder()?.start().await?;
    // Catch signals before announcing the URL: a harness may send SIGTERM as soon as it reads it.
    let exit = exit_signal(args.exit_on_stdin_close);
    announce(handle.base_url())?;
    // Beside it, on stderr: harnesses read the first stdout line as the base URL, and
    // `--verbose` owns the lines after it.
    let _ = writeln!(io::stderr().lock(), "console: {}", handle.console_url());
    exit.await;
    handle.shutdown().await;
    Ok(())
}

#[derive(Debug, Parser)]
#[command(
    name = "nexotp-sandbox",
    version,
    about = "A local, stateful imitation of the NexOTP API",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Prints its base URL as the first stdout line. Control endpoints (no key, plain \
JSON) under /__sandbox/: POST reset; GET|POST balance; GET|POST|DELETE faults; GET|POST rate \
({\"bucket\":\"POLL\",\"per_second\":50,\"burst\":10,\"retry_after\":\"0\"}); GET|DELETE \
stats; GET|DELETE requests; GET state; GET deliveries; GET scenarios; POST orders/{id}/code; \
POST orders/{id}/expire; POST orders/{id}/cancel; POST deliveries/{id}/replay; PATCH faults; \
POST faults/script; GET events (server-sent events). The console, a page that shows and drives \
all of it: /__sandbox/ui/ (its URL is printed on stderr).\n\nSubcommands: `record --upstream \
URL --out FILE` (a proxy that writes real traffic, secrets redacted) and `replay FILE` (serves \
it back)."
)]
struct Cli {
    #[command(flatten)]
    args: SandboxArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Forward calls to a real NexOTP server and write every exchange to a traffic file, with
    /// the API key, webhook secrets and phone numbers redacted (phone numbers replaced
    /// consistently by fake +999 numbers). Point your client at the printed base URL with your
    /// real key.
    Record(RecordArgs),
    /// Serve the answers of a traffic file written by `record`: requests are matched by method,
    /// path, query and body (repeated ones in recorded order); an unmatched request gets a 404
    /// `replay_no_match` error naming the closest recorded request. Any API key is accepted.
    Replay(ReplayArgs),
}

/// The flags of `nexotp-sandbox record`.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordArgs {
    /// The real API's base URL, e.g. `https://example.com/wp-json/nexotp/v1/` (plain http only
    /// for localhost / loopback addresses).
    #[arg(long)]
    pub upstream: String,
    /// The traffic file to write (rewritten as traffic flows, and on exit).
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// A PEM file of CA certificates to trust for the upstream, besides the built-in roots
    /// (e.g. a corporate TLS-inspecting proxy's CA).
    #[arg(long, value_name = "PEM_FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Host or IP to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Also exit when stdin is closed (handy when a test harness spawns the proxy).
    #[arg(long)]
    pub exit_on_stdin_close: bool,
}

/// The flags of `nexotp-sandbox replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// The traffic file written by `record`.
    pub file: std::path::PathBuf,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Host or IP to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Also exit when stdin is closed (handy when a test harness spawns the replay).
    #[arg(long)]
    pub exit_on_stdin_close: bool,
}

/// Prints a base URL as the first line of stdout, flushed at once.
fn announce(base_url: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{base_url}")?;
    out.flush()
}

/// Runs `nexotp-sandbox record`: prints the proxy's base URL, forwards until SIGINT / SIGTERM
/// (or stdin closing), then writes the traffic file a last time.
pub async fn record_from_args(args: RecordArgs) -> io::Result<()> {
    let mut builder = crate::record::Recorder::builder()
        .upstream(args.upstream)
        .out(args.out)
        .host(args.host)
        .port(args.port);
    if let Some(path) = &args.ca_cert {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| io::Error::new(e.kind(), format!("--ca-cert {}: {e}", path.display())))?;
        builder = builder.ca_certificate_pem(pem);
    }
    let handle = builder.start().await.map_err(io::Error::other)?;
    let exit = exit_signal(args.exit_on_stdin_close);
    announce(handle.base_url())?;
    let _ = writeln!(
        io::stderr().lock(),
        "recording to {} (API key, webhook secrets and phone numbers redacted)",
        handle.out_path().display()
    );
    exit.await;
    let (n, path) = (handle.exchanges(), handle.out_path().to_path_buf());
    handle.shutdown().await.map_err(io::Error::other)?;
    let _ = writeln!(
        io::stderr().lock(),
        "{n} exchanges written to {}",
        path.display()
    );
    Ok(())
}

/// Runs `nexotp-sandbox replay`: prints the replay's base URL and serves until SIGINT /
/// SIGTERM (or stdin closing).
pub async fn replay_from_args(args: ReplayArgs) -> io::Result<()> {
    let replay = crate::replay::Replay::from_file(&args.file)
        .map_err(io::Error::other)?
        .host(args.host)
        .port(args.port);
    let exchanges = replay.traffic().exchanges.len();
    let handle = replay.start().await.map_err(io::Error::other)?;
    let exit = exit_signal(args.exit_on_stdin_close);
    announce(handle.base_url())?;
    let _ = writeln!(
        io::stderr().lock(),
        "replaying {exchanges} exchanges from {} (any API key, e.g. {})",
        args.file.display(),
        handle.api_key()
    );
    exit.await;
    let (served, unmatched) = (handle.served(), handle.unmatched().len());
    handle.shutdown().await;
    let _ = writeln!(
        io::stderr().lock(),
        "{served} requests served from the recording, {unmatched} unmatched"
    );
    Ok(())
}

/// Parses command-line arguments (the first one is the program name) and runs
/// [`serve_from_args`], or the `record` / `replay` subcommand. On bad arguments or `--help` it
/// prints clap's message and exits the process, as a CLI does.
pub async fn run_cli<I, T>(args: I) -> io::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).unwrap_or_else(|e| e.exit());
    match cli.command {
        Some(Command::Record(args)) => record_from_args(args).await,
        Some(Command::Replay(args)) => replay_from_args(args).await,
        None => serve_from_args(cli.args).await,
    }
}

/// A future that ends on SIGINT / SIGTERM (or stdin closing, when asked). The Unix signal
/// handlers are installed when this is called, not when it is first awaited.
fn exit_signal(on_stdin_close: bool) -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        let stdin_closed = async {
            if !on_stdin_close {
                return std::future::pending::<()>().await;
            }
            // A plain thread: a blocking stdin read must never keep the runtime from shutting
            // down.
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            std::thread::spawn(move || {
                use std::io::Read;
                let mut buf = [0u8; 1024];
                let mut stdin = io::stdin();
                while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
                let _ = tx.send(());
            });
            let _ = rx.await;
        };
        #[cfg(unix)]
        let (interrupt, terminate) = (received(interrupt), received(terminate));
        #[cfg(not(unix))]
        let (interrupt, terminate) = (
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
            std::future::pending::<()>(),
        );
        tokio::select! {
            _ = interrupt => {}
            _ = terminate => {}
            _ = stdin_closed => {}
        }
    }
}

/// Waits for a signal; never ends when its handler could not be installed.
#[cfg(unix)]
async fn received(signal: Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(mut s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
