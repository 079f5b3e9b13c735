//! The last stage: stage the release directory with the tarball packed
//! along, add the upgrade package and the executable, then publish all of
//! it at once.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::pipeline::plan::ReleasePlan;
use crate::pipeline::steps::Builtin;
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
    /// `write`, `steps` (a release's custom steps), `tar` (packed after
    /// them), `executable` or `publish`.
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
    /// The machine it is for (`aarch64-linux-gnu`).
    pub target: String,
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
    /// The custom steps (`steps:` functions) run, in order.
    pub steps: Vec<String>,
    /// What the build found worth an operator's look while writing (the
    /// plan's own warnings come before it).
    pub warnings: Vec<String>,
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
    let tar_writer = || match (&plan.tarball, &packer) {
        (Some(dest), Some(packer)) => archive::TarWriter::create(dest, packer).map(Some),
        _ => Ok(None),
    };
    let mut steps_ran = plan.steps_ran.clone();
    let mut warnings = Vec::new();
    // Whether custom steps wait after :tar, for the published release.
    let mut steps_after_tar = false;
    let (staged, packed) = match &plan.steps {
        None => {
            let mut writer = tar_writer()?;
            let staged = assemble::stage(plan, packer.as_ref().zip(writer.as_mut()))?;
            let packed = writer.map(archive::TarWriter::finish).transpose()?;
            if let Some(upgrade) = &plan.upgrade {
                upgrade::package::finish(plan, upgrade, staged.dir.path())?;
            }
            phase_done("write");
            (staged, packed)
        }
        // The steps change the staged release before it is packed, so the
        // tarball is packed from what is on disk once they have run.
        Some(steps) => {
            let staged = assemble::stage(plan, None)?;
            let root = &staged.dir.path().to_owned();
            let written = assemble::tree(root)?;
            phase_done("write");
            let overlays = assemble::overlay_paths(plan);
            let handover = steps.resume(Some((root, &overlays)))?;
            steps_ran.extend(handover.ran.iter().cloned());
            if handover.builtin == Builtin::Tar {
                steps.check_after_assemble(&handover, root)?;
                steps_after_tar = true;
            }
            if let Some(upgrade) = &plan.upgrade {
                upgrade::package::finish(plan, upgrade, root)?;
            }
            phase_done("steps");
            let mut writer = tar_writer()?;
            let mix_tar = assemble::tar_keeps(plan, &handover, root, &written);
            let all = writer.is_none();
            let keep = |rel: &Path| all || mix_tar(rel);
            let left_out =
                assemble::pack_staged(plan, root, &keep, packer.as_ref().zip(writer.as_mut()))
                    .map_err(|e| crate::util::fs::blame_dest(e, root, &plan.output_dir))?;
            warnings.extend(left_out.iter().map(|rel| {
                format!(
                    "{}: a custom step wrote it where mix's :tar does not look (bin/, releases/{}/, lib/, erts-*/), so it is left out of the tarball as mix leaves it out; a step that adds its path to the release's `overlays` has it packed",
                    plan.output_dir.join(rel).display(),
                    plan.version
                )
            }));
            let packed = writer.map(archive::TarWriter::finish).transpose()?;
            if packed.is_some() {
                phase_done("tar");
            }
            (staged, packed)
        }
    };
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
    if let (true, Some(steps)) = (steps_after_tar, &plan.steps) {
        let handover = steps.resume(Some((&plan.output_dir, &[])))?;
        steps_ran.extend(handover.ran);
        phase_done("steps");
    }
    Ok(BuildReport {
        target: plan.target.to_string(),
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
        steps: steps_ran,
        warnings,
    })
}
