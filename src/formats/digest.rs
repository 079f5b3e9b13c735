//! SHA-256 digests of release files: the `MANIFEST` lists them and the
//! archive's cache is keyed by them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result};

/// What the build knows of each release file it wrote, by path relative
/// to the release root, so later steps need not read or stat it again.
pub type Digests = BTreeMap<PathBuf, FileDigest>;

/// A release file's SHA-256, size and intended permission bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest {
    /// SHA-256 of the contents.
    pub sha256: [u8; 32],
    /// Length in bytes.
    pub size: u64,
    /// Permission bits the file was created with (before the umask).
    pub mode: u32,
}

impl FileDigest {
    /// The digest of `bytes` written with permission bits `mode`.
    pub fn of(bytes: &[u8], mode: u32) -> FileDigest {
        FileDigest {
            sha256: sha256(bytes),
            size: bytes.len() as u64,
            mode,
        }
    }
}

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The SHA-256 of the file at `path`, read in pieces.
pub fn sha256_file(path: &Path) -> Result<[u8; 32]> {
    let file = File::open(path).at(path, "cannot read")?;
    sha256_reader(file).at(path, "cannot read")
}

/// The SHA-256 of what `reader` yields, read in pieces.
pub fn sha256_reader(mut reader: impl Read) -> std::io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finalize().into());
        }
        hasher.update(&buf[..n]);
    }
}

/// Lowercase hexadecimal, as `sha256sum` prints digests.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(DIGITS[usize::from(b >> 4)] as char);
        text.push(DIGITS[usize::from(b & 15)] as char);
    }
    text
}

/// The inverse of [`hex`] for a digest.
pub fn unhex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_matches_sha256sum() {
        let d = sha256(b"abc");
        assert_eq!(
            hex(&d),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(unhex(&hex(&d)), Some(d));
        assert_eq!(unhex("zz"), None);
    }
}
