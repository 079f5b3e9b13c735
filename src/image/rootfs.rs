//! The default, distroless-style base layer, made from the build machine's
//! own files (the builder stage's, in a Dockerfile): the shared libraries
//! the release's ELF files need, followed through their own `DT_NEEDED`
//! entries, the dynamic loader they name, a POSIX shell and the tools the
//! launcher runs (with their libraries), the terminfo entries of common
//! terminals (for remote shells), the CA bundle when `:ssl` or
//! `:public_key` is in the release, and generated `/etc/passwd`,
//! `/etc/group`, `/etc/nsswitch.conf` and `/tmp`. Each host path comes
//! with the symlinks met on the way to it, so the image's `/lib`,
//! `/bin` and sonames look as the host's do.

use std::collections::{BTreeSet, VecDeque};

use super::layer::{file_mode, Owner, Source, Tree};
use std::path::Path;

use super::{AppUser, RELEASE_ROOT};
use crate::formats::elf;
use crate::tools::inspect::{find_library, Library};
use crate::util::view::{resolve, Kind, Root};
use crate::vocab::Target;

/// The commands `templates/launcher.sh` and `templates/erl.sh` run that
/// are not built into a POSIX shell (dash, busybox sh). The test below
/// keeps the list in step with the templates.
pub(crate) const LAUNCHER_TOOLS: &[&str] = &[
    "awk", "basename", "cat", "chmod", "date", "dirname", "env", "grep", "head", "ls", "mkdir",
    "mv", "od", "readlink", "rm", "sed", "sleep", "tail", "tr",
];

/// The shell the launcher's `#!` line names.
pub(crate) const SHELL: &str = "/bin/sh";

/// Where the shell and tools are looked for, in the image as on the host.
pub(crate) const TOOL_DIRS: &[&str] = &["/usr/bin", "/bin"];

/// Where Debian (and most distributions) keep the CA bundle OpenSSL reads
/// and OTP's `public_key:cacerts_get/0` finds.
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Terminal descriptions for `remote_console` and `console` in `podman
/// exec -it` and the like: OTP's tty driver needs the terminal's terminfo
/// entry, else IEx falls back to a limited shell that ignores `--remsh`.
const TERMINALS: &[&str] = &[
    "dumb",
    "linux",
    "screen",
    "screen-256color",
    "tmux",
    "tmux-256color",
    "vt100",
    "vt220",
    "xterm",
    "xterm-256color",
];

/// Where ncurses looks for them, as the build machine has them.
const TERMINFO_DIRS: &[&str] = &["/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo"];

/// Files of the machine's root copied so far, and what is still to be
/// followed.
struct Closure<'a> {
    /// The file system the files come from: `/`, or the target's root.
    root: &'a Path,
    target: Target,
    tree: Tree,
    seen: BTreeSet<String>,
    queue: VecDeque<String>,
    warnings: Vec<String>,
}

impl Closure<'_> {
    /// Copies the host file at `path` with the links leading to it and,
    /// for an ELF file, queues its loader and libraries.
    fn add(&mut self, path: &str) -> bool {
        let Some(found) = resolve(&Root(self.root), path) else {
            return false;
        };
        for (link, target) in &found.links {
            self.tree.link(link, target);
        }
        if found.kind != Kind::File || !self.seen.insert(found.path.clone()) {
            return found.kind == Kind::File;
        }
        let host = self.root.join(&found.path);
        let mode = std::fs::metadata(&host).map_or(0o644, |m| {
            std::os::unix::fs::PermissionsExt::mode(&m.permissions())
        });
        // Host files are everyone's to read in the image: 0755 or 0644.
        let mode = match file_mode(mode) {
            0o600 => 0o644,
            m => m,
        };
        self.tree
            .file(&found.path, Source::Host(host.clone()), mode, Owner::ROOT);
        if let Ok(bytes) = std::fs::read(&host) {
            if elf::is_elf(&bytes) {
                self.queue_elf(&bytes, path);
            }
        }
        true
    }

    fn queue_elf(&mut self, bytes: &[u8], who: &str) {
        if let Ok(Some(interp)) = elf::interpreter(bytes) {
            self.queue.push_back(interp);
        }
        for soname in elf::loaded_libraries(bytes).unwrap_or_default() {
            match find_library(self.root, self.target, &soname) {
                Some(path) => self.queue.push_back(path),
                None => self.warnings.push(format!(
                    "{soname} (needed by {who}) is not on the build machine: the image will lack it"
                )),
            }
        }
    }

    fn drain(&mut self) {
        while let Some(path) = self.queue.pop_front() {
            self.add(&path);
        }
    }
}

/// The default base layer for a release whose ELF files need `libraries`
/// (as [`crate::tools::inspect::runtime_libraries`] reports them) and whose
/// ERTS executables are `executables` (host paths, for their loader),
/// made of the files of the machine whose file system is at `root` (`/`,
/// or the target's root). Returns the layer and warnings (a library or
/// tool that machine lacks).
pub(crate) fn host_base(
    root: &Path,
    target: Target,
    libraries: &[Library],
    executables: &[std::path::PathBuf],
    ssl: bool,
    user: &AppUser,
) -> (Tree, Vec<String>) {
    let mut c = Closure {
        root,
        target,
        tree: Tree::default(),
        seen: BTreeSet::new(),
        queue: VecDeque::new(),
        warnings: Vec::new(),
    };
    for lib in libraries.iter().filter(|l| !l.bundled) {
        match &lib.path {
            Some(path) => c.queue.push_back(path.clone()),
            None => c.warnings.push(format!(
                "{} (needed by {}) is not on the build machine: the image will lack it",
                lib.soname,
                lib.needed_by.join(", ")
            )),
        }
    }
    for exe in executables {
        if let Ok(bytes) = std::fs::read(exe) {
            if let Ok(Some(interp)) = elf::interpreter(&bytes) {
                c.queue.push_back(interp);
            }
        }
    }
    if !c.add(SHELL) {
        c.warnings.push(format!(
            "the build machine has no {SHELL}: the image has no shell for the launcher"
        ));
    }
    for tool in LAUNCHER_TOOLS {
        let found = TOOL_DIRS.iter().any(|dir| c.add(&format!("{dir}/{tool}")));
        if !found {
            c.warnings.push(format!(
                "`{tool}`, which the launcher runs, is not on the build machine: the image lacks it"
            ));
        }
    }
    for term in TERMINALS {
        let initial = &term[..1];
        TERMINFO_DIRS
            .iter()
            .any(|dir| c.add(&format!("{dir}/{initial}/{term}")));
    }
    if ssl && !c.add(CA_BUNDLE) {
        c.warnings.push(format!(
            "the release uses :ssl/:public_key but the build machine has no {CA_BUNDLE} (install ca-certificates): the image has no CA certificates"
        ));
    }
    c.drain();
    let mut tree = c.tree;
    etc_files(&mut tree, user, None, None);
    // Host names from the /etc/hosts the engine writes, then DNS.
    tree.file(
        "etc/nsswitch.conf",
        Source::Bytes(b"passwd: files\ngroup: files\nhosts: files dns\n".to_vec()),
        0o644,
        Owner::ROOT,
    );
    tree.dir("tmp", 0o1777, Owner::ROOT);
    (tree, c.warnings)
}

/// `/etc/passwd` and `/etc/group` with the application user added to
/// `passwd` and `group` (a base image's, or none: root only).
pub(crate) fn etc_files(
    tree: &mut Tree,
    user: &AppUser,
    passwd: Option<&str>,
    group: Option<&str>,
) {
    let passwd = passwd.unwrap_or("root:x:0:0:root:/root:/usr/sbin/nologin\n");
    let group = group.unwrap_or("root:x:0:\n");
    let line = |text: &str, entry: String| {
        let mut text = text.to_owned();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text + &entry
    };
    let passwd = line(
        passwd,
        format!(
            "{}:x:{}:{}::{RELEASE_ROOT}:/usr/sbin/nologin\n",
            user.name, user.uid, user.gid
        ),
    );
    let group = line(group, format!("{}:x:{}:\n", user.name, user.gid));
    tree.file(
        "etc/passwd",
        Source::Bytes(passwd.into_bytes()),
        0o644,
        Owner::ROOT,
    );
    tree.file(
        "etc/group",
        Source::Bytes(group.into_bytes()),
        0o644,
        Owner::ROOT,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tool_list_matches_the_launcher() {
        let launcher = include_str!("../../templates/launcher.sh");
        let erl = include_str!("../../templates/erl.sh");
        for tool in LAUNCHER_TOOLS {
            let used = [launcher, erl].iter().any(|t| {
                t.lines().any(|l| {
                    l.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                        .any(|w| w == *tool)
                })
            });
            assert!(used, "{tool} is not used by the launcher");
        }
        // The first word of each line, and after `$(` and `| `, outside
        // heredocs and comments, is a keyword, a builtin, one of the
        // launcher's functions, a variable assignment, or a listed tool.
        let allowed = [
            "if", "then", "else", "elif", "fi", "for", "do", "done", "while", "until", "case",
            "esac", "in", "cd", "echo", "eval", "exec", "exit", "export", "kill", "printf", "pwd",
            "set", "shift", "true", "false", "umask", "return", "wait", "continue", "break",
        ];
        let functions: Vec<&str> = launcher
            .lines()
            .filter_map(|l| l.strip_suffix("() {"))
            .collect();
        for text in [launcher, erl] {
            let mut heredoc: Option<String> = None;
            let mut in_quote = false;
            for line in text.lines().map(str::trim) {
                if let Some(end) = &heredoc {
                    if line == end {
                        heredoc = None;
                    }
                    continue;
                }
                if let Some((_, tag)) = line.split_once("<<") {
                    heredoc = Some(tag.trim_matches(|c| c == '\'' || c == ')').to_owned());
                }
                if line.starts_with('#') || line.starts_with("{%") {
                    continue;
                }
                // Lines inside a multi-line single-quoted string (an awk
                // program) are not shell.
                let quoted = in_quote;
                if line.matches('\'').count() % 2 == 1 {
                    in_quote = !in_quote;
                }
                if quoted {
                    continue;
                }
                // A case pattern (`name | sname)`) names no command.
                let pattern = line.split_once(')').is_some_and(|(p, _)| {
                    p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || " |*-_/".contains(c))
                });
                if pattern {
                    continue;
                }
                let starts = std::iter::once(line)
                    .chain(line.split("$(").skip(1))
                    .chain(line.split("| ").skip(1));
                for piece in starts {
                    let word = piece.split_whitespace().next().unwrap_or("");
                    let command = !word.is_empty()
                        && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                    if command && !allowed.contains(&word) && !functions.contains(&word) {
                        assert!(LAUNCHER_TOOLS.contains(&word), "`{word}` in: {line}");
                    }
                }
            }
        }
    }
}
