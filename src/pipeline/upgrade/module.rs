//! What appup generation needs to know about a compiled module, read from
//! its BEAM chunks: its name, the modules it calls (`ImpT`), the functions
//! it exports (`ExpT`), its behaviours (`Attr`, through
//! [`beam::attributes`]) and a digest of the chunks
//! that make up its code. Stripped BEAMs keep all of these.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::formats::beam::{self, BeamError, ChunkId};

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
    /// SHA-256 over the code chunks (`CODE_CHUNKS`), each with its id and size.
    pub code_digest: [u8; 32],
}

impl ModuleFacts {
    /// Reads the facts from a BEAM file's bytes (gzip-compressed BEAMs are
    /// decompressed first).
    pub fn read(bytes: &[u8]) -> Result<ModuleFacts, BeamError> {
        let bytes = &beam::uncompressed(bytes)?[..];
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

/// The `behaviour` (or `behavior`) attributes' modules.
fn read_behaviours(bytes: &[u8]) -> Result<Vec<String>, BeamError> {
    Ok(beam::attributes(bytes)?
        .iter()
        .filter(|(k, _)| k == "behaviour" || k == "behavior")
        .flat_map(|(_, v)| v.as_list().unwrap_or_default())
        .filter_map(|b| b.as_atom().map(str::to_owned))
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

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
