//! The errors relpack reports. Each renders as one line that names the file
//! or application at fault and, where there is one, what to do about it.

use std::path::PathBuf;

/// Everything that can stop a build.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// Code in a configuration file beyond what relpack evaluates natively.
    #[error("{}:{line}: {construct}: not in the subset relpack evaluates natively (README, Configuration){hint}", path.display())]
    Unsupported {
        path: PathBuf,
        line: usize,
        construct: String,
        /// What else can be done, if anything.
        hint: &'static str,
    },

    #[error("{}: {message}", path.display())]
    BadApp { path: PathBuf, message: String },

    #[error("{}: no _build directory: compile the project first (`MIX_ENV={env} mix compile`)", path.display())]
    NoBuild { path: PathBuf, env: String },

    #[error("{}: not built for env `{env}` (found: {found}): run `MIX_ENV={env} mix compile` or pass --env", path.display())]
    EnvNotBuilt {
        path: PathBuf,
        env: String,
        found: String,
    },

    #[error("{}: {message}", path.display())]
    Project { path: PathBuf, message: String },

    #[error("application `{app}` not found (needed by {needed_by}); looked in {looked}")]
    MissingApp {
        app: String,
        needed_by: String,
        looked: String,
    },

    #[error("dependency cycle between applications: {0}")]
    Cycle(String),

    #[error("module `{module}` is in two applications: `{first}` and `{second}`; remove it from one of them")]
    DuplicateModule {
        module: String,
        first: String,
        second: String,
    },

    #[error("process name `{name}` is registered by two applications: `{first}` and `{second}`")]
    DuplicateRegistered {
        name: String,
        first: String,
        second: String,
    },

    #[error("application `{app}` is included by both `{first}` and `{second}`; an application can be included only once")]
    IncludedTwice {
        app: String,
        first: String,
        second: String,
    },

    #[error("application `{app}` is both a dependency of `{user}` and included by `{includer}`; list it in only one of applications/included_applications")]
    UsedAndIncluded {
        app: String,
        user: String,
        includer: String,
    },

    #[error("application `{app}` is `{mode}` but depends on `{dep}`, which is `{dep_mode}`: make `{dep}` start too, or set `{app}` to load/none as well")]
    UnsafeMode {
        app: String,
        mode: String,
        dep: String,
        dep_mode: String,
    },

    /// A custom command or hook directory the launcher cannot use.
    #[error("{}: {message}", path.display())]
    Launcher { path: PathBuf, message: String },

    #[error("{}: not a valid BEAM file ({message}): recompile it, or pass --no-strip-beams to copy it as it is", path.display())]
    BadBeam { path: PathBuf, message: String },

    #[error("Erlang/OTP not found: {0}")]
    Otp(String),

    #[error("Elixir not found: {0}")]
    Elixir(String),

    #[error("invalid option: {0}")]
    Option(String),

    #[error("interrupted by signal {0}: no output written, the previous output is intact")]
    Interrupted(i32),
}

/// What the library's functions return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a path and the action that failed to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>, action: &'static str) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>, action: &'static str) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.into(),
            action,
            source,
        })
    }
}
