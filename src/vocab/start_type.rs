//! How the application controller starts an application.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// How the application controller treats an application at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StartType {
    /// Neither loaded nor started; only its code is on the path.
    None,
    /// Loaded, not started.
    Load,
    /// Started; if it stops, the node keeps running.
    Temporary,
    /// Started; if it stops abnormally, the node stops too.
    Transient,
    /// Started; if it stops for any reason, the node stops too.
    Permanent,
}

impl StartType {
    /// The name used in `.rel` files and configuration, e.g. `permanent`.
    pub fn as_str(self) -> &'static str {
        match self {
            StartType::None => "none",
            StartType::Load => "load",
            StartType::Temporary => "temporary",
            StartType::Transient => "transient",
            StartType::Permanent => "permanent",
        }
    }

    /// Whether the application controller starts applications of this type.
    pub fn starts(self) -> bool {
        self >= StartType::Temporary
    }
}

impl fmt::Display for StartType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StartType {
    type Err = Error;
    fn from_str(s: &str) -> Result<StartType> {
        Ok(match s {
            "none" => StartType::None,
            "load" => StartType::Load,
            "temporary" => StartType::Temporary,
            "transient" => StartType::Transient,
            "permanent" => StartType::Permanent,
            other => {
                return Err(Error::Option(format!(
                "unknown start type `{other}` (use permanent, transient, temporary, load or none)"
            )))
            }
        })
    }
}
