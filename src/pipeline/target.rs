//! The machine a release is for, and the checks that every file of it runs
//! there, made before anything is written.
//!
//! BEAM bytecode is portable; ERTS, NIFs and port programs are not. A
//! release for another machine takes ERTS and OTP's applications from that
//! machine's OTP (`--target-root`, or `--include-erts <root>/usr/lib/erlang`)
//! and the project's BEAMs from `_build`. So:
//!
//! - every ELF file the release would hold (ERTS's programs, each
//!   application's `priv/`) must be built for the target's processor,
//!   64-bit little-endian, against its C library; a dependency's NIF
//!   compiled on the build machine is the usual culprit, and the error
//!   says how to give the target's file (`--target-file`);
//! - every module from `_build` and Elixir must load on the target's OTP:
//!   a runtime refuses a module whose `Code` header names an instruction
//!   above its own highest (a module compiled by a newer OTP), and one
//!   compiled with a language feature it does not enable (`maybe_expr`,
//!   which OTP 27's compiler enables and OTP 25's runtime refuses). The
//!   target's highest is the highest its own modules use (OTP 25: 180,
//!   27: 182, 29: 186, measured), its features those its own modules were
//!   compiled with, so a module within both loads.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::formats::{beam, elf};
use crate::pipeline::inputs::{Origin, OtpInstall};
use crate::pipeline::plan::PlannedApp;
use crate::util::fs::tree_files;
use crate::util::parallel;
use crate::vocab::{Arch, Target, TargetFile};

/// Where OTP lives in a machine's root, in the order looked at: Debian's
/// packages, then a source build's default prefix (official images).
const OTP_IN_ROOT: &[&str] = &["usr/lib/erlang", "usr/local/lib/erlang"];

/// The OTP root inside the target machine's root `root`.
pub(crate) fn otp_in_root(root: &Path) -> Result<PathBuf> {
    OTP_IN_ROOT
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.join("releases").is_dir())
        .ok_or_else(|| Error::Target {
            path: root.to_owned(),
            message: format!(
                "no Erlang/OTP in {}: install the target's OTP there (Debian's erlang-base, ...) or give its root with --include-erts PATH",
                OTP_IN_ROOT.join(" or ")
            ),
        })
}

/// The machine root an OTP root belongs to (`<root>/usr/lib/erlang`),
/// unless that is this machine's own `/`.
pub(crate) fn root_of_otp(otp_root: &Path) -> Option<PathBuf> {
    OTP_IN_ROOT.iter().find_map(|p| {
        let depth = Path::new(p).components().count();
        let root = otp_root.ancestors().nth(depth)?;
        let real = !root.as_os_str().is_empty() && root != Path::new("/");
        (otp_root.ends_with(p) && real).then(|| root.to_owned())
    })
}

/// The release's target: the one asked for (which the bundled ERTS must
/// run on, as every ELF file must: [`check_release`]), else the one that
/// ERTS was built for, else this machine.
pub(crate) fn choose(asked: Option<Target>, otp: &OtpInstall, erts: bool) -> Result<Target> {
    // An asked target is checked against ERTS with every other ELF file
    // (`check_release`): `beam.smp` is read here only to find the target.
    if let Some(target) = asked {
        return Ok(target);
    }
    if !erts {
        return Target::host().ok_or_else(|| {
            Error::Option(format!(
                "this machine is not one relpack knows: give --target ({})",
                crate::vocab::TARGET_NAMES
            ))
        });
    }
    let beam_smp = otp.erts_dir().join("bin").join("beam.smp");
    let bytes = std::fs::read(&beam_smp).at(&beam_smp, "cannot read")?;
    let built = elf::built_for(&bytes).map_err(|e| Error::Target {
        path: beam_smp.clone(),
        message: format!("not a program ERTS can be: {e}"),
    })?;
    match Arch::of_elf_machine(built.machine) {
        Some(arch) => Ok(Target {
            arch,
            libc: built.libc.unwrap_or(crate::vocab::Libc::Gnu),
        }),
        None => Err(Error::Target {
            path: beam_smp,
            message: format!("built for {built}, a machine relpack does not package for"),
        }),
    }
}

/// Gives each `--target-file` to its application (`replaced`, keyed by
/// the path inside the application's directory), checking that the
/// application is in the release and has that file.
pub(crate) fn assign_target_files(apps: &mut [PlannedApp], files: &[TargetFile]) -> Result<()> {
    for TargetFile { inside, file } in files {
        let mut parts = inside.components();
        let app_name = parts
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let rel: PathBuf = parts.collect();
        let Some(app) = apps
            .iter_mut()
            .find(|a| a.bundled && Some(a.name()) == app_name.as_deref())
        else {
            return Err(Error::Option(format!(
                "--target-file {}: no application `{}` in the release",
                inside.display(),
                app_name.unwrap_or_default()
            )));
        };
        if source_of(app, &rel).is_none_or(|p| !p.is_file()) {
            return Err(Error::Option(format!(
                "--target-file {}: {} has no such file to replace",
                inside.display(),
                app.source.dir.display()
            )));
        }
        if !file.is_file() {
            return Err(Error::Option(format!(
                "--target-file {}: {}: no such file",
                inside.display(),
                file.display()
            )));
        }
        app.replaced.insert(rel, file.clone());
    }
    Ok(())
}

/// Where the file `rel` (`priv/x.so`) of `app` comes from.
fn source_of(app: &PlannedApp, rel: &Path) -> Option<PathBuf> {
    Some(app.priv_dir.as_ref()?.join(rel.strip_prefix("priv").ok()?))
}

/// An ELF file the release would hold.
pub(crate) struct MachineFile {
    /// Its path in the release (`lib/jiffy-1.1.1/priv/jiffy.so`).
    pub rel: String,
    /// Where it is read from.
    pub src: PathBuf,
    /// The application it belongs to (an index into the apps), and the
    /// path inside it (`priv/jiffy.so`); `None` for ERTS's programs.
    pub app: Option<(usize, PathBuf)>,
    /// Whether it is a `--target-file`.
    pub replaced: bool,
}

/// The ELF files a release of `apps` (with ERTS of `otp` when `erts`)
/// holds: ERTS's programs and what each bundled application's `priv/`
/// holds, `--target-file`s in place of what they replace.
pub(crate) fn machine_files(
    otp: &OtpInstall,
    erts: bool,
    apps: &[PlannedApp],
) -> Result<Vec<MachineFile>> {
    let mut files = Vec::new();
    if erts {
        let bin = otp.erts_dir().join("bin");
        for name in crate::pipeline::assemble::ERTS_RUNTIME {
            files.push(MachineFile {
                rel: format!("erts-{}/bin/{name}", otp.erts_vsn),
                src: bin.join(name),
                app: None,
                replaced: false,
            });
        }
    }
    for (i, app) in apps.iter().enumerate().filter(|(_, a)| a.bundled) {
        let Some(priv_dir) = &app.priv_dir else {
            continue;
        };
        for (src, _) in tree_files(priv_dir, Path::new(""))? {
            let rel = Path::new("priv").join(src.strip_prefix(priv_dir).unwrap_or(&src));
            let replacement = app.replaced.get(&rel);
            files.push(MachineFile {
                rel: format!("lib/{}/{}", app.dir_name(), rel.display()),
                src: replacement.cloned().unwrap_or(src),
                app: Some((i, rel)),
                replaced: replacement.is_some(),
            });
        }
    }
    files.retain(|f| elf::file_is_elf(&f.src));
    Ok(files)
}

/// Checks that every program, library and module the release would hold
/// runs on `target` with the OTP `otp`: see the module's documentation.
pub(crate) fn check_release(
    target: Target,
    otp: &OtpInstall,
    erts: bool,
    apps: &[PlannedApp],
    jobs: usize,
) -> Result<()> {
    for file in machine_files(otp, erts, apps)? {
        check_elf(&file, apps, target)?;
    }
    let mut beams: Vec<(PathBuf, Origin)> = Vec::new();
    for app in apps
        .iter()
        .filter(|a| a.bundled && a.source.origin != Origin::Otp)
    {
        let ebin = app.source.dir.join("ebin");
        for entry in std::fs::read_dir(&ebin).at(&ebin, "cannot list")? {
            let path = entry.at(&ebin, "cannot list")?.path();
            if path.extension().is_some_and(|e| e == "beam") {
                beams.push((path, app.source.origin));
            }
        }
    }
    if beams.is_empty() {
        return Ok(());
    }
    let loads = OtpLoads::of(otp, jobs);
    let release = otp.otp_release;
    // Read on every core; checked in order, so the first refusal is the
    // same on every run.
    parallel::map_ordered(
        jobs,
        &beams,
        // A file that does not read as a BEAM is stripping's to refuse
        // (or, with stripping off, the user's to ship).
        |(path, _)| Ok(load_needs(path).ok()),
        |i, needs| {
            let Some(needs) = needs else {
                return Ok(());
            };
            let (path, origin) = &beams[i];
            let way_out = match origin {
                Origin::Elixir => format!(
                    "use an Elixir compiled with OTP {release} or older, or bundle a newer OTP"
                ),
                _ => format!("compile the project with OTP {release}, or bundle a newer OTP"),
            };
            let limit = loads.highest;
            if let Some(used) = needs.max_opcode.filter(|&used| used > limit) {
                return Err(Error::Target {
                    path: path.clone(),
                    message: format!(
                        "compiled by a newer OTP than the release's OTP {release} loads (instruction {used}, OTP {release} knows up to {limit}): {way_out}"
                    ),
                });
            }
            if let Some(feature) = needs.features.iter().find(|f| !loads.features.contains(*f)) {
                return Err(Error::Target {
                    path: path.clone(),
                    message: format!(
                        "compiled with the language feature `{feature}`, which the release's OTP {release} does not enable (none of its own modules is compiled with it): {way_out}"
                    ),
                });
            }
            Ok(())
        },
    )
}

fn load_needs(path: &Path) -> Result<beam::LoadNeeds> {
    let mut file = File::open(path).at(path, "cannot read")?;
    beam::load_needs(&mut std::io::BufReader::with_capacity(512, &mut file)).map_err(|e| {
        Error::BadBeam {
            path: path.to_owned(),
            message: e.to_string(),
        }
    })
}

/// What the modules of an OTP installation use: the highest instruction
/// and the language features they were compiled with, which its runtime
/// therefore loads.
struct OtpLoads {
    highest: u32,
    features: std::collections::BTreeSet<String>,
}

impl OtpLoads {
    fn of(otp: &OtpInstall, jobs: usize) -> OtpLoads {
        let mut loads = OtpLoads {
            highest: 0,
            features: Default::default(),
        };
        let mut paths = Vec::new();
        for (_, dir) in otp.libs.values() {
            let Ok(entries) = std::fs::read_dir(dir.join("ebin")) else {
                continue;
            };
            paths.extend(
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "beam")),
            );
        }
        let _ = parallel::map_ordered(
            jobs,
            &paths,
            |path| Ok::<_, Error>(load_needs(path).ok()),
            |_, needs| {
                if let Some(needs) = needs {
                    loads.highest = loads.highest.max(needs.max_opcode.unwrap_or(0));
                    loads.features.extend(needs.features);
                }
                Ok(())
            },
        );
        loads
    }
}

/// Checks one ELF file of the release against `target`.
fn check_elf(file: &MachineFile, apps: &[PlannedApp], target: Target) -> Result<()> {
    let bytes = std::fs::read(&file.src).at(&file.src, "cannot read")?;
    let built = elf::built_for(&bytes).map_err(|e| Error::Target {
        path: file.src.clone(),
        message: format!("unreadable ELF file: {e}"),
    })?;
    if built.runs_on(target) {
        return Ok(());
    }
    let way_out = match &file.app {
        _ if file.replaced => "give the file built for it".to_owned(),
        Some((i, rel)) => {
            let app = &apps[*i];
            let name = app.name();
            let build = if app.source.origin == Origin::Otp {
                "take OTP from the target's root (--target-root)".to_owned()
            } else {
                format!("build {name} for {target} (on or for that machine)")
            };
            format!(
                "{build}, or give the target's file with --target-file {name}/{}=FILE",
                rel.display()
            )
        }
        None => "give that machine's OTP with --target-root DIR (its root, holding usr/lib/erlang) or --include-erts PATH".into(),
    };
    Err(Error::Target {
        path: file.src.clone(),
        message: format!("built for {built}, and the release is for {target}: {way_out}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_root_of_an_otp_root() {
        assert_eq!(
            root_of_otp(Path::new("/roots/arm64/usr/lib/erlang")),
            Some("/roots/arm64".into())
        );
        assert_eq!(
            root_of_otp(Path::new("/img/usr/local/lib/erlang/")),
            Some("/img".into())
        );
        assert_eq!(root_of_otp(Path::new("/usr/lib/erlang")), None);
        assert_eq!(root_of_otp(Path::new("/opt/otp")), None);
    }
}
