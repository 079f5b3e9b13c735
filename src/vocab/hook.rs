//! The points of a node's life where the launcher runs hooks.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// When the launcher sources a hook directory's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Before the node's configuration is prepared (`REPLACE_OS_VARS`, the
    /// runtime sys.config copy), for `foreground`, `console`, `start` and
    /// `eval`.
    PreConfigure,
    /// Once the configuration is prepared, before `pre_start`.
    PostConfigure,
    /// Before the VM starts (`foreground`, `console`, `start`); variables
    /// the hooks export reach the VM.
    PreStart,
    /// Once a started node answers.
    PostStart,
    /// Before `stop` asks the node to stop.
    PreStop,
    /// Once the stopped node's process is gone.
    PostStop,
    /// Before `upgrade`, `install` or `downgrade` changes the running node.
    PreUpgrade,
    /// Once such a change is done.
    PostUpgrade,
}

impl Hook {
    /// Every hook, in the order they run over a node's life.
    pub const ALL: [Hook; 8] = [
        Hook::PreConfigure,
        Hook::PostConfigure,
        Hook::PreStart,
        Hook::PostStart,
        Hook::PreStop,
        Hook::PostStop,
        Hook::PreUpgrade,
        Hook::PostUpgrade,
    ];

    /// The hook's name as in configuration and directory names, e.g. `pre_start`.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::PreConfigure => "pre_configure",
            Hook::PostConfigure => "post_configure",
            Hook::PreStart => "pre_start",
            Hook::PostStart => "post_start",
            Hook::PreStop => "pre_stop",
            Hook::PostStop => "post_stop",
            Hook::PreUpgrade => "pre_upgrade",
            Hook::PostUpgrade => "post_upgrade",
        }
    }

    /// Its directory in the release, relative to `releases/<vsn>`.
    pub fn release_dir(self) -> PathBuf {
        Path::new("hooks").join(format!("{}.d", self.as_str()))
    }
}

impl FromStr for Hook {
    type Err = Error;
    fn from_str(s: &str) -> Result<Hook> {
        Hook::ALL
            .into_iter()
            .find(|h| h.as_str() == s)
            .ok_or_else(|| {
                Error::Option(format!(
                    "unknown hook `{s}` (use pre_configure, post_configure, pre_start, post_start, pre_stop, post_stop, pre_upgrade or post_upgrade)"
                ))
            })
    }
}
