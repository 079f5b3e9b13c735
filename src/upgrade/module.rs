//! What appup generation needs to know about a compiled module, read from
//! its BEAM chunks: its name, the modules it calls (`ImpT`), the functions
//! it exports (`ExpT`), its behaviours (`Attr`) and a digest of the chunks
//! that make up its code. Stripped BEAMs keep all of these.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::beam::{self, BeamError, ChunkId};

/// The chunks `module_info(md5)` covers: when they are equal the VM runs
/// the same code, whatever the debug info, docs or line table say.
const CODE_CHUNKS: &[ChunkId] = &[
    *b"AtU8", *b"Atom", *b"Code", *b"StrT", *b"ImpT", *b"ExpT", *b"FunT", *b"LitT", *b"Meta",
];

/// One module as appup generation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFacts {
    /// The module name.
    pub name: String,
    /// The other modules it calls, by name.
    pub imports: BTreeSet<String>,
    /// Its exported functions as `name/arity`.
    pub exports: BTreeSet<String>,
    /// Its `behaviour` (or `behavior`) attributes.
    pub behaviours: Vec<String>,
    /// SHA-256 over [`CODE_CHUNKS`], each with its id and size.
    pub code_digest: [u8; 32],
}

impl ModuleFacts {
    /// Reads the facts from a BEAM file's bytes (gzip-compressed BEAMs are
    /// decompressed first).
    pub fn read(bytes: &[u8]) -> Result<ModuleFacts, BeamError> {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut raw)
                .map_err(|e| BeamError::Gzip(e.to_string()))?;
            return ModuleFacts::read(&raw);
        }
        let atoms = match beam::chunk(bytes, b"AtU8")? {
            Some(data) => atom_table(data, true)?,
            None => atom_table(
                beam::chunk(bytes, b"Atom")?.ok_or(BeamError::NotBeam)?,
                false,
            )?,
        };
        let atom = |i: u32| -> Result<String, BeamError> {
            atoms
                .get((i as usize).wrapping_sub(1))
                .cloned()
                .ok_or(BeamError::BadChunk { offset: 0 })
        };
        let name = atom(1)?;
        let mut imports = BTreeSet::new();
        if let Some(data) = beam::chunk(bytes, b"ImpT")? {
            for entry in table(data, 3)? {
                let module = atom(entry[0])?;
                if module != name {
                    imports.insert(module);
                }
            }
        }
        let mut exports = BTreeSet::new();
        if let Some(data) = beam::chunk(bytes, b"ExpT")? {
            for entry in table(data, 3)? {
                exports.insert(format!("{}/{}", atom(entry[0])?, entry[1]));
            }
        }
        let mut hasher = Sha256::new();
        for id in CODE_CHUNKS {
            if let Some(data) = beam::chunk(bytes, id)? {
                hasher.update(id);
                hasher.update((data.len() as u64).to_be_bytes());
                hasher.update(data);
            }
        }
        Ok(ModuleFacts {
            name,
            imports,
            exports,
            behaviours: read_behaviours(bytes)?,
            code_digest: hasher.finalize().into(),
        })
    }

    /// Whether the module is a supervisor (Erlang's or Elixir's behaviour).
    pub fn is_supervisor(&self) -> bool {
        self.behaviours
            .iter()
            .any(|b| b == "supervisor" || b == "Elixir.Supervisor")
    }

    /// Whether it exports a callback through which a process running it
    /// changes its state on a code change.
    pub fn has_code_change(&self) -> bool {
        ["code_change/3", "code_change/4", "system_code_change/4"]
            .iter()
            .any(|f| self.exports.contains(*f))
    }
}

fn read_behaviours(bytes: &[u8]) -> Result<Vec<String>, BeamError> {
    match beam::chunk(bytes, b"Attr")? {
        Some(data) => Ok(behaviours(data).ok_or(BeamError::BadChunk { offset: 0 })?),
        None => Ok(Vec::new()),
    }
}

/// A table of `count` entries of `width` big-endian u32s.
fn table(data: &[u8], width: usize) -> Result<Vec<Vec<u32>>, BeamError> {
    let bad = BeamError::BadChunk { offset: 0 };
    let words: Vec<u32> = data
        .chunks_exact(4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    let count = *words.first().ok_or(bad.clone())? as usize;
    let end = count
        .checked_mul(width)
        .and_then(|n| n.checked_add(1))
        .filter(|&end| end <= words.len())
        .ok_or(bad)?;
    Ok(words[1..end]
        .chunks_exact(width)
        .map(<[u32]>::to_vec)
        .collect())
}

/// The atom table: a count, then each atom's length and bytes. A negative
/// count (newer compilers) means lengths in the compact term encoding.
fn atom_table(data: &[u8], utf8: bool) -> Result<Vec<String>, BeamError> {
    let bad = || BeamError::BadChunk { offset: 0 };
    let head: [u8; 4] = data
        .get(..4)
        .ok_or_else(bad)?
        .try_into()
        .map_err(|_| bad())?;
    let count = i32::from_be_bytes(head);
    let compact = count < 0;
    let mut pos = 4;
    // Each atom takes a byte at least: a count beyond that is a lie.
    let mut out = Vec::with_capacity((count.unsigned_abs() as usize).min(data.len()));
    for _ in 0..count.unsigned_abs() {
        let b = *data.get(pos).ok_or_else(bad)? as usize;
        pos += 1;
        let len = if !compact {
            b
        } else if b & 0x08 == 0 {
            b >> 4
        } else if b & 0x10 == 0 {
            let low = *data.get(pos).ok_or_else(bad)? as usize;
            pos += 1;
            ((b >> 5) << 8) | low
        } else {
            return Err(bad());
        };
        let raw = data.get(pos..pos + len).ok_or_else(bad)?;
        pos += len;
        out.push(if utf8 {
            String::from_utf8(raw.to_vec()).map_err(|_| bad())?
        } else {
            raw.iter().map(|&c| c as char).collect()
        });
    }
    Ok(out)
}

/// The `behaviour`/`behavior` values of an `Attr` chunk: the external term
/// format of a list of `{Key, Value}`. Other values are skipped unread
/// (the `vsn` attribute is an integer wider than relpack's terms).
fn behaviours(data: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader { data, pos: 0 };
    if r.u8()? != 131 {
        return None;
    }
    let mut out = Vec::new();
    let count = match r.u8()? {
        106 => 0,
        108 => r.u32()?,
        _ => return None,
    };
    for _ in 0..count {
        if r.u8()? != 104 || r.u8()? != 2 {
            return None;
        }
        let key = r.atom()?;
        if key == "behaviour" || key == "behavior" {
            match r.u8()? {
                106 => {}
                108 => {
                    let n = r.u32()?;
                    for _ in 0..n {
                        out.push(r.atom()?);
                    }
                    r.skip()?;
                }
                _ => return None,
            }
        } else {
            r.skip()?;
        }
    }
    Some(out)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u16(&mut self) -> Option<usize> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]) as usize)
    }

    fn u32(&mut self) -> Option<usize> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn atom(&mut self) -> Option<String> {
        let len = match self.u8()? {
            100 | 118 => self.u16()?,
            115 | 119 => self.u8()? as usize,
            _ => return None,
        };
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    /// Skips one term.
    fn skip(&mut self) -> Option<()> {
        self.skip_depth(0)
    }

    fn skip_depth(&mut self, depth: usize) -> Option<()> {
        if depth > 128 {
            return None;
        }
        let n = match self.u8()? {
            97 => 1,
            98 => 4,
            70 => 8,
            106 => 0,
            100 | 118 => self.u16()?,
            115 | 119 => self.u8()? as usize,
            107 => self.u16()?,
            109 => self.u32()?,
            77 => self.u32()? + 1,
            110 => self.u8()? as usize + 1,
            111 => self.u32()? + 1,
            104 => {
                let arity = self.u8()?;
                for _ in 0..arity {
                    self.skip_depth(depth + 1)?;
                }
                0
            }
            105 => {
                let arity = self.u32()?;
                for _ in 0..arity {
                    self.skip_depth(depth + 1)?;
                }
                0
            }
            108 => {
                let len = self.u32()?;
                for _ in 0..=len {
                    self.skip_depth(depth + 1)?;
                }
                0
            }
            116 => {
                let pairs = self.u32()?;
                for _ in 0..pairs.checked_mul(2)? {
                    self.skip_depth(depth + 1)?;
                }
                0
            }
            _ => return None,
        };
        self.take(n).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_with_wide_integers_are_skipped() {
        // [{vsn, [2^100]}, {behaviour, [gen_server]}]
        let mut attr = vec![131, 108, 0, 0, 0, 2];
        attr.extend([104, 2, 119, 3]);
        attr.extend(b"vsn");
        attr.extend([108, 0, 0, 0, 1, 110, 13, 0]);
        attr.extend([0; 12]);
        attr.push(16);
        attr.push(106);
        attr.extend([104, 2, 119, 9]);
        attr.extend(b"behaviour");
        attr.extend([108, 0, 0, 0, 1, 119, 10]);
        attr.extend(b"gen_server");
        attr.extend([106, 106]);
        assert_eq!(behaviours(&attr), Some(vec!["gen_server".to_owned()]));
        assert_eq!(behaviours(&attr[..attr.len() - 3]), None);
    }

    #[test]
    fn hostile_tables_are_errors() {
        assert!(table(&u32::MAX.to_be_bytes(), 3).is_err());
        assert!(atom_table(&i32::MIN.to_be_bytes(), true).is_err());
        assert!(ModuleFacts::read(b"FOR1\0\0\0\x04BEAM").is_err());
    }

    #[test]
    fn compact_atom_lengths() {
        let mut data = (-2i32).to_be_bytes().to_vec();
        data.push(3 << 4);
        data.extend(b"foo");
        data.push(0x08 | (1 << 5));
        data.push(4);
        data.extend(vec![b'x'; 260]);
        let atoms = atom_table(&data, true).unwrap();
        assert_eq!(atoms[0], "foo");
        assert_eq!(atoms[1].len(), 260);
    }
}
