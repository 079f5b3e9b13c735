//! relpack turns a compiled Mix or rebar3 project (`_build/<env>`) into a
//! self-contained Erlang/OTP release and its tarball, without starting an
//! Erlang VM: boot scripts, `.boot` files and everything else are computed
//! natively.
//!
//! # The layout
//!
//! Each folder is a layer; a module uses only the layers above it in this
//! list (`tests/layout.rs` checks it, and that no module depends on
//! itself through others):
//!
//! ```text
//! src/
//!   error.rs     the typed errors, one kind per cause, each one line
//!   vocab/       the words every stage shares: start types, the ERTS
//!                choice, codecs, hooks, release-name and cookie rules,
//!                target machines
//!   util/        helpers that know nothing of releases: cancellation,
//!                atomic file-system writes, ordered parallel maps, dates,
//!                path resolution in another machine's file system
//!   formats/     the file formats, as codecs: Erlang terms, ETF, .app,
//!                BEAM chunks, ELF, boot scripts, digests, DEFLATE, OCI
//!                image layouts
//!   config/      reading the project's release configuration: mix.exs,
//!                config/*.exs, Distillery's rel/config.exs, rebar.config;
//!                natively, or by the real elixir for code beyond that
//!   launcher/    bin/<name>'s commands and hooks, and the embedded
//!                templates of the launcher and the other texts
//!   pipeline/    the build, a file per stage: options, inputs, resolve,
//!                planner (into the plan), render, sys_config, assemble,
//!                archive, executable, write; target checks that every
//!                file runs on the machine the release is for; steps runs
//!                a release's custom `steps:` with the real Mix around
//!                them; upgrade/ plans and packs a hot upgrade within it
//!   tools/       built on the pipeline and the formats: check (a release
//!                directory, tarball, executable or image), inspect, init,
//!                clean, sbom (CycloneDX)
//!   image/       a release as a layered OCI image (one platform or
//!                several), and its push to a registry
//!   lib.rs       this page and the public API; main.rs, the CLI over it
//! ```
//!
//! # The pipeline
//!
//! Data flows one way. [`plan()`] reads the project's configuration
//! ([`config`]), settles each setting (the caller's [`BuildOptions`],
//! else the configuration's, else the default), locates the compiled
//! applications, OTP and Elixir, resolves the application closure with
//! start types, and renders the release's texts (`sys.config`, `vm.args`,
//! overlays) into a [`ReleasePlan`] that holds every decision; with
//! [`BuildOptions::upgrade`] it also plans the hot upgrade (appups,
//! relup) from the previous release. [`write()`] carries the plan out:
//! it writes the release directory into a staging directory, packs the
//! deterministic `.tar.gz` (or `.tar.zst`, `.tar`) as each directory is
//! written, reusing the previous build's compressed pieces, adds the
//! upgrade package and the one-file executable, and renames everything
//! into place at the end, so a failed or cancelled build leaves the
//! previous output intact.
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
//! Or step by step, to look at the plan before writing; a plan is
//! read-only, so what is written is what planning checked:
//!
//! ```no_run
//! let plan = relpack::plan(&relpack::BuildOptions::new("."))?;
//! for app in plan.apps() {
//!     println!("{} {} {}", app.name(), app.vsn(), app.start_type());
//! }
//! let report = relpack::write(&plan)?;
//! # Ok::<(), relpack::Error>(())
//! ```
//!
//! A build is stopped from another thread through its [`Cancel`]
//! ([`BuildOptions::cancel`]); the tarball's entry times and the number
//! of threads are inputs too ([`BuildOptions::mtime`],
//! [`BuildOptions::jobs`]). Reports ([`BuildReport`],
//! [`tools::check::CheckReport`], [`tools::inspect::Inspection`],
//! [`image::ImageReport`]) serialize with serde. No type of a dependency
//! (tree-sitter, minijinja, tar) appears in the public API.

#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod formats;
pub mod image;
pub(crate) mod launcher;
pub(crate) mod pipeline;
pub mod tools;
pub(crate) mod util;
pub mod vocab;

pub use error::{Error, Result};
pub use pipeline::upgrade;
pub use pipeline::{
    build, plan, write, write_observed, BuildOptions, BuildReport, Phase, PlannedApp, ReleasePlan,
    Written,
};
pub use util::cancel::Cancel;
pub use util::fs::remove_pending as abandon_unfinished_output;
pub use vocab::{
    pair_roots, parse_targets, Arch, Codec, Hook, IncludeErts, Libc, StartType, Target, TargetFile,
    TargetRoot,
};
