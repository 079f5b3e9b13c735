//! Whether a release bundles ERTS.

use std::path::{Path, PathBuf};

/// Whether and where from the release bundles ERTS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncludeErts {
    /// Bundle the ERTS (and OTP applications) of the OTP used to build.
    Yes,
    /// Rely on an Erlang installed on the target; OTP applications are not
    /// copied either (as `mix release` does).
    No,
    /// Bundle the ERTS at this path: an OTP root or an `erts-<vsn>`
    /// directory inside one (e.g. an OTP built for the target platform).
    From(PathBuf),
}

impl IncludeErts {
    /// The one reading of an `include_erts` value, whoever gives it (the
    /// command line, `rel/config.exs`, `mix.exs`, `relx`): `true`,
    /// `false`, or the path, relative to `dir`, of an OTP root or an
    /// `erts-<vsn>` directory.
    pub fn parse(text: &str, dir: &Path) -> IncludeErts {
        match text {
            "true" => IncludeErts::Yes,
            "false" => IncludeErts::No,
            path => IncludeErts::From(dir.join(path)),
        }
    }

    /// The OTP root a path names: an `erts-<vsn>` directory stands for the
    /// OTP root holding it. `None` unless ERTS comes from a path.
    pub fn otp_root(&self) -> Option<PathBuf> {
        let IncludeErts::From(path) = self else {
            return None;
        };
        let is_erts = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("erts-"));
        Some(match path.parent() {
            Some(parent) if is_erts => parent.to_owned(),
            _ => path.to_owned(),
        })
    }
}
