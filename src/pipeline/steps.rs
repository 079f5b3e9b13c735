//! A release's custom `steps:` (`&MyApp.MixProject.copy_files/1`,
//! `&Burrito.wrap/1`), run by the real Mix around relpack's own steps.
//!
//! Mix code cannot be read, only run, so a release with a function among
//! its steps gets one `elixir` process for the whole build
//! (`templates/steps.exs`, after `templates/project.exs`). It loads the
//! project as mix does, makes the `%Mix.Release{}` that `mix release`
//! would with `Mix.Release.from_config!/3` itself, and runs the steps in
//! mix's order, each getting the release with the steps after it. At each
//! built-in step it hands over to relpack, and waits:
//!
//! - at `:assemble`, with what the steps before it changed in the struct.
//!   The planner applies each change as the release setting of that name
//!   ([`apply_before_assemble`]), or stops naming the step and the field
//!   where mix would read a field relpack cannot set (`applications`,
//!   `boot_scripts`, ...). Options mix reads only before the steps run
//!   (`include_erts`, `applications`) are ignored, as mix ignores them.
//! - the release is then staged, and the steps after `:assemble` run on
//!   the staged directory (the struct's `path` and `version_path` point at
//!   it), so that the release still appears at its path whole or not at
//!   all; at `:tar` relpack packs what is on disk then, as mix's `:tar`
//!   does ([`crate::pipeline::assemble::tar_keeps`]), and makes the
//!   executable if there is one.
//! - everything is published, and the steps after `:tar` run on the
//!   release at its final path, the tarball beside it.
//!
//! Whatever the steps print goes to relpack's standard error; the
//! hand-overs come on the runner's standard output, one line each.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use crate::config::{ReleaseSettings, Setting, Settings};
use crate::error::{Error, Result};
use crate::formats::etf;
use crate::formats::term::Term;

const SCRIPT: &str = concat!(
    include_str!("../../templates/project.exs"),
    include_str!("../../templates/steps.exs")
);

/// The built-in step the runner stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    Assemble,
    Tar,
    /// No step is left.
    Done,
}

/// A field of the `%Mix.Release{}` a custom step changed.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    /// The step, as the project wrote it (`&write_version/1`).
    pub step: String,
    /// The struct's field (`options`, `version`, ...).
    pub field: String,
    /// For `options`, the key.
    pub key: Option<String>,
    /// The new value; `None`: the option was removed.
    pub value: Option<Term>,
}

impl Change {
    /// `options[:cookie]` or `version`.
    fn name(&self) -> String {
        match &self.key {
            Some(key) => format!("{}[:{key}]", self.field),
            None => self.field.clone(),
        }
    }
}

/// Where the runner stopped, and what the custom steps did since.
#[derive(Debug, Clone)]
pub(crate) struct Handover {
    pub builtin: Builtin,
    /// The custom steps run since the last hand-over, in order.
    pub ran: Vec<String>,
    pub changes: Vec<Change>,
    /// The steps still to run: atoms, and functions as the fallback
    /// describes them.
    pub remaining: Vec<Term>,
    /// The struct's `path`, `version_path` and `version`.
    pub path: String,
    pub version_path: String,
    pub version: String,
    /// The struct's `overlays`: paths in the release, which mix's `:tar`
    /// packs.
    pub overlays: Vec<PathBuf>,
}

/// The running `elixir` that holds the release's `%Mix.Release{}`.
#[derive(Debug)]
pub struct Steps {
    runner: Mutex<Runner>,
    /// The project's `mix.exs`, which errors name, and the line of its
    /// `steps:`.
    mix_exs: PathBuf,
    line: usize,
    project_dir: PathBuf,
}

#[derive(Debug)]
struct Runner {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Runner {
    fn drop(&mut self) {
        // Closing its input ends a runner waiting for relpack; one still
        // running a step is stopped.
        drop(self.stdin.take());
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Whether `release` has functions among its steps.
pub(crate) fn has_custom(release: &ReleaseSettings) -> bool {
    release
        .steps
        .iter()
        .any(|s| matches!(s, crate::config::Step::Custom(_)))
}

impl Steps {
    /// Starts the runner for `release` of the project in `dir` and runs
    /// the steps before `:assemble`. `overrides` are what the command line
    /// sets as `mix release` would (`path`, `version`).
    pub(crate) fn start(
        dir: &Path,
        env: &str,
        release: &ReleaseSettings,
        overrides: &[(&str, String)],
    ) -> Result<(Steps, Handover)> {
        let mix_exs = release.file.clone();
        let mut command = Command::new("elixir");
        command
            .arg("-e")
            .arg(SCRIPT)
            .arg(&release.name)
            .arg(env)
            .arg("host")
            .args(overrides.iter().map(|(k, v)| format!("{k}={v}")))
            .current_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
            .env("MIX_ENV", env)
            .env("MIX_TARGET", "host")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().map_err(|source| Error::Io {
            path: mix_exs.clone(),
            action: "cannot run `elixir` for the release's steps",
            source,
        })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(Error::System("no pipes to `elixir`".into()));
        };
        let steps = Steps {
            runner: Mutex::new(Runner {
                child,
                stdin: Some(stdin),
                stdout: BufReader::new(stdout),
            }),
            mix_exs,
            line: release
                .settings
                .get("steps")
                .and_then(|s| s.origin.rsplit_once(':')?.1.parse().ok())
                .unwrap_or(0),
            project_dir: dir.to_owned(),
        };
        let first = steps.receive()?;
        if first.builtin != Builtin::Assemble {
            return Err(steps.error("", "the runner did not stop at :assemble".into()));
        }
        Ok((steps, first))
    }

    /// Runs the steps up to the next built-in one; with `root`, the
    /// release is at `root` now and the struct's paths say so, and
    /// `overlays` are the paths its overlay directories put there.
    pub(crate) fn resume(&self, root: Option<(&Path, &[PathBuf])>) -> Result<Handover> {
        let line = match root {
            // Absolute, as mix's struct has it: the runner's directory is
            // the project's.
            Some((root, overlays)) => {
                let root = std::path::absolute(root).unwrap_or_else(|_| root.to_owned());
                let term = Term::tuple(vec![
                    binary(&root),
                    Term::List(overlays.iter().map(|p| binary(p)).collect()),
                ]);
                let bytes = etf::encode(&term, etf::AtomEncoding::Utf8);
                let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
                format!("root {hex}\n")
            }
            None => "go\n".into(),
        };
        {
            let mut runner = self.lock();
            let sent = runner.stdin.as_mut().map(|stdin| {
                stdin
                    .write_all(line.as_bytes())
                    .and_then(|()| stdin.flush())
            });
            if !matches!(sent, Some(Ok(()))) {
                drop(runner);
                return Err(self.stopped());
            }
        }
        self.receive()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Runner> {
        self.runner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn receive(&self) -> Result<Handover> {
        let mut line = String::new();
        let read = self.lock().stdout.read_line(&mut line);
        if !matches!(read, Ok(n) if n > 0) {
            return Err(self.stopped());
        }
        let term = unhex(line.trim())
            .and_then(|bytes| etf::decode(&bytes).ok())
            .ok_or_else(|| self.error("", "cannot read what the runner wrote".into()))?;
        self.handover(&term)
    }

    /// The runner ended without a word: a crash its standard error shows.
    fn stopped(&self) -> Error {
        let status = self.lock().child.wait().map(|s| s.to_string());
        self.error(
            "",
            format!(
                "`elixir` running the release's steps stopped ({}); what it printed is above",
                status.unwrap_or_else(|e| e.to_string())
            ),
        )
    }

    fn error(&self, step: &str, message: String) -> Error {
        Error::Step {
            path: self.mix_exs.clone(),
            line: self.line,
            step: step.to_owned(),
            message,
        }
    }

    fn handover(&self, term: &Term) -> Result<Handover> {
        let bad = || self.error("", "cannot read what the runner wrote".into());
        let items = term.as_tuple().ok_or_else(bad)?;
        match items {
            [Term::Atom(tag), step, Term::Binary(at), Term::Integer(line), Term::Binary(message)]
                if tag == "error" =>
            {
                let at = PathBuf::from(String::from_utf8_lossy(at).into_owned());
                let path = if at.as_os_str().is_empty() {
                    self.mix_exs.clone()
                } else {
                    crate::config::fallback::user_path(&at, &self.mix_exs, &self.project_dir)
                };
                let message = String::from_utf8_lossy(message).into_owned();
                Err(Error::Step {
                    path,
                    line: usize::try_from(*line).unwrap_or(0),
                    step: text(step).unwrap_or_default(),
                    message: if text(step).is_some() {
                        format!("raised: {message}")
                    } else {
                        format!("mix could not make the release: {message}")
                    },
                })
            }
            [Term::Atom(tag), Term::Atom(builtin), ran, changes, remaining, paths]
                if tag == "handover" =>
            {
                let builtin = match builtin.as_str() {
                    "assemble" => Builtin::Assemble,
                    "tar" => Builtin::Tar,
                    "done" => Builtin::Done,
                    _ => return Err(bad()),
                };
                let ran = ran
                    .as_list()
                    .ok_or_else(bad)?
                    .iter()
                    .map(|t| text(t).ok_or_else(bad))
                    .collect::<Result<_>>()?;
                let changes = changes
                    .as_list()
                    .ok_or_else(bad)?
                    .iter()
                    .map(|c| match c.as_tuple() {
                        Some([step, Term::Atom(field), key, value]) => Ok(Change {
                            step: text(step).ok_or_else(bad)?,
                            field: field.clone(),
                            key: key.as_atom().filter(|k| *k != "nil").map(str::to_owned),
                            value: (value.as_atom() != Some("$relpack_unset"))
                                .then(|| value.clone()),
                        }),
                        _ => Err(bad()),
                    })
                    .collect::<Result<_>>()?;
                let [path, version_path, version, overlays] = paths.as_tuple().ok_or_else(bad)?
                else {
                    return Err(bad());
                };
                Ok(Handover {
                    builtin,
                    ran,
                    changes,
                    remaining: remaining.as_list().ok_or_else(bad)?.to_vec(),
                    path: text(path).ok_or_else(bad)?,
                    version_path: text(version_path).ok_or_else(bad)?,
                    version: text(version).ok_or_else(bad)?,
                    overlays: overlays
                        .as_list()
                        .ok_or_else(bad)?
                        .iter()
                        .map(|o| text(o).map(PathBuf::from).ok_or_else(bad))
                        .collect::<Result<_>>()?,
                })
            }
            _ => Err(bad()),
        }
    }

    /// Checks what the steps between `:assemble` and `:tar` changed: mix's
    /// `:tar` packs by the struct's name, version, path and applications,
    /// which relpack has already written; `overlays` adds to the tarball,
    /// and each must still be in the release at `root`; the other fields
    /// are not read again.
    pub(crate) fn check_after_assemble(&self, handover: &Handover, root: &Path) -> Result<()> {
        if let Some(gone) = missing_overlays(handover, root).first() {
            return Err(self.error(
                &handover.ran.join(", "),
                format!(
                    "removed {}, which the release's `overlays` still lists, so mix's :tar would fail on it: remove it from `overlays` in the step too",
                    gone.display()
                ),
            ));
        }
        const WRITTEN: &[&str] = &[
            "name",
            "version",
            "path",
            "version_path",
            "applications",
            "boot_scripts",
            "erts_source",
            "erts_version",
        ];
        match handover
            .changes
            .iter()
            .find(|c| WRITTEN.contains(&c.field.as_str()))
        {
            Some(c) => Err(self.error(
                &c.step,
                format!(
                    "changes the release's `{}` after :assemble, when the release is written; change it in a step before :assemble",
                    c.name()
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The options `mix release` reads from the struct when it assembles, so
/// a step before `:assemble` changes them; each is the release setting of
/// the same name. (`path`, `version`, `include_erts`, `applications`,
/// `config_providers` and `steps` were taken out of the options before
/// the steps ran: mix reads the fields instead.)
const ASSEMBLE_OPTIONS: &[&str] = &[
    "cookie",
    "strip_beams",
    "include_executables_for",
    "overlays",
    "rel_templates_path",
    "runtime_config_path",
    "reboot_system_after_config",
    "prune_runtime_sys_config_after_boot",
    "start_distribution_during_config",
    "validate_compile_env",
    "quiet",
    "skip_mode_validation_for",
];

/// `release` with what the steps before `:assemble` changed, as mix's
/// assemble would see it; `explicit` names the settings the command line
/// gives, which a step may not change under it.
pub(crate) fn apply_before_assemble(
    release: &ReleaseSettings,
    handover: &Handover,
    dir: &Path,
    explicit: &[&str],
) -> Result<ReleaseSettings> {
    let origin = release
        .settings
        .get("steps")
        .map_or_else(|| release.file.display().to_string(), |s| s.origin.clone());
    let refuse = |change: &Change, message: String| Error::Step {
        path: release.file.clone(),
        line: origin
            .rsplit_once(':')
            .and_then(|(_, l)| l.parse().ok())
            .unwrap_or(0),
        step: change.step.clone(),
        message: format!("changes `{}`: {message}", change.name()),
    };
    let mut settings: Settings = release.settings.clone();
    let retype = |settings: &Settings| {
        ReleaseSettings::from_settings(&release.name, release.format, &release.file, settings, dir)
    };
    for change in &handover.changes {
        let key = match (change.field.as_str(), change.key.as_deref()) {
            ("options", Some(key)) if ASSEMBLE_OPTIONS.contains(&key) => key,
            // mix read these before the steps ran, or never does.
            ("options", _) | ("steps", None) => continue,
            ("version" | "path" | "config_providers", None) => change.field.as_str(),
            // Follows from path and version; checked below.
            ("version_path", None) => continue,
            _ => {
                return Err(refuse(
                    change,
                    "relpack plans the release from the project's configuration and cannot apply this field; set it in the release's options in mix.exs".into(),
                ))
            }
        };
        if explicit.contains(&key) {
            return Err(refuse(
                change,
                format!("the command line sets `{key}` too; drop one of them"),
            ));
        }
        match &change.value {
            Some(value) => settings.insert(
                key.to_owned(),
                Setting {
                    value: value.clone(),
                    origin: origin.clone(),
                },
            ),
            None => settings.0.retain(|(k, _)| k != key),
        }
        if let Err(e) = retype(&settings) {
            return Err(refuse(change, strip_origin(&e.to_string())));
        }
    }
    let expected = Path::new(&handover.path)
        .join("releases")
        .join(&handover.version);
    if Path::new(&handover.version_path) != expected {
        let step = handover
            .changes
            .iter()
            .rev()
            .find(|c| matches!(c.field.as_str(), "version" | "path" | "version_path"));
        if let Some(change) = step {
            return Err(refuse(change, format!("the release's version_path is {} where its path and version give {}: mix would write a broken release; set version and path, and version_path to match", handover.version_path, expected.display())));
        }
    }
    // The steps still to run, after the :assemble about to run.
    let mut steps = vec![Term::atom("assemble")];
    steps.extend(handover.remaining.iter().cloned());
    settings.insert(
        "steps".into(),
        Setting {
            value: Term::List(steps),
            origin,
        },
    );
    let mut typed = retype(&settings)?;
    typed
        .warnings
        .splice(0..0, release.warnings.iter().cloned());
    typed.warnings.dedup();
    typed.fallback_reason = release.fallback_reason.clone();
    Ok(typed)
}

/// An error's text without the `file:line: ` the step's error gives again.
fn strip_origin(message: &str) -> String {
    match message.split_once(": ") {
        Some((place, rest)) if place.contains(':') => rest.to_owned(),
        _ => message.to_owned(),
    }
}

pub(crate) fn text(t: &Term) -> Option<String> {
    match t {
        Term::Binary(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Term::Atom(a) if a != "nil" => Some(a.clone()),
        _ => None,
    }
    .or_else(|| crate::config::fallback::opaque(t))
}

/// `Base.encode16/1`'s text as bytes.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// The struct's overlays gone from the release when `:tar` packs it
/// (a step removed them), on which mix's `:tar` fails.
pub(crate) fn missing_overlays(handover: &Handover, root: &Path) -> Vec<PathBuf> {
    handover
        .overlays
        .iter()
        .filter(|o| std::fs::symlink_metadata(root.join(o)).is_err())
        .cloned()
        .collect()
}

fn binary(path: &Path) -> Term {
    Term::Binary(path.as_os_str().as_encoded_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> ReleaseSettings {
        crate::config::release_with_steps(
            vec![
                crate::config::function_term("&stamp/1"),
                Term::atom("assemble"),
            ],
            5,
        )
        .unwrap()
    }

    fn change(field: &str, key: Option<&str>, value: Option<Term>) -> Change {
        Change {
            step: "&stamp/1".into(),
            field: field.into(),
            key: key.map(str::to_owned),
            value,
        }
    }

    fn handover(changes: Vec<Change>, version: &str, version_path: &str) -> Handover {
        Handover {
            builtin: Builtin::Assemble,
            ran: vec!["&stamp/1".into()],
            changes,
            remaining: vec![Term::atom("tar")],
            path: "/p/rel/app".into(),
            version_path: version_path.into(),
            version: version.into(),
            overlays: Vec::new(),
        }
    }

    fn apply(changes: Vec<Change>, version: &str, explicit: &[&str]) -> Result<ReleaseSettings> {
        let h = handover(changes, version, &format!("/p/rel/app/releases/{version}"));
        apply_before_assemble(&release(), &h, Path::new("."), explicit)
    }

    fn text(s: &str) -> Term {
        Term::Binary(s.as_bytes().to_vec())
    }

    #[test]
    fn changes_before_assemble_become_the_settings_mix_reads_at_assemble() {
        let r = apply(
            vec![
                change("options", Some("cookie"), Some(text("from_a_step"))),
                change("options", Some("strip_beams"), Some(Term::atom("false"))),
                // Read by mix before the steps ran: no effect, as in mix.
                change("options", Some("include_erts"), Some(Term::atom("false"))),
                change("options", Some("burrito"), Some(Term::List(vec![]))),
                change("version", None, Some(text("0.2.0"))),
                change(
                    "version_path",
                    None,
                    Some(text("/p/rel/app/releases/0.2.0")),
                ),
            ],
            "0.2.0",
            &[],
        )
        .unwrap();
        assert_eq!(r.cookie.as_deref(), Some("from_a_step"));
        assert_eq!(r.strip_beams, Some(false));
        assert_eq!(r.include_erts, None);
        assert_eq!(r.version.as_deref(), Some("0.2.0"));
        // The steps left, after the :assemble about to run.
        assert_eq!(
            r.steps,
            [crate::config::Step::Assemble, crate::config::Step::Tar]
        );
        assert_eq!(r.tar, Some(true));
    }

    #[test]
    fn a_change_relpack_cannot_apply_names_the_step_and_the_field() {
        let error = |changes, version, explicit: &[&str]| {
            apply(changes, version, explicit).unwrap_err().to_string()
        };
        let e = error(
            vec![change("applications", None, Some(Term::Map(vec![])))],
            "0.1.0",
            &[],
        );
        assert!(
            e.starts_with("mix.exs:5: step &stamp/1: changes `applications`"),
            "{e}"
        );
        let e = error(
            vec![change("options", Some("cookie"), Some(text(" x")))],
            "0.1.0",
            &[],
        );
        assert!(
            e.contains("changes `options[:cookie]`: `cookie` must be"),
            "{e}"
        );
        let e = error(
            vec![change("options", Some("cookie"), Some(text("abc")))],
            "0.1.0",
            &["cookie"],
        );
        assert!(e.contains("the command line sets `cookie` too"), "{e}");
        // A new version with the old version_path: mix would write
        // releases/0.1.0 for a 0.2.0 release.
        let h = handover(
            vec![change("version", None, Some(text("0.2.0")))],
            "0.2.0",
            "/p/rel/app/releases/0.1.0",
        );
        let e = apply_before_assemble(&release(), &h, Path::new("."), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("changes `version`") && e.contains("version_path"),
            "{e}"
        );
    }

    #[test]
    fn hand_overs_are_read_from_base16() {
        assert_eq!(unhex("83610A"), Some(vec![0x83, 0x61, 0x0a]));
        assert_eq!(unhex("836"), None);
        assert_eq!(unhex("8G"), None);
    }
}
