//! The errors relpack reports. Each renders as one line that names the file
//! or application at fault and, where there is one, what to do about it.

use std::path::PathBuf;

/// Everything that can stop a build. New kinds may be added: match with a
/// catch-all arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation failed.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file or directory it was working on.
        path: PathBuf,
        /// What relpack was trying to do, e.g. "cannot read".
        action: &'static str,
        /// The underlying operating-system error.
        #[source]
        source: std::io::Error,
    },

    /// A file (`.app`, `.rel`, Erlang terms, an Elixir config or `mix.exs`) is not valid syntax.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file that failed to parse.
        path: PathBuf,
        /// The 1-based line of the problem.
        line: usize,
        /// What is wrong there.
        message: String,
    },

    /// Code in a configuration file beyond what relpack evaluates natively.
    #[error("{}:{line}: {construct}: not in the subset relpack evaluates natively (README, Configuration){hint}", path.display())]
    Unsupported {
        /// The configuration file.
        path: PathBuf,
        /// The 1-based line of the construct.
        line: usize,
        /// The construct relpack does not evaluate, as written in the file.
        construct: String,
        /// What else can be done, if anything.
        hint: &'static str,
    },

    /// An `.app` file parses but does not describe an application correctly.
    #[error("{}: {message}", path.display())]
    BadApp {
        /// The `.app` file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// The project has no `_build` directory: it has not been compiled.
    #[error("{}: no _build directory: compile the project first (`MIX_ENV={env} mix compile`)", path.display())]
    NoBuild {
        /// The project directory.
        path: PathBuf,
        /// The environment the build was asked for.
        env: String,
    },

    /// `_build` exists but holds no build for the requested environment.
    #[error("{}: not built for env `{env}` (found: {found}): run `MIX_ENV={env} mix compile` or pass --env", path.display())]
    EnvNotBuilt {
        /// The `_build` directory.
        path: PathBuf,
        /// The environment that was asked for.
        env: String,
        /// The environments that are built, comma-separated.
        found: String,
    },

    /// The project is not in a state relpack can release, e.g. no compiled applications or a config `import_config` cycle.
    #[error("{}: {message}", path.display())]
    Project {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// An application in the closure cannot be found in the project, OTP or Elixir.
    #[error("application `{app}` not found (needed by {needed_by}); looked in {looked}")]
    MissingApp {
        /// The missing application.
        app: String,
        /// The application (or the release itself) that depends on it.
        needed_by: String,
        /// Where relpack looked for it.
        looked: String,
    },

    /// Applications (or boot-script start phases) depend on each other in a loop; the text lists the cycle.
    #[error("dependency cycle between applications: {0}")]
    Cycle(String),

    /// The same module is listed by two applications.
    #[error("module `{module}` is in two applications: `{first}` and `{second}`; remove it from one of them")]
    DuplicateModule {
        /// The module name.
        module: String,
        /// One application that lists it.
        first: String,
        /// The other application that lists it.
        second: String,
    },

    /// Two applications declare the same process name in their `registered` lists.
    #[error("process name `{name}` is registered by two applications: `{first}` and `{second}`")]
    DuplicateRegistered {
        /// The registered process name.
        name: String,
        /// One application that registers it.
        first: String,
        /// The other application that registers it.
        second: String,
    },

    /// An application appears in the `included_applications` of two applications.
    #[error("application `{app}` is included by both `{first}` and `{second}`; an application can be included only once")]
    IncludedTwice {
        /// The included application.
        app: String,
        /// One application that includes it.
        first: String,
        /// The other application that includes it.
        second: String,
    },

    /// An application is both a started dependency of one application and included by another.
    #[error("application `{app}` is both a dependency of `{user}` and included by `{includer}`; list it in only one of applications/included_applications")]
    UsedAndIncluded {
        /// The application in question.
        app: String,
        /// The application that lists it under `applications`.
        user: String,
        /// The application that lists it under `included_applications`.
        includer: String,
    },

    /// A started application depends on one whose start type (load or none) means it will not be started.
    #[error("application `{app}` is `{mode}` but depends on `{dep}`, which is `{dep_mode}`: make `{dep}` start too, or set `{app}` to load/none as well")]
    UnsafeMode {
        /// The application that starts.
        app: String,
        /// Its start type.
        mode: String,
        /// The dependency that will not be started.
        dep: String,
        /// The dependency's start type.
        dep_mode: String,
    },

    /// A custom command or hook directory the launcher cannot use.
    #[error("{}: {message}", path.display())]
    Launcher {
        /// The command file or hook directory.
        path: PathBuf,
        /// Why it cannot be used.
        message: String,
    },

    /// A `.beam` file to strip is not a valid BEAM file.
    #[error("{}: not a valid BEAM file ({message}): recompile it, or pass --no-strip-beams to copy it as it is", path.display())]
    BadBeam {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// A hot upgrade cannot be built: no previous release, a bad appup, ...
    #[error("{}: {message}", path.display())]
    Upgrade {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong, and what to do.
        message: String,
    },

    /// A container image cannot be made as asked: a `--base` that is not an
    /// image archive or lacks what the release needs.
    #[error("{}: {message}", path.display())]
    Image {
        /// The base image archive.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// A custom step of the release's `steps:` failed, or changed what
    /// relpack cannot apply.
    #[error("{}", step_error(path, *line, step, message))]
    Step {
        /// The file the step is in, or declared in (`mix.exs`).
        path: PathBuf,
        /// The 1-based line there; 0 when unknown.
        line: usize,
        /// The step as the project wrote it (`&write_version/1`); empty
        /// when no step is at fault.
        step: String,
        /// What happened, and what to do.
        message: String,
    },

    /// A push to a registry failed: it cannot be reached, refused the
    /// credentials or the certificate, or answered an error.
    #[error("{registry}: {message}")]
    Registry {
        /// The registry, `host[:port]`.
        registry: String,
        /// What failed, and what to do.
        message: String,
    },

    /// A file of the release would not run on the machine it is for: a
    /// NIF, port program or ERTS built for another processor or C
    /// library, or a module compiled by a newer OTP than the target's.
    #[error("{}: {message}", path.display())]
    Target {
        /// The file at fault, where the user has it.
        path: PathBuf,
        /// What it was built for, and how to supply the right one.
        message: String,
    },

    /// Erlang/OTP or its ERTS cannot be found or is not usable; the text says why.
    #[error("Erlang/OTP not found: {0}")]
    Otp(String),

    /// Elixir's applications cannot be found; the text says why.
    #[error("Elixir not found: {0}")]
    Elixir(String),

    /// An option the caller gave is invalid or contradicts another.
    #[error("invalid option: {0}")]
    Option(String),

    /// The applications asked for cannot make a bootable release (no
    /// kernel, runtime configuration without stdlib started).
    #[error("cannot boot: {0}")]
    Boot(String),

    /// Something relpack needs from the machine is unavailable: OS
    /// randomness, the Elixir grammar, one of its own templates.
    #[error("{0}")]
    System(String),

    /// Something relpack would only warn about, under `--strict`: what
    /// the tool would have done and relpack does not.
    #[error("{0} (an error with --strict)")]
    Strict(String),

    /// The build was cancelled ([`crate::Cancel`]); carries the code it was
    /// given (the signal number, for the command line).
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

/// `mix.exs:12: step &write_version/1: raised: ...`, without the line or
/// the step when unknown.
fn step_error(path: &std::path::Path, line: usize, step: &str, message: &str) -> String {
    let line = if line > 0 {
        format!(":{line}")
    } else {
        String::new()
    };
    let step = if step.is_empty() {
        String::new()
    } else {
        format!(" step {step}:")
    };
    format!("{}{line}:{step} {message}", path.display())
}
