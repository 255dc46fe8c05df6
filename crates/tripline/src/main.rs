//! `tripline`: the command-line shell around tripline-core.
#![deny(unsafe_code)]

mod alert;
mod analyze;
mod cli;
mod control;
mod heap;
mod input;
mod mapped;
mod notify;
mod progress;
mod report;
mod respond;
mod run;
mod settings;
mod sources;
mod status;
mod store;
mod term;

use clap::Parser;
use cli::{Cli, Command, ConfigCommand};

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        // `tripline analyze ... | head` is normal use, not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            0
        }
        Err(e) => {
            eprintln!("tripline: error: {}", term::clean(&format!("{e:#}")));
            2
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Analyze(args) => analyze::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Notify(args) => notify::run(&args),
        Command::Block(args) => respond::cli::block(&args),
        Command::Unblock(args) => respond::cli::unblock(&args),
        Command::Blocks(args) => respond::cli::blocks(&args),
        Command::Flush(args) => respond::cli::flush(&args),
        Command::FwCheck(args) => respond::cli::fw_check(&args),
        Command::Config(ConfigCommand::Dump(args)) => {
            let loaded = settings::load(&args)?;
            print!("{}", loaded.config.dump());
            Ok(0)
        }
        Command::Config(ConfigCommand::Check(args)) => {
            let loaded = settings::load(&args)?;
            for w in &loaded.warnings {
                println!("warning: {w}");
            }
            println!(
                "configuration OK ({} signatures)",
                loaded.rules.signatures.sigs.len()
            );
            Ok(0)
        }
    }
}
