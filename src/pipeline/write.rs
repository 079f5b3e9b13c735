//! The last stage: stage the release directory with the tarball packed
//! along, add the upgrade package and the executable, then publish all of
//! it at once.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::pipeline::plan::ReleasePlan;
use crate::pipeline::upgrade;
use crate::pipeline::{archive, assemble, cookie, executable};
use crate::pipeline::{plan, BuildOptions};

/// A file a build wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// A phase of [`write_observed`] and how long it took.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Phase {
    /// `write`, `executable` or `publish`.
    pub phase: &'static str,
    /// Its time in milliseconds.
    pub ms: f64,
}

/// What a build produced; serializes (as `relpack build --json` prints
/// its fields).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildReport {
    /// The release name.
    pub name: String,
    /// The release version.
    pub version: String,
    /// The ERTS version the release boots with.
    pub erts_vsn: String,
    /// Where the release directory was written.
    pub release_dir: PathBuf,
    /// The tarball, if one was written.
    pub tarball: Option<Written>,
    /// The one-file executable, if one was written.
    pub executable: Option<Written>,
    /// Number of applications in the release.
    pub apps: usize,
    /// Entries in the tarball.
    pub entries: usize,
    /// Each phase of [`write_observed`] and how long it took, in order.
    pub phases: Vec<Phase>,
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
        phases.push(Phase {
            phase: name,
            ms: took.as_secs_f64() * 1e3,
        });
        clock = std::time::Instant::now();
    };
    // What killed runs left beside this build's outputs, also where this
    // run writes nothing new (the cookie store, when it has the cookie).
    for dir in [
        plan.output_dir.parent(),
        plan.tarball.as_deref().and_then(Path::parent),
        plan.cookie_store.parent(),
        plan.cache_dir.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        crate::util::owner::remove_stale(dir);
    }
    let packer = plan.tarball.as_ref().map(|_| archive::Packer::new(plan));
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
    // Past this point the build finishes: the outputs are renamed into
    // place one after the other, each whole.
    plan.cancel.check()?;
    staged.publish(&plan.output_dir)?;
    let (mut entries, mut reused) = (0, 0);
    let tarball = match packed {
        Some(packed) => {
            let written = Written {
                path: packed.dest.clone(),
                size: packed.size,
            };
            (entries, reused) = (packed.entries, packed.reused);
            packed.publish()?;
            Some(written)
        }
        None => None,
    };
    let executable = match exe {
        Some(exe) => {
            let made = Written {
                path: exe.dest.clone(),
                size: exe.size,
            };
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
