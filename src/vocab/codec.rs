//! How a tarball is compressed.

use std::str::FromStr;

use crate::error::{Error, Result};

/// How the tarball is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    /// `.tar.gz`, what OTP's `release_handler` and `mix release` use.
    #[default]
    Gzip,
    /// `.tar.zst`: faster and smaller, for images that unpack with `tar`.
    Zstd,
    /// A plain `.tar`.
    None,
}

impl Codec {
    /// The tarball's file-name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Codec::Gzip => "tar.gz",
            Codec::Zstd => "tar.zst",
            Codec::None => "tar",
        }
    }
}

impl FromStr for Codec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Codec> {
        match s {
            "gzip" => Ok(Codec::Gzip),
            "zstd" => Ok(Codec::Zstd),
            "none" => Ok(Codec::None),
            other => Err(Error::Option(format!(
                "unknown compression `{other}`: use gzip, zstd or none"
            ))),
        }
    }
}
