//! The command line, declared with clap's derive API.
//!
//! Only parsing lives here. Values whose rules belong to the SDK (pricing options, money) are
//! parsed with the SDK's own `FromStr` so the CLI cannot drift from the other languages, and
//! rules the SDK checks anyway (a positive `max_price`, a valid id) are left to it.

use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use nexotp::{Decimal, PricingOption};
use nexotp_sandbox::SandboxArgs;

/// The exit-code table, shown at the end of `nexotp --help` (and in the README).
pub const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    any other error (server error, unexpected response, webhook verification failed, ...)
  2    bad arguments (usage errors, InvalidArgumentError, InvalidRequestError)
  3    authentication (AuthenticationError, PermissionDeniedError: the key was refused)
  4    not found (NotFoundError)
  5    rate limited (RateLimitError)
  6    conflict or insufficient balance (ConflictError, InsufficientBalanceError, OrderClosedError)
  7    network or timeout (APIConnectionError, APITimeoutError, OrderOutcomeUnknownError,
       WaitTimeoutError)
  130  interrupted (Ctrl-C while waiting for a code)

Settings: --api-key / NEXOTP_API_KEY, --base-url / NEXOTP_BASE_URL, else the profile's values
in the config file (`nexotp config show` prints its path). Try `nexotp demo`: no key needed.";

/// `nexotp`: rent virtual numbers and receive one-time codes from the terminal.
#[derive(Debug, Parser)]
#[command(
    name = "nexotp",
    version,
    about = "The NexOTP command-line tool: virtual numbers that receive one-time codes",
    after_help = EXIT_CODES,
    arg_required_else_help = true,
    propagate_version = true
)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options that every subcommand accepts (before or after the subcommand's name).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalOpts {
    /// API key [default: the profile's]
    #[arg(long, env = "NEXOTP_API_KEY", global = true, hide_env_values = true)]
    pub api_key: Option<String>,
    /// API base URL [default: the profile's, else production]
    #[arg(long, env = "NEXOTP_BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Named profile of the config file
    #[arg(long, env = "NEXOTP_PROFILE", global = true, default_value = "default")]
    pub profile: String,
    /// Print exactly the API data as one JSON document (errors as JSON on stderr)
    #[arg(long, global = true)]
    pub json: bool,
    /// Time allowed for each API call, every retry and rate-limit wait included [default: none]
    #[arg(long, global = true, value_name = "SECONDS", value_parser = seconds("deadline"), allow_negative_numbers = true)]
    pub deadline: Option<Duration>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the account: balance, plan and usage
    Account,
    /// List wallet transactions (one page, or all of them)
    Transactions(TransactionsArgs),
    /// List the countries numbers are available in
    Countries,
    /// List the services available in a country, with their lowest price
    Services {
        /// Country code, e.g. cty_us (see `nexotp countries`)
        #[arg(long)]
        country: String,
    },
    /// Show the price of a service in a country, with its pools
    Price {
        /// Service id, e.g. svc_telegram (see `nexotp services`)
        #[arg(long)]
        service: String,
        /// Country code, e.g. cty_us
        #[arg(long)]
        country: String,
    },
    /// Create, inspect, cancel, resend and wait for orders
    #[command(subcommand)]
    Order(OrderCommand),
    /// Manage webhooks, verify a delivery, or receive deliveries locally
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Read and write the config file's profiles
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the local NexOTP sandbox server (prints its base URL, Ctrl-C to stop)
    Sandbox(SandboxArgs),
    /// Run the whole flow against an embedded sandbox: no key, no network
    Demo(DemoArgs),
    /// Print a shell completion script
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `nexotp transactions`.
#[derive(Debug, Args)]
pub struct TransactionsArgs {
    /// Page number, from 1
    #[arg(long, default_value_t = 1, conflicts_with = "all")]
    pub page: u32,
    /// Transactions per page (1-100) [default: 20, or 100 with --all]
    #[arg(long)]
    pub per_page: Option<u32>,
    /// Fetch every page
    #[arg(long)]
    pub all: bool,
}

/// `nexotp order ...`.
#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Rent a number for a service (and optionally wait for its code)
    Create(CreateArgs),
    /// Show an order
    Get {
        /// Order id
        id: String,
    },
    /// Cancel a pending order that has no code yet (refunds it)
    Cancel {
        /// Order id
        id: String,
    },
    /// Ask for another code on the same number (and optionally wait for it)
    Resend {
        /// Order id
        id: String,
        /// Wait for the new code
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        wait_opts: WaitArgs,
    },
    /// Wait for an order's code
    Wait {
        /// Order id
        id: String,
        #[command(flatten)]
        wait_opts: WaitArgs,
    },
}

/// `nexotp order create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Service id, e.g. svc_telegram
    #[arg(long)]
    pub service: String,
    /// Country code, e.g. cty_us
    #[arg(long)]
    pub country: String,
    /// A specific pool (see `nexotp price`)
    #[arg(long)]
    pub pool: Option<String>,
    /// How to pick a pool: cheapest or best-rate
    #[arg(long, value_parser = parse_pricing)]
    pub pricing: Option<PricingOption>,
    /// Refuse to pay more than this (exact decimal, e.g. 0.75)
    // Negative numbers pass through so the SDK says why they are refused.
    #[arg(long, value_parser = parse_max_price, allow_negative_numbers = true)]
    pub max_price: Option<Decimal>,
    /// Wait for the code after ordering
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub wait_opts: WaitArgs,
}

/// How to wait for a code.
#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    /// Give up after this many seconds
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = seconds("timeout"), allow_negative_numbers = true)]
    pub timeout: Duration,
    /// Seconds between polls
    #[arg(long, value_name = "SECONDS", default_value = "3", value_parser = seconds("poll_interval"), allow_negative_numbers = true)]
    pub poll_interval: Duration,
    /// Cancel the order (refunding it) when the time is up or on Ctrl-C
    #[arg(long)]
    pub cancel_on_timeout: bool,
}

/// `nexotp webhooks ...`.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List the registered webhooks
    List,
    /// Register an endpoint (prints its signing secret, shown this once)
    Create {
        /// Endpoint URL (https; http only for localhost)
        #[arg(long, visible_alias = "endpoint-url")]
        url: String,
        /// Events, comma-separated or repeated (order.created, order.code_received,
        /// order.completed, order.cancelled, order.expired)
        #[arg(long, required = true)]
        events: Vec<String>,
    },
    /// Delete a webhook
    Delete {
        /// Webhook id
        id: String,
    },
    /// Verify a delivery's signature and print its event
    Verify {
        /// The webhook's signing secret
        #[arg(long, env = "NEXOTP_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// The X-NexOTP-Signature header's value (t=...,v1=...)
        #[arg(long)]
        signature: String,
        /// File with the raw request body (`-` for stdin)
        #[arg(long)]
        payload_file: String,
        /// Largest accepted age of the signature, in seconds
        #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = seconds("tolerance"), allow_negative_numbers = true)]
        tolerance: Duration,
    },
    /// Receive deliveries on a local port, verify and print each one
    Listen(ListenArgs),
}

/// `nexotp webhooks listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Port to listen on (0 = any free port; the URL is printed first)
    #[arg(long)]
    pub port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The webhook's signing secret
    #[arg(long, env = "NEXOTP_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: String,
    /// Largest accepted age of a signature, in seconds
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = seconds("tolerance"), allow_negative_numbers = true)]
    pub tolerance: Duration,
    /// Exit after this many deliveries (default: run until Ctrl-C)
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// `nexotp config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Save a setting in the profile (`-` as the value reads it from stdin)
    Set {
        /// Which setting
        #[arg(value_enum)]
        key: ConfigKey,
        /// Its value (`-` reads one line from stdin, keeping keys out of shell history)
        value: String,
    },
    /// Remove a setting from the profile
    Unset {
        /// Which setting
        #[arg(value_enum)]
        key: ConfigKey,
    },
    /// Show the effective settings, where each comes from, and the config file's path
    Show,
}

/// A setting of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigKey {
    /// The API key.
    #[value(name = "api-key", alias = "api_key")]
    ApiKey,
    /// The API base URL.
    #[value(name = "base-url", alias = "base_url")]
    BaseUrl,
}

impl ConfigKey {
    /// The key's name in the config file.
    pub fn file_name(self) -> &'static str {
        match self {
            ConfigKey::ApiKey => "api_key",
            ConfigKey::BaseUrl => "base_url",
        }
    }
}

/// `nexotp demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Milliseconds from ordering to the code's arrival in the embedded sandbox
    #[arg(long, default_value_t = 1000)]
    pub code_delay_ms: u64,
    /// Seed of the embedded sandbox (catalogue, numbers, codes)
    #[arg(long, default_value_t = nexotp_sandbox::DEFAULT_SEED)]
    pub seed: u64,
}

fn parse_pricing(s: &str) -> Result<PricingOption, String> {
    PricingOption::from_str(s).map_err(|e| e.to_string())
}

/// Money through the SDK's own parser (the rule for a positive price is the SDK's, at use).
fn parse_max_price(s: &str) -> Result<Decimal, String> {
    nexotp::args::parse_decimal("max_price", s).map_err(|e| e.to_string())
}

/// A parser of seconds for `argument`: the text as a number, then the SDK's rule for seconds
/// (finite, not negative, at most a year), so the CLI cannot accept what would overflow later.
fn seconds(argument: &'static str) -> impl Fn(&str) -> Result<Duration, String> + Clone {
    move |s: &str| {
        let secs: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a number of seconds"))?;
        nexotp::args::duration_from_secs(argument, secs).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn seconds_parse_exactly_or_fail() {
        let parse = seconds("timeout");
        assert_eq!(parse("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["-1", "NaN", "inf", "soon", "1.8e19", "1e12"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("1.8e19").is_err_and(|e| e.contains("at most a year")));
    }
}
