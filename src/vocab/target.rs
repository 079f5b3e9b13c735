//! The machine a release runs on: its processor and C library, named as
//! GNU triples (`aarch64-linux-gnu`), Debian architectures (`arm64`) or
//! OCI platforms (`linux/arm64`), and what its ELF files must say.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// A processor relpack can package for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    /// x86-64 (`amd64`).
    X86_64,
    /// 64-bit ARM (`arm64`: Graviton, Ampere, Apple silicon).
    Aarch64,
}

/// The C library the target's programs link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Libc {
    /// GNU libc (Debian, Ubuntu, Red Hat; `-slim` images).
    Gnu,
    /// musl (Alpine).
    Musl,
}

/// A target machine: Linux on `arch`, linking `libc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// Its processor.
    pub arch: Arch,
    /// Its C library.
    pub libc: Libc,
}

/// The names `--target` takes, for messages.
pub const TARGET_NAMES: &str = "aarch64-linux-gnu, x86_64-linux-gnu, aarch64-linux-musl, x86_64-linux-musl (or arm64, amd64, linux/arm64, linux/amd64)";

impl Arch {
    /// ELF's `e_machine` for it.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => 62,
            Arch::Aarch64 => 183,
        }
    }

    /// The processor an ELF `e_machine` names, if relpack knows it.
    pub fn of_elf_machine(machine: u16) -> Option<Arch> {
        [Arch::X86_64, Arch::Aarch64]
            .into_iter()
            .find(|a| a.elf_machine() == machine)
    }

    /// The GNU name (`aarch64`).
    pub fn gnu(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// OCI's and Debian's name (`arm64`).
    pub fn oci(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }

    /// OCI's platform variant, where it has one.
    pub fn oci_variant(self) -> Option<&'static str> {
        match self {
            Arch::X86_64 => None,
            Arch::Aarch64 => Some("v8"),
        }
    }

    /// The processor this program runs on.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// A name ELF-reading messages use: `x86-64`, `AArch64`, `ARM`, ...,
    /// else the machine number.
    pub fn describe_machine(machine: u16) -> String {
        // Others met in real release configurations (an ERTS for ARM or
        // PowerPC boards), named so that a refusal says what it found.
        match machine {
            62 => "x86-64".into(),
            183 => "AArch64".into(),
            3 => "x86".into(),
            40 => "ARM".into(),
            20 => "PowerPC".into(),
            21 => "PowerPC64".into(),
            243 => "RISC-V".into(),
            _ => format!("ELF machine {machine}"),
        }
    }
}

impl Target {
    /// The machine this program runs on, with GNU libc (or musl when it
    /// was built for musl).
    pub fn host() -> Option<Target> {
        let libc = if cfg!(target_env = "musl") {
            Libc::Musl
        } else {
            Libc::Gnu
        };
        Arch::host().map(|arch| Target { arch, libc })
    }

    /// `linux/arm64` (with no variant: what `--platform` takes).
    pub fn platform(self) -> String {
        format!("linux/{}", self.arch.oci())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let libc = match self.libc {
            Libc::Gnu => "gnu",
            Libc::Musl => "musl",
        };
        write!(f, "{}-linux-{libc}", self.arch.gnu())
    }
}

impl FromStr for Target {
    type Err = Error;

    fn from_str(text: &str) -> Result<Target> {
        let arch = |name: &str| match name {
            "x86_64" | "amd64" => Some(Arch::X86_64),
            "aarch64" | "arm64" | "arm64/v8" => Some(Arch::Aarch64),
            _ => None,
        };
        let (name, libc) = if let Some(platform) = text.strip_prefix("linux/") {
            (platform, Libc::Gnu)
        } else if let Some(a) = text.strip_suffix("-linux-gnu") {
            (a, Libc::Gnu)
        } else if let Some(a) = text.strip_suffix("-linux-musl") {
            (a, Libc::Musl)
        } else {
            (text, Libc::Gnu)
        };
        arch(name).map(|arch| Target { arch, libc }).ok_or_else(|| {
            Error::Option(format!(
                "`{text}`: not a target relpack knows; use one of {TARGET_NAMES}"
            ))
        })
    }
}

/// `--target-root [PLATFORM=]DIR`: a target machine's root, for one
/// platform of a multi-platform image or for whichever target is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRoot {
    /// The platform it is for, when named.
    pub platform: Option<Target>,
    /// The root directory.
    pub dir: PathBuf,
}

impl FromStr for TargetRoot {
    type Err = Error;

    fn from_str(text: &str) -> Result<TargetRoot> {
        let named = text
            .split_once('=')
            .and_then(|(platform, dir)| Some((platform.parse::<Target>().ok()?, dir)));
        Ok(match named {
            Some((platform, dir)) => TargetRoot {
                platform: Some(platform),
                dir: PathBuf::from(dir),
            },
            None => TargetRoot {
                platform: None,
                dir: PathBuf::from(text),
            },
        })
    }
}

/// Parses a comma-separated list of targets (`linux/amd64,linux/arm64`).
pub fn parse_targets(list: &str) -> Result<Vec<Target>> {
    list.split(',').map(|t| t.trim().parse()).collect()
}

/// Gives each of `targets` its root among `roots`: the one named for its
/// platform, else the one unnamed root (for a target other than this
/// machine), else none (this machine's own files).
pub fn pair_roots(
    targets: &[Target],
    roots: &[TargetRoot],
) -> Result<Vec<(Target, Option<PathBuf>)>> {
    for root in roots {
        if let Some(p) = root.platform {
            if !targets.iter().any(|t| t.arch == p.arch) {
                return Err(Error::Option(format!(
                    "--target-root {}={}: {} is not among the targets",
                    p.platform(),
                    root.dir.display(),
                    p.platform()
                )));
            }
        }
    }
    let unnamed: Vec<&TargetRoot> = roots.iter().filter(|r| r.platform.is_none()).collect();
    let foreign = targets
        .iter()
        .filter(|t| Some(**t) != Target::host())
        .count();
    if unnamed.len() > 1 || (unnamed.len() == 1 && foreign > 1) {
        return Err(Error::Option(
            "several targets: name each --target-root's platform (--target-root linux/arm64=DIR)"
                .into(),
        ));
    }
    targets
        .iter()
        .map(|t| {
            let named = roots
                .iter()
                .find(|r| r.platform.is_some_and(|p| p.arch == t.arch));
            let root = match (named, unnamed.first()) {
                (Some(r), _) => Some(r.dir.clone()),
                (None, Some(r)) if Some(*t) != Target::host() || targets.len() == 1 => {
                    Some(r.dir.clone())
                }
                _ => None,
            };
            Ok((*t, root))
        })
        .collect()
}

/// A file of the release replaced by one built for the target
/// (`--target-file APP/priv/PATH=FILE`): machine code lives in `priv/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFile {
    /// `APP/priv/PATH`.
    pub inside: PathBuf,
    /// The replacement.
    pub file: PathBuf,
}

impl FromStr for TargetFile {
    type Err = Error;

    fn from_str(text: &str) -> Result<TargetFile> {
        let bad = || {
            Error::Option(format!(
                "--target-file `{text}`: expected APP/priv/PATH=FILE, e.g. jiffy/priv/jiffy.so=/path/to/arm64/jiffy.so"
            ))
        };
        let (inside, file) = text.split_once('=').ok_or_else(bad)?;
        let inside = Path::new(inside);
        let plain = inside
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        let in_priv = inside
            .components()
            .nth(1)
            .is_some_and(|c| c.as_os_str() == "priv");
        if !plain || !in_priv || inside.components().count() < 3 || file.is_empty() {
            return Err(bad());
        }
        Ok(TargetFile {
            inside: inside.to_owned(),
            file: PathBuf::from(file),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_go_to_their_platforms() {
        let arm: Target = "arm64".parse().unwrap();
        let amd: Target = "amd64".parse().unwrap();
        let root = |t: &str| t.parse::<TargetRoot>().unwrap();
        assert_eq!(root("/r").platform, None);
        assert_eq!(root("linux/arm64=/r").platform, Some(arm));
        assert_eq!(root("/a=b").dir, PathBuf::from("/a=b"));
        let pairs =
            pair_roots(&[amd, arm], &[root("linux/arm64=/arm"), root("amd64=/amd")]).unwrap();
        assert_eq!(
            pairs,
            [(amd, Some("/amd".into())), (arm, Some("/arm".into()))]
        );
        assert_eq!(
            pair_roots(&[arm], &[root("/arm")]).unwrap(),
            [(arm, Some("/arm".into()))]
        );
        assert!(pair_roots(&[arm], &[root("linux/amd64=/x")]).is_err());
        assert!(pair_roots(&[arm, amd], &[root("/a"), root("/b")]).is_err());
        assert_eq!(
            parse_targets("linux/amd64, linux/arm64").unwrap(),
            [amd, arm]
        );
    }

    #[test]
    fn target_files_are_read() {
        assert_eq!(
            "jiffy/priv/jiffy.so=/x/jiffy.so"
                .parse::<TargetFile>()
                .unwrap(),
            TargetFile {
                inside: "jiffy/priv/jiffy.so".into(),
                file: "/x/jiffy.so".into()
            }
        );
        for bad in [
            "jiffy.so=/x",
            "jiffy/priv/jiffy.so",
            "../a/b=/x",
            "/a/priv/b=/x",
            "a/priv/b=",
            "a/ebin/b=/x",
            "a/priv=/x",
        ] {
            assert!(bad.parse::<TargetFile>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_spelling_names_one_target() {
        let arm = Target {
            arch: Arch::Aarch64,
            libc: Libc::Gnu,
        };
        for name in [
            "aarch64-linux-gnu",
            "arm64",
            "linux/arm64",
            "linux/arm64/v8",
        ] {
            assert_eq!(name.parse::<Target>().unwrap(), arm, "{name}");
        }
        assert_eq!(arm.to_string(), "aarch64-linux-gnu");
        assert_eq!(arm.platform(), "linux/arm64");
        let musl: Target = "x86_64-linux-musl".parse().unwrap();
        assert_eq!(musl.arch, Arch::X86_64);
        assert_eq!(musl.libc, Libc::Musl);
        let err = "riscv64-linux-gnu"
            .parse::<Target>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("aarch64-linux-gnu"), "{err}");
    }
}
