use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use auth_eid::cli;

/// auth-eid: ID Contact authentication with the Belgian eID card and Smart-ID.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the plugin server (the default).
    Serve {
        /// Configuration file [default: $AUTH_EID_CONFIG, else ./config.toml]
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Load and validate the configuration, print every problem, exit 1 on any.
    CheckConfig {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run the server with the embedded demo configuration and a demo relying party.
    Demo(cli::DemoArgs),
    /// Validate a certificate against a trust profile and print the report as JSON.
    /// Exit 0 valid, 1 invalid, 2 usage or configuration error.
    CheckCert(auth_eid::check_cert::CheckCertArgs),
    /// The citizen's local card agent (loopback only, allow-listed web origins).
    Connector(auth_eid::connector::ConnectorArgs),
    /// Print the OpenAPI 3.1 document of the HTTP API (also served at /api/openapi.json).
    Openapi,
    /// Simulators for tests and demos.
    Simulate {
        #[command(subcommand)]
        what: SimulateWhat,
    },
}

#[derive(Subcommand)]
enum SimulateWhat {
    /// A Smart-ID RP API v2 simulator over HTTPS with its own test PKI.
    SmartId(auth_eid::simulate::smart_id::SimulateSmartIdArgs),
    /// A virtual Belgian eID card plugged into pcscd through the vpcd driver.
    Card(auth_eid::simulate::card::SimulateCardArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve { config: None }) {
        Command::Serve { config } => cli::serve(config),
        Command::CheckConfig { config } => cli::check_config(config),
        Command::Demo(args) => cli::demo(args),
        Command::Openapi => {
            println!("{}", auth_eid::web::openapi::json());
            ExitCode::SUCCESS
        }
        Command::Connector(args) => auth_eid::connector::run(args),
        Command::Simulate { what } => match what {
            SimulateWhat::Card(args) => auth_eid::simulate::card::run(args),
            SimulateWhat::SmartId(args) => auth_eid::simulate::smart_id::run(args),
        },
        Command::CheckCert(args) => auth_eid::check_cert::check_cert(args),
    }
}
