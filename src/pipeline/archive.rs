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
//! The tarball is written while the release directory is: the thread that
//! writes a directory's files hands them, still in memory, to a
//! [`Packer`], and a [`TarWriter`] appends the packed directories in tar
//! order. A directory's tar bytes are compressed in pieces of 1 MiB, each
//! on its own: for gzip each piece is raw deflate from libdeflate, made to
//! end in a sync flush so that the pieces concatenate into one deflate
//! stream (as pigz's do), and the gzip trailer's CRC is combined from the
//! pieces' CRCs; for zstd each piece is a frame (a zstd stream may hold
//! many). The pieces are a function of the bytes alone, so the output does
//! not depend on scheduling, and they can be reused: the last tarball
//! holds the compressed directories of the last build, and an index in the
//! cache directory (`<name>.index`) says where each one is in it, keyed by
//! the SHA-256 of its headers and contents, so a rebuild compresses only
//! the directories that changed.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result};
use crate::formats::digest::{hex, unhex, FileDigest};
use crate::pipeline::plan::ReleasePlan;
use crate::util::cancel::Cancel;
use crate::util::fs::TempPath;
use crate::vocab::Codec;

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

/// Names the codec and its level in cache keys and file names.
fn codec_tag(codec: Codec) -> String {
    match codec {
        // The compressor is named: another one's pieces differ.
        Codec::Gzip => format!("gzip-libdeflate-{GZIP_LEVEL}"),
        Codec::Zstd => format!("zstd-{ZSTD_LEVEL}"),
        Codec::None => "none".into(),
    }
}

/// A tarball written under a temporary name, waiting to be published.
#[derive(Debug)]
pub struct Packed {
    tmp: TempPath,
    /// Where the tarball goes.
    pub dest: PathBuf,
    /// Size of the tarball in bytes.
    pub size: u64,
    /// Entries whose compressed form came from the cache.
    pub reused: usize,
    /// Entries in the tarball.
    pub entries: usize,
    cache: Option<CacheWriter>,
}

impl Packed {
    /// The finished tarball, under its temporary name until published.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Renames the tarball to its destination: it appears whole or not at
    /// all. The cache's index then points into it.
    pub fn publish(self) -> Result<()> {
        match self.cache {
            Some(cache) => cache.publish(self.tmp, &self.dest),
            None => self.tmp.publish(&self.dest),
        }
    }
}

/// One tar entry as the release's writer hands it over.
#[derive(Debug)]
pub struct TarEntry<'a> {
    /// The path relative to the release root.
    pub path: &'a Path,
    /// What is known of the file and where its bytes are; `None` for a
    /// directory.
    pub file: Option<(FileDigest, Content<'a>)>,
}

/// Where a file's bytes are.
#[derive(Debug)]
pub enum Content<'a> {
    /// Still in memory from writing the file.
    Bytes(&'a [u8]),
    /// On disk only, to be read again.
    Disk(PathBuf),
}

/// Compresses groups of tar entries; shared by the threads that write the
/// release, each packing the groups it wrote.
///
/// A group is a directory entry and the file entries that follow it:
/// files are small and alike within a directory (an `ebin` of BEAMs), so
/// compressing them together keeps most of what one deflate stream over
/// the whole tar would gain, while a changed module only costs its own
/// directory. A group's tar bytes are compressed in pieces of 1 MiB,
/// each on its own, so the output is a function of the bytes alone.
#[derive(Debug)]
pub struct Packer {
    codec: Codec,
    mtime: u64,
    cache: Option<Cache>,
    cancel: Cancel,
}

impl Packer {
    /// A packer for the plan's codec, reusing the compressed groups cached
    /// by the previous build; entries get the plan's modification time.
    pub fn new(plan: &ReleasePlan) -> Packer {
        let codec = plan.codec;
        let cache = match (plan.cache_dir.as_deref(), codec) {
            (Some(dir), Codec::Gzip | Codec::Zstd) => Some(Cache::open(dir, &codec_tag(codec))),
            _ => None,
        };
        Packer {
            codec,
            mtime: plan.mtime,
            cache,
            cancel: plan.cancel.clone(),
        }
    }

    /// Compresses one group (or takes it from the cache).
    pub fn pack_group(&self, entries: &[TarEntry]) -> Result<PackedGroup> {
        let mut key = Sha256::new_with_prefix(codec_tag(self.codec));
        let headers = entries
            .iter()
            .map(|entry| {
                let header = self.header(entry)?;
                key.update(&header);
                if let Some((file, _)) = &entry.file {
                    key.update(file.sha256);
                }
                Ok(header)
            })
            .collect::<Result<Vec<_>>>()?;
        let key: [u8; 32] = key.finalize().into();
        let cached = self.cache.as_ref().and_then(|c| c.read(&c.get(&key)?));
        let compressed = match cached {
            Some(compressed) => compressed,
            None => {
                let mut pieces = Pieces::new(self.codec);
                for (entry, header) in entries.iter().zip(&headers) {
                    self.cancel.check()?;
                    pieces.feed(header)?;
                    if let Some((file, content)) = &entry.file {
                        match content {
                            Content::Bytes(bytes) => pieces.feed(bytes)?,
                            Content::Disk(path) => feed_file(&mut pieces, path, file.size)?,
                        }
                        pieces.feed(&[0; 512][..((512 - file.size % 512) % 512) as usize])?;
                    }
                }
                pieces.finish()?
            }
        };
        Ok(PackedGroup {
            compressed,
            entries: entries.len(),
            key,
        })
    }

    /// The tar header of `entry`, preceded by a GNU long-name record when
    /// its path needs one.
    fn header(&self, entry: &TarEntry) -> Result<Vec<u8>> {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        let path = entry.path;
        header
            .set_username("root")
            .at(path, "cannot add to the tarball")?;
        header
            .set_groupname("root")
            .at(path, "cannot add to the tarball")?;
        match &entry.file {
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
            }
            Some((file, _)) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(crate::util::fs::shipped_mode(file.mode));
                header.set_size(file.size);
            }
        }
        // A path too long for the header takes the tar crate's builder,
        // which adds the long-name record first.
        match header.set_path(path) {
            Ok(()) => {
                header.set_cksum();
                Ok(header.as_bytes().to_vec())
            }
            Err(_) => {
                let mut builder = tar::Builder::new(Vec::new());
                builder
                    .append_data(&mut header, path, std::io::empty())
                    .at(path, "cannot add to the tarball")?;
                Ok(std::mem::take(builder.get_mut()))
            }
        }
    }
}

/// The tarball at `path` (`.tar.gz`, `.tar.zst` or `.tar`, whatever its
/// name), decompressed as its first bytes say; `None` if it is none of
/// them. `cannot_open` says what failed when the file cannot be opened.
pub(crate) fn open(path: &Path, cannot_open: &'static str) -> Result<Option<Box<dyn Read>>> {
    let mut file = File::open(path).at(path, cannot_open)?;
    let mut head = [0u8; 262];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]).at(path, "cannot read")? {
            0 => break,
            read => n += read,
        }
    }
    std::io::Seek::rewind(&mut file).at(path, "cannot read")?;
    let codec = Codec::sniff(&head[..n]);
    if codec == Codec::None && !(n == head.len() && &head[257..] == b"ustar") {
        return Ok(None);
    }
    Ok(Some(codec.decoder(file).at(path, "cannot read")?))
}

/// Magic, deflate, no flags, no mtime, no extra flags, Unix: the same
/// bytes for every input.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

/// Ends a deflate stream made of joined pieces with a final, empty
/// fixed-Huffman block and the gzip trailer of `crc`.
fn gzip_trailer(crc: crc32fast::Hasher) -> [u8; 10] {
    let total = crc.total_len() as u32;
    let mut tail = [0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
    tail[2..6].copy_from_slice(&crc.finalize().to_le_bytes());
    tail[6..].copy_from_slice(&total.to_le_bytes());
    tail
}

/// `bytes` gzip-compressed exactly as the tarball is: [`BLOCK`]-sized
/// pieces compressed on every core and joined, so the output is a
/// function of the bytes alone (container image layers use it).
pub(crate) fn gzip(bytes: &[u8], jobs: usize) -> std::io::Result<Vec<u8>> {
    let blocks: Vec<&[u8]> = bytes.chunks(BLOCK as usize).collect();
    let mut out = GZIP_HEADER.to_vec();
    let mut crc = crc32fast::Hasher::new();
    crate::util::parallel::map_ordered(
        jobs,
        &blocks,
        |block| compress_bytes(block, Codec::Gzip),
        |_, piece| {
            out.extend_from_slice(&piece.bytes);
            crc.combine(&piece.crc);
            Ok(())
        },
    )?;
    out.extend_from_slice(&gzip_trailer(crc));
    Ok(out)
}

/// Reads a file into the pieces a block at a time.
fn feed_file(pieces: &mut Pieces, path: &Path, size: u64) -> Result<()> {
    let mut file = File::open(path).at(path, "cannot read (did it change during the build?)")?;
    let mut buf = vec![0; BLOCK.min(size) as usize];
    let mut left = size;
    while left > 0 {
        let n = buf.len().min(left as usize);
        file.read_exact(&mut buf[..n])
            .at(path, "cannot read (did it change during the build?)")?;
        pieces.feed(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// A group's tar bytes, compressed a [`BLOCK`] at a time as they come.
struct Pieces {
    codec: Codec,
    pending: Vec<u8>,
    done: Compressed,
}

impl Pieces {
    fn new(codec: Codec) -> Pieces {
        Pieces {
            codec,
            pending: Vec::new(),
            done: Compressed::default(),
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) -> Result<()> {
        const BLOCK_LEN: usize = BLOCK as usize;
        while !bytes.is_empty() {
            // A whole block of a large file is compressed where it lies.
            if self.pending.is_empty() && bytes.len() >= BLOCK_LEN {
                self.compress(&bytes[..BLOCK_LEN])?;
                bytes = &bytes[BLOCK_LEN..];
                continue;
            }
            let take = bytes.len().min(BLOCK_LEN - self.pending.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == BLOCK_LEN {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn compress(&mut self, block: &[u8]) -> Result<()> {
        let piece =
            compress_bytes(block, self.codec).at(Path::new("tarball"), "cannot compress")?;
        self.done.bytes.extend_from_slice(&piece.bytes);
        self.done.crc.combine(&piece.crc);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.compress(&pending)?;
        self.pending = pending;
        self.pending.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<Compressed> {
        if !self.pending.is_empty() {
            self.flush()?;
        }
        Ok(self.done)
    }
}

/// A group compressed, ready to be appended to the tarball.
#[derive(Debug)]
pub struct PackedGroup {
    compressed: Compressed,
    entries: usize,
    key: [u8; 32],
}

/// A compressed group or piece and the CRC-32 of its uncompressed bytes.
#[derive(Debug, Default)]
struct Compressed {
    bytes: Vec<u8>,
    crc: crc32fast::Hasher,
    /// Whether it was read from the cache.
    reused: bool,
}

/// The tarball being written, a group at a time in tar order, into a
/// temporary file beside its destination.
#[derive(Debug)]
pub struct TarWriter {
    dest: PathBuf,
    codec: Codec,
    tmp: TempPath,
    out: BufWriter<File>,
    crc: crc32fast::Hasher,
    /// Bytes written so far.
    offset: u64,
    entries: usize,
    reused: usize,
    cache: Option<CacheWriter>,
    cancel: Cancel,
}

impl TarWriter {
    /// Starts the tarball for `dest`, and a new cache if `packer` reads one.
    pub fn create(dest: &Path, packer: &Packer) -> Result<TarWriter> {
        let tmp = TempPath::beside(dest)?;
        let file = File::create(tmp.path()).at(dest, "cannot create the tarball")?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let cache = packer.cache.as_ref().map(|cache| CacheWriter {
            index_path: cache.index_path.clone(),
            index: String::new(),
        });
        let header: &[u8] = match packer.codec {
            Codec::Gzip => &GZIP_HEADER,
            _ => &[],
        };
        out.write_all(header).at(dest, "cannot write the tarball")?;
        Ok(TarWriter {
            dest: dest.to_owned(),
            codec: packer.codec,
            tmp,
            out,
            crc: crc32fast::Hasher::new(),
            offset: header.len() as u64,
            entries: 0,
            reused: 0,
            cache,
            cancel: packer.cancel.clone(),
        })
    }

    /// Appends the next group.
    pub fn append(&mut self, group: PackedGroup) -> Result<()> {
        self.cancel.check()?;
        let PackedGroup {
            compressed,
            entries,
            key,
        } = group;
        self.out
            .write_all(&compressed.bytes)
            .at(&self.dest, "cannot write the tarball")?;
        self.crc.combine(&compressed.crc);
        self.entries += entries;
        if compressed.reused {
            self.reused += entries;
        }
        if let Some(cache) = &mut self.cache {
            cache.add(&key, self.offset, &compressed.bytes, compressed.crc);
        }
        self.offset += compressed.bytes.len() as u64;
        Ok(())
    }

    /// Ends the archive; the tarball waits to be published.
    pub fn finish(mut self) -> Result<Packed> {
        let dest = self.dest.clone();
        // The end of the archive: two zero blocks, compressed like the rest.
        let trailer = compress_bytes(&[0; 1024], self.codec).at(&dest, "cannot compress")?;
        self.out
            .write_all(&trailer.bytes)
            .at(&dest, "cannot write the tarball")?;
        self.crc.combine(&trailer.crc);
        if self.codec == Codec::Gzip {
            self.out
                .write_all(&gzip_trailer(self.crc))
                .at(&dest, "cannot write the tarball")?;
        }
        // No fsync: the output is reproducible, so a crash costs a rebuild,
        // and ext4 flushes a file renamed over another before the rename.
        let file = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .at(&dest, "cannot write the tarball")?;
        let size = file.metadata().at(&dest, "cannot read")?.len();
        Ok(Packed {
            tmp: self.tmp,
            dest,
            size,
            reused: self.reused,
            entries: self.entries,
            cache: self.cache,
        })
    }
}

/// Compresses `input` as a piece that concatenates with others.
fn compress_bytes(input: &[u8], codec: Codec) -> std::io::Result<Compressed> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(input);
    let bytes = match codec {
        Codec::None => input.to_vec(),
        Codec::Zstd => zstd::bulk::compress(input, ZSTD_LEVEL)?,
        Codec::Gzip => crate::formats::deflate::compress(input, GZIP_LEVEL)?,
    };
    Ok(Compressed {
        bytes,
        crc,
        reused: false,
    })
}

/// Where a cached entry's compressed bytes are in the previous tarball.
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

/// The previous build's compressed directories: `<name>.index` names the
/// tarball they are in on its first line (`tarball PATH`), then has a
/// line `key offset len check crc amount` for each. Anything unreadable
/// (a tarball moved, cut short or rewritten since) is a cache miss.
#[derive(Debug)]
struct Cache {
    index_path: PathBuf,
    tarball: Option<File>,
    index: HashMap<[u8; 32], CachedEntry>,
}

impl Cache {
    fn open(dir: &Path, name: &str) -> Cache {
        let index_path = dir.join(format!("{name}.index"));
        let text = fs::read_to_string(&index_path).unwrap_or_default();
        let mut lines = text.lines();
        let tarball = lines
            .next()
            .and_then(|l| l.strip_prefix("tarball "))
            .and_then(|path| File::open(path).ok());
        let len = tarball
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        Cache {
            index: parse_index(lines, len),
            index_path,
            tarball,
        }
    }

    fn get(&self, key: &[u8; 32]) -> Option<CachedEntry> {
        self.tarball.as_ref()?;
        self.index.get(key).copied()
    }

    /// The cached bytes, if they are still what was written.
    fn read(&self, entry: &CachedEntry) -> Option<Compressed> {
        let mut bytes = vec![0; entry.len as usize];
        self.tarball
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

/// Reads an index's entry lines, dropping those that do not parse or
/// point outside a tarball of `len` bytes.
fn parse_index<'a>(
    lines: impl Iterator<Item = &'a str>,
    len: u64,
) -> HashMap<[u8; 32], CachedEntry> {
    lines
        .filter_map(|line| {
            let mut f = line.split(' ');
            let key = unhex(f.next()?)?;
            let mut num = || f.next()?.parse::<u64>().ok();
            let (offset, size) = (num()?, num()?);
            let (check, crc) = (u32::try_from(num()?).ok()?, u32::try_from(num()?).ok()?);
            let amount = num()?;
            let fits = offset.checked_add(size).is_some_and(|e| e <= len);
            fits.then_some((
                key,
                CachedEntry {
                    offset,
                    len: size,
                    check,
                    crc,
                    amount,
                },
            ))
        })
        .collect()
}

/// This build's index, the cache once the tarball is published.
#[derive(Debug)]
struct CacheWriter {
    index_path: PathBuf,
    index: String,
}

impl CacheWriter {
    fn add(&mut self, key: &[u8; 32], offset: u64, bytes: &[u8], crc: crc32fast::Hasher) {
        let amount = crc.total_len();
        self.index.push_str(&format!(
            "{} {offset} {} {} {} {amount}\n",
            hex(key),
            bytes.len(),
            crc32fast::hash(bytes),
            crc.finalize()
        ));
    }

    /// Publishes `tarball` as `dest` with its index. The old index goes
    /// first: after a crash in between, no index holds the old tarball's
    /// offsets for the new one.
    fn publish(self, tarball: TempPath, dest: &Path) -> Result<()> {
        let _ = fs::remove_file(&self.index_path);
        tarball.publish(dest)?;
        let dest = std::path::absolute(dest).at(dest, "cannot resolve")?;
        let tmp = TempPath::beside(&self.index_path)?;
        let text = format!("tarball {}\n{}", dest.display(), self.index);
        fs::write(tmp.path(), text).at(&self.index_path, "cannot write the cache")?;
        tmp.publish(&self.index_path)
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
        let mut gz = GZIP_HEADER.to_vec();
        let mut crc = crc32fast::Hasher::new();
        for piece in [&a, &b] {
            let c = compress_bytes(piece, Codec::Gzip).unwrap();
            gz.extend_from_slice(&c.bytes);
            crc.combine(&c.crc);
        }
        gz.extend_from_slice(&gzip_trailer(crc));
        assert_eq!(gunzip(&gz), [a, b].concat());
    }

    #[test]
    fn gzip_of_many_blocks_is_one_stream() {
        let data: Vec<u8> = (0..3 * BLOCK as u32 + 77)
            .map(|i| (i % 253) as u8)
            .collect();
        let gz = gzip(&data, 4).unwrap();
        assert_eq!(gunzip(&gz), data);
        assert_eq!(gzip(&data, 4).unwrap(), gz);
        assert_eq!(gunzip(&gzip(b"", 4).unwrap()), b"");
    }

    #[test]
    fn a_damaged_index_is_an_empty_cache() {
        let key = hex(&[7; 32]);
        let index = parse_index(
            format!("{key} 0 10 3 5 20\n{key} 5 10 3 1 1\nnonsense\n{key} 0 1 3 99999999999 1\n")
                .lines(),
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
