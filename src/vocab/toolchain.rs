//! What changes with the Elixir and OTP a release bundles: relpack owes a
//! release what `mix release` of *that* Elixir and `systools` of *that*
//! OTP would give, so every version-dependent choice is asked of a
//! [`Toolchain`] made from the release's own `elixir` application and
//! ERTS, never from the machine relpack runs on. One rule per method;
//! each says which version changed it.

use std::fmt;

/// A version as `major.minor.patch` (missing parts are 0; anything after
/// the numbers, such as `-rc.1`, is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// The major version.
    pub major: u32,
    /// The minor version.
    pub minor: u32,
    /// The patch version.
    pub patch: u32,
}

impl Version {
    /// Reads `1.18.3`, `1.15`, `1.20.0-rc.1`; `None` when it does not start
    /// with a number.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split(['.', '-', '+']).map(|p| p.parse::<u32>());
        let major = parts.next()?.ok()?;
        let minor = parts.next().and_then(|p| p.ok()).unwrap_or(0);
        let patch = parts.next().and_then(|p| p.ok()).unwrap_or(0);
        Some(Version {
            major,
            minor,
            patch,
        })
    }

    const fn of(major: u32, minor: u32) -> Version {
        Version {
            major,
            minor,
            patch: 0,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The Elixir (if the release has one) and the OTP release a release runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toolchain {
    /// The bundled `elixir` application's version; `None` for a release
    /// without Elixir.
    pub elixir: Option<Version>,
    /// The OTP major release of the ERTS it boots (25, 27, ...).
    pub otp_release: u32,
}

impl Toolchain {
    /// From the `elixir` application's version text (if any) and the OTP
    /// major release.
    pub fn new(elixir_vsn: Option<&str>, otp_release: u32) -> Toolchain {
        Toolchain {
            elixir: elixir_vsn.and_then(Version::parse),
            otp_release,
        }
    }

    /// From a release's applications as `(name, vsn)`: the `elixir`
    /// application's version, if any, and the OTP major release.
    pub fn of_apps<'a>(
        apps: impl IntoIterator<Item = (&'a str, &'a str)>,
        otp_release: u32,
    ) -> Toolchain {
        let elixir = apps.into_iter().find(|(name, _)| *name == "elixir");
        Toolchain::new(elixir.map(|(_, vsn)| vsn), otp_release)
    }

    /// Whether applications ship their `include/` beside `priv/`: Elixir
    /// 1.16's `mix release` copies both (Erlang headers that code loaded
    /// at run time, or a remote shell's `rr/1`, may read).
    pub fn copies_include(&self) -> bool {
        self.elixir_at_least(1, 16)
    }

    fn elixir_at_least(&self, major: u32, minor: u32) -> bool {
        self.elixir.is_some_and(|v| v >= Version::of(major, minor))
    }

    /// The `-user` module that runs IEx. Elixir 1.15 moved IEx's start into
    /// the `elixir` module (`IEx.CLI.start/0` is gone: passing it crashes
    /// the node in `user_sup`); `None` for a release without Elixir.
    pub fn iex_user(&self) -> Option<&'static str> {
        match self.elixir {
            None => None,
            Some(_) if self.elixir_at_least(1, 15) => Some("elixir"),
            Some(_) => Some("Elixir.IEx.CLI"),
        }
    }

    /// Whether an IEx node also gets `-s elixir start_cli`: up to Elixir
    /// 1.14 relpack's launcher ran both; from 1.15, as the `elixir` script
    /// does in IEx mode, `-user elixir` starts the CLI itself.
    pub fn iex_starts_cli(&self) -> bool {
        self.elixir.is_some() && !self.elixir_at_least(1, 15)
    }

    /// The `elixir` application flag that carries the mode to reboot into
    /// after the config provider ran: Elixir 1.14's launcher wrote
    /// `-config_provider_reboot_mode` (a key Config.Provider never read);
    /// 1.15 fixed it.
    pub fn reboot_mode_flag(&self) -> &'static str {
        if self.elixir_at_least(1, 15) {
            "config_provider_reboot_mode"
        } else {
            "-config_provider_reboot_mode"
        }
    }
}

/// A BEAM chunk's four-letter name.
pub type Chunk = [u8; 4];

impl Toolchain {
    /// The BEAM chunks a stripped release keeps, in the order `mix release`
    /// writes them. Elixir up to 1.15 kept a fixed list; 1.16 keeps `Attr`
    /// and the running OTP's `beam_lib:significant_chunks()`, which OTP 25
    /// grew by `Type` and `Meta` and OTP 29 by `Recs` and `DbgB` (OTP 27's
    /// and 29's measured; 28 is taken as 27: no Debian suite ships it). A
    /// release without Elixir keeps Elixir 1.14's list, as relpack always
    /// did.
    pub fn kept_chunks(&self) -> Vec<Chunk> {
        if !self.elixir_at_least(1, 16) {
            return [
                b"Atom", b"AtU8", b"Attr", b"Code", b"StrT", b"ImpT", b"ExpT", b"FunT", b"LitT",
                b"Line",
            ]
            .map(|c| *c)
            .to_vec();
        }
        let mut keep = vec![*b"Attr", *b"Line"];
        if self.otp_release >= 25 {
            keep.push(*b"Type");
        }
        keep.extend(
            [
                b"Atom", b"AtU8", b"Code", b"StrT", b"ImpT", b"ExpT", b"FunT", b"LitT",
            ]
            .map(|c| *c),
        );
        if self.otp_release >= 25 {
            keep.push(*b"Meta");
        }
        if self.otp_release >= 29 {
            keep.extend([*b"Recs", *b"DbgB"]);
        }
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        let v = |s| Version::parse(s).unwrap();
        assert_eq!(v("1.18.3"), Version::of(1, 18).max(v("1.18.3")));
        assert!(v("1.20.0-rc.1") > v("1.19.5"));
        assert!(v("1.15") > v("1.14.9"));
        assert_eq!(v("27").to_string(), "27.0.0");
        assert_eq!(Version::parse("x1"), None);
    }

    #[test]
    fn iex_start_follows_the_bundled_elixir() {
        let old = Toolchain::new(Some("1.14.0"), 25);
        let new = Toolchain::new(Some("1.15.0"), 25);
        let erlang = Toolchain::new(None, 29);
        assert_eq!(old.iex_user(), Some("Elixir.IEx.CLI"));
        assert!(old.iex_starts_cli());
        assert_eq!(new.iex_user(), Some("elixir"));
        assert!(!new.iex_starts_cli());
        assert_eq!(erlang.iex_user(), None);
        assert!(!erlang.iex_starts_cli());
        assert_eq!(old.reboot_mode_flag(), "-config_provider_reboot_mode");
        assert_eq!(new.reboot_mode_flag(), "config_provider_reboot_mode");
    }

    #[test]
    fn stripping_keeps_what_that_mix_and_otp_keep() {
        let names = |t: Toolchain| {
            t.kept_chunks()
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let old = "Atom AtU8 Attr Code StrT ImpT ExpT FunT LitT Line";
        assert_eq!(names(Toolchain::new(Some("1.14.0"), 25)), old);
        assert_eq!(names(Toolchain::new(Some("1.15.8"), 26)), old);
        assert_eq!(names(Toolchain::new(None, 29)), old);
        assert_eq!(
            names(Toolchain::new(Some("1.18.3"), 27)),
            "Attr Line Type Atom AtU8 Code StrT ImpT ExpT FunT LitT Meta"
        );
        assert_eq!(
            names(Toolchain::new(Some("1.20.4"), 29)),
            "Attr Line Type Atom AtU8 Code StrT ImpT ExpT FunT LitT Meta Recs DbgB"
        );
    }
}
