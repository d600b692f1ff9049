//! `nexotp`: the NexOTP command-line tool.
//!
//! A thin shell over the `nexotp` crate: it parses arguments, builds a client from the flag /
//! environment / profile settings, calls the SDK, and prints the answer as a table or as the
//! API's JSON. Errors go to stderr with their class, and the exit code tells scripts the class
//! (see `nexotp --help`). Being an application, it owns the tokio runtime.

mod cli;
mod commands;
mod demo;
mod error;
mod output;
mod receiver;
mod settings;
mod waiting;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, WebhooksCommand};
use crate::commands::Out;
use crate::error::{CliError, CliResult};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out {
        json: cli.global.json,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(&error::local("starting the async runtime", e), out),
    };
    let result = runtime.block_on(run(cli, out));
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e, out),
    }
}

/// Prints the error on stderr (`error: NotFoundError: ...`, or JSON with `--json`) and gives
/// its exit code.
fn report(e: &CliError, out: Out) -> ExitCode {
    if out.json {
        eprintln!("{}", e.to_json());
    } else {
        eprintln!("error: {}: {e}", e.class());
    }
    ExitCode::from(e.code())
}

async fn run(cli: Cli, out: Out) -> CliResult {
    let global = cli.global;
    match cli.command {
        Command::Account => commands::account(&commands::client(&global)?, out).await,
        Command::Transactions(args) => {
            commands::transactions(&commands::client(&global)?, &args, out).await
        }
        Command::Countries => commands::countries(&commands::client(&global)?, out).await,
        Command::Services { country } => {
            commands::services(&commands::client(&global)?, &country, out).await
        }
        Command::Price { service, country } => {
            commands::price(&commands::client(&global)?, &service, &country, out).await
        }
        Command::Order(command) => {
            commands::order(&commands::client(&global)?, &command, out).await
        }
        Command::Webhooks(WebhooksCommand::Verify {
            secret,
            signature,
            payload_file,
            tolerance,
        }) => commands::verify(&secret, &signature, &payload_file, tolerance, out),
        Command::Webhooks(WebhooksCommand::Listen(args)) => commands::listen(&args, out).await,
        Command::Webhooks(command) => {
            commands::webhooks(&commands::client(&global)?, &command, out).await
        }
        Command::Config(command) => commands::config(&command, &global, out),
        Command::Sandbox(args) => commands::sandbox(args).await,
        Command::Demo(args) => {
            if out.json {
                return Err(CliError::Usage(
                    "`nexotp demo` is a walkthrough for people and has no --json output".into(),
                ));
            }
            demo::run(&args).await
        }
        Command::Completions { shell } => {
            commands::completions(shell);
            Ok(())
        }
    }
}
