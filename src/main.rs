//! The `relpack` command line: a thin layer over the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use relpack::{BuildOptions, Hook, IncludeErts, StartType};

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
    Build(BuildCommand),
    /// Build the release and a layered, reproducible OCI container image of
    /// it (no container engine needed). `--env K=V` (with `=`) sets a
    /// variable in the image; `--env ENV` stays the Mix environment.
    #[command(mut_arg("out", |a| a.help(
        "The image archive (with --format oci-dir: directory) [default: _build/<env>/<name>-<vsn>-oci.tar]"
    )))]
    Image(ImageCommand),
    /// Show what a release would hold and why, without building it.
    Inspect(InspectArgs),
    /// Write a CycloneDX 1.6 SBOM (JSON) of a release directory, tarball,
    /// `.run` executable or image: ERTS, every application with its package
    /// URL and hash, the dependency graph, and an image's Debian packages.
    Sbom {
        /// The release directory, tarball, executable or image.
        path: PathBuf,
        /// The project, for `mix.lock` (Hex package URLs and checksums) and
        /// the licences of `deps/` [default: the current directory, when it
        /// holds a mix.exs or rebar.config].
        #[arg(long)]
        project: Option<PathBuf>,
        /// Write it to this file instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Validate a release directory or tarball; exit 1 listing the problems.
    Check {
        /// A release directory, `.tar.gz` or `.run` executable.
        path: PathBuf,
    },
    /// List the temporaries that killed relpack runs left under the
    /// project's `_build` (and in the temporary directory), with their
    /// sizes, and remove them. A run already removes those beside what it
    /// writes; never a live run's.
    Clean {
        /// The project directory.
        #[arg(long, default_value = ".")]
        path: PathBuf,
        /// Only list them.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the release settings read from the project's configuration
    /// files, and where each was set, without building.
    Config(ConfigArgs),
    /// Write a commented Distillery-style rel/config.exs and rel/vm.args
    /// for the project in the current directory.
    Init,
    /// Write the appup relpack would generate for an application to
    /// rel/appups/<app>/<from>_to_<to>.appup, to edit (it then wins).
    Appup(AppupArgs),
}

#[derive(clap::Args)]
struct UpgradeArgs {
    /// Also build the appups, the relup and the upgrade package
    /// releases/<vsn>/<name>.tar.gz for a node running the previous release.
    #[arg(long)]
    upgrade: bool,
    /// A version to upgrade from, repeatable (one relup entry each)
    /// [default: the newest other version in the output directory].
    #[arg(long, value_name = "VSN")]
    upfrom: Vec<String>,
    /// The previous release's tarball, instead of the output directory.
    #[arg(long, value_name = "PATH")]
    upfrom_tarball: Option<PathBuf>,
}

impl UpgradeArgs {
    fn options(&self) -> relpack::upgrade::UpgradeOptions {
        relpack::upgrade::UpgradeOptions {
            upfrom: self.upfrom.clone(),
            upfrom_tarball: self.upfrom_tarball.clone(),
        }
    }
}

#[derive(clap::Args)]
struct AppupArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// The release directory holding the previous release [default:
    /// _build/<env>/rel/<name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The version to upgrade from [default: the newest other version there].
    #[arg(long, value_name = "VSN")]
    upfrom: Option<String>,
    /// The previous release's tarball, instead of the output directory.
    #[arg(long, value_name = "PATH")]
    upfrom_tarball: Option<PathBuf>,
    /// The application whose appup to write.
    #[arg(long, value_name = "APP")]
    app: String,
}

/// Which project, environment and release: shared by build, inspect and
/// config.
#[derive(clap::Args)]
struct ProjectArgs {
    /// The project directory (Mix, or rebar3).
    #[arg(long, default_value = ".")]
    path: PathBuf,
    /// The Mix environment (Distillery environment, rebar3 profile)
    /// [default: $MIX_ENV, else prod; rebar3: default].
    #[arg(long)]
    env: Option<String>,
    /// The release [default: the configured default, else the project's
    /// application].
    #[arg(long)]
    name: Option<String>,
    /// Never run `elixir` to evaluate configuration code beyond relpack's
    /// native subset: stop with an error instead.
    #[arg(long)]
    no_elixir: bool,
    /// Fail on what relpack would only warn about: configuration it reads
    /// but cannot act on as mix or Distillery would (a Distillery plugin).
    #[arg(long)]
    strict: bool,
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
struct BuildCommand {
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    upgrade: UpgradeArgs,
    /// Print nothing but warnings and errors.
    #[arg(long, short, conflicts_with_all = ["verbose", "json"])]
    quiet: bool,
    /// Print each phase with its time even when stderr is not a terminal.
    #[arg(long, short)]
    verbose: bool,
    /// Print the result as JSON on stdout.
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
    /// The machine the release is for: aarch64-linux-gnu, x86_64-linux-gnu
    /// (-musl; or arm64, amd64, linux/arm64) [default: the one its ERTS is
    /// built for]. Its ERTS and OTP come from --target-root; every program
    /// and NIF is checked to run there. `relpack image` takes several,
    /// comma-separated, for one multi-platform image.
    #[arg(long, value_name = "TRIPLE", alias = "platform")]
    target: Option<String>,
    /// The target machine's root file system (a Debian root of that
    /// architecture, an unpacked image): its OTP (usr/lib/erlang or
    /// usr/local/lib/erlang) is bundled, and an image's base is made of
    /// its files [default: from --include-erts <root>/usr/lib/erlang].
    /// PLATFORM= names the target it is for; repeatable.
    #[arg(long, value_name = "[PLATFORM=]DIR")]
    target_root: Vec<String>,
    /// Ship FILE, built for the target, in place of an application's
    /// file (a dependency's NIF compiled on this machine); repeatable.
    #[arg(long, value_name = "APP/priv/PATH=FILE")]
    target_file: Vec<String>,
    /// The Elixir installation to use [default: from `elixir` on PATH].
    #[arg(long)]
    elixir_root: Option<PathBuf>,
    /// A custom launcher command: `bin/<name> NAME args...` runs the
    /// script; repeatable.
    #[arg(long = "command", value_name = "NAME=SCRIPT")]
    commands: Vec<String>,
    /// A directory of scripts (or one script) the launcher sources at HOOK
    /// (pre_configure, post_configure, pre_start, post_start, pre_stop,
    /// post_stop); repeatable.
    #[arg(long = "hook", value_name = "HOOK=DIR")]
    hooks: Vec<String>,
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
    /// Compress everything afresh instead of reusing the previous
    /// tarball's pieces (indexed in _build/<env>/relpack-cache).
    #[arg(long)]
    no_cache: bool,
    /// Also write _build/<env>/<name>-<vsn>.run, one self-extracting
    /// executable file (README, One-file executables).
    #[arg(long, conflicts_with = "no_tar")]
    executable: bool,
    /// With --executable: each run removes its extraction afterwards.
    #[arg(long, requires = "executable")]
    transient: bool,
}

#[derive(clap::Args)]
struct ImageCommand {
    #[command(flatten)]
    build: BuildArgs,
    /// The image's name and tag [default: <release>:<version>].
    #[arg(long, value_name = "NAME:TAG")]
    tag: Option<String>,
    /// oci-archive: one tar for `podman load`, `docker load`, `skopeo
    /// copy oci-archive:`; oci-dir: an OCI layout directory.
    #[arg(
        long,
        default_value = "oci-archive",
        value_name = "oci-archive|oci-dir"
    )]
    format: String,
    /// A base image archive (`docker save`, `podman save`, OCI) to layer
    /// the release on [default: the build machine's libraries, shell and
    /// tools the release needs].
    #[arg(long, value_name = "ARCHIVE")]
    base: Option<PathBuf>,
    /// A port the release listens on; repeatable.
    #[arg(long, value_name = "PORT[/udp]")]
    expose: Vec<String>,
    /// (`--env K=V`, rewritten before parsing) an environment variable.
    #[arg(long = "image-env", hide = true, value_name = "K=V")]
    image_env: Vec<String>,
    /// An image label; repeatable.
    #[arg(long = "label", value_name = "K=V")]
    labels: Vec<String>,
    /// Push the image to a registry (OCI distribution): only the blobs it
    /// lacks, then the manifest under this tag, and the SBOM as a
    /// referrer. Credentials from podman's or docker's auth file.
    #[arg(long, value_name = "REGISTRY/NAME:TAG")]
    push: Option<String>,
    /// A CA certificate (PEM) to trust for the registry, besides the
    /// system's; repeatable.
    #[arg(long, value_name = "FILE", requires = "push")]
    registry_ca: Vec<PathBuf>,
    /// Push over plain HTTP (a loopback registry without TLS is found
    /// without it).
    #[arg(long, requires = "push")]
    plain_http: bool,
    /// A repository of the same registry to mount blobs from instead of
    /// uploading them, where the registry offers it; repeatable.
    #[arg(long, value_name = "NAME", requires = "push")]
    mount_from: Vec<String>,
    /// Print nothing but warnings and errors.
    #[arg(long, short, conflicts_with = "json")]
    quiet: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// `relpack image --env K=V` sets an image variable, `--env ENV` the Mix
/// environment: the ones with `=` become `--image-env`.
fn image_env_args(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let text = |a: Option<&std::ffi::OsString>| a.and_then(|a| a.to_str()).map(str::to_owned);
    if text(args.get(1)).as_deref() != Some("image") {
        return args;
    }
    let mut i = 2;
    while i < args.len() {
        let arg = text(args.get(i)).unwrap_or_default();
        if let Some(value) = arg.strip_prefix("--env=").filter(|v| v.contains('=')) {
            args[i] = format!("--image-env={value}").into();
        } else if arg == "--env" && text(args.get(i + 1)).is_some_and(|v| v.contains('=')) {
            args[i] = "--image-env".into();
            i += 1;
        } else if arg == "--" {
            break;
        }
        i += 1;
    }
    args
}

#[derive(clap::Args)]
struct InspectArgs {
    #[command(flatten)]
    build: BuildArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Print only the shared libraries (and Debian packages) the target needs.
    #[arg(long)]
    deps: bool,
    /// Print only the Debian packages the target must install, one per line
    /// (for a Dockerfile's final stage).
    #[arg(long, conflicts_with_all = ["json", "deps"])]
    packages: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(image_env_args(std::env::args_os().collect()));
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
    let cancel = signal_cancel().clone();
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            cancel.cancel(signal);
            std::thread::sleep(std::time::Duration::from_secs(10));
            let _held = relpack::abandon_unfinished_output();
            eprintln!("relpack: error: interrupted: no output written");
            std::process::exit(128 + signal);
        }
    });
}

/// The command's one build, which the signals cancel.
fn signal_cancel() -> &'static relpack::Cancel {
    static CANCEL: std::sync::OnceLock<relpack::Cancel> = std::sync::OnceLock::new();
    CANCEL.get_or_init(relpack::Cancel::new)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Build(args) => build(args),
        Command::Image(args) => image(args),
        Command::Inspect(args) => inspect(args),
        Command::Check { path } => check(&path),
        Command::Sbom { path, project, out } => sbom(&path, project, out),
        Command::Clean {
            path,
            dry_run,
            json,
        } => {
            let report = relpack::tools::clean::clean(&path, !dry_run);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for l in &report.leftovers {
                    println!("{:>12}  {}", l.bytes, l.path.display());
                }
                let verb = if report.removed { "removed" } else { "found" };
                println!(
                    "{verb} {} leftover(s) of killed runs, {} bytes",
                    report.leftovers.len(),
                    report.bytes
                );
            }
            Ok(())
        }
        Command::Config(args) => show_config(args),
        Command::Appup(args) => {
            let project = args.project;
            let mut options = BuildOptions::new(&project.path);
            options.cancel = signal_cancel().clone();
            options.env = mix_env(project.env, &project.path);
            options.name = project.name;
            options.output_dir = args.out;
            options.use_elixir = !project.no_elixir;
            options.strict = project.strict;
            let upgrade = relpack::upgrade::UpgradeOptions {
                upfrom: args.upfrom.into_iter().collect(),
                upfrom_tarball: args.upfrom_tarball,
            };
            let path = relpack::upgrade::write_appup(&options, &upgrade, &args.app)?;
            println!(
                "wrote {}: edit it; `relpack build --upgrade` uses it",
                path.display()
            );
            Ok(())
        }
        Command::Init => {
            for file in relpack::tools::init::init(std::path::Path::new("."))? {
                println!("wrote {}", file.display());
            }
            Ok(())
        }
    }
}

fn sbom(
    path: &std::path::Path,
    project: Option<PathBuf>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let project = project.or_else(|| {
        let here = PathBuf::from(".");
        (here.join("mix.exs").is_file() || here.join("rebar.config").is_file()).then_some(here)
    });
    let bom = relpack::tools::sbom::sbom(path, project.as_deref())?;
    match out {
        Some(dest) => relpack::tools::sbom::write(&bom, &dest)?,
        None => println!("{}", serde_json::to_string_pretty(&bom)?),
    }
    Ok(())
}

fn check(path: &std::path::Path) -> anyhow::Result<()> {
    let report = relpack::tools::check::check(path)?;
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

/// `--env`, else `$MIX_ENV`, else `prod` (`default`, rebar3's profile,
/// for rebar3 projects).
fn mix_env(env: Option<String>, dir: &std::path::Path) -> String {
    env.or_else(|| std::env::var("MIX_ENV").ok().filter(|e| !e.is_empty()))
        .unwrap_or_else(|| relpack::config::default_env(dir).into())
}

fn show_config(args: ConfigArgs) -> anyhow::Result<()> {
    let project = &args.project;
    let env = mix_env(project.env.clone(), &project.path);
    let entries = match &args.file {
        Some(file) => {
            let description = relpack::config::describe_file(file, &env, !project.no_elixir)?;
            if let (true, Some(first)) = (project.strict, description.warnings.first()) {
                return Err(relpack::Error::Strict(first.clone()).into());
            }
            for w in &description.warnings {
                eprintln!("relpack: warning: {w}");
            }
            description.entries
        }
        None => {
            let config = relpack::config::load(&relpack::config::LoadOptions {
                dir: &project.path,
                env: &env,
                name: project.name.as_deref(),
                use_elixir: !project.no_elixir,
                every_release: true,
            })?;
            for w in config.check_strict(project.strict)? {
                eprintln!("relpack: warning: {w}");
            }
            config.describe()
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        for e in entries {
            println!("{} = {}  # {}", e.key, e.value, e.origin);
        }
    }
    Ok(())
}

/// `--target` (a comma-separated list) and `--target-root`s, read.
fn targets(
    list: Option<&str>,
    roots: &[String],
) -> anyhow::Result<(Vec<relpack::Target>, Vec<relpack::TargetRoot>)> {
    let targets = list.map(relpack::parse_targets).transpose()?;
    let roots = roots
        .iter()
        .map(|r| r.parse())
        .collect::<relpack::Result<Vec<_>>>()?;
    Ok((targets.unwrap_or_default(), roots))
}

fn options(args: BuildArgs) -> anyhow::Result<BuildOptions> {
    let project = args.project;
    let mut options = BuildOptions::new(&project.path);
    options.cancel = signal_cancel().clone();
    options.env = mix_env(project.env, &project.path);
    options.name = project.name;
    options.version = args.version;
    options.output_dir = args.out;
    options.tar = args.no_tar.then_some(false);
    options.otp_root = args.otp_root;
    let (targets, roots) = targets(args.target.as_deref(), &args.target_root)?;
    anyhow::ensure!(
        targets.len() <= 1,
        "--target {}: one target per release (`relpack image --platform A,B` makes a multi-platform image)",
        args.target.unwrap_or_default()
    );
    options.target = targets.first().copied();
    options.target_root = match (&targets[..], &roots[..]) {
        ([target], _) => relpack::pair_roots(&[*target], &roots)?.remove(0).1,
        (_, [root]) => Some(root.dir.clone()),
        (_, []) => None,
        _ => anyhow::bail!("several --target-root: give one per --target"),
    };
    options.target_files = args
        .target_file
        .iter()
        .map(|t| t.parse())
        .collect::<relpack::Result<_>>()?;
    options.elixir_root = args.elixir_root;
    options.strip_beams = args.no_strip_beams.then_some(false);
    options.keep_chunks = args.keep_chunks;
    options.compress = args.compress.parse()?;
    options.cookie = args.cookie;
    options.cache = !args.no_cache;
    options.executable = args.executable.then_some(true);
    options.transient = args.transient.then_some(true);
    options.include_erts = args
        .include_erts
        .as_deref()
        .map(|value| IncludeErts::parse(value, Path::new("")));
    options.use_elixir = !project.no_elixir;
    options.strict = project.strict;
    for spec in &args.apps {
        let (name, ty) = match spec.split_once('=') {
            Some((n, t)) => (n, t.parse::<StartType>()?),
            None => (spec.as_str(), StartType::Permanent),
        };
        options.apps.push((name.to_owned(), ty));
    }
    for spec in &args.commands {
        let (name, path) = split_pair(spec, "--command", "NAME=SCRIPT")?;
        options
            .commands
            .push((name.to_owned(), PathBuf::from(path)));
    }
    for spec in &args.hooks {
        let (hook, path) = split_pair(spec, "--hook", "HOOK=DIR")?;
        options
            .hooks
            .push((hook.parse::<Hook>()?, PathBuf::from(path)));
    }
    Ok(options)
}

fn build(cmd: BuildCommand) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let show_phases = cmd.verbose || (!cmd.quiet && !cmd.json && std::io::stderr().is_terminal());
    let show = |phase: &str, took: std::time::Duration| {
        if show_phases {
            eprintln!("  {phase:<9} {:>8.1} ms", took.as_secs_f64() * 1e3);
        }
    };
    let started = std::time::Instant::now();
    let mut options = options(cmd.build)?;
    let upgrade = &cmd.upgrade;
    anyhow::ensure!(
        upgrade.upgrade || (upgrade.upfrom.is_empty() && upgrade.upfrom_tarball.is_none()),
        "--upfrom and --upfrom-tarball need --upgrade"
    );
    options.upgrade = upgrade.upgrade.then(|| upgrade.options());
    let plan = relpack::plan(&options)?;
    let planned = started.elapsed();
    show("plan", planned);
    if !cmd.json {
        for w in plan.warnings() {
            eprintln!("relpack: warning: {w}");
        }
    }
    // The shared-library scan runs beside the write; dpkg is asked for the
    // packages only for --json (`relpack inspect --packages` lists them).
    let (report, libraries) = std::thread::scope(|s| {
        let scan = s.spawn(|| match cmd.json {
            true => relpack::tools::inspect::runtime_deps(&plan),
            false => relpack::tools::inspect::runtime_libraries(&plan),
        });
        let report = relpack::write_observed(&plan, &mut |phase, took| show(phase, took));
        (report, scan.join())
    });
    let report = report?;
    let libraries = libraries.map_err(|_| anyhow::anyhow!("the shared-library scan failed"))?;
    if !cmd.json {
        for w in &report.warnings {
            eprintln!("relpack: warning: {w}");
        }
    }
    if cmd.json {
        let plan_phase = relpack::Phase {
            phase: "plan",
            ms: planned.as_secs_f64() * 1e3,
        };
        let phases: Vec<&relpack::Phase> =
            std::iter::once(&plan_phase).chain(&report.phases).collect();
        let json = serde_json::json!({
            "name": report.name,
            "version": report.version,
            "erts_vsn": report.erts_vsn,
            "target": report.target,
            "apps": report.apps,
            "release_dir": report.release_dir,
            "tarball": report.tarball,
            "executable": report.executable,
            "entries": report.entries,
            "reused": report.reused,
            "phases": phases,
            "packages": plan.system_root().map(|_| relpack::tools::inspect::packages(&libraries)),
            "runtime_deps": libraries,
            "steps": report.steps,
            "warnings": plan.warnings().iter().chain(&report.warnings).collect::<Vec<_>>(),
            "upgrade": plan.upgrade().zip(plan.upgrade_package()).map(|(u, package)| serde_json::json!({
                "from": u.from_vsns,
                "package": report.release_dir.join(package),
                "appups": u.appups.iter().map(|a| &a.app).collect::<Vec<_>>(),
            })),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else if !cmd.quiet {
        println!(
            "Release {} {} ({} applications, ERTS {}, {}) in {:.2} s",
            report.name,
            report.version,
            report.apps,
            report.erts_vsn,
            report.target,
            started.elapsed().as_secs_f64()
        );
        println!("  directory: {}", report.release_dir.display());
        if !report.steps.is_empty() {
            println!("  steps:     {}", report.steps.join(", "));
        }
        if let Some(relpack::Written { path, size }) = &report.tarball {
            println!(
                "  tarball:   {} ({:.1} MB, {} of {} entries unchanged)",
                path.display(),
                *size as f64 / 1e6,
                report.reused,
                report.entries
            );
        }
        if let Some(relpack::Written { path, size }) = &report.executable {
            println!(
                "  executable: {} ({:.1} MB)",
                path.display(),
                *size as f64 / 1e6
            );
        }
        if let Some((u, package)) = plan.upgrade().zip(plan.upgrade_package()) {
            println!(
                "  upgrade:   from {} ({} appups), package {}",
                u.from_vsns.join(", "),
                u.appups.len(),
                report.release_dir.join(package).display()
            );
        }
        print_deps(&libraries, false);
    }
    Ok(())
}

fn image(cmd: ImageCommand) -> anyhow::Result<()> {
    let mut build = cmd.build;
    anyhow::ensure!(
        build.compress == "gzip",
        "--compress {}: relpack image writes no tarball, and its layers are gzip, which every engine reads",
        build.compress
    );
    let out = build.out.take();
    let (targets, roots) = targets(build.target.as_deref(), &build.target_root)?;
    if targets.len() > 1 {
        build.target = None;
        build.target_root.clear();
    }
    let mut options = options(build)?;
    options.tar = Some(false);
    let started = std::time::Instant::now();
    let plans = match targets.len() {
        0 | 1 => vec![relpack::plan(&options)?],
        _ => relpack::image::plan_platforms(&options, &relpack::pair_roots(&targets, &roots)?)?,
    };
    for w in plans.iter().flat_map(|p| p.warnings()) {
        eprintln!("relpack: warning: {w}");
    }
    let plan = &plans[0];
    let format: relpack::image::Format = cmd.format.parse()?;
    let pairs = |specs: &[String], flag: &str| -> anyhow::Result<Vec<(String, String)>> {
        specs
            .iter()
            .map(|s| split_pair(s, flag, "K=V").map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect()
    };
    let build_dir = options.project_dir.join("_build").join(&options.env);
    let image_options = relpack::image::ImageOptions {
        out: out.unwrap_or_else(|| relpack::image::default_out(&build_dir, plan, format)),
        project_dir: options.project_dir.clone(),
        format,
        tag: cmd.tag,
        base: cmd.base,
        expose: cmd.expose,
        env: pairs(&cmd.image_env, "--env")?,
        labels: pairs(&cmd.labels, "--label")?,
        push: cmd.push.map(|reference| relpack::image::PushOptions {
            reference,
            registry_ca: cmd.registry_ca,
            plain_http: cmd.plain_http,
            mount_from: cmd.mount_from,
            on_blob: std::io::IsTerminal::is_terminal(&std::io::stderr())
                .then_some(show_blob as fn(&relpack::image::push::BlobPushed)),
        }),
    };
    let report = relpack::image::write_images(&plans.iter().collect::<Vec<_>>(), &image_options)?;
    for w in &report.warnings {
        eprintln!("relpack: warning: {w}");
    }
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !cmd.quiet {
        println!(
            "Image {} ({:.1} MB, {:.1} MB unpacked) in {:.2} s",
            report.tag,
            report.size as f64 / 1e6,
            report.uncompressed as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        println!("  {}: {}", format_name(format), report.path.display());
        println!("  digest:  {}", report.digest);
        for layer in &report.layers {
            println!(
                "  layer {} {:>7.1} MB  {}",
                &layer.digest[..19],
                layer.size as f64 / 1e6,
                layer.comment
            );
        }
    }
    if let (Some(push), false) = (&report.push, cmd.json) {
        let (sent, bytes) = push.uploaded();
        println!(
            "pushed {}@{}: {sent} of {} blobs uploaded ({:.1} MB), the others already there{}",
            push.reference,
            push.digest,
            push.blobs.len(),
            bytes as f64 / 1e6,
            if !push.referrers.is_empty() {
                "; SBOM attached"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// A pushed blob, on a terminal.
fn show_blob(blob: &relpack::image::push::BlobPushed) {
    eprintln!(
        "  {} {:>9.1} MB  {}",
        &blob.digest[..19],
        blob.size as f64 / 1e6,
        match blob.outcome {
            relpack::image::push::Outcome::Uploaded => "uploaded",
            relpack::image::push::Outcome::Present => "already there",
            relpack::image::push::Outcome::Mounted => "mounted",
        }
    );
}

fn format_name(format: relpack::image::Format) -> &'static str {
    match format {
        relpack::image::Format::OciArchive => "archive",
        relpack::image::Format::OciDir => "layout ",
    }
}

fn inspect(args: InspectArgs) -> anyhow::Result<()> {
    let plan = relpack::plan(&options(args.build)?)?;
    let inspection = relpack::tools::inspect::inspect(&plan)?;
    if args.packages {
        for p in inspection.packages() {
            println!("{p}");
        }
    } else if args.json && args.deps {
        println!(
            "{}",
            serde_json::to_string_pretty(&inspection.runtime_deps)?
        );
    } else if args.json {
        println!("{}", serde_json::to_string_pretty(&inspection)?);
    } else if args.deps {
        print_deps(&inspection.runtime_deps, true);
    } else {
        print_inspection(&inspection);
    }
    Ok(())
}

/// Lists the libraries the target needs, with their Debian packages when
/// they were looked up.
fn print_deps(libraries: &[relpack::tools::inspect::Library], with_packages: bool) {
    let external: Vec<_> = libraries.iter().filter(|l| !l.bundled).collect();
    println!(
        "Runtime shared libraries the target needs ({}):",
        external.len()
    );
    for lib in &external {
        let package = match with_packages {
            true => format!("{:<14} ", lib.package.as_deref().unwrap_or("?")),
            false => String::new(),
        };
        println!(
            "  {:<28} {package}needed by {}",
            lib.soname,
            lib.needed_by.join(", ")
        );
    }
    let packages = relpack::tools::inspect::packages(libraries);
    if !packages.is_empty() {
        println!("Debian packages: {}", packages.join(" "));
    } else if !with_packages && !external.is_empty() {
        println!("Debian packages: see `relpack inspect --packages`");
    }
}

fn print_inspection(i: &relpack::tools::inspect::Inspection) {
    println!(
        "Release {} {} on ERTS {}{}",
        i.name,
        i.version,
        i.erts_vsn,
        if i.include_erts {
            " (bundled)"
        } else {
            " (from the target)"
        }
    );
    println!("Cookie: {}", i.cookie);
    println!("Applications (.rel order):");
    for a in &i.apps {
        let why = match (&a.included_by, a.required_by.is_empty()) {
            (Some(by), _) => format!("included by {by}"),
            (None, false) => format!("required by {}", a.required_by.join(", ")),
            (None, true) => "named by the release".to_owned(),
        };
        println!(
            "  {:<16} {:<10} {:<9} {:<7} {:>8.1} kB  {}",
            a.name,
            a.vsn,
            a.start_type,
            a.origin,
            (a.ebin_bytes + a.priv_bytes) as f64 / 1e3,
            why
        );
    }
    println!("Boot order: {}", i.boot_order.join(" "));
    let mb = |b: u64| b as f64 / 1e6;
    let s = &i.sizes;
    println!(
        "Sizes: ERTS {:.1} MB, OTP apps {:.1} MB, Elixir {:.1} MB, project {:.1} MB (priv {:.1} MB), total {:.1} MB",
        mb(s.erts),
        mb(s.otp_apps),
        mb(s.elixir_apps),
        mb(s.project_apps),
        mb(s.priv_dirs),
        mb(s.total)
    );
    print_deps(&i.runtime_deps, true);
    for w in &i.warnings {
        println!("warning: {w}");
    }
}

/// Splits a `KEY=VALUE` option value.
fn split_pair<'a>(spec: &'a str, flag: &str, form: &str) -> anyhow::Result<(&'a str, &'a str)> {
    spec.split_once('=')
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| anyhow::anyhow!("{flag} {spec}: expected {form}"))
}
