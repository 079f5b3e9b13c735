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
    /// Print the release settings read from the project's configuration
    /// files, and where each was set, without building.
    Config(ConfigArgs),
    /// Write a commented Distillery-style rel/config.exs and rel/vm.args
    /// for the project in the current directory.
    Init,
}

/// Which project, environment and release.
#[derive(clap::Args)]
struct ProjectArgs {
    /// The Mix project directory.
    #[arg(long, default_value = ".")]
    path: PathBuf,
    /// The Mix environment to package, also the Distillery environment
    /// [default: $MIX_ENV, else prod].
    #[arg(long)]
    env: Option<String>,
    /// Release name [default: the configured release, else the project's application].
    #[arg(long)]
    name: Option<String>,
    /// Never run `elixir` to evaluate configuration code beyond relpack's
    /// native subset: stop with an error instead.
    #[arg(long)]
    no_elixir: bool,
}

#[derive(clap::Args)]
struct ConfigArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// Read only this rel/config.exs-, mix.exs- or config/*.exs-style file.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Print JSON: a list of {"key", "value", "origin"}.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct BuildArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// Release version [default: the project application's version].
    #[arg(long = "release-version", value_name = "VSN")]
    version: Option<String>,
    /// Release directory [default: _build/<env>/rel/<name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Bundle ERTS: true, false, or the path of an OTP root or erts-<vsn>
    /// directory [default: the release configuration's, else true].
    #[arg(long, value_name = "true|false|PATH")]
    include_erts: Option<String>,
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
        Command::Config(args) => show_config(args),
        Command::Init => {
            for file in relpack::config::init::init(std::path::Path::new("."))? {
                println!("wrote {}", file.display());
            }
            Ok(())
        }
    }
}

fn mix_env(env: Option<String>) -> String {
    env.or_else(|| std::env::var("MIX_ENV").ok().filter(|e| !e.is_empty()))
        .unwrap_or_else(|| "prod".into())
}

fn show_config(args: ConfigArgs) -> anyhow::Result<()> {
    let env = mix_env(args.project.env);
    let entries = match &args.file {
        Some(file) => relpack::config::describe_file(file, &env, !args.project.no_elixir)?,
        None => relpack::config::load(&relpack::config::LoadOptions {
            dir: &args.project.path,
            env: &env,
            name: args.project.name.as_deref(),
            use_elixir: !args.project.no_elixir,
        })?
        .describe(),
    };
    if args.json {
        let items: Vec<String> = entries
            .iter()
            .map(|e| {
                format!(
                    "{{\"key\":{},\"value\":{},\"origin\":{}}}",
                    json_string(&e.key),
                    json_string(&e.value),
                    json_string(&e.origin)
                )
            })
            .collect();
        println!("[{}]", items.join(",\n "));
    } else {
        for e in entries {
            println!("{} = {}  # {}", e.key, e.value, e.origin);
        }
    }
    Ok(())
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn build(args: BuildArgs) -> anyhow::Result<()> {
    let mut options = BuildOptions::new(args.project.path);
    options.env = mix_env(args.project.env);
    options.name = args.project.name;
    options.version = args.version;
    options.output_dir = args.out;
    options.tar = !args.no_tar;
    options.otp_root = args.otp_root;
    options.elixir_root = args.elixir_root;
    if let Some(value) = &args.include_erts {
        options.include_erts = match value.as_str() {
            "true" => IncludeErts::Yes,
            "false" => IncludeErts::No,
            path => IncludeErts::From(PathBuf::from(path)),
        };
        options.include_erts_explicit = true;
    }
    options.use_elixir = !args.project.no_elixir;
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
