//! How a tarball is compressed, and how to tell and undo it.

use std::io::Read;
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

    /// The codec a stream starting with `head` is compressed with, by its
    /// magic bytes: gzip's, zstd's, else none.
    pub fn sniff(head: &[u8]) -> Codec {
        if head.starts_with(&[0x1f, 0x8b]) {
            Codec::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Codec::Zstd
        } else {
            Codec::None
        }
    }

    /// `reader`'s bytes, decompressed (a gzip stream of several members
    /// whole, as image layers may be).
    pub(crate) fn decoder<'a>(self, reader: impl Read + 'a) -> std::io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::new(reader)?),
            Codec::None => Box::new(reader),
        })
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
