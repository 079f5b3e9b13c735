//! `relpack check`: validates a release on its own, whoever built it,
//! before it ships: a release directory, a tarball (`.tar.gz`, `.tar.zst`,
//! `.tar`), a one-file executable, or the release inside an OCI image
//! (a layout directory or archive, or a `docker save` archive).
//!
//! It checks what a boot needs: `releases/start_erl.data` and the `.rel`
//! agree; every application of the `.rel` is present with its `.app` and
//! the `.beam` of every module it lists; each `.boot` decodes to the term
//! of its `.script`, and every code path of the script exists; ERTS is
//! complete when bundled; the launcher is executable. It also checks what
//! must not ship: symlinks, absolute or `..` paths in a tarball,
//! world-writable files, a cookie others can read.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::formats::app::AppSpec;
use crate::formats::boot::{parse_rel, Rel};
use crate::formats::etf;
use crate::formats::oci::{self, Change};
use crate::formats::term::{parse_consult, Term};
use crate::pipeline::{archive, executable};
use crate::util::fs::TempPath;
use crate::vocab::Toolchain;

fn not_a_release(path: &Path) -> Error {
    Error::Project {
        path: path.to_owned(),
        message: "not a release directory, tarball (.tar.gz, .tar.zst, .tar), .run executable or OCI image".into(),
    }
}

/// The outcome of a check: what was looked at and what is wrong.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckReport {
    /// The release name from the `.rel` file.
    pub name: String,
    /// The release version from the `.rel` file.
    pub version: String,
    /// Number of applications checked.
    pub apps: usize,
    /// Number of listed modules whose `.beam` file is present.
    pub modules: usize,
    /// Each problem as one line naming the file.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// Whether no problems were found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the release directory, tarball (`.tar.gz`, `.tar.zst` or
/// `.tar`, told by its first bytes) or one-file executable at `path` (an
/// executable's payload first against its digest).
pub fn check(path: &Path) -> Result<CheckReport> {
    match open(path)? {
        Opened::Dir => Ok(check_dir(path, true)),
        Opened::Corrupt(report) => Ok(report),
        Opened::Unpacked {
            scratch,
            working_dir,
            problems,
        } => Ok(report_unpacked(
            path,
            &scratch.path().join(working_dir),
            problems,
        )),
    }
}

/// A release of any kind [`check`] reads, as a directory.
pub(crate) enum Opened {
    /// `path` is the release directory itself.
    Dir,
    /// An executable whose payload does not match its header.
    Corrupt(CheckReport),
    /// Unpacked into `scratch`: a tarball's or executable's release at its
    /// root (`working_dir` empty), an image's file system with the
    /// release in `working_dir`; `problems` are what unpacking found.
    Unpacked {
        scratch: TempPath,
        working_dir: PathBuf,
        problems: Vec<String>,
    },
}

/// Opens the release directory, tarball, executable or image at `path`.
pub(crate) fn open(path: &Path) -> Result<Opened> {
    if is_image(path) {
        return open_image(path);
    }
    if path.is_dir() {
        return Ok(Opened::Dir);
    }
    let tar: Box<dyn std::io::Read> = match executable::read_header(path)? {
        Some(header) => {
            if let Err(problem) = executable::verify(path, &header)? {
                return Ok(Opened::Corrupt(CheckReport {
                    name: header.name,
                    version: header.vsn,
                    problems: vec![format!("{}: {problem}", path.display())],
                    ..CheckReport::default()
                }));
            }
            executable::payload(path, &header)?
        }
        None => archive::open(path, "cannot open")?.ok_or_else(|| not_a_release(path))?,
    };
    let scratch = scratch()?;
    let problems = unpack_checked(path, tar, scratch.path())?;
    Ok(Opened::Unpacked {
        scratch,
        working_dir: PathBuf::new(),
        problems,
    })
}

/// An empty scratch directory, removed when dropped.
fn scratch() -> Result<TempPath> {
    let scratch = TempPath::beside(&std::env::temp_dir().join("relpack-check"))?;
    fs::create_dir_all(scratch.path()).at(scratch.path(), "cannot create a scratch directory")?;
    Ok(scratch)
}

/// The check of a release unpacked at `root` from `path`, after the
/// `problems` unpacking found; files named as `path` holds them, not by
/// the scratch path.
fn report_unpacked(path: &Path, root: &Path, mut problems: Vec<String>) -> CheckReport {
    let mut report = check_dir(root, false);
    problems.append(&mut report.problems);
    let prefix = format!("{}/", root.display());
    report.problems = problems
        .into_iter()
        .map(|p| p.replace(&prefix, &format!("{}:", path.display())))
        .collect();
    report
}

/// An OCI layout (a directory, or a tar of one or of `docker save`)
/// rather than a release.
fn is_image(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("index.json").is_file() && path.join("oci-layout").is_file();
    }
    let Ok(file) = fs::File::open(path) else {
        return false;
    };
    let mut archive = tar::Archive::new(file);
    let Ok(entries) = archive.entries() else {
        return false;
    };
    // Both kinds put their index or manifest at the top, a release never.
    entries.flatten().any(|e| {
        e.path().is_ok_and(|p| {
            matches!(
                p.to_str(),
                Some("index.json" | "manifest.json" | "./index.json")
            )
        })
    })
}

/// An image's file system: its layers applied in order (whiteouts
/// remove what lower layers had), the release in its working directory.
fn open_image(path: &Path) -> Result<Opened> {
    let image = oci::read(path, None)?;
    let working_dir = image.config["config"]["WorkingDir"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_owned();
    if working_dir.is_empty() {
        return Err(Error::Image {
            path: path.to_owned(),
            message: "the image sets no WorkingDir, where relpack's images hold the release".into(),
        });
    }
    let scratch = scratch()?;
    for (i, (_, bytes)) in image.layers.iter().enumerate() {
        let tar = oci::uncompress(bytes).at(path, "cannot decompress a layer")?;
        apply_layer(&tar, scratch.path()).map_err(|e| Error::Image {
            path: path.to_owned(),
            message: format!("layer {} cannot be unpacked ({e})", i + 1),
        })?;
    }
    Ok(Opened::Unpacked {
        scratch,
        working_dir: PathBuf::from(working_dir),
        problems: Vec::new(),
    })
}

/// Unpacks one layer's tar over `dest`, applying its whiteouts.
fn apply_layer(tar: &[u8], dest: &Path) -> std::io::Result<()> {
    oci::changes(tar, |change| match change {
        Change::Opaque(dir) => {
            for old in fs::read_dir(dest.join(dir)).into_iter().flatten().flatten() {
                remove_any(&old.path())?;
            }
            Ok(())
        }
        Change::Whiteout(hidden) => match dest.join(hidden) {
            gone if gone.symlink_metadata().is_ok() => remove_any(&gone),
            _ => Ok(()),
        },
        // unpack_in refuses entries that would land outside `dest`.
        Change::Add(_, mut entry) => entry.unpack_in(dest).map(|_| ()),
    })
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match path.symlink_metadata()?.is_dir() {
        true => fs::remove_dir_all(path),
        false => fs::remove_file(path),
    }
}

/// Unpacks a tarball, refusing (and reporting) entries that could write
/// outside the destination or are links.
fn unpack_checked(tarball: &Path, tar: Box<dyn std::io::Read>, dest: &Path) -> Result<Vec<String>> {
    let mut archive = tar::Archive::new(tar);
    let mut problems = Vec::new();
    let entries = archive.entries().at(tarball, "not a tar")?;
    for entry in entries {
        let mut entry = entry.at(tarball, "corrupt tarball")?;
        let name = entry.path().at(tarball, "corrupt tarball")?.into_owned();
        let unsafe_path = name.components().any(|c| {
            matches!(
                c,
                Component::ParentDir | Component::RootDir | Component::Prefix(_)
            )
        });
        if unsafe_path {
            problems.push(format!(
                "{}: entry `{}` escapes the release",
                tarball.display(),
                name.display()
            ));
            continue;
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            problems.push(format!(
                "{}: entry `{}` is a link",
                tarball.display(),
                name.display()
            ));
            continue;
        }
        entry.unpack_in(dest).at(tarball, "cannot unpack")?;
    }
    Ok(problems)
}

/// `directory`: a release directory, which may keep the releases an
/// upgrade starts from (a tarball holds only its own).
fn check_dir(root: &Path, directory: bool) -> CheckReport {
    let mut c = Checker {
        root: root.to_owned(),
        report: CheckReport::default(),
        directory,
    };
    c.run();
    c.report
}

struct Checker {
    root: PathBuf,
    report: CheckReport,
    directory: bool,
}

impl Checker {
    fn problem(&mut self, path: &Path, what: impl std::fmt::Display) {
        self.report
            .problems
            .push(format!("{}: {what}", path.display()));
    }

    fn consult(&mut self, path: &Path) -> Option<Vec<Term>> {
        match fs::read(path) {
            Err(e) => self.problem(path, format!("cannot read: {e}")),
            Ok(bytes) => match parse_consult(&bytes) {
                Ok(t) => return Some(t),
                Err(e) => self.problem(path, format!("does not parse: {e}")),
            },
        }
        None
    }

    fn run(&mut self) {
        let start_erl = self.root.join("releases/start_erl.data");
        let Ok(text) = fs::read_to_string(&start_erl) else {
            return self.problem(&start_erl, "missing: not a release directory");
        };
        let (erts_vsn, vsn) = match text.split_whitespace().collect::<Vec<_>>()[..] {
            [e, v] => (e.to_owned(), v.to_owned()),
            _ => return self.problem(&start_erl, "expected `<erts vsn> <release vsn>`"),
        };
        let vsn_dir = self.root.join("releases").join(&vsn);
        let rels: Vec<PathBuf> = fs::read_dir(&vsn_dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "rel"))
                    .collect()
            })
            .unwrap_or_default();
        let [rel_path] = rels.as_slice() else {
            return self.problem(
                &vsn_dir,
                format!("expected one .rel file, found {}", rels.len()),
            );
        };
        let Some(rel) = self.consult(rel_path) else {
            return;
        };
        let Some(Rel {
            name,
            vsn: rel_vsn,
            erts_vsn: rel_erts,
            apps,
        }) = (match rel.as_slice() {
            [term] => parse_rel(term),
            _ => None,
        })
        else {
            return self.problem(rel_path, "not `{release, {Name, Vsn}, {erts, Vsn}, Apps}`");
        };
        self.report.name = name.clone();
        self.report.version = rel_vsn.clone();
        if rel_vsn != vsn || rel_erts != erts_vsn {
            self.problem(
                rel_path,
                format!("says {rel_vsn} on ERTS {rel_erts}, start_erl.data says {vsn} on ERTS {erts_vsn}"),
            );
        }
        let erts_dir = self.root.join(format!("erts-{erts_vsn}"));
        let bundled = erts_dir.is_dir();
        if bundled {
            for exe in [
                "bin/erl",
                "bin/erlexec",
                "bin/beam.smp",
                "bin/erl_child_setup",
            ] {
                self.executable(&erts_dir.join(exe));
            }
        }
        for (app, app_vsn) in &apps {
            self.check_app(app, app_vsn, bundled);
        }
        for boot in ["start", "start_clean"] {
            self.check_boot(&vsn_dir, boot, bundled);
        }
        let upgrade = crate::pipeline::upgrade::check::relup_problems(
            &self.root,
            &name,
            &vsn,
            &apps,
            self.directory,
        );
        self.report.problems.extend(upgrade);
        self.consult(&vsn_dir.join("sys.config"));
        if !vsn_dir.join("vm.args").is_file() {
            self.problem(&vsn_dir.join("vm.args"), "missing");
        }
        // A release without bin/ is started by something else (mix's
        // `include_executables_for: []`).
        if self.root.join("bin").exists() {
            self.executable(&self.root.join("bin").join(&name));
            self.check_launcher(&self.root.join("bin").join(&name), &apps);
        }
        // An image's release has none: its launcher takes RELEASE_COOKIE
        // or makes one at first start (older launchers do not).
        let launcher_makes_one = fs::read_to_string(self.root.join("bin").join(&name))
            .is_ok_and(|text| text.contains("RELEASE_COOKIE_FILE"));
        let cookie = self.root.join("releases/COOKIE");
        match fs::metadata(&cookie) {
            Err(_) if launcher_makes_one => {}
            Err(_) => self.problem(&cookie, "missing"),
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                self.problem(&cookie, "readable by others: chmod 600")
            }
            Ok(_) => {}
        }
        self.check_tree();
    }

    /// A launcher that starts IEx with a `-user` module the bundled Elixir
    /// does not have (one written for Elixir 1.14 beside Elixir 1.15 or
    /// later) crashes the node at boot in `console`, `daemon` and
    /// `remote_console`.
    fn check_launcher(&mut self, launcher: &Path, apps: &RelApps) {
        let toolchain = Toolchain::of_apps(apps.iter().map(|(n, v)| (n.as_str(), v.as_str())), 0);
        let (Some(expected), Ok(text)) = (toolchain.iex_user(), fs::read_to_string(launcher))
        else {
            return;
        };
        let wrong = text
            .split("-user ")
            .skip(1)
            .filter_map(|rest| rest.split_whitespace().next())
            .find(|user| *user != "user_drv" && *user != expected);
        if let (Some(user), Some(elixir)) = (wrong, toolchain.elixir) {
            self.problem(
                launcher,
                format!(
                    "starts IEx with `-user {user}`, which Elixir {elixir} does not have \
                     (console, daemon and remote_console would crash at boot): rebuild the release"
                ),
            );
        }
    }

    fn executable(&mut self, path: &Path) {
        match fs::metadata(path) {
            Err(_) => self.problem(path, "missing"),
            Ok(m) if m.permissions().mode() & 0o111 == 0 => self.problem(path, "not executable"),
            Ok(_) => {}
        }
    }

    fn check_app(&mut self, app: &str, vsn: &str, bundled: bool) {
        let dir = self.root.join("lib").join(format!("{app}-{vsn}"));
        if !dir.is_dir() {
            // Without ERTS the OTP applications come from the target's Erlang.
            if bundled || !self.script_uses_root(app, vsn) {
                self.problem(
                    &dir,
                    format!("missing: application {app} {vsn} of the .rel"),
                );
            }
            return;
        }
        self.report.apps += 1;
        let ebin = dir.join("ebin");
        let app_file = ebin.join(format!("{app}.app"));
        let spec = match AppSpec::read(&app_file, app) {
            Ok(s) => s,
            Err(e) => return self.report.problems.push(e.to_string()),
        };
        if spec.vsn != vsn {
            self.problem(
                &app_file,
                format!("vsn {} but the .rel says {vsn}", spec.vsn),
            );
        }
        for module in &spec.modules {
            let beam = ebin.join(format!("{module}.beam"));
            if beam.is_file() {
                self.report.modules += 1;
            } else {
                self.problem(&beam, format!("missing: module of {app}"));
            }
        }
    }

    fn script_uses_root(&self, app: &str, vsn: &str) -> bool {
        let rel_dir = self.root.join("releases").join(&self.report.version);
        let script = fs::read_to_string(rel_dir.join("start.script")).unwrap_or_default();
        script.contains(&format!("\"$ROOT/lib/{app}-{vsn}/ebin\""))
    }

    fn check_boot(&mut self, vsn_dir: &Path, boot: &str, bundled: bool) {
        let script_path = vsn_dir.join(format!("{boot}.script"));
        let boot_path = vsn_dir.join(format!("{boot}.boot"));
        let Some(script) = self.consult(&script_path) else {
            return;
        };
        let decoded = match fs::read(&boot_path) {
            Err(e) => return self.problem(&boot_path, format!("cannot read: {e}")),
            Ok(bytes) => match etf::decode(&bytes) {
                Ok(t) => t,
                Err(e) => return self.problem(&boot_path, format!("does not decode: {e}")),
            },
        };
        if script.first() != Some(&decoded) {
            self.problem(&boot_path, format!("does not match {boot}.script"));
        }
        let instructions = decoded
            .as_tuple()
            .and_then(|t| t.get(2))
            .and_then(Term::as_list);
        for ins in instructions.unwrap_or(&[]) {
            let Some([Term::Atom(tag), dirs]) = ins.as_tuple() else {
                continue;
            };
            if tag != "path" {
                continue;
            }
            for dir in dirs.as_list().unwrap_or(&[]) {
                let Some(dir) = dir.as_string() else { continue };
                let real = if let Some(rest) = dir.strip_prefix("$RELEASE_LIB") {
                    format!("{}/lib{rest}", self.root.display())
                } else if let Some(rest) = dir.strip_prefix("$ROOT") {
                    if !bundled {
                        continue;
                    }
                    format!("{}{rest}", self.root.display())
                } else {
                    dir.clone()
                };
                if !Path::new(&real).is_dir() {
                    self.problem(&boot_path, format!("code path {dir} does not exist"));
                }
            }
        }
    }

    /// Links and world-writable files have no place in a release.
    fn check_tree(&mut self) {
        for entry in walkdir::WalkDir::new(&self.root)
            .into_iter()
            .filter_map(|e| e.ok())
        {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(path) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                self.problem(path, "is a symlink");
            } else if meta.permissions().mode() & 0o002 != 0 {
                self.problem(path, "is world-writable");
            }
        }
    }
}

type RelApps = Vec<(String, String)>;
