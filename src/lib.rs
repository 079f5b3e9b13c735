//! relpack turns a compiled Mix project (`_build/<env>`) into a
//! self-contained Erlang/OTP release and its tarball, without starting an
//! Erlang VM: boot scripts, `.boot` files and everything else are computed
//! natively.
//!
//! # The pipeline
//!
//! Data flows one way through four stages, each in its own module, after
//! the project's configuration is read ([`config`]: `mix.exs`,
//! Distillery's `rel/config.exs`, `config/*.exs`, a rebar3 `relx`
//! section), natively or, for code beyond the native subset, by the real
//! `elixir` with the semantics mix or Distillery gave it
//! ([`config::fallback`]):
//!
//! 1. **inputs** ([`inputs`]): find the project's compiled applications,
//!    the Erlang/OTP installation and Elixir's applications, and read
//!    `.app` files ([`app`]) with the Erlang term reader ([`term`]).
//! 2. **resolve and plan** ([`resolve`], [`plan`](mod@plan)): the application
//!    closure with start types, checked for missing applications, cycles
//!    and duplicate modules, becomes a [`ReleasePlan`], which holds every
//!    decision about the release; [`sys_config`] renders its `sys.config`
//!    and the config providers' settings as `mix release` writes them.
//! 3. **assemble** ([`assemble`]): write the release directory (files,
//!    BEAMs stripped by [`beam`], boot scripts from [`boot`], `.boot` files
//!    through [`etf`], launcher from [`templates`], a `MANIFEST` of
//!    [`digest`]s) into a temporary directory.
//! 4. **archive** ([`archive`]): pack what assemble writes into a
//!    deterministic `.tar.gz` (or `.tar.zst`, `.tar`), as it writes it:
//!    each directory is compressed by the thread that wrote it, from the
//!    bytes it holds, reusing the previous build's compressed pieces.
//!    With [`ReleasePlan::executable`], [`executable`] puts the finished
//!    tarball behind a self-extracting sh header, as one `.run` file.
//!
//! A hot upgrade ([`upgrade`]) plans the appups and the relup from the
//! previous release beside the release, and writes the upgrade package
//! into the staged release before it is published. [`image`] writes a
//! plan's release as a layered OCI image, with the files the release
//! needs from the build machine as its base.
//!
//! Nothing is visible at the destinations until every stage has
//! succeeded: the release directory and the tarball are renamed into place
//! at the end, so a failed build leaves the previous output intact.
//!
//! ```no_run
//! use relpack::{build, BuildOptions};
//!
//! let mut options = BuildOptions::new("path/to/mix/project");
//! options.env = "prod".into();
//! let report = build(&options)?;
//! println!("{} {} in {}", report.name, report.version, report.release_dir.display());
//! # Ok::<(), relpack::Error>(())
//! ```
//!
//! Or step by step, to inspect or change the plan before writing:
//!
//! ```no_run
//! let plan = relpack::plan(&relpack::BuildOptions::new("."))?;
//! for app in &plan.apps {
//!     println!("{} {} {}", app.name(), app.vsn(), app.start_type);
//! }
//! let report = relpack::write(&plan)?;
//! # Ok::<(), relpack::Error>(())
//! ```

#![warn(missing_docs)]

pub mod app;
pub mod archive;
pub mod assemble;
pub mod beam;
pub mod boot;
pub mod check;
pub mod config;
pub mod cookie;
mod deflate;
pub mod digest;
pub mod elf;
pub mod error;
pub mod etf;
pub mod executable;
mod fsutil;
pub mod image;
pub mod inputs;
pub mod inspect;
pub mod launcher;
mod parallel;
pub mod plan;
pub mod resolve;
pub mod sys_config;
pub mod templates;
pub mod term;
pub mod upgrade;

use std::path::PathBuf;

pub use archive::Codec;
pub use error::{Error, Result};
pub use fsutil::{interrupt, remove_pending as abandon_unfinished_output};
pub use launcher::Hook;
pub use plan::{plan, BuildOptions, IncludeErts, ReleasePlan};
pub use resolve::StartType;

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// The release name.
    pub name: String,
    /// The release version.
    pub version: String,
    /// The ERTS version the release boots with.
    pub erts_vsn: String,
    /// Where the release directory was written.
    pub release_dir: PathBuf,
    /// The tarball and its size in bytes, if one was written.
    pub tarball: Option<(PathBuf, u64)>,
    /// The one-file executable and its size in bytes, if one was written.
    pub executable: Option<(PathBuf, u64)>,
    /// Number of applications in the release.
    pub apps: usize,
    /// Entries in the tarball.
    pub entries: usize,
    /// Each phase of [`write_observed`] and how long it took, in order.
    pub phases: Vec<(&'static str, std::time::Duration)>,
    /// Tarball entries whose compressed form was reused from the previous
    /// build.
    pub reused: usize,
}

/// Plans and writes a release: [`plan()`] followed by [`write()`].
pub fn build(options: &BuildOptions) -> Result<BuildReport> {
    write(&plan(options)?)
}

/// Writes the release directory and, if the plan asks for it, the tarball.
pub fn write(plan: &ReleasePlan) -> Result<BuildReport> {
    write_observed(plan, &mut |_, _| {})
}

/// [`write()`], calling `on_phase(name, duration)` as each phase ends:
/// `write` (the release directory staged and, if the plan asks for one,
/// the tarball packed along), `executable` (if the plan asks for one: the
/// tarball behind its header) and `publish` (all renamed into place).
pub fn write_observed(
    plan: &ReleasePlan,
    on_phase: &mut dyn FnMut(&'static str, std::time::Duration),
) -> Result<BuildReport> {
    let mut phases = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut phase_done = |name: &'static str| {
        let took = clock.elapsed();
        on_phase(name, took);
        phases.push((name, took));
        clock = std::time::Instant::now();
    };
    let packer = plan
        .tarball
        .as_ref()
        .map(|_| archive::Packer::new(plan.codec, plan.cache_dir.as_deref()));
    let mut writer = match (&plan.tarball, &packer) {
        (Some(dest), Some(packer)) => Some(archive::TarWriter::create(dest, packer)?),
        _ => None,
    };
    let staged = assemble::stage(plan, packer.as_ref().zip(writer.as_mut()))?;
    let packed = writer.map(archive::TarWriter::finish).transpose()?;
    if let Some(upgrade) = &plan.upgrade {
        upgrade::package::finish(plan, upgrade, staged.dir.path())?;
    }
    phase_done("write");
    let exe = match (&plan.executable, &packed) {
        (Some(exe), Some(packed)) => Some(executable::stage(
            exe,
            &plan.name,
            &plan.version,
            packed.path(),
            plan.codec,
        )?),
        _ => None,
    };
    if exe.is_some() {
        phase_done("executable");
    }
    staged.publish(&plan.output_dir)?;
    let (mut entries, mut reused) = (0, 0);
    let tarball = match packed {
        Some(packed) => {
            let (dest, size) = (packed.dest.clone(), packed.size);
            (entries, reused) = (packed.entries, packed.reused);
            packed.publish()?;
            Some((dest, size))
        }
        None => None,
    };
    let executable = match exe {
        Some(exe) => {
            let made = (exe.dest.clone(), exe.size);
            exe.publish()?;
            Some(made)
        }
        None => None,
    };
    cookie::remember(&plan.cookie, &plan.cookie_store)?;
    phase_done("publish");
    Ok(BuildReport {
        name: plan.name.clone(),
        version: plan.version.clone(),
        erts_vsn: plan.otp.erts_vsn.clone(),
        release_dir: plan.output_dir.clone(),
        tarball,
        executable,
        apps: plan.apps.len(),
        entries,
        reused,
        phases,
    })
}
