//! The build, one stage per file, data flowing one way:
//!
//! 1. [`inputs`] finds the compiled applications, OTP and Elixir;
//! 2. [`resolve`] computes the application closure and start types;
//! 3. [`plan`] (with [`options`] deciding which setting wins, [`render`]
//!    the release's texts and [`sys_config`] its `sys.config`) makes the
//!    [`ReleasePlan`], every decision before anything is written;
//! 4. [`assemble`] writes the release directory into a staging directory;
//! 5. [`archive`] packs it as it is written, [`executable`] puts the
//!    tarball behind a self-extracting header;
//! 6. [`write`] runs 4 and 5 and publishes everything at once.
//!
//! [`cookie`] chooses and remembers the release cookie; [`steps`] runs a
//! release's custom `steps:` with the real Mix, between these stages;
//! [`target`] checks, while planning, that every file runs on the machine
//! the release is for.

pub(crate) mod archive;
pub(crate) mod assemble;
pub(crate) mod cookie;
pub(crate) mod executable;
pub(crate) mod inputs;
pub(crate) mod options;
pub(crate) mod plan;
pub(crate) mod planner;
pub(crate) mod render;
pub(crate) mod resolve;
pub(crate) mod steps;
pub(crate) mod sys_config;
pub(crate) mod target;
pub mod upgrade;
mod write;

pub use options::BuildOptions;
pub use plan::{PlannedApp, ReleasePlan};
pub use write::{build, write, write_observed, BuildReport, Phase, Written};

use crate::error::Result;

/// Reads the inputs and decides the release: its applications, files and
/// texts, and, when [`BuildOptions::upgrade`] asks, the hot upgrade from
/// the previous release. Nothing is written.
pub fn plan(options: &BuildOptions) -> Result<ReleasePlan> {
    match &options.upgrade {
        Some(up) => upgrade::plan::plan(options, up),
        None => planner::plan_release(options),
    }
}
