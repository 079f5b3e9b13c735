//! The `relpack` command line: a thin layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use relpack::{BuildOptions, IncludeErts, StartType};

#[derive(Parser)]
#[command(
    name = "relpack",
    version,
    about = "Package a compiled Mix project as a self-contained OTP release"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the release directory and its tarball from `_build/<env>`.
    Build(BuildArgs),
    /// Validate a release directory or tarball; exit 1 listing the problems.
    Check {
        /// A release directory or `.tar.gz`.
        path: PathBuf,
    },
}

#[derive(clap::Args)]
struct BuildArgs {
    /// The Mix project directory.
    #[arg(long, default_value = ".")]
    path: PathBuf,
    /// The Mix environment to package [default: $MIX_ENV, else prod].
    #[arg(long)]
    env: Option<String>,
    /// Release name [default: the project's application].
    #[arg(long)]
    name: Option<String>,
    /// Release version [default: the project application's version].
    #[arg(long = "release-version", value_name = "VSN")]
    version: Option<String>,
    /// Release directory [default: _build/<env>/rel/<name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Bundle ERTS: true, false, or the path of an OTP root or erts-<vsn> directory.
    #[arg(long, default_value = "true", value_name = "true|false|PATH")]
    include_erts: String,
    /// Write only the release directory, no tarball.
    #[arg(long)]
    no_tar: bool,
    /// An application to include, optionally with a start type
    /// (permanent, transient, temporary, load, none); repeatable.
    #[arg(long = "app", value_name = "NAME[=TYPE]")]
    apps: Vec<String>,
    /// The Erlang/OTP installation to use [default: from `erl` on PATH].
    #[arg(long)]
    otp_root: Option<PathBuf>,
    /// The Elixir installation to use [default: from `elixir` on PATH].
    #[arg(long)]
    elixir_root: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    exit_cleanly_on_signals();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relpack: error: {e}");
            match e.downcast_ref::<relpack::Error>() {
                Some(relpack::Error::Interrupted(signal)) => ExitCode::from(128 + *signal as u8),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// On SIGINT/SIGTERM the build stops at its next file operation, removes
/// what it had not published (the previous output stays as it was) and
/// exits 128+signal. Should it not stop within 10 s, the unfinished output
/// is removed from here.
fn exit_cleanly_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            relpack::interrupt(signal);
            std::thread::sleep(std::time::Duration::from_secs(10));
            let _held = relpack::abandon_unfinished_output();
            eprintln!("relpack: error: interrupted: no output written");
            std::process::exit(128 + signal);
        }
    });
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Build(args) => build(args),
        Command::Check { path } => check(&path),
    }
}

fn check(path: &std::path::Path) -> anyhow::Result<()> {
    let report = relpack::check::check(path)?;
    for p in &report.problems {
        println!("problem: {p}");
    }
    anyhow::ensure!(
        report.ok(),
        "{}: {} problem(s) found",
        path.display(),
        report.problems.len()
    );
    println!(
        "ok: {} {} ({} applications, {} modules)",
        report.name, report.version, report.apps, report.modules
    );
    Ok(())
}

fn build(args: BuildArgs) -> anyhow::Result<()> {
    let mut options = BuildOptions::new(args.path);
    options.env = args
        .env
        .or_else(|| std::env::var("MIX_ENV").ok().filter(|e| !e.is_empty()))
        .unwrap_or_else(|| "prod".into());
    options.name = args.name;
    options.version = args.version;
    options.output_dir = args.out;
    options.tar = !args.no_tar;
    options.otp_root = args.otp_root;
    options.elixir_root = args.elixir_root;
    options.include_erts = match args.include_erts.as_str() {
        "true" => IncludeErts::Yes,
        "false" => IncludeErts::No,
        path => IncludeErts::From(PathBuf::from(path)),
    };
    for spec in &args.apps {
        let (name, ty) = match spec.split_once('=') {
            Some((n, t)) => (n, t.parse::<StartType>()?),
            None => (spec.as_str(), StartType::Permanent),
        };
        options.apps.push((name.to_owned(), ty));
    }
    let report = relpack::build(&options)?;
    println!(
        "Release {} {} ({} applications, ERTS {})",
        report.name, report.version, report.apps, report.erts_vsn
    );
    println!("  directory: {}", report.release_dir.display());
    if let Some((path, size)) = &report.tarball {
        println!(
            "  tarball:   {} ({:.1} MB)",
            path.display(),
            *size as f64 / 1e6
        );
    }
    Ok(())
}
