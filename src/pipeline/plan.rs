//! The release plan: every decision about a release, made before anything
//! is written ([`crate::pipeline::planner`] decides it);
//! [`crate::pipeline::assemble`] and [`crate::pipeline::archive`] only
//! carry it out. Its fields are the crate's: a caller reads it and cannot
//! change it into a state planning did not check.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::ReleaseSettings;
use crate::formats::beam::ChunkId;
use crate::formats::boot::{BootApp, KernelModules};
use crate::formats::term::Term;
use crate::pipeline::executable::PlannedExecutable;
use crate::pipeline::inputs::{AppSource, Origin, OtpInstall};
use crate::pipeline::steps::Steps;
use crate::pipeline::upgrade::UpgradePlan;
use crate::util::cancel::Cancel;
use crate::vocab::{Codec, Hook, StartType, Target, Toolchain};

/// One application of the plan.
#[derive(Debug, Clone)]
pub struct PlannedApp {
    /// The application as found on disk.
    pub(crate) source: AppSource,
    /// Its type in the `start` boot script.
    pub(crate) start_type: StartType,
    /// Its type in the `start_clean` boot script (used by `eval`).
    pub(crate) clean_start_type: StartType,
    /// Whether its files are copied into `lib/` (OTP's applications are not
    /// when the release relies on the target's Erlang).
    pub(crate) bundled: bool,
    /// The `priv` directory to ship, if it has one.
    pub(crate) priv_dir: Option<PathBuf>,
    /// The `include` directory to ship, if it has one and the bundled
    /// Elixir's `mix release` would copy it.
    pub(crate) include_dir: Option<PathBuf>,
    /// Its files (`priv/x.so`) replaced by a file built for the target
    /// (`--target-file`).
    pub(crate) replaced: std::collections::BTreeMap<PathBuf, PathBuf>,
}

impl PlannedApp {
    /// Its type in the `start` boot script.
    pub fn start_type(&self) -> StartType {
        self.start_type
    }

    /// The application name.
    pub fn name(&self) -> &str {
        &self.source.spec.name
    }

    /// The application version.
    pub fn vsn(&self) -> &str {
        &self.source.spec.vsn
    }

    /// `<name>-<vsn>`, its directory under `lib/`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.name(), self.vsn())
    }

    /// Its `ebin` as boot scripts name it.
    pub fn script_ebin(&self) -> String {
        let var = if self.source.origin == Origin::Otp {
            "$ROOT/lib"
        } else {
            "$RELEASE_LIB"
        };
        format!("{var}/{}/ebin", self.dir_name())
    }
}

/// Everything needed to write a release.
#[derive(Debug, Clone)]
pub struct ReleasePlan {
    /// The release name.
    pub(crate) name: String,
    /// The release version.
    pub(crate) version: String,
    /// The OTP the release runs on (whose ERTS is bundled, if any).
    pub(crate) otp: OtpInstall,
    /// Whether ERTS is bundled in the release.
    pub(crate) include_erts: bool,
    /// The machine it is for (every ELF file of it checked against it).
    pub(crate) target: Target,
    /// That machine's root file system, when it is not this one's: where
    /// an image's base and the libraries' packages come from.
    pub(crate) target_root: Option<PathBuf>,
    /// In `.rel` order.
    pub(crate) apps: Vec<PlannedApp>,
    /// Consolidated protocols to ship in `releases/<vsn>/consolidated`.
    pub(crate) consolidated: Option<PathBuf>,
    /// The preloaded and mandatory module lists for the boot scripts.
    pub(crate) kernel_modules: KernelModules,
    /// Where the release directory is written.
    pub(crate) output_dir: PathBuf,
    /// Where the tarball is written; `None`: no tarball.
    pub(crate) tarball: Option<PathBuf>,
    /// Things worth an operator's look that do not stop the build.
    pub(crate) warnings: Vec<String>,
    /// The `sys.config` term: the application config, any release
    /// `sys_config` over it, and the config provider's settings.
    pub(crate) sys_config: Term,
    /// `config/runtime.exs`, shipped as `releases/<vsn>/runtime.exs` and
    /// read at boot.
    pub(crate) runtime_config: Option<PathBuf>,
    /// Whether Elixir's config provider runs at boot (for runtime.exs or
    /// `config_providers`).
    pub(crate) config_provider: bool,
    /// Whether the config provider reboots the VM with the new config
    /// (`reboot_system_after_config`; `RUNTIME_CONFIG=true` in sys.config).
    pub(crate) config_reboot: bool,
    /// Link the project's applications into `lib/` instead of copying
    /// them (Distillery's `dev_mode`): a recompile is seen without a rebuild.
    pub(crate) dev_mode: bool,
    /// The rendered `vm.args`, when the project has its own.
    pub(crate) vm_args: Option<String>,
    /// The rendered `rel/env.sh.eex`, shipped as `releases/<vsn>/env.sh`.
    pub(crate) env_sh: Option<String>,
    /// Files to add to the release, applied last, in order.
    pub(crate) overlays: Vec<PlannedOverlay>,
    /// The release settings read from the project, if any (commands and
    /// hooks are there for the launcher).
    pub(crate) release_config: Option<ReleaseSettings>,
    /// Whether `bin/<name>` is written (mix's `include_executables_for`).
    pub(crate) launcher: bool,
    /// Custom launcher commands and hook directories, checked to exist.
    pub(crate) commands: Vec<(String, PathBuf)>,
    /// Hook directories whose files the launcher sources, each with its hook.
    pub(crate) hooks: Vec<(Hook, PathBuf)>,
    /// The chunks stripped BEAM files keep; `None` copies them as they are.
    pub(crate) strip: Option<Vec<ChunkId>>,
    /// How the tarball is compressed.
    pub(crate) codec: Codec,
    /// The node cookie written to `releases/COOKIE`.
    pub(crate) cookie: String,
    /// Whether the project or the caller gave the cookie; else relpack
    /// chose it, and an image carries none.
    pub(crate) cookie_given: bool,
    /// Where the project remembers the cookie.
    pub(crate) cookie_store: PathBuf,
    /// The archive's cache directory, if the cache is used.
    pub(crate) cache_dir: Option<PathBuf>,
    /// The one-file executable to write beside the tarball, if any.
    pub(crate) executable: Option<PlannedExecutable>,
    /// What a hot upgrade from the previous release needs
    /// ([`crate::pipeline::upgrade::plan`] sets it).
    pub(crate) upgrade: Option<UpgradePlan>,
    /// The modification time of tarball and image entries.
    pub(crate) mtime: u64,
    /// The running custom `steps:` of the release, if it has any: the
    /// ones before `:assemble` have run.
    pub(crate) steps: Option<Arc<Steps>>,
    /// The custom steps run while planning, in order.
    pub(crate) steps_ran: Vec<String>,
    /// How many threads write and compress.
    pub(crate) jobs: usize,
    /// Stops the build.
    pub(crate) cancel: Cancel,
}

/// The Elixir (the `elixir` application among `apps`) and the OTP of `otp`.
pub(crate) fn toolchain_of(apps: &[PlannedApp], otp: &OtpInstall) -> Toolchain {
    Toolchain::of_apps(apps.iter().map(|a| (a.name(), a.vsn())), otp.otp_release)
}

/// A change to the release tree, relative to its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedOverlay {
    /// Create a directory.
    Mkdir(PathBuf),
    /// Copy a file or a directory tree.
    Copy {
        /// The source file or directory in the project.
        from: PathBuf,
        /// The destination, relative to the release root (empty: the root itself).
        to: PathBuf,
    },
    /// Create a symbolic link.
    Link {
        /// What the link points at: the project's file, absolute.
        target: PathBuf,
        /// The link's path in the release.
        link: PathBuf,
    },
    /// Write a file with the given contents (a rendered template).
    Write {
        /// The file's contents.
        text: String,
        /// The file's path in the release.
        to: PathBuf,
    },
}

impl ReleasePlan {
    /// The file system of the machine the release is for: its target
    /// root, else this machine's `/` when the release is for this
    /// machine; `None` when that machine's files are not here.
    pub fn system_root(&self) -> Option<&Path> {
        match &self.target_root {
            Some(root) => Some(root),
            None => (Target::host() == Some(self.target)).then_some(Path::new("/")),
        }
    }

    /// [`Self::system_root`], or the error that says how to give it: what
    /// needs the target machine's libraries and packages.
    pub(crate) fn require_system_root(&self, what: &str) -> crate::error::Result<&Path> {
        self.system_root().ok_or_else(|| {
            crate::error::Error::Option(format!(
                "the release is for {}, and {what} come from that machine's files: give its root with --target-root DIR",
                self.target
            ))
        })
    }

    /// The machine the release is for.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The release name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The release version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The ERTS version the release boots with.
    pub fn erts_vsn(&self) -> &str {
        &self.otp.erts_vsn
    }

    /// The Elixir and OTP the release bundles, which decide what differs
    /// between their versions.
    pub fn toolchain(&self) -> Toolchain {
        toolchain_of(&self.apps, &self.otp)
    }

    /// The applications, in `.rel` order.
    pub fn apps(&self) -> &[PlannedApp] {
        &self.apps
    }

    /// Things worth an operator's look that do not stop the build.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Where the release directory is written.
    pub fn output_dir(&self) -> &Path {
        &self.output_dir
    }

    /// Where the tarball is written, if one is.
    pub fn tarball(&self) -> Option<&Path> {
        self.tarball.as_deref()
    }

    /// The custom steps (`steps:` functions) run while planning: those
    /// before `:assemble`.
    pub fn steps_ran(&self) -> &[String] {
        &self.steps_ran
    }

    /// Whether the project or the caller gave the cookie (an image then
    /// carries it); else relpack chose it for the tarball, and an image
    /// carries none.
    pub fn cookie_given(&self) -> bool {
        self.cookie_given
    }

    /// The hot upgrade planned with the release, if one was asked for.
    pub fn upgrade(&self) -> Option<&UpgradePlan> {
        self.upgrade.as_ref()
    }

    /// The applications with the given start types, for a boot script.
    pub fn boot_apps(&self, clean: bool) -> Vec<BootApp<'_>> {
        self.apps
            .iter()
            .map(|a| BootApp {
                spec: &a.source.spec,
                start_type: if clean {
                    a.clean_start_type
                } else {
                    a.start_type
                },
                ebin: a.script_ebin(),
            })
            .collect()
    }

    /// The upgrade package, relative to the release root, when the plan
    /// has an upgrade.
    pub fn upgrade_package(&self) -> Option<PathBuf> {
        self.upgrade.as_ref().map(|_| self.upgrade_package_path())
    }

    /// Where the upgrade package of this release goes.
    pub(crate) fn upgrade_package_path(&self) -> PathBuf {
        self.version_dir().join(format!("{}.tar.gz", self.name))
    }

    /// `releases/<vsn>` relative to the release root.
    pub fn version_dir(&self) -> PathBuf {
        Path::new("releases").join(&self.version)
    }
}
