//! What the `bin/<name>` launcher runs besides the VM: custom commands
//! (`bin/<name> NAME args...`) and hook scripts sourced around
//! configuration, start and stop, as Distillery's `commands`, `*_hooks`
//! (directories) and 1.x `*_hook` (one script) settings. Checked
//! here, when the release is planned; copied into `releases/<vsn>/` by
//! [`crate::pipeline::assemble`].

pub(crate) mod templates;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::vocab::Hook;

/// The launcher's own commands, which a custom command may not shadow.
pub const BUILTIN_COMMANDS: &[&str] = &[
    "foreground",
    "console",
    "start_iex",
    "start",
    "daemon",
    "attach",
    "remote_console",
    "remote",
    "stop",
    "restart",
    "reboot",
    "ping",
    "pid",
    "rpc",
    "eval",
    "releases",
    "unpack",
    "install",
    "upgrade",
    "downgrade",
    "describe",
    "version",
    "help",
];

/// A custom command's script in the release, relative to `releases/<vsn>`.
pub fn command_file(name: &str) -> PathBuf {
    Path::new("commands").join(format!("{name}.sh"))
}

/// Checks custom commands: a usable, unique name that is not a built-in
/// command, and an existing file.
pub fn check_commands(commands: &[(String, PathBuf)]) -> Result<()> {
    for (i, (name, path)) in commands.iter().enumerate() {
        let fail = |message: String| Error::Launcher {
            path: path.clone(),
            message,
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !valid {
            return Err(fail(format!(
                "invalid command name `{name}`: use lowercase letters, digits, `_` and `-`"
            )));
        }
        if BUILTIN_COMMANDS.contains(&name.as_str()) {
            return Err(fail(format!(
                "command `{name}` would hide the launcher's own `{name}`: pick another name"
            )));
        }
        if commands[..i].iter().any(|(n, _)| n == name) {
            return Err(fail(format!("command `{name}` is given twice")));
        }
        if !path.is_file() {
            return Err(fail(format!(
                "the script of command `{name}` does not exist (or is not a file)"
            )));
        }
    }
    Ok(())
}

/// Checks hooks: each is a directory of scripts (Distillery 2.x's `*_hooks`)
/// or one script (1.x's `*_hook`); the scripts of one hook go into one
/// directory of the release, so their names must differ.
pub fn check_hooks(hooks: &[(Hook, PathBuf)]) -> Result<()> {
    let mut seen: Vec<(Hook, std::ffi::OsString)> = Vec::new();
    for (hook, path) in hooks {
        let fail = |message: String| Error::Launcher {
            path: path.clone(),
            message,
        };
        let names: Vec<std::ffi::OsString> = if path.is_dir() {
            std::fs::read_dir(path)
                .map_err(|source| Error::Io {
                    path: path.clone(),
                    action: "cannot list the hook directory",
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect()
        } else if path.is_file() {
            path.file_name()
                .map(ToOwned::to_owned)
                .into_iter()
                .collect()
        } else {
            return Err(fail(format!(
                "the `{}` hook (a directory of scripts, or one script) does not exist",
                hook.as_str()
            )));
        };
        for name in names {
            if seen.contains(&(*hook, name.clone())) {
                return Err(fail(format!(
                    "two `{}` hook scripts are named {}: rename one",
                    hook.as_str(),
                    name.to_string_lossy()
                )));
            }
            seen.push((*hook, name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_round_trip_through_their_names() {
        for hook in Hook::ALL {
            assert_eq!(hook.as_str().parse::<Hook>().unwrap(), hook);
        }
        assert!("pre_boot".parse::<Hook>().is_err());
    }

    #[test]
    fn command_names_are_checked() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        assert!(check_commands(&[("seed-db_2".into(), dir.join("Cargo.toml"))]).is_ok());
        for bad in ["stop", "Bad", "a b", "", "-x"] {
            assert!(
                check_commands(&[(bad.into(), dir.join("Cargo.toml"))]).is_err(),
                "{bad}"
            );
        }
        let twice = [
            ("seed".to_string(), dir.join("Cargo.toml")),
            ("seed".to_string(), dir.join("Cargo.toml")),
        ];
        assert!(check_commands(&twice).is_err());
        assert!(check_commands(&[("seed".into(), dir.join("no-such-file"))]).is_err());
        assert!(check_hooks(&[(Hook::PreStart, dir.join("no-such-hook"))]).is_err());
        assert!(check_hooks(&[
            (Hook::PreStart, dir.join("Cargo.toml")),
            (Hook::PreStart, dir.join("Cargo.toml"))
        ])
        .is_err());
        assert!(check_hooks(&[(Hook::PreStart, dir.join("src"))]).is_ok());
    }

    /// Every built-in command is one the launcher knows.
    #[test]
    fn builtin_commands_are_the_launchers() {
        let launcher = crate::launcher::templates::launcher(
            "my_app",
            &crate::vocab::Toolchain::new(Some("1.18.3"), 27),
        )
        .unwrap();
        for name in BUILTIN_COMMANDS {
            assert!(
                launcher.lines().any(|l| {
                    let l = l.trim_start();
                    l.starts_with(&format!("{name})"))
                        || l.starts_with(&format!("{name} |"))
                        || l.contains(&format!("| {name})"))
                        || l.contains(&format!("| {name} |"))
                }),
                "`{name}` is not a case of the launcher"
            );
        }
    }
}
