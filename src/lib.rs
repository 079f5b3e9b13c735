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
pub use vocab::{Codec, Hook, IncludeErts, StartType};
