//! What the caller asks for, and the one place where the caller's choice,
//! the project's release configuration and the defaults are weighed: a
//! setting both can give is an `Option` here, and [`BuildOptions::settle`]
//! takes the caller's, else the configuration's, else the default.

use std::path::PathBuf;

use crate::config::ReleaseSettings;
use crate::pipeline::upgrade::UpgradeOptions;
use crate::util::cancel::Cancel;
use crate::util::parallel::default_jobs;
use crate::vocab::{Codec, Hook, IncludeErts, StartType, Target, TargetFile};

/// What the caller asks for.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The Mix project directory.
    pub project_dir: PathBuf,
    /// The Mix environment whose `_build/<env>` is packaged.
    pub env: String,
    /// Release name; defaults to the project application's name.
    pub name: Option<String>,
    /// Release version; defaults to the project application's `vsn`.
    pub version: Option<String>,
    /// Applications the release names, with start types, added to the
    /// defaults (for an umbrella: which children to ship).
    pub apps: Vec<(String, StartType)>,
    /// Release directory; `None`: the configuration's, else
    /// `_build/<env>/rel/<name>`.
    pub output_dir: Option<PathBuf>,
    /// Whether to bundle ERTS, and from where; `None`: as the project's
    /// release configuration says, else [`IncludeErts::Yes`].
    pub include_erts: Option<IncludeErts>,
    /// Whether to write `_build/<env>/<name>-<vsn>.tar.gz`; `None`: as
    /// the configuration says (`steps:`), else yes.
    pub tar: Option<bool>,
    /// The OTP installation to build against; defaults to the `erl` on PATH.
    pub otp_root: Option<PathBuf>,
    /// The machine the release is for; `None`: the one its ERTS was built
    /// for (the build machine's without ERTS).
    pub target: Option<Target>,
    /// The target machine's root file system (an unpacked Debian root or
    /// image): its OTP (`usr/lib/erlang`, `usr/local/lib/erlang`) is the
    /// release's, and an image's base comes from it. Found from
    /// `--include-erts <root>/usr/lib/erlang` when not given.
    pub target_root: Option<PathBuf>,
    /// Files of the release's applications replaced by a file built for
    /// the target.
    pub target_files: Vec<TargetFile>,
    /// The Elixir installation; defaults to the `elixir` on PATH.
    pub elixir_root: Option<PathBuf>,
    /// Whether configuration code beyond relpack's native subset may be
    /// evaluated with the `elixir` on PATH (else it is an error).
    pub use_elixir: bool,
    /// Custom launcher commands: `bin/<name> NAME args...` runs the script.
    pub commands: Vec<(String, PathBuf)>,
    /// Hook directories whose files the launcher sources around start/stop.
    pub hooks: Vec<(Hook, PathBuf)>,
    /// Strip BEAM files to the chunks the runtime needs; `None`: as the
    /// configuration says (`strip_beams:`, Distillery's
    /// `strip_debug_info:`, relx's `debug_info`), else each tool's
    /// default: mix release strips, relx keeps debug info.
    pub strip_beams: Option<bool>,
    /// Chunks to keep in stripped BEAM files besides those the bundled Elixir and OTP keep ([`crate::vocab::Toolchain::kept_chunks`])
    /// (e.g. `Dbgi`, `Docs`).
    pub keep_chunks: Vec<String>,
    /// How the tarball is compressed.
    pub compress: Codec,
    /// The release cookie; by default the configured one, else the one
    /// already in use, else a random one remembered in
    /// `_build/<env>/relpack/COOKIE`.
    pub cookie: Option<String>,
    /// Reuse the compressed pieces of the previous tarball, indexed in
    /// `_build/<env>/relpack-cache`.
    pub cache: bool,
    /// Also write the one-file executable `_build/<env>/<name>-<vsn>.run`;
    /// `None`: as the configuration says, else no.
    pub executable: Option<bool>,
    /// Make the executable's runs transient by default (each removes its
    /// extraction afterwards); `None`: as the configuration says, else no.
    pub transient: Option<bool>,
    /// Fail on what relpack would only warn about: configuration it reads
    /// but cannot act on as mix or Distillery would (a plugin, say).
    pub strict: bool,
    /// Also plan a hot upgrade from the previous release (appups, relup
    /// and the upgrade package), from where these options say.
    pub upgrade: Option<UpgradeOptions>,
    /// The modification time of every tarball and image entry, in seconds
    /// since the epoch; `None`: `$SOURCE_DATE_EPOCH`, else 0.
    pub mtime: Option<u64>,
    /// How many threads write and compress; `None`: one per core.
    pub jobs: Option<usize>,
    /// Stops the build from another thread (see [`Cancel`]).
    pub cancel: Cancel,
}

impl BuildOptions {
    /// Defaults for the project at `dir`: env `prod`, ERTS bundled, a tarball.
    pub fn new(dir: impl Into<PathBuf>) -> BuildOptions {
        BuildOptions {
            project_dir: dir.into(),
            env: "prod".into(),
            name: None,
            version: None,
            apps: Vec::new(),
            output_dir: None,
            include_erts: None,
            tar: None,
            otp_root: None,
            target: None,
            target_root: None,
            target_files: Vec::new(),
            elixir_root: None,
            use_elixir: true,
            commands: Vec::new(),
            hooks: Vec::new(),
            strip_beams: None,
            keep_chunks: Vec::new(),
            compress: Codec::Gzip,
            cookie: None,
            cache: true,
            executable: None,
            transient: None,
            strict: false,
            upgrade: None,
            mtime: None,
            jobs: None,
            cancel: Cancel::new(),
        }
    }
}

/// The settings the caller and the release configuration both give,
/// decided.
#[derive(Debug, Clone)]
pub(crate) struct Settled {
    pub(crate) include_erts: IncludeErts,
    /// The caller's or the configuration's; the default needs the name.
    pub(crate) output_dir: Option<PathBuf>,
    pub(crate) cookie: Option<String>,
    pub(crate) tar: bool,
    pub(crate) strip_beams: bool,
    pub(crate) executable: bool,
    pub(crate) transient: bool,
    pub(crate) mtime: u64,
    pub(crate) jobs: usize,
}

impl BuildOptions {
    /// The caller's choice, else the release configuration's, else the
    /// default, for every setting both can give (`mix` picks the strip
    /// default: mix release strips BEAMs, relx does not).
    pub(crate) fn settle(&self, release: Option<&ReleaseSettings>, mix: bool) -> Settled {
        let configured_exe = release.and_then(|r| r.executable);
        Settled {
            include_erts: self
                .include_erts
                .clone()
                .or_else(|| release.and_then(|r| r.include_erts.clone()))
                .unwrap_or(IncludeErts::Yes),
            output_dir: self
                .output_dir
                .clone()
                .or_else(|| release.and_then(|r| r.output_dir.clone())),
            cookie: self
                .cookie
                .clone()
                .or_else(|| release.and_then(|r| r.cookie.clone())),
            tar: self.tar.or(release.and_then(|r| r.tar)).unwrap_or(true),
            strip_beams: self
                .strip_beams
                .or(release.and_then(|r| r.strip_beams))
                .unwrap_or(mix),
            executable: self
                .executable
                .or(configured_exe.map(|e| e.enabled))
                .unwrap_or(false),
            transient: self
                .transient
                .or(configured_exe.map(|e| e.transient))
                .unwrap_or(false),
            mtime: self.mtime.unwrap_or_else(source_date_epoch),
            jobs: self.jobs.unwrap_or_else(default_jobs).max(1),
        }
    }
}

/// The modification time of tarball and image entries when the caller
/// gives none: `SOURCE_DATE_EPOCH`, else 0.
pub(crate) fn source_date_epoch() -> u64 {
    source_date_epoch_given().unwrap_or(0)
}

/// `SOURCE_DATE_EPOCH`, when set to a number of seconds.
pub(crate) fn source_date_epoch_given() -> Option<u64> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
}
