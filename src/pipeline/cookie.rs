//! The release's Erlang cookie. Nothing random should enter a rebuilt
//! release, so the cookie is chosen once and kept: given explicitly (on
//! the command line or in the release configuration), or
//! the one the previous release in the output directory has (as `mix
//! release` keeps it), or the one remembered in the project at
//! `_build/<env>/relpack/COOKIE`, or else a new random one, which is then
//! remembered there.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::util::fs::{write_with_mode, TempPath};
use crate::vocab::{is_valid_cookie, validate_cookie};

/// Where the project remembers its cookie.
pub fn store_path(build_dir: &Path) -> PathBuf {
    build_dir.join("relpack").join("COOKIE")
}

/// The cookie of a release to be written at `output_dir` for the project
/// whose store is `store`: `explicit`, else the one already in use, else
/// a new random one.
pub fn choose(explicit: Option<&str>, output_dir: &Path, store: &Path) -> Result<String> {
    if let Some(cookie) = explicit {
        validate_cookie(cookie)?;
        return Ok(cookie.to_owned());
    }
    match read(&output_dir.join("releases").join("COOKIE")).or_else(|| read(store)) {
        Some(cookie) => Ok(cookie),
        None => random(),
    }
}

/// Remembers `cookie` at `store`, unless it is already there.
pub fn remember(cookie: &str, store: &Path) -> Result<()> {
    if read(store).as_deref() == Some(cookie) {
        return Ok(());
    }
    let tmp = TempPath::beside(store)?;
    write_with_mode(tmp.path(), cookie.as_bytes(), 0o600)?;
    tmp.publish(store)
}

fn read(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    is_valid_cookie(&text).then_some(text)
}

/// 32 bytes from the OS RNG as base32 (56 characters, like `mix release`).
pub(crate) fn random() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::System(format!("no OS randomness for the cookie: {e}")))?;
    Ok(base32(&bytes))
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(ALPHABET[((n >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI======");
        assert_eq!(base32(&[0u8; 32]).len(), 56);
    }
}
