//! Stripping BEAM files: keep the chunks the runtime needs, drop debug
//! info, docs and compiler metadata, as `mix release` does with
//! `strip_beams: true`.
//!
//! A BEAM file is an IFF container: `FOR1`, a big-endian u32 size of what
//! follows, `BEAM`, then chunks of `id(4) size(u32) data` each padded to a
//! multiple of 4 bytes. Stripping copies the kept chunks byte for byte in
//! the order of the keep list, which is what `beam_lib:build_module/1`
//! writes for the chunks `beam_lib:chunks/3` returns: with the default list
//! the result is byte-identical to `mix release`'s. The input is validated
//! before anything is copied, so a truncated or foreign file is an error,
//! never a panic or a huge allocation.

use std::io::Read;

/// A chunk identifier such as `*b"Code"`.
pub type ChunkId = crate::vocab::Chunk;

/// Why a file could not be stripped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeamError {
    /// The file does not start with the `FOR1 ... BEAM` header.
    #[error("not a BEAM file (no FOR1/BEAM header)")]
    NotBeam,
    /// The header's size is larger than the file.
    #[error("truncated: the header promises {expected} bytes, the file has {actual}")]
    Truncated {
        /// Bytes the header announces.
        expected: u64,
        /// Bytes the file has.
        actual: u64,
    },
    /// A chunk's size runs past the end of the file.
    #[error("chunk at offset {offset} runs past the end of the file")]
    BadChunk {
        /// Byte offset of the chunk header.
        offset: usize,
    },
    /// A gzip-compressed BEAM whose compression is broken.
    #[error("gzip-compressed BEAM does not decompress: {0}")]
    Gzip(String),
}

/// Parses a chunk id given on the command line (`Dbgi`, `Docs`, ...).
pub fn parse_chunk_id(text: &str) -> Option<ChunkId> {
    let bytes: ChunkId = text.as_bytes().try_into().ok()?;
    bytes.iter().all(u8::is_ascii_graphic).then_some(bytes)
}

/// `beam` as its chunks: a gzip-compressed BEAM (which the VM also loads)
/// decompressed, any other as it is.
pub fn uncompressed(beam: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, BeamError> {
    if !beam.starts_with(&[0x1f, 0x8b]) {
        return Ok(beam.into());
    }
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(beam)
        .read_to_end(&mut raw)
        .map_err(|e| BeamError::Gzip(e.to_string()))?;
    Ok(raw.into())
}

/// Returns `beam` with only the chunks in `keep`, in `keep`'s order
/// (a gzip-compressed BEAM decompressed first).
pub fn strip(beam: &[u8], keep: &[ChunkId]) -> Result<Vec<u8>, BeamError> {
    let beam = uncompressed(beam)?;
    let chunks = chunks(&beam)?;
    let kept: Vec<&[u8]> = keep
        .iter()
        .filter_map(|k| chunks.iter().find(|c| c.starts_with(k)).copied())
        .collect();
    let body: usize = kept.iter().map(|c| padded(c.len())).sum();
    let mut out = Vec::with_capacity(12 + body);
    out.extend_from_slice(b"FOR1");
    // No larger than the input's own 32-bit size field.
    out.extend_from_slice(&((4 + body) as u32).to_be_bytes());
    out.extend_from_slice(b"BEAM");
    for chunk in kept {
        out.extend_from_slice(chunk);
        out.resize(out.len() + padded(chunk.len()) - chunk.len(), 0);
    }
    Ok(out)
}

/// The ids of the chunks in `beam`, in file order.
pub fn chunk_ids(beam: &[u8]) -> Result<Vec<ChunkId>, BeamError> {
    Ok(chunks(beam)?
        .iter()
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect())
}

/// The data of chunk `id` (without its header), if `beam` has one.
pub fn chunk<'a>(beam: &'a [u8], id: &ChunkId) -> Result<Option<&'a [u8]>, BeamError> {
    Ok(chunks(beam)?
        .into_iter()
        .find(|c| c.starts_with(id))
        .map(|c| &c[8..]))
}

/// The module attributes (`Attr` chunk) as `(name, value)` pairs, in
/// file order: `behaviour`, `vsn`, ... A module without the chunk has none.
pub fn attributes(beam: &[u8]) -> Result<Vec<(String, crate::formats::term::Term)>, BeamError> {
    proplist(beam, b"Attr")
}

/// The source file the compiler recorded (`CInf` chunk's `source`), if
/// the module keeps it: absolute unless compiled `deterministic`.
pub fn source(beam: &[u8]) -> Result<Option<String>, BeamError> {
    Ok(proplist(beam, b"CInf")?
        .into_iter()
        .find(|(key, _)| key == "source")
        .and_then(|(_, value)| value.as_string()))
}

/// A chunk that holds a list of `{Key, Value}` as its pairs.
fn proplist(
    beam: &[u8],
    id: &ChunkId,
) -> Result<Vec<(String, crate::formats::term::Term)>, BeamError> {
    use crate::formats::term::Term;
    let chunks = chunks(beam)?;
    let Some(data) = chunks.iter().find(|c| c.starts_with(id)) else {
        return Ok(Vec::new());
    };
    let term = crate::formats::etf::decode_lossy(&data[8..])
        .map_err(|_| BeamError::BadChunk { offset: 0 })?;
    Ok(term
        .as_list()
        .unwrap_or_default()
        .iter()
        .filter_map(|item| match item.as_tuple()? {
            [Term::Atom(name), value] => Some((name.clone(), value.clone())),
            _ => None,
        })
        .collect())
}

/// Each chunk as `id size data`, without padding, checked to lie inside
/// the container.
fn chunks(beam: &[u8]) -> Result<Vec<&[u8]>, BeamError> {
    if beam.len() < 12 || &beam[0..4] != b"FOR1" || &beam[8..12] != b"BEAM" {
        return Err(BeamError::NotBeam);
    }
    let declared = u32::from_be_bytes([beam[4], beam[5], beam[6], beam[7]]) as u64;
    if declared < 4 || declared + 8 > beam.len() as u64 {
        return Err(BeamError::Truncated {
            expected: declared + 8,
            actual: beam.len() as u64,
        });
    }
    let end = declared as usize + 8;
    let mut out = Vec::new();
    let mut pos = 12;
    while pos < end {
        if end - pos < 8 {
            return Err(BeamError::BadChunk { offset: pos });
        }
        let size = u32::from_be_bytes([beam[pos + 4], beam[pos + 5], beam[pos + 6], beam[pos + 7]])
            as usize;
        let data_end = (pos + 8)
            .checked_add(size)
            .filter(|&e| e <= end)
            .ok_or(BeamError::BadChunk { offset: pos })?;
        out.push(&beam[pos..data_end]);
        // The last chunk's padding may be missing.
        pos = padded(data_end).min(end);
    }
    Ok(out)
}

/// What a runtime checks before it loads a module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadNeeds {
    /// The highest instruction number the code uses, from the `Code`
    /// chunk's header (`sub-size, format, max opcode, ...`): a runtime
    /// refuses modules above its own highest (compiled by a newer OTP).
    /// `None` without a `Code` chunk.
    pub max_opcode: Option<u32>,
    /// The language features it was compiled with (`Meta` chunk,
    /// `enabled_features`): a runtime refuses a module whose features it
    /// has not enabled (`maybe_expr` from OTP 27's compiler on OTP 25).
    pub features: Vec<String>,
}

/// Reads what loading the module needs, from the chunk headers, `Code`'s
/// header and `Meta`, seeking past the rest; a gzip-compressed BEAM is
/// read whole.
pub fn load_needs(file: &mut (impl Read + std::io::Seek)) -> Result<LoadNeeds, BeamError> {
    use std::io::SeekFrom;
    let mut head = [0u8; 12];
    let short = |_| BeamError::NotBeam;
    file.read_exact(&mut head[..2]).map_err(short)?;
    if head[..2] == [0x1f, 0x8b] {
        let mut all = head[..2].to_vec();
        file.read_to_end(&mut all)
            .map_err(|e| BeamError::Gzip(e.to_string()))?;
        let raw = uncompressed(&all)?;
        return Ok(LoadNeeds {
            max_opcode: code_max_opcode(chunk(&raw, b"Code")?)?,
            features: meta_features(chunk(&raw, b"Meta")?),
        });
    }
    file.read_exact(&mut head[2..]).map_err(short)?;
    if &head[0..4] != b"FOR1" || &head[8..12] != b"BEAM" {
        return Err(BeamError::NotBeam);
    }
    let end = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as u64 + 8;
    let mut needs = LoadNeeds::default();
    let mut pos = 12u64;
    while pos + 8 <= end {
        let bad = BeamError::BadChunk {
            offset: pos as usize,
        };
        let mut header = [0u8; 8];
        file.read_exact(&mut header).map_err(|_| bad.clone())?;
        let size = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as u64;
        if pos + 8 + size > end {
            return Err(bad);
        }
        match &header[..4] {
            b"Code" => {
                let mut code = [0u8; 20];
                let n = size.min(20) as usize;
                file.read_exact(&mut code[..n]).map_err(|_| bad.clone())?;
                needs.max_opcode = code_max_opcode(Some(&code[..n]))?;
            }
            b"Meta" => {
                let mut meta = vec![0u8; size as usize];
                file.read_exact(&mut meta).map_err(|_| bad.clone())?;
                needs.features = meta_features(Some(&meta));
            }
            _ => {}
        }
        pos = padded((pos + 8 + size) as usize) as u64;
        file.seek(SeekFrom::Start(pos)).map_err(|_| bad)?;
    }
    Ok(needs)
}

fn code_max_opcode(code: Option<&[u8]>) -> Result<Option<u32>, BeamError> {
    match code {
        None => Ok(None),
        Some(c) if c.len() >= 12 => Ok(Some(u32::from_be_bytes([c[8], c[9], c[10], c[11]]))),
        Some(_) => Err(BeamError::BadChunk { offset: 0 }),
    }
}

/// `enabled_features` of a `Meta` chunk (`term_to_binary` of a proplist).
fn meta_features(meta: Option<&[u8]>) -> Vec<String> {
    use crate::formats::term::Term;
    let Some(Term::List(props)) = meta.and_then(|m| crate::formats::etf::decode_lossy(m).ok())
    else {
        return Vec::new();
    };
    props
        .iter()
        .find_map(|p| match p {
            Term::Tuple(kv) if matches!(kv.first(), Some(Term::Atom(k)) if k == "enabled_features") => {
                match kv.get(1) {
                    Some(Term::List(fs)) => Some(
                        fs.iter()
                            .filter_map(|f| match f {
                                Term::Atom(a) => Some(a.clone()),
                                _ => None,
                            })
                            .collect(),
                    ),
                    _ => None,
                }
            }
            _ => None,
        })
        .unwrap_or_default()
}

fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Elixir 1.14's list, in its order.
    const DEFAULT_KEEP: &[ChunkId] = &[
        *b"Atom", *b"AtU8", *b"Attr", *b"Code", *b"StrT", *b"ImpT", *b"ExpT", *b"FunT", *b"LitT",
        *b"Line",
    ];

    fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = id.to_vec();
        c.extend_from_slice(&(data.len() as u32).to_be_bytes());
        c.extend_from_slice(data);
        c.resize(padded(c.len()), 0);
        c
    }

    fn beam(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut b = b"FOR1".to_vec();
        b.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        b.extend_from_slice(b"BEAM");
        b.extend_from_slice(&body);
        b
    }

    #[test]
    fn attributes_are_read_past_a_128_bit_vsn() {
        use crate::formats::term::Term;
        let attrs = Term::List(vec![
            Term::tuple(vec![
                Term::atom("vsn"),
                Term::List(vec![Term::Integer(300)]),
            ]),
            Term::tuple(vec![
                Term::atom("behaviour"),
                Term::List(vec![Term::atom("Elixir.Config.Provider")]),
            ]),
        ]);
        let mut etf = crate::formats::etf::encode(&attrs, crate::formats::etf::AtomEncoding::Utf8);
        // The vsn's 300 (INTEGER_EXT) becomes what the compiler writes: a
        // 16-byte MD5 (SMALL_BIG_EXT).
        let at = etf.windows(5).position(|w| w == [98, 0, 0, 1, 44]).unwrap();
        etf.splice(at..at + 5, [110, 16, 0].into_iter().chain([0xab; 16]));
        let module = beam(&[chunk(b"AtU8", b"atoms"), chunk(b"Attr", &etf)]);
        let read = attributes(&module).unwrap();
        assert_eq!(
            read[0],
            ("vsn".into(), Term::List(vec![Term::atom("$big_integer")]))
        );
        assert_eq!(read[1].0, "behaviour");
        assert!(attributes(&beam(&[chunk(b"Code", b"x")]))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn keeps_listed_chunks_in_list_order_and_drops_the_rest() {
        let input = beam(&[
            chunk(b"AtU8", b"atoms"),
            chunk(b"Code", b"code!!"),
            chunk(b"Dbgi", &[7; 1000]),
            chunk(b"Attr", b"attributes"),
            chunk(b"Docs", b"docs"),
        ]);
        let out = strip(&input, DEFAULT_KEEP).unwrap();
        assert_eq!(
            out,
            beam(&[
                chunk(b"AtU8", b"atoms"),
                chunk(b"Attr", b"attributes"),
                chunk(b"Code", b"code!!"),
            ])
        );
        assert_eq!(chunk_ids(&out).unwrap(), [*b"AtU8", *b"Attr", *b"Code"]);
        let mut keep = DEFAULT_KEEP.to_vec();
        keep.push(*b"Docs");
        assert_eq!(
            chunk_ids(&strip(&input, &keep).unwrap()).unwrap(),
            [*b"AtU8", *b"Attr", *b"Code", *b"Docs"]
        );
    }

    #[test]
    fn stripping_is_idempotent_and_reads_gzipped_beams() {
        let input = beam(&[chunk(b"Code", b"abc"), chunk(b"CInf", b"info")]);
        let once = strip(&input, DEFAULT_KEEP).unwrap();
        assert_eq!(strip(&once, DEFAULT_KEEP).unwrap(), once);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        std::io::Write::write_all(&mut gz, &input).unwrap();
        assert_eq!(strip(&gz.finish().unwrap(), DEFAULT_KEEP).unwrap(), once);
    }

    #[test]
    fn load_needs_are_read_from_code_and_meta_plain_or_gzipped() {
        let code = [16u32, 0, 180, 7, 3]
            .iter()
            .flat_map(|n| n.to_be_bytes())
            .collect::<Vec<u8>>();
        let input = beam(&[chunk(b"AtU8", b"atoms"), chunk(b"Code", &code)]);
        let read =
            |bytes: &[u8]| load_needs(&mut std::io::Cursor::new(bytes)).map(|n| n.max_opcode);
        assert_eq!(read(&input), Ok(Some(180)));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        std::io::Write::write_all(&mut gz, &input).unwrap();
        assert_eq!(read(&gz.finish().unwrap()), Ok(Some(180)));
        assert_eq!(read(&beam(&[chunk(b"Attr", b"xy")])), Ok(None));
        // `term_to_binary([{enabled_features, [maybe_expr]}])`.
        let meta = [
            131, 108, 0, 0, 0, 1, 104, 2, 119, 16, 101, 110, 97, 98, 108, 101, 100, 95, 102, 101,
            97, 116, 117, 114, 101, 115, 108, 0, 0, 0, 1, 119, 10, 109, 97, 121, 98, 101, 95, 101,
            120, 112, 114, 106, 106,
        ];
        let with_meta = beam(&[chunk(b"Code", &code), chunk(b"Meta", &meta)]);
        let needs = load_needs(&mut std::io::Cursor::new(&with_meta)).unwrap();
        assert_eq!(needs.features, ["maybe_expr"]);
        for n in 0..input.len() - 20 {
            assert!(read(&input[..n]).is_err(), "prefix {n} accepted");
        }
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        let good = beam(&[chunk(b"Code", b"abcdef"), chunk(b"Attr", b"xy")]);
        for n in 0..good.len() {
            assert!(
                strip(&good[..n], DEFAULT_KEEP).is_err(),
                "prefix {n} accepted"
            );
        }
        assert_eq!(
            strip(b"hello world!", DEFAULT_KEEP),
            Err(BeamError::NotBeam)
        );
        let mut huge_chunk = good.clone();
        huge_chunk[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            strip(&huge_chunk, DEFAULT_KEEP),
            Err(BeamError::BadChunk { offset: 12 })
        ));
        let mut small = good.clone();
        small[4..8].copy_from_slice(&2u32.to_be_bytes());
        assert!(strip(&small, DEFAULT_KEEP).is_err());
        assert!(matches!(
            strip(&[0x1f, 0x8b, 8, 0, 1, 2], DEFAULT_KEEP),
            Err(BeamError::Gzip(_))
        ));
        // Pseudo-random garbage after a valid header.
        let mut x: u32 = 12345;
        for _ in 0..200 {
            let mut b = b"FOR1\0\0\0\x40BEAM".to_vec();
            for _ in 0..60 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b.push((x >> 16) as u8);
            }
            let _ = strip(&b, DEFAULT_KEEP);
        }
    }

    #[test]
    fn chunk_ids_are_four_printable_bytes() {
        assert_eq!(parse_chunk_id("Dbgi"), Some(*b"Dbgi"));
        assert_eq!(parse_chunk_id("Dbg"), None);
        assert_eq!(parse_chunk_id("Db i"), None);
    }
}
