//! `relpack inspect`: what a planned release holds and why, before it is
//! built: the application tree (who pulls in whom, with start types), the
//! boot order, sizes per application and per part, the shared libraries the
//! target system must provide (read from the ELF files the release would
//! bundle) and warnings worth a look.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::error::Result;
use crate::formats::elf;
use crate::pipeline::assemble::ERTS_RUNTIME;
use crate::pipeline::inputs::Origin;
use crate::pipeline::plan::ReleasePlan;
use crate::pipeline::target::{machine_files, MachineFile};
use crate::util::view::{has_file, Root};
use crate::vocab::Target;

/// A priv directory above this size gets a warning.
const BIG_PRIV: u64 = 10 * 1024 * 1024;

/// Everything `inspect` reports, in the shape `--json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The release name.
    pub name: String,
    /// The release version.
    pub version: String,
    /// The ERTS version the release boots with.
    pub erts_vsn: String,
    /// The full OTP version, e.g. `25.2.3`, if the installation records it.
    pub otp_version: Option<String>,
    /// Whether ERTS is bundled in the release.
    pub include_erts: bool,
    /// In `.rel` order.
    pub apps: Vec<AppInfo>,
    /// The order in which the boot script loads and starts applications.
    pub boot_order: Vec<String>,
    /// How many bytes each part of the release takes.
    pub sizes: Sizes,
    /// Shared libraries the bundled native code needs on the target system.
    pub runtime_deps: Vec<Library>,
    /// Where the release's nodes get their cookie, in the tarball and in
    /// an image.
    pub cookie: String,
    /// Things worth a look, one line each.
    pub warnings: Vec<String>,
}

/// One application in an [`Inspection`].
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    /// The application name.
    pub name: String,
    /// The application version.
    pub vsn: String,
    /// Its start type in the release, e.g. `permanent`.
    pub start_type: String,
    /// `project`, `elixir` or `otp`.
    pub origin: String,
    /// Copied into the release (OTP's applications are not without ERTS).
    pub bundled: bool,
    /// The applications that list this one in `applications`.
    pub required_by: Vec<String>,
    /// The application that lists this one in `included_applications`.
    pub included_by: Option<String>,
    /// Number of modules it lists.
    pub modules: usize,
    /// Bytes of `ebin/` as it would be copied.
    pub ebin_bytes: u64,
    /// Bytes of `priv/` as it would be copied; 0 if it has none.
    pub priv_bytes: u64,
}

/// Bytes per part of the release, as copied (before compression).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sizes {
    /// The bundled ERTS; 0 if ERTS is not included.
    pub erts: u64,
    /// Erlang/OTP's applications bundled in the release.
    pub otp_apps: u64,
    /// Elixir's applications bundled in the release.
    pub elixir_apps: u64,
    /// The project's own applications and its dependencies.
    pub project_apps: u64,
    /// Included in the three above.
    pub priv_dirs: u64,
    /// The sum of ERTS and the three kinds of applications.
    pub total: u64,
}

/// A shared library some bundled ELF file needs.
#[derive(Debug, Clone, Serialize)]
pub struct Library {
    /// The library's soname, e.g. `libcrypto.so.3`.
    pub soname: String,
    /// Release-relative paths of the files that need it.
    pub needed_by: Vec<String>,
    /// Where the build machine has it, if it does.
    pub path: Option<String>,
    /// The Debian package that ships it on the build machine (`dpkg -S`).
    pub package: Option<String>,
    /// Shipped inside the release itself (then the target needs nothing).
    pub bundled: bool,
}

/// Inspects a plan without writing anything.
pub fn inspect(plan: &ReleasePlan) -> Result<Inspection> {
    plan.require_system_root("the libraries and packages it needs")?;
    let boot_apps = plan.boot_apps(false);
    let boot_order = crate::formats::boot::boot_order(&boot_apps)?
        .into_iter()
        .map(str::to_owned)
        .collect();

    let mut required_by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut included_by: BTreeMap<&str, String> = BTreeMap::new();
    for app in &plan.apps {
        for dep in &app.source.spec.applications {
            required_by
                .entry(dep)
                .or_default()
                .push(app.name().to_owned());
        }
        for inc in &app.source.spec.included_applications {
            included_by.insert(inc, app.name().to_owned());
        }
    }

    let mut sizes = Sizes::default();
    let mut apps = Vec::new();
    for app in &plan.apps {
        let ebin_bytes = tree_size(&app.source.dir.join("ebin"));
        let priv_bytes = app.priv_dir.as_deref().map_or(0, tree_size);
        if app.bundled {
            let bytes = ebin_bytes + priv_bytes;
            match app.source.origin {
                Origin::Otp => sizes.otp_apps += bytes,
                Origin::Elixir => sizes.elixir_apps += bytes,
                Origin::Project => sizes.project_apps += bytes,
            }
            sizes.priv_dirs += priv_bytes;
        }
        apps.push(AppInfo {
            name: app.name().to_owned(),
            vsn: app.vsn().to_owned(),
            start_type: app.start_type.to_string(),
            origin: match app.source.origin {
                Origin::Otp => "otp",
                Origin::Elixir => "elixir",
                Origin::Project => "project",
            }
            .to_owned(),
            bundled: app.bundled,
            required_by: required_by.get(app.name()).cloned().unwrap_or_default(),
            included_by: included_by.get(app.name()).cloned(),
            modules: app.source.spec.modules.len(),
            ebin_bytes,
            priv_bytes,
        });
    }
    if plan.include_erts {
        let bin = plan.otp.erts_dir().join("bin");
        sizes.erts = ERTS_RUNTIME
            .iter()
            .filter_map(|name| std::fs::metadata(bin.join(name)).ok())
            .map(|m| m.len())
            .sum();
    }
    sizes.total = sizes.erts + sizes.otp_apps + sizes.elixir_apps + sizes.project_apps;

    let mut warnings = plan.warnings.clone();
    warnings.extend(app_warnings(plan, &apps));
    warnings.extend(absolute_path_beams(plan));
    Ok(Inspection {
        name: plan.name.clone(),
        version: plan.version.clone(),
        erts_vsn: plan.otp.erts_vsn.clone(),
        otp_version: plan.otp.otp_version.clone(),
        include_erts: plan.include_erts,
        cookie: if plan.cookie_given {
            "given by the project or the command line: releases/COOKIE holds it, in the tarball and in an image (anyone who can read either can join the nodes)"
        } else {
            "chosen by relpack: releases/COOKIE in the tarball; an image carries none, and each container makes its own at first start unless RELEASE_COOKIE (or RELEASE_COOKIE_FILE, a mounted secret) gives one: a cluster needs a shared one"
        }
        .to_owned(),
        apps,
        boot_order,
        sizes,
        runtime_deps: runtime_deps(plan),
        warnings,
    })
}

/// The files under `dir` (following links, as the copy does) with their
/// paths relative to `dir`.
fn files_under(dir: &Path) -> impl Iterator<Item = (String, walkdir::DirEntry)> + '_ {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(move |e| {
            let rel = e.path().strip_prefix(dir).unwrap_or(e.path());
            (rel.to_string_lossy().into_owned(), e)
        })
}

/// Bytes of the files under `dir`.
fn tree_size(dir: &Path) -> u64 {
    files_under(dir)
        .map(|(_, e)| e.metadata().map_or(0, |m| m.len()))
        .sum()
}

/// The project's BEAMs that, as shipped (stripped or not), record the
/// absolute path of their source: the same source compiled elsewhere
/// gives other bytes, so other tarballs and image digests.
fn absolute_path_beams(plan: &ReleasePlan) -> Option<String> {
    let (mut total, mut carrying) = (0, Vec::new());
    for app in plan
        .apps
        .iter()
        .filter(|a| a.bundled && a.source.origin == Origin::Project)
    {
        let Ok(dir) = std::fs::read_dir(app.source.dir.join("ebin")) else {
            continue;
        };
        for beam in dir.flatten().map(|e| e.path()) {
            if beam.extension().is_none_or(|e| e != "beam") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&beam) else {
                continue;
            };
            total += 1;
            let shipped = match &plan.strip {
                Some(keep) => crate::formats::beam::strip(&bytes, keep).unwrap_or(bytes),
                None => bytes,
            };
            if let Ok(Some(source)) = crate::formats::beam::source(&shipped) {
                if source.starts_with('/') {
                    let name = beam.file_name().unwrap_or_default().to_string_lossy();
                    carrying.push((format!("lib/{}/ebin/{name}", app.dir_name()), source));
                }
            }
        }
    }
    carrying.sort();
    let (first, source) = carrying.first()?;
    Some(format!(
        "{} of the project's {total} BEAMs record the absolute path of their source (such as {first}: {source}), so the same source compiled in another directory gives another tarball and image: compile with the `deterministic` option (rebar.config `{{erl_opts, [deterministic]}}`, or ERL_COMPILER_OPTIONS=deterministic) or ship them stripped",
        carrying.len(),
    ))
}

fn app_warnings(plan: &ReleasePlan, apps: &[AppInfo]) -> Vec<String> {
    let mut out = Vec::new();
    let defaults = ["kernel", "stdlib", "elixir", "sasl", "iex"];
    // Apps the release asked for: the defaults and the project's own.
    let asked: BTreeSet<&str> = plan
        .apps
        .iter()
        .filter(|a| defaults.contains(&a.name()) || a.source.origin == Origin::Project)
        .map(|a| a.name())
        .collect();
    for app in apps {
        let direct = app.required_by.iter().any(|r| asked.contains(r.as_str()))
            || app
                .included_by
                .as_deref()
                .is_some_and(|i| asked.contains(i));
        if !asked.contains(app.name.as_str()) && !direct && !app.required_by.is_empty() {
            out.push(format!(
                "{} {} is in the release only because {} need(s) it",
                app.name,
                app.vsn,
                app.required_by.join(", ")
            ));
        }
        if matches!(app.start_type.as_str(), "load" | "none") && !app.required_by.is_empty() {
            out.push(format!(
                "{} is `{}` (not started) but {} depend(s) on it",
                app.name,
                app.start_type,
                app.required_by.join(", ")
            ));
        }
        if app.priv_bytes > BIG_PRIV {
            out.push(format!(
                "{} ships {:.1} MB in priv/",
                app.name,
                app.priv_bytes as f64 / 1e6
            ));
        }
    }
    out
}

/// The shared libraries the target must provide for what `plan` bundles,
/// each with the Debian package that ships it on the build machine: see
/// [`runtime_libraries`] and [`add_packages`].
pub fn runtime_deps(plan: &ReleasePlan) -> Vec<Library> {
    let mut libraries = runtime_libraries(plan);
    add_packages(plan, &mut libraries);
    libraries
}

/// The shared libraries the target must provide for what `plan` bundles:
/// the `DT_NEEDED` entries of its ERTS executables and of the ELF files in
/// bundled `priv` directories (NIFs, port programs), found on the build
/// machine. Only files that start like ELF are read whole. Packages are
/// left unknown: asking dpkg costs about 0.1 s of CPU.
pub fn runtime_libraries(plan: &ReleasePlan) -> Vec<Library> {
    let files = machine_files(&plan.otp, plan.include_erts, &plan.apps).unwrap_or_default();
    let mut needed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut shipped: BTreeSet<String> = BTreeSet::new();
    for MachineFile { rel, src: path, .. } in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        if let Some(name) = Path::new(rel).file_name() {
            shipped.insert(name.to_string_lossy().into_owned());
        }
        for lib in elf::loaded_libraries(&bytes).unwrap_or_default() {
            needed.entry(lib).or_default().push(rel.clone());
        }
    }
    needed
        .into_iter()
        .map(|(soname, needed_by)| Library {
            bundled: shipped.contains(&soname),
            package: None,
            path: plan
                .system_root()
                .and_then(|root| find_library(root, plan.target, &soname)),
            soname,
            needed_by,
        })
        .collect()
}

/// Fills in each library's Debian package on the machine the release is
/// for (`plan`'s target root, else this one), asking dpkg once for all.
pub fn add_packages(plan: &ReleasePlan, libraries: &mut [Library]) {
    let Some(root) = plan.system_root() else {
        return;
    };
    let packages = debian_packages(root, libraries.iter().filter_map(|l| l.path.as_deref()));
    for lib in libraries {
        lib.package = lib.path.as_ref().and_then(|p| packages.get(p).cloned());
    }
}

/// The library directories of `target`, `/lib` spelling first (dpkg
/// records libc6 there even on merged-/usr systems).
pub(crate) fn library_dirs(target: Target) -> Vec<PathBuf> {
    let triplet = format!("{}-linux-gnu", target.arch.gnu());
    ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]
        .iter()
        .flat_map(|d| [Path::new(d).join(&triplet), PathBuf::from(d)])
        .collect()
}

/// Where the machine whose file system is at `root` keeps `soname` (the
/// path as that machine spells it).
pub(crate) fn find_library(root: &Path, target: Target, soname: &str) -> Option<String> {
    library_dirs(target)
        .into_iter()
        .map(|d| d.join(soname).display().to_string())
        .find(|p| has_file(&Root(root), p))
}

/// Asks dpkg which package ships each path (both `/lib` and `/usr/lib`
/// spellings) on the machine whose file system is at `root`; empty when
/// dpkg is not there.
pub(crate) fn debian_packages<'a>(
    root: &Path,
    paths: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, String> {
    // Each path under both spellings: merged /usr makes them one file.
    let spellings: Vec<(&str, [String; 2])> = paths
        .map(|p| {
            let other = p
                .strip_prefix("/usr")
                .map_or_else(|| format!("/usr{p}"), str::to_owned);
            (p, [p.to_owned(), other])
        })
        .collect();
    let queries = spellings.iter().flat_map(|(_, both)| both);
    let Ok(out) = Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .arg("-S")
        .args(queries)
        .output()
    else {
        return BTreeMap::new();
    };
    let mut found = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((package, file)) = line.split_once(": ") else {
            continue;
        };
        let package = package.split(':').next().unwrap_or(package);
        for (path, both) in &spellings {
            if both.iter().any(|s| s == file) {
                found.insert((*path).to_owned(), package.to_owned());
            }
        }
    }
    found
}

impl Inspection {
    /// The Debian packages the target must install, sorted.
    pub fn packages(&self) -> Vec<String> {
        packages(&self.runtime_deps)
    }
}

/// The Debian packages of the libraries the target must install, sorted
/// and without repeats.
pub fn packages(libraries: &[Library]) -> Vec<String> {
    let set: BTreeSet<String> = libraries
        .iter()
        .filter(|l| !l.bundled)
        .filter_map(|l| l.package.clone())
        .collect();
    set.into_iter().collect()
}
