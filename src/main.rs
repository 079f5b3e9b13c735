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
    /// Copy BEAM files whole instead of stripping debug info and docs.
    #[arg(long)]
    no_strip_beams: bool,
    /// A BEAM chunk to keep when stripping (e.g. Dbgi, Docs); repeatable.
    #[arg(long = "keep-chunk", value_name = "ID")]
    keep_chunks: Vec<String>,
    /// Tarball compression: gzip (.tar.gz, what OTP's release_handler
    /// unpacks), zstd (.tar.zst) or none (.tar).
    #[arg(long, default_value = "gzip", value_name = "gzip|zstd|none")]
    compress: String,
    /// The release cookie [default: the one in use, else a random one kept
    /// in _build/<env>/relpack/COOKIE].
    #[arg(long)]
    cookie: Option<String>,
    /// Compress everything afresh instead of reusing the previous build's
    /// pieces from _build/<env>/relpack-cache.
    #[arg(long)]
    no_cache: bool,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relpack: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Build(args) => build(args),
    }
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
    options.strip_beams = !args.no_strip_beams;
    options.keep_chunks = args.keep_chunks;
    options.compress = args.compress.parse()?;
    options.cookie = args.cookie;
    options.cache = !args.no_cache;
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
            "  tarball:   {} ({:.1} MB, {} of {} entries unchanged)",
            path.display(),
            *size as f64 / 1e6,
            report.reused,
            report.entries
        );
    }
    Ok(())
}
