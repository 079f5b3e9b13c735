//! The release tarball: a tar of the release directory, with
//! `bin/ erts-*/ lib/ releases/` at its top, as OTP's `release_handler`
//! and `mix release` expect; gzip-compressed by default, or zstd, or none.
//!
//! The archive is deterministic: entries in sorted order, owner 0:0
//! (root/root), a fixed modification time (`SOURCE_DATE_EPOCH` when set,
//! else 0) and normalized modes (0755 for directories and executables, 0600 for files
//! only their owner may read, such as the cookie, 0644 otherwise).
//!
//! # Parallel, cached compression
//!
//! Each tar entry (or each 1 MiB block of a large file) is compressed on
//! its own, on every core, and the pieces are written in order as they
//! come: for gzip each piece is raw deflate ended by a sync flush (so the
//! pieces concatenate into one deflate stream, as pigz does; see
//! [`crate::deflate`]) and the gzip
//! trailer's CRC is combined from the pieces' CRCs; for zstd each piece is
//! a frame (a zstd stream may hold many). The pieces are a function of the
//! entry's bytes alone, so the output does not depend on scheduling, and
//! a piece can be reused: the compressed pieces of the last build are kept
//! in a cache (`<name>.pack` and `<name>.index` in the cache directory),
//! keyed by the SHA-256 of the entry's header and content, and a rebuild
//! compresses only the entries that changed.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::digest::{hex, sha256_file, unhex, Digests, FileDigest};
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{check_interrupted, TempPath};
use crate::parallel;

/// Large files are split into blocks of this size so that one big file
/// (`beam.smp`) does not keep a single core busy while the others idle.
const BLOCK: u64 = 1 << 20;

/// libdeflate's level. On the hello release's tar in 1 MiB pieces, one
/// core: level 1 gives 5.52 MB (more than `mix release`'s 5.45 MB), level
/// 2 5.26 MB in 107 ms, level 3 5.24 MB in 115 ms, level 6 5.09 MB in
/// 161 ms; zlib-rs's level 6 gives 5.31 MB in 219 ms.
const GZIP_LEVEL: i32 = 3;
/// zstd's own default level.
const ZSTD_LEVEL: i32 = 3;

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

    /// Names the codec and its level in cache keys and file names.
    fn tag(self) -> String {
        match self {
            // The compressor is named: another one's pieces differ.
            Codec::Gzip => format!("gzip-libdeflate-{GZIP_LEVEL}"),
            Codec::Zstd => format!("zstd-{ZSTD_LEVEL}"),
            Codec::None => "none".into(),
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

/// A tarball written under a temporary name, waiting to be published.
#[derive(Debug)]
pub struct Packed {
    tmp: TempPath,
    /// Size of the tarball in bytes.
    pub size: u64,
    /// Entries whose compressed form came from the cache.
    pub reused: usize,
    /// Entries in the tarball.
    pub entries: usize,
    cache: Option<CacheWriter>,
}

impl Packed {
    /// Renames the tarball to `dest`: it appears whole or not at all. The
    /// cache is replaced by this build's pieces.
    pub fn publish(self, dest: &Path) -> Result<()> {
        self.tmp.publish(dest)?;
        match self.cache {
            Some(cache) => cache.publish(),
            None => Ok(()),
        }
    }
}

/// A run of consecutive tar entries compressed and cached together: a
/// directory and the files directly in it. Files are small and alike
/// within a directory (an `ebin` of BEAMs), so compressing them together
/// keeps most of what one deflate stream over the whole tar would gain,
/// while a changed module only costs its own directory.
struct Group {
    /// The tar bytes, as header bytes, file contents and padding.
    parts: Vec<Part>,
    len: u64,
    entries: usize,
    /// SHA-256 of the codec, every header and every content digest.
    key: [u8; 32],
}

enum Part {
    Bytes(Vec<u8>),
    File(PathBuf, u64),
    Zeros(u64),
}

impl Part {
    fn len(&self) -> u64 {
        match self {
            Part::Bytes(b) => b.len() as u64,
            Part::File(_, len) | Part::Zeros(len) => *len,
        }
    }
}

impl Group {
    /// Appends bytes `[start, end)` of the group's tar bytes to `out`.
    fn read(&self, start: u64, end: u64, out: &mut Vec<u8>) -> Result<()> {
        let mut at = 0;
        for part in &self.parts {
            let (from, to) = (start.max(at), end.min(at + part.len()));
            if from < to {
                let (offset, n) = (from - at, (to - from) as usize);
                match part {
                    Part::Bytes(b) => out.extend_from_slice(&b[offset as usize..][..n]),
                    Part::Zeros(_) => out.resize(out.len() + n, 0),
                    Part::File(path, _) => {
                        let pos = out.len();
                        out.resize(pos + n, 0);
                        File::open(path)
                            .and_then(|f| f.read_exact_at(&mut out[pos..], offset))
                            .at(path, "cannot read (did it change during the build?)")?;
                    }
                }
            }
            at += part.len();
        }
        Ok(())
    }
}

/// A piece of work: a range of a group's tar bytes, or a whole cached
/// group.
struct Piece {
    group: usize,
    range: (u64, u64),
    /// Whether this piece ends its group.
    last: bool,
    /// Where the previous build's compressed group is, if it is cached.
    cached: Option<CachedEntry>,
}

/// A compressed piece and the CRC-32 of its uncompressed bytes.
#[derive(Default)]
struct Compressed {
    bytes: Vec<u8>,
    crc: crc32fast::Hasher,
    /// Whether it was read from the cache.
    reused: bool,
}

/// Packs the release at `release_root` into a temporary file beside
/// `dest`. `digests` gives each file's SHA-256 (files missing from it are
/// hashed here); `cache_dir`, if given, holds compressed pieces reused
/// between builds.
pub fn pack(
    release_root: &Path,
    digests: &Digests,
    dest: &Path,
    codec: Codec,
    cache_dir: Option<&Path>,
) -> Result<Packed> {
    let mtime = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let (groups, entries) = groups(release_root, digests, mtime, codec)?;
    let cache = match (cache_dir, codec) {
        (Some(dir), Codec::Gzip | Codec::Zstd) => Some(Cache::open(dir, &codec.tag())),
        _ => None,
    };
    let pieces = pieces(&groups, cache.as_ref());

    let tmp = TempPath::beside(dest)?;
    let file = File::create(tmp.path()).at(dest, "cannot create the tarball")?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut cache_writer = match (&cache, cache_dir) {
        (Some(cache), Some(dir)) => Some(CacheWriter::new(dir, &cache.name)?),
        _ => None,
    };
    if codec == Codec::Gzip {
        // Magic, deflate, no flags, no mtime, no extra flags, Unix.
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
            .at(dest, "cannot write the tarball")?;
    }
    let mut crc = crc32fast::Hasher::new();
    let mut reused = 0;
    let mut group_bytes = Vec::new();
    let mut group_crc = crc32fast::Hasher::new();
    parallel::map_ordered(
        &pieces,
        |piece| compress_piece(piece, &groups[piece.group], codec, cache.as_ref()),
        |i, piece_out| {
            check_interrupted()?;
            let piece = &pieces[i];
            if piece_out.reused {
                reused += groups[piece.group].entries;
            }
            out.write_all(&piece_out.bytes)
                .at(dest, "cannot write the tarball")?;
            crc.combine(&piece_out.crc);
            if let Some(writer) = &mut cache_writer {
                group_bytes.extend_from_slice(&piece_out.bytes);
                group_crc.combine(&piece_out.crc);
                if piece.last {
                    let group_crc = std::mem::take(&mut group_crc);
                    writer.add(&groups[piece.group].key, &group_bytes, group_crc)?;
                    group_bytes.clear();
                }
            }
            Ok(())
        },
    )?;
    // The end of the archive: two zero blocks, compressed like the rest.
    let trailer = compress_bytes(&[0; 1024], codec).at(dest, "cannot compress")?;
    out.write_all(&trailer.bytes)
        .at(dest, "cannot write the tarball")?;
    crc.combine(&trailer.crc);
    if codec == Codec::Gzip {
        // A final, empty fixed-Huffman block ends the deflate stream.
        let total = crc.total_len();
        let mut tail = vec![0x03, 0x00];
        tail.extend_from_slice(&crc.finalize().to_le_bytes());
        tail.extend_from_slice(&(total as u32).to_le_bytes());
        out.write_all(&tail).at(dest, "cannot write the tarball")?;
    }
    // No fsync: the output is reproducible, so a crash costs a rebuild,
    // and ext4 flushes a file renamed over another before the rename.
    let file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .at(dest, "cannot write the tarball")?;
    let size = file.metadata().at(dest, "cannot read")?.len();
    Ok(Packed {
        tmp,
        size,
        reused,
        entries,
        cache: cache_writer,
    })
}

/// The tar entries of the release in sorted order, grouped by directory;
/// also returns the number of entries.
fn groups(root: &Path, digests: &Digests, mtime: u64, codec: Codec) -> Result<(Vec<Group>, usize)> {
    let mut groups: Vec<Group> = Vec::new();
    let mut keys: Vec<Sha256> = Vec::new();
    let mut count = 0;
    // Looked up once per file: hashing a path beats comparing it with a
    // dozen others component by component.
    let known: HashMap<&Path, &FileDigest> =
        digests.iter().map(|(p, d)| (p.as_path(), d)).collect();
    for entry in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        check_interrupted()?;
        let entry = entry
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(root, "cannot read the release")?;
        let path = entry.path();
        let rel = path.strip_prefix(root).unwrap_or(path);
        // A link (dev_mode's lib dirs, an overlay's) counts as what it
        // points to, as before: a linked directory is an empty directory.
        let is_dir = entry.file_type().is_dir() || (entry.path_is_symlink() && path.is_dir());
        // What was staged is known; anything else (none in a release
        // relpack wrote) is stat'ed and hashed here.
        let file = match known.get(rel) {
            _ if is_dir => None,
            Some(known) => Some(**known),
            None => {
                let meta = fs::metadata(path).at(path, "cannot read")?;
                Some(FileDigest {
                    sha256: sha256_file(path)?,
                    size: meta.len(),
                    mode: meta.permissions().mode(),
                })
            }
        };
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header
            .set_username("root")
            .at(path, "cannot add to the tarball")?;
        header
            .set_groupname("root")
            .at(path, "cannot add to the tarball")?;
        match &file {
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
            }
            Some(file) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if file.mode & 0o111 != 0 {
                    0o755
                } else if file.mode & 0o044 == 0 {
                    0o600
                } else {
                    0o644
                });
                header.set_size(file.size);
            }
        }
        // The header alone. A path too long for it takes the tar crate's
        // builder, which adds a GNU long-name record first.
        let header = match header.set_path(rel) {
            Ok(()) => {
                header.set_cksum();
                header.as_bytes().to_vec()
            }
            Err(_) => {
                let mut builder = tar::Builder::new(Vec::new());
                builder
                    .append_data(&mut header, rel, std::io::empty())
                    .at(path, "cannot add to the tarball")?;
                std::mem::take(builder.get_mut())
            }
        };
        if is_dir || groups.is_empty() {
            groups.push(Group {
                parts: Vec::new(),
                len: 0,
                entries: 0,
                key: [0; 32],
            });
            keys.push(Sha256::new_with_prefix(codec.tag()));
        }
        let (group, key) = (groups.last_mut().unwrap(), keys.last_mut().unwrap());
        key.update(&header);
        group.parts.push(Part::Bytes(header));
        if let Some(file) = file {
            key.update(file.sha256);
            group.parts.push(Part::File(path.to_owned(), file.size));
            let pad = (512 - file.size % 512) % 512;
            if pad > 0 {
                group.parts.push(Part::Zeros(pad));
            }
        }
        group.entries += 1;
        count += 1;
    }
    for (group, key) in groups.iter_mut().zip(keys) {
        group.key = key.finalize().into();
        group.len = group.parts.iter().map(Part::len).sum();
    }
    Ok((groups, count))
}

/// Splits the groups into pieces of work, a cached group being one piece.
fn pieces(groups: &[Group], cache: Option<&Cache>) -> Vec<Piece> {
    let mut pieces = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        if let Some(cached) = cache.and_then(|c| c.get(&group.key)) {
            pieces.push(Piece {
                group: i,
                range: (0, group.len),
                last: true,
                cached: Some(cached),
            });
            continue;
        }
        let mut start = 0;
        loop {
            let end = (start + BLOCK).min(group.len);
            pieces.push(Piece {
                group: i,
                range: (start, end),
                last: end == group.len,
                cached: None,
            });
            if end == group.len {
                break;
            }
            start = end;
        }
    }
    pieces
}

fn compress_piece(
    piece: &Piece,
    group: &Group,
    codec: Codec,
    cache: Option<&Cache>,
) -> Result<Compressed> {
    if let (Some(cached), Some(cache)) = (&piece.cached, cache) {
        if let Some(compressed) = cache.read(cached) {
            return Ok(compressed);
        }
        // Damaged since the index was read: compress it as a fresh build
        // would, block by block.
        let mut all = Compressed::default();
        let mut start = 0;
        while start < group.len {
            let end = (start + BLOCK).min(group.len);
            let block = compress_range(group, start, end, codec)?;
            all.bytes.extend_from_slice(&block.bytes);
            all.crc.combine(&block.crc);
            start = end;
        }
        return Ok(all);
    }
    compress_range(group, piece.range.0, piece.range.1, codec)
}

/// Compresses bytes `[start, end)` of a group's tar bytes.
fn compress_range(group: &Group, start: u64, end: u64, codec: Codec) -> Result<Compressed> {
    let mut input = Vec::with_capacity((end - start) as usize);
    group.read(start, end, &mut input)?;
    compress_bytes(&input, codec).at(Path::new("tarball"), "cannot compress")
}

/// Compresses `input` as a piece that concatenates with others.
fn compress_bytes(input: &[u8], codec: Codec) -> std::io::Result<Compressed> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(input);
    let bytes = match codec {
        Codec::None => input.to_vec(),
        Codec::Zstd => zstd::bulk::compress(input, ZSTD_LEVEL)?,
        Codec::Gzip => crate::deflate::compress(input, GZIP_LEVEL)?,
    };
    Ok(Compressed {
        bytes,
        crc,
        reused: false,
    })
}

/// Where a cached entry's compressed bytes are in the previous pack.
#[derive(Debug, Clone, Copy)]
struct CachedEntry {
    offset: u64,
    len: u64,
    /// CRC-32 of the compressed bytes, checked when they are read back.
    check: u32,
    /// CRC-32 and length of the uncompressed bytes.
    crc: u32,
    amount: u64,
}

/// The previous build's compressed pieces: `<name>.pack` holds them one
/// after another, `<name>.index` has a line `key offset len check crc
/// amount` for each. Anything unreadable is treated as an empty cache.
struct Cache {
    name: String,
    pack: Option<File>,
    index: HashMap<[u8; 32], CachedEntry>,
}

impl Cache {
    fn open(dir: &Path, name: &str) -> Cache {
        let pack = File::open(dir.join(format!("{name}.pack"))).ok();
        let pack_len = pack
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        let index = fs::read_to_string(dir.join(format!("{name}.index")))
            .map(|text| parse_index(&text, pack_len))
            .unwrap_or_default();
        Cache {
            name: name.to_owned(),
            pack,
            index,
        }
    }

    fn get(&self, key: &[u8; 32]) -> Option<CachedEntry> {
        self.pack.as_ref()?;
        self.index.get(key).copied()
    }

    /// The cached bytes, if they are still what was written.
    fn read(&self, entry: &CachedEntry) -> Option<Compressed> {
        let mut bytes = vec![0; entry.len as usize];
        self.pack
            .as_ref()?
            .read_exact_at(&mut bytes, entry.offset)
            .ok()?;
        (crc32fast::hash(&bytes) == entry.check).then(|| Compressed {
            bytes,
            crc: crc32fast::Hasher::new_with_initial_len(entry.crc, entry.amount),
            reused: true,
        })
    }
}

/// Reads an index, dropping lines that do not parse or point outside a
/// pack of `pack_len` bytes.
fn parse_index(text: &str, pack_len: u64) -> HashMap<[u8; 32], CachedEntry> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            let key = unhex(f.next()?)?;
            let mut num = || f.next()?.parse::<u64>().ok();
            let (offset, len) = (num()?, num()?);
            let (check, crc) = (u32::try_from(num()?).ok()?, u32::try_from(num()?).ok()?);
            let amount = num()?;
            let fits = offset.checked_add(len).is_some_and(|e| e <= pack_len);
            fits.then_some((
                key,
                CachedEntry {
                    offset,
                    len,
                    check,
                    crc,
                    amount,
                },
            ))
        })
        .collect()
}

/// This build's pieces, becoming the cache once the tarball is published.
#[derive(Debug)]
struct CacheWriter {
    dir: PathBuf,
    name: String,
    pack: TempPath,
    out: BufWriter<File>,
    index: String,
    offset: u64,
}

impl CacheWriter {
    fn new(dir: &Path, name: &str) -> Result<CacheWriter> {
        let pack = TempPath::beside(&dir.join(format!("{name}.pack")))?;
        let file = File::create(pack.path()).at(pack.path(), "cannot create the cache")?;
        Ok(CacheWriter {
            dir: dir.to_owned(),
            name: name.to_owned(),
            pack,
            out: BufWriter::with_capacity(1 << 20, file),
            index: String::new(),
            offset: 0,
        })
    }

    fn add(&mut self, key: &[u8; 32], bytes: &[u8], crc: crc32fast::Hasher) -> Result<()> {
        self.out
            .write_all(bytes)
            .at(self.pack.path(), "cannot write the cache")?;
        let amount = crc.total_len();
        self.index.push_str(&format!(
            "{} {} {} {} {} {amount}\n",
            hex(key),
            self.offset,
            bytes.len(),
            crc32fast::hash(bytes),
            crc.finalize()
        ));
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Replaces the previous cache: index first removed, so a crash in
    /// between leaves no index pointing into the wrong pack.
    fn publish(self) -> Result<()> {
        let CacheWriter {
            dir,
            name,
            pack,
            out,
            index,
            ..
        } = self;
        out.into_inner()
            .map_err(|e| e.into_error())
            .at(pack.path(), "cannot write the cache")?;
        let index_path = dir.join(format!("{name}.index"));
        let _ = fs::remove_file(&index_path);
        pack.publish(&dir.join(format!("{name}.pack")))?;
        let tmp = TempPath::beside(&index_path)?;
        fs::write(tmp.path(), index).at(&index_path, "cannot write the cache")?;
        tmp.publish(&index_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn deflate_pieces_concatenate_into_one_gzip_stream() {
        let a: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let b = b"second piece".to_vec();
        let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        let mut crc = crc32fast::Hasher::new();
        for piece in [&a, &b] {
            let c = compress_bytes(piece, Codec::Gzip).unwrap();
            gz.extend_from_slice(&c.bytes);
            crc.combine(&c.crc);
        }
        let total = crc.total_len() as u32;
        gz.extend_from_slice(&[3, 0]);
        gz.extend_from_slice(&crc.finalize().to_le_bytes());
        gz.extend_from_slice(&total.to_le_bytes());
        assert_eq!(gunzip(&gz), [a, b].concat());
    }

    #[test]
    fn a_damaged_index_is_an_empty_cache() {
        let key = hex(&[7; 32]);
        let index = parse_index(
            &format!("{key} 0 10 3 5 20\n{key} 5 10 3 1 1\nnonsense\n{key} 0 1 3 99999999999 1\n"),
            10,
        );
        assert_eq!(index.len(), 1);
        assert_eq!(index[&[7; 32]].len, 10);
    }

    #[test]
    fn codec_names() {
        assert_eq!("zstd".parse::<Codec>().unwrap(), Codec::Zstd);
        assert_eq!(Codec::default().extension(), "tar.gz");
        assert!("lz4"
            .parse::<Codec>()
            .unwrap_err()
            .to_string()
            .contains("gzip"));
    }
}
