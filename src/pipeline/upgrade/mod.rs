//! Hot code upgrades, as Distillery made them: the appups and the relup
//! computed natively from the previous and the new release, and the
//! upgrade package `releases/<vsn>/<name>.tar.gz` that OTP's
//! `release_handler` unpacks and installs on the running node.
//!
//! Asked for with [`BuildOptions::upgrade`](crate::BuildOptions::upgrade):
//! `plan.rs` finds the previous release (kept in the output directory, or
//! a tarball), decides each changed application's appup (`appup.rs`, from
//! the modules' changes, `module.rs`) and computes the relup (`relup.rs`);
//! the files join the release as overlays. `package.rs` writes the upgrade
//! package and keeps the previous releases in the new release directory
//! before it is published; `check.rs` checks a relup for `relpack check`.

pub(crate) mod appup;
pub(crate) mod check;
pub(crate) mod module;
pub(crate) mod package;
pub(crate) mod pattern;
pub(crate) mod plan;
pub(crate) mod relup;

use std::path::PathBuf;
use std::sync::Arc;

use crate::formats::term::Term;
use crate::util::fs::TempPath;

/// Where the release to upgrade from comes from.
#[derive(Debug, Clone, Default)]
pub struct UpgradeOptions {
    /// The versions to upgrade from (one relup entry each); default: the
    /// newest other version in the output directory (or the tarball's).
    pub upfrom: Vec<String>,
    /// A tarball of the previous release, instead of the output directory.
    pub upfrom_tarball: Option<PathBuf>,
}

/// Where an application's appup comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AppupSource {
    /// Generated from the two versions' BEAM files.
    Generated,
    /// A hand-written file.
    File(PathBuf),
}

/// The appup of one application whose version changed, from one of its
/// previous versions.
#[derive(Debug, Clone)]
pub struct PlannedAppup {
    /// The application.
    pub app: String,
    /// Its version in a previous release.
    pub from: String,
    /// Its version in the new release.
    pub to: String,
    /// The appup term.
    pub term: Term,
    /// Generated, or which file.
    pub source: AppupSource,
}

/// Everything decided about the upgrade.
#[derive(Debug, Clone)]
pub struct UpgradePlan {
    /// The versions upgraded from.
    pub from_vsns: Vec<String>,
    /// The root of the previous release (the output directory or the
    /// unpacked tarball).
    pub previous_root: PathBuf,
    /// The unpacked tarball, removed when the plan is dropped.
    pub(crate) unpacked: Option<Arc<TempPath>>,
    /// The appups of the applications whose version changed.
    pub appups: Vec<PlannedAppup>,
    /// The relup term.
    pub relup: Term,
    /// `lib/` directories the previous release lacks: the package ships them.
    pub new_lib_dirs: Vec<String>,
    /// Whether the ERTS version changed (the package then ships ERTS).
    pub erts_changed: bool,
}

pub use plan::write_appup;
