//! One-file executables (`relpack build --executable`): the release's
//! tarball behind a POSIX sh header (`templates/executable.sh`), written
//! as `_build/<env>/<name>-<vsn>.run`.
//!
//! The payload is the tarball, byte for byte, so the executable is as
//! reproducible as the tarball. The header carries the payload's offset,
//! size and SHA-256; on a first run it checks the digest, extracts with
//! the system's `tar` and `gzip` into a temporary directory of a per-user
//! cache keyed by the digest, and renames it into place; later runs only
//! `exec` the launcher. [`read_header`] and [`verify`] let `relpack check`
//! (and anyone else) read an executable back.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use minijinja::context;

use crate::error::{Error, IoContext, Result};
use crate::formats::digest;
use crate::util::fs::TempPath;
use crate::vocab::Codec;

/// The executable's file-name extension.
pub const EXTENSION: &str = "run";

/// The second line of every header: how an executable is recognized.
const SIGNATURE: &str = "a one-file executable made by relpack";

/// What the header runs when the executable gets no command.
const DEFAULT_COMMAND: &str = "foreground";

/// The executable a build writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedExecutable {
    /// Where it goes: `_build/<env>/<name>-<vsn>.run`.
    pub path: PathBuf,
    /// Whether a run removes its extraction afterwards unless told
    /// otherwise (Distillery's `transient: true`).
    pub transient: bool,
}

/// What an executable's header says about its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The release name.
    pub name: String,
    /// The release version.
    pub vsn: String,
    /// SHA-256 of the payload, lowercase hex.
    pub digest: String,
    /// Where the payload starts: the header's length in bytes.
    pub offset: u64,
    /// The payload's length in bytes.
    pub size: u64,
    /// How the payload tar is compressed.
    pub codec: Codec,
    /// Whether runs are transient by default.
    pub transient: bool,
}

fn codec_name(codec: Codec) -> &'static str {
    match codec {
        Codec::Gzip => "gzip",
        Codec::Zstd => "zstd",
        Codec::None => "none",
    }
}

/// `text` as one sh word in single quotes.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn sh_unquote(word: &str) -> Option<String> {
    let inner = word.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace(r"'\''", "'"))
}

/// The header for a payload of `size` bytes whose SHA-256 is `digest`
/// (hex). Its length is the payload's offset, written in the header
/// itself: rendered again until the two agree (the number's width settles
/// within two rounds).
pub fn header(
    name: &str,
    vsn: &str,
    digest: &str,
    size: u64,
    codec: Codec,
    transient: bool,
) -> Result<String> {
    let mut offset = 0;
    loop {
        let text = crate::launcher::templates::render_with(
            "executable.sh",
            context! {
                name, vsn, vsn_quoted => sh_quote(vsn), digest, offset, size,
                codec => codec_name(codec),
                transient => if transient { "true" } else { "false" },
                default_command => DEFAULT_COMMAND,
            },
        )?;
        if text.len() == offset {
            return Ok(text);
        }
        offset = text.len();
    }
}

/// An executable written under a temporary name beside its destination.
#[derive(Debug)]
pub struct Staged {
    tmp: TempPath,
    /// Where it goes.
    pub dest: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

impl Staged {
    /// Renames it into place: it appears whole or not at all.
    pub fn publish(self) -> Result<()> {
        self.tmp.publish(&self.dest)
    }
}

/// Writes the executable of the tarball at `tarball` (the finished,
/// possibly not yet published, tarball) under a temporary name, mode 0755.
pub fn stage(
    exe: &PlannedExecutable,
    name: &str,
    vsn: &str,
    tarball: &Path,
    codec: Codec,
) -> Result<Staged> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // Read twice (hashed, then copied) rather than held in memory.
    let digest = digest::hex(&digest::sha256_file(tarball)?);
    let mut payload = File::open(tarball).at(tarball, "cannot read the tarball")?;
    let size = payload
        .metadata()
        .at(tarball, "cannot read the tarball")?
        .len();
    let header = header(name, vsn, &digest, size, codec, exe.transient)?;
    let tmp = TempPath::beside(&exe.path)?;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(tmp.path())
        .at(&exe.path, "cannot create the executable")?;
    out.write_all(header.as_bytes())
        .and_then(|()| std::io::copy(&mut payload, &mut out))
        .and_then(|_| out.set_permissions(std::fs::Permissions::from_mode(0o755)))
        .at(&exe.path, "cannot write the executable")?;
    Ok(Staged {
        tmp,
        dest: exe.path.clone(),
        size: header.len() as u64 + size,
    })
}

/// The header of the executable at `path`, or `None` if the file is not
/// one (it does not start with relpack's header).
pub fn read_header(path: &Path) -> Result<Option<Header>> {
    let mut start = Vec::new();
    File::open(path)
        .and_then(|f| f.take(16 << 10).read_to_end(&mut start))
        .at(path, "cannot read")?;
    let text = String::from_utf8_lossy(&start);
    let mut lines = text.lines();
    if lines.next() != Some("#!/bin/sh") || !lines.next().is_some_and(|l| l.contains(SIGNATURE)) {
        return Ok(None);
    }
    let bad = |what: &str| Error::Project {
        path: path.to_owned(),
        message: format!("a relpack executable whose header is damaged ({what}): build it again"),
    };
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("relpack_{key}=")))
            .map(str::to_owned)
            .ok_or_else(|| bad(&format!("no relpack_{key}")))
    };
    let number = |key: &str| field(key)?.parse::<u64>().map_err(|_| bad(key));
    Ok(Some(Header {
        name: field("name")?,
        vsn: sh_unquote(&field("vsn")?).ok_or_else(|| bad("vsn"))?,
        digest: field("digest")?,
        offset: number("offset")?,
        size: number("size")?,
        codec: field("codec")?.parse().map_err(|_| bad("codec"))?,
        transient: field("transient")? == "true",
    }))
}

/// Checks that the executable at `path` is whole: its size and its
/// payload's SHA-256 are what its header says. The error is one line
/// saying what differs.
pub fn verify(path: &Path, header: &Header) -> Result<std::result::Result<(), String>> {
    let mut file = File::open(path).at(path, "cannot read")?;
    let actual = file.metadata().at(path, "cannot read")?.len();
    let expected = header.offset + header.size;
    if actual != expected {
        return Ok(Err(format!(
            "truncated or corrupt executable: {actual} bytes, {expected} as built"
        )));
    }
    file.seek(SeekFrom::Start(header.offset))
        .at(path, "cannot read")?;
    let sum = digest::sha256_reader(file.take(header.size)).at(path, "cannot read")?;
    let sum = digest::hex(&sum);
    Ok(match sum == header.digest {
        true => Ok(()),
        false => Err(format!(
            "corrupt executable: the payload's SHA-256 is {sum}, not {} as built",
            header.digest
        )),
    })
}

/// The payload of the executable at `path`, decompressed: a tar stream.
pub fn payload(path: &Path, header: &Header) -> Result<Box<dyn Read>> {
    let mut file = File::open(path).at(path, "cannot read")?;
    file.seek(SeekFrom::Start(header.offset))
        .at(path, "cannot read")?;
    let raw = file.take(header.size);
    header.codec.decoder(raw).at(path, "cannot read")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_offset_is_its_own_length_and_reads_back() {
        let payload = b"not really a tarball".repeat(100);
        let digest = digest::hex(&digest::sha256(&payload));
        let size = payload.len() as u64;
        let text = header("my_app", "1.0.0-rc'1", &digest, size, Codec::Zstd, true).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my_app.run");
        std::fs::write(&path, [text.as_bytes(), &payload].concat()).unwrap();
        let h = read_header(&path).unwrap().unwrap();
        assert_eq!(h.offset, text.len() as u64);
        assert_eq!(h.size, payload.len() as u64);
        assert_eq!(h.vsn, "1.0.0-rc'1");
        assert_eq!((h.codec, h.transient), (Codec::Zstd, true));
        assert_eq!(h.digest, digest);
        assert_eq!(verify(&path, &h).unwrap(), Ok(()));

        let mut damaged = std::fs::read(&path).unwrap();
        *damaged.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &damaged).unwrap();
        assert!(verify(&path, &h).unwrap().unwrap_err().contains("SHA-256"));
        std::fs::write(&path, &damaged[..damaged.len() - 1]).unwrap();
        assert!(verify(&path, &h)
            .unwrap()
            .unwrap_err()
            .contains("truncated"));
    }

    #[test]
    fn a_damaged_header_is_an_error_naming_the_file() {
        let text = header("my_app", "1.0.0", &"0".repeat(64), 10, Codec::Gzip, false).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my_app.run");
        std::fs::write(&path, text.replace("relpack_offset=", "relpack_offset=x")).unwrap();
        let e = read_header(&path).unwrap_err().to_string();
        assert!(
            e.contains("my_app.run") && e.contains("damaged (offset)"),
            "{e}"
        );
    }

    #[test]
    fn other_files_are_not_executables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tar.gz");
        std::fs::write(&path, b"\x1f\x8b\x08\0").unwrap();
        assert_eq!(read_header(&path).unwrap(), None);
    }
}
