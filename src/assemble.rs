//! Writes a planned release into a directory with the layout `mix release`
//! produces:
//!
//! ```text
//! bin/<name>                         launcher
//! erts-<vsn>/bin/                    runtime executables only, when bundled
//! lib/<app>-<vsn>/{ebin,priv}        priv symlinks dereferenced
//! releases/COOKIE                    mode 0600
//! releases/start_erl.data            "<erts vsn> <release vsn>"
//! releases/<vsn>/<name>.rel, start.{script,boot}, start_clean.{script,boot},
//!                sys.config, vm.args, consolidated/,
//!                commands/<cmd>.sh, hooks/<hook>.d/  (when given)
//! ```
//!
//! Everything is written into a temporary directory beside the destination
//! and renamed into place at the end, so the destination only ever holds a
//! whole release.

use std::fs;
use std::path::{Path, PathBuf};

use crate::boot::{self, ScriptInput};
use crate::error::{Error, IoContext, Result};
use crate::etf::AtomEncoding;
use crate::fsutil::{check_interrupted, copy_file, copy_tree, write_with_mode, TempPath};
use crate::inputs::Origin;
use crate::launcher;
use crate::plan::{PlannedOverlay, ReleasePlan};
use crate::templates;
use crate::term::to_consult_text;

/// What ERTS needs at run time from `erts-<vsn>/bin`; compilers, test and
/// analysis tools stay out. (`erl` is replaced by a relocatable script.)
pub const ERTS_RUNTIME: &[&str] = &[
    "beam.smp",
    "erl_child_setup",
    "erlexec",
    "epmd",
    "heart",
    "inet_gethost",
    "run_erl",
    "to_erl",
];
const ERTS_REQUIRED: &[&str] = &["beam.smp", "erl_child_setup", "erlexec"];

/// A release written to a temporary directory, not yet in place.
#[derive(Debug)]
pub struct Staged {
    pub dir: TempPath,
}

/// Writes the release described by `plan` into a temporary directory
/// beside `plan.output_dir`.
pub fn stage(plan: &ReleasePlan) -> Result<Staged> {
    let staged = Staged {
        dir: TempPath::beside(&plan.output_dir)?,
    };
    let root = staged.dir.path().to_owned();
    fs::create_dir_all(&root).at(&root, "cannot create the release directory")?;
    write_apps(plan, &root)?;
    if plan.include_erts {
        write_erts(plan, &root)?;
    }
    write_releases(plan, &root)?;
    write_launcher_extras(plan, &root.join(plan.version_dir()))?;
    let bin = root.join("bin");
    fs::create_dir_all(&bin).at(&bin, "cannot create directory")?;
    let erlang_only = !plan.apps.iter().any(|a| a.name() == "elixir");
    let launcher = templates::launcher(&plan.name, erlang_only)?;
    write_with_mode(&bin.join(&plan.name), launcher.as_bytes(), 0o755)?;
    write_overlays(plan, &root)?;
    Ok(staged)
}

impl Staged {
    /// Replaces `plan.output_dir` with the staged release.
    pub fn publish(self, dest: &Path) -> Result<()> {
        self.dir.publish(dest)
    }
}

fn write_apps(plan: &ReleasePlan, root: &Path) -> Result<()> {
    for app in plan.apps.iter().filter(|a| a.bundled) {
        let dest = root.join("lib").join(app.dir_name());
        let src = &app.source.dir;
        if plan.dev_mode && app.source.origin == Origin::Project {
            let target = fs::canonicalize(src).at(src, "cannot resolve")?;
            let lib = root.join("lib");
            fs::create_dir_all(&lib).at(&lib, "cannot create directory")?;
            std::os::unix::fs::symlink(&target, &dest).at(&dest, "cannot create symlink")?;
            continue;
        }
        let ebin = dest.join("ebin");
        fs::create_dir_all(&ebin).at(&ebin, "cannot create directory")?;
        let src_ebin = src.join("ebin");
        for entry in fs::read_dir(&src_ebin).at(&src_ebin, "cannot list")? {
            let entry = entry.at(&src_ebin, "cannot list")?;
            check_interrupted()?;
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let target = ebin.join(entry.file_name());
            let stripped = if plan.strip_beams && path.extension().is_some_and(|e| e == "beam") {
                crate::beam::strip(&fs::read(&path).at(&path, "cannot read")?)
            } else {
                None
            };
            match stripped {
                Some(bytes) => write(&target, &bytes)?,
                None => copy_file(&path, &target)?,
            }
        }
        if let Some(priv_dir) = &app.priv_dir {
            copy_tree(priv_dir, &dest.join("priv"))?;
        }
    }
    Ok(())
}

fn write_erts(plan: &ReleasePlan, root: &Path) -> Result<()> {
    let src = plan.otp.erts_dir().join("bin");
    let dest = root.join(format!("erts-{}", plan.otp.erts_vsn)).join("bin");
    fs::create_dir_all(&dest).at(&dest, "cannot create directory")?;
    for name in ERTS_RUNTIME {
        let from = src.join(name);
        if from.is_file() {
            copy_file(&from, &dest.join(name))?;
        } else if ERTS_REQUIRED.contains(name) {
            return Err(Error::Otp(format!(
                "{}: missing; this ERTS is incomplete",
                from.display()
            )));
        }
    }
    let erl = templates::render("erl.sh", &plan.name)?;
    write_with_mode(&dest.join("erl"), erl.as_bytes(), 0o755)
}

fn write_releases(plan: &ReleasePlan, root: &Path) -> Result<()> {
    let releases = root.join("releases");
    let vsn_dir = root.join(plan.version_dir());
    fs::create_dir_all(&vsn_dir).at(&vsn_dir, "cannot create directory")?;

    let atoms = AtomEncoding::for_otp(plan.otp.otp_release);
    let apps = plan.boot_apps(false);
    let rel = boot::rel_term(&plan.name, &plan.version, &plan.otp.erts_vsn, &apps);
    write(
        &vsn_dir.join(format!("{}.rel", plan.name)),
        to_consult_text(&[rel]).as_bytes(),
    )?;
    let consolidated = plan
        .consolidated
        .as_ref()
        .map(|_| format!("$RELEASE_LIB/../releases/{}/consolidated", plan.version));
    for (file, clean) in [("start", false), ("start_clean", true)] {
        let script = boot::script_term(&ScriptInput {
            release_name: &plan.name,
            release_vsn: &plan.version,
            apps: plan.boot_apps(clean),
            kernel_modules: &plan.kernel_modules,
            consolidated: consolidated.clone(),
            config_provider: plan.config_provider,
        })?;
        write(
            &vsn_dir.join(format!("{file}.script")),
            to_consult_text(std::slice::from_ref(&script)).as_bytes(),
        )?;
        write(
            &vsn_dir.join(format!("{file}.boot")),
            &boot::boot_bytes(&script, atoms),
        )?;
    }
    if let Some(src) = &plan.consolidated {
        copy_tree(src, &vsn_dir.join("consolidated"))?;
    }
    write(
        &vsn_dir.join("sys.config"),
        sys_config_text(plan).as_bytes(),
    )?;
    if let Some(runtime) = &plan.runtime_config {
        copy_file(runtime, &vsn_dir.join("runtime.exs"))?;
    }
    let vm_args = match &plan.vm_args {
        Some(text) => text.clone(),
        None => templates::render("vm.args", &plan.name)?,
    };
    write(&vsn_dir.join("vm.args"), vm_args.as_bytes())?;
    if let Some(env_sh) = &plan.env_sh {
        write_with_mode(&vsn_dir.join("env.sh"), env_sh.as_bytes(), 0o755)?;
    }
    write(
        &releases.join("start_erl.data"),
        format!("{} {}", plan.otp.erts_vsn, plan.version).as_bytes(),
    )?;
    let cookie = match &plan.cookie {
        Some(c) => c.clone(),
        None => existing_cookie(&plan.output_dir).map_or_else(random_cookie, Ok)?,
    };
    write_with_mode(&releases.join("COOKIE"), cookie.as_bytes(), 0o600)
}

/// `sys.config` as `mix release` writes it: the `RUNTIME_CONFIG` line
/// tells its launcher whether the config provider reboots the VM, which
/// relpack's never does.
fn sys_config_text(plan: &ReleasePlan) -> String {
    let text = to_consult_text(std::slice::from_ref(&plan.sys_config));
    let body = text.strip_prefix("%% coding: utf-8\n").unwrap_or(&text);
    format!("%% coding: utf-8\n%% RUNTIME_CONFIG=false\n{body}")
}

/// Overlays, applied after everything else so that they can replace
/// generated files, as in Distillery and `mix release`.
fn write_overlays(plan: &ReleasePlan, root: &Path) -> Result<()> {
    for overlay in &plan.overlays {
        match overlay {
            PlannedOverlay::Mkdir(dir) => {
                let dir = root.join(dir);
                fs::create_dir_all(&dir).at(&dir, "cannot create directory")?;
            }
            PlannedOverlay::Copy { from, to } => {
                let dest = root.join(to);
                if from.is_dir() {
                    copy_tree(from, &dest)?;
                } else {
                    create_parent(&dest)?;
                    copy_file(from, &dest)?;
                }
            }
            PlannedOverlay::Link { target, link } => {
                let link = root.join(link);
                create_parent(&link)?;
                let _ = fs::remove_file(&link);
                std::os::unix::fs::symlink(target, &link).at(&link, "cannot create symlink")?;
            }
            PlannedOverlay::Write { text, to } => {
                let dest = root.join(to);
                create_parent(&dest)?;
                write(&dest, text.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// Custom commands (made executable) and hook directories, where the
/// launcher looks for them.
fn write_launcher_extras(plan: &ReleasePlan, vsn_dir: &Path) -> Result<()> {
    for (name, src) in &plan.commands {
        let dest = vsn_dir.join(launcher::command_file(name));
        let dir = dest.parent().unwrap_or(vsn_dir);
        fs::create_dir_all(dir).at(dir, "cannot create directory")?;
        let script = fs::read(src).at(src, "cannot read the command's script")?;
        write_with_mode(&dest, &script, 0o755)?;
    }
    for (hook, src) in &plan.hooks {
        copy_tree(src, &vsn_dir.join(hook.release_dir()))?;
    }
    Ok(())
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) => fs::create_dir_all(dir).at(dir, "cannot create directory"),
        None => Ok(()),
    }
}

fn write(path: &PathBuf, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).at(path, "cannot write")
}

/// A previous build's cookie is kept, as `mix release` does, so nodes of
/// the old and new build can still talk.
fn existing_cookie(output_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(output_dir.join("releases").join("COOKIE")).ok()?;
    let ok = !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(text)
}

/// 32 bytes from the OS RNG as base32 (56 characters, like `mix release`).
pub(crate) fn random_cookie() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Option(format!("no OS randomness for the cookie: {e}")))?;
    Ok(base32(&bytes))
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(ALPHABET[((n >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI======");
        assert_eq!(base32(&[0u8; 32]).len(), 56);
    }
}
