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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
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
    // A command that succeeded but could not write its answer (a full disk) did not succeed.
    let result = result.and_then(|()| match output::stdout_failure() {
        Some(e) => Err(error::local("writing to stdout", e)),
        None => Ok(()),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e, out),
    }
}

/// What clap could not parse. Help and version are clap's to print; anything else is the CLI's
/// usage error (exit 2, `InvalidArgumentError`), as JSON when `--json` is among the arguments
/// (the parse failed, so the flag is looked for by hand).
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
    }
    let text = e.render().to_string();
    let message = text.trim().trim_start_matches("error:").trim().to_owned();
    let json = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    report(&CliError::Usage(message), Out { json })
}

/// Prints the error on stderr (`error: NotFoundError: ...`, or JSON with `--json`) and gives
/// its exit code. A closed or full stderr is ignored: the exit code still tells the class.
fn report(e: &CliError, out: Out) -> ExitCode {
    if out.json {
        output::eprint(&e.to_json().to_string());
    } else {
        output::eprint(&format!("error: {}: {e}", e.class()));
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
