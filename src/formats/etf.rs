//! The Erlang external term format, as `term_to_binary/1` writes it: the
//! encoding of `.boot` files.
//!
//! Encoding follows the choices `term_to_binary/1` makes by default, so that
//! a `.boot` written here is byte-identical to one OTP writes for the same
//! term. The one choice that differs between OTP releases is the atom tag:
//! OTP 25 and older write `ATOM_EXT` (Latin-1), OTP 26 and newer
//! `SMALL_ATOM_UTF8_EXT`. [`AtomEncoding::for_otp`] picks by target release.
//!
//! Maps with more than 32 keys are hash maps inside the VM and come out in
//! hash order, which cannot be reproduced outside it; they are written in
//! sorted key order instead (still a valid encoding that decodes to the
//! same map).

use crate::formats::term::{sorted_entries, Term};

const VERSION: u8 = 131;
const NEW_FLOAT_EXT: u8 = 70;
const SMALL_INTEGER_EXT: u8 = 97;
const INTEGER_EXT: u8 = 98;
const ATOM_EXT: u8 = 100;
const SMALL_TUPLE_EXT: u8 = 104;
const LARGE_TUPLE_EXT: u8 = 105;
const NIL_EXT: u8 = 106;
const STRING_EXT: u8 = 107;
const LIST_EXT: u8 = 108;
const BINARY_EXT: u8 = 109;
const SMALL_BIG_EXT: u8 = 110;
const MAP_EXT: u8 = 116;
const ATOM_UTF8_EXT: u8 = 118;
const SMALL_ATOM_UTF8_EXT: u8 = 119;

/// Which atom tags `term_to_binary/1` of the target OTP uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomEncoding {
    /// OTP 25 and older: `ATOM_EXT` for Latin-1 atoms.
    Latin1,
    /// OTP 26 and newer: `SMALL_ATOM_UTF8_EXT` always.
    Utf8,
}

impl AtomEncoding {
    /// The default of the given OTP major release.
    pub fn for_otp(major: u32) -> AtomEncoding {
        if major >= 26 {
            AtomEncoding::Utf8
        } else {
            AtomEncoding::Latin1
        }
    }
}

/// `term_to_binary(Term)` of the target OTP.
pub fn encode(term: &Term, atoms: AtomEncoding) -> Vec<u8> {
    let mut out = vec![VERSION];
    encode_into(&mut out, term, atoms);
    out
}

fn encode_into(out: &mut Vec<u8>, term: &Term, atoms: AtomEncoding) {
    match term {
        Term::Atom(name) => encode_atom(out, name, atoms),
        Term::Integer(i) => encode_integer(out, *i),
        Term::Float(f) => {
            out.push(NEW_FLOAT_EXT);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Term::Binary(bytes) => {
            out.push(BINARY_EXT);
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        Term::Tuple(items) => {
            if items.len() < 256 {
                out.push(SMALL_TUPLE_EXT);
                out.push(items.len() as u8);
            } else {
                out.push(LARGE_TUPLE_EXT);
                out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            }
            for t in items {
                encode_into(out, t, atoms);
            }
        }
        Term::List(items) if items.is_empty() => out.push(NIL_EXT),
        Term::List(items) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|t| match t {
                    Term::Integer(i) => u8::try_from(*i).ok(),
                    _ => None,
                })
                .collect();
            match bytes {
                // A list of bytes shorter than 64 KiB is a STRING_EXT.
                Some(bytes) if bytes.len() <= u16::MAX as usize => {
                    out.push(STRING_EXT);
                    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
                    out.extend_from_slice(&bytes);
                }
                _ => {
                    out.push(LIST_EXT);
                    out.extend_from_slice(&(items.len() as u32).to_be_bytes());
                    for t in items {
                        encode_into(out, t, atoms);
                    }
                    out.push(NIL_EXT);
                }
            }
        }
        Term::Map(entries) => {
            out.push(MAP_EXT);
            out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
            for (k, v) in sorted_entries(entries) {
                encode_into(out, k, atoms);
                encode_into(out, v, atoms);
            }
        }
    }
}

fn encode_atom(out: &mut Vec<u8>, name: &str, atoms: AtomEncoding) {
    let latin1: Option<Vec<u8>> = name.chars().map(|c| u8::try_from(c as u32).ok()).collect();
    match (atoms, latin1) {
        (AtomEncoding::Latin1, Some(bytes)) => {
            out.push(ATOM_EXT);
            out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        _ if name.len() < 256 => {
            out.push(SMALL_ATOM_UTF8_EXT);
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
        }
        _ => {
            out.push(ATOM_UTF8_EXT);
            out.extend_from_slice(&(name.len() as u16).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
        }
    }
}

fn encode_integer(out: &mut Vec<u8>, i: i64) {
    if (0..=255).contains(&i) {
        out.push(SMALL_INTEGER_EXT);
        out.push(i as u8);
    } else if let Ok(small) = i32::try_from(i) {
        out.push(INTEGER_EXT);
        out.extend_from_slice(&small.to_be_bytes());
    } else {
        let mut magnitude = i.unsigned_abs();
        let mut digits = Vec::new();
        while magnitude > 0 {
            digits.push(magnitude as u8);
            magnitude >>= 8;
        }
        out.push(SMALL_BIG_EXT);
        out.push(digits.len() as u8);
        out.push(u8::from(i < 0));
        out.extend_from_slice(&digits);
    }
}

/// Why bytes are not a term this module can represent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset where decoding stopped.
    pub offset: usize,
    /// What is wrong with the bytes there.
    pub message: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.message)
    }
}

/// Reads `term_to_binary/1` output (as in a `.boot` file) back into a term.
/// Accepts every encoding [`encode`] writes for either OTP and the other
/// atom tags (`SMALL_ATOM_EXT`); rejects kinds a text file cannot hold
/// (pids, funs, ...), trailing bytes, and nesting deeper than 128 levels.
pub fn decode(bytes: &[u8]) -> Result<Term, DecodeError> {
    decode_with(bytes, false)
}

/// [`decode`], with integers wider than 64 bits (a module's `vsn`
/// attribute, say) read as the atom `'$big_integer'` instead of refused:
/// for reading what else a term holds.
pub fn decode_lossy(bytes: &[u8]) -> Result<Term, DecodeError> {
    decode_with(bytes, true)
}

fn decode_with(bytes: &[u8], lossy_big: bool) -> Result<Term, DecodeError> {
    let mut d = Decoder {
        bytes,
        pos: 0,
        lossy_big,
    };
    if d.u8()? != VERSION {
        return d.fail(0, "not external term format (no version byte 131)");
    }
    let term = d.term(0)?;
    if d.pos != bytes.len() {
        return d.fail(d.pos, "trailing bytes after the term");
    }
    Ok(term)
}

const SMALL_ATOM_EXT: u8 = 115;
const MAX_DEPTH: usize = 128;

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    lossy_big: bool,
}

impl Decoder<'_> {
    fn fail<T>(&self, offset: usize, message: &str) -> Result<T, DecodeError> {
        Err(DecodeError {
            offset,
            message: message.to_owned(),
        })
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => self.fail(self.pos, "truncated"),
        }
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]) as usize)
    }

    fn u32(&mut self) -> Result<usize, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    /// Guards element counts against input that claims more than it holds.
    fn count(&self, n: usize, min_size: usize) -> Result<usize, DecodeError> {
        if n.saturating_mul(min_size) > self.bytes.len() - self.pos {
            return self.fail(self.pos, "length larger than the input");
        }
        Ok(n)
    }

    fn atom(&mut self, len: usize, latin1: bool) -> Result<Term, DecodeError> {
        let at = self.pos;
        let raw = self.take(len)?;
        let name = if latin1 {
            raw.iter().map(|&b| b as char).collect()
        } else {
            match std::str::from_utf8(raw) {
                Ok(s) => s.to_owned(),
                Err(_) => return self.fail(at, "atom is not valid UTF-8"),
            }
        };
        Ok(Term::Atom(name))
    }

    fn term(&mut self, depth: usize) -> Result<Term, DecodeError> {
        if depth > MAX_DEPTH {
            return self.fail(self.pos, "nested too deeply");
        }
        let at = self.pos;
        match self.u8()? {
            SMALL_INTEGER_EXT => Ok(Term::Integer(self.u8()? as i64)),
            INTEGER_EXT => {
                let b = self.take(4)?;
                Ok(Term::Integer(
                    i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as i64
                ))
            }
            SMALL_BIG_EXT => {
                let n = self.u8()? as usize;
                let sign = self.u8()?;
                let digits = self.take(n)?;
                let mut v: u64 = 0;
                for (i, &d) in digits.iter().enumerate() {
                    if d != 0 && i >= 8 {
                        if self.lossy_big {
                            return Ok(Term::atom("$big_integer"));
                        }
                        return self.fail(at, "integer larger than 64 bits");
                    }
                    if i < 8 {
                        v |= (d as u64) << (8 * i);
                    }
                }
                let v = if sign == 0 {
                    i64::try_from(v).ok()
                } else {
                    0i64.checked_sub_unsigned(v)
                };
                match v {
                    Some(v) => Ok(Term::Integer(v)),
                    None if self.lossy_big => Ok(Term::atom("$big_integer")),
                    None => self.fail(at, "integer larger than 64 bits"),
                }
            }
            NEW_FLOAT_EXT => {
                let b = self.take(8)?;
                let f = f64::from_be_bytes(b.try_into().unwrap_or([0; 8]));
                Ok(Term::Float(f))
            }
            ATOM_EXT => {
                let n = self.u16()?;
                self.atom(n, true)
            }
            SMALL_ATOM_EXT => {
                let n = self.u8()? as usize;
                self.atom(n, true)
            }
            ATOM_UTF8_EXT => {
                let n = self.u16()?;
                self.atom(n, false)
            }
            SMALL_ATOM_UTF8_EXT => {
                let n = self.u8()? as usize;
                self.atom(n, false)
            }
            SMALL_TUPLE_EXT => {
                let n = self.u8()? as usize;
                self.seq(n, depth).map(Term::Tuple)
            }
            LARGE_TUPLE_EXT => {
                let n = self.u32()?;
                self.seq(n, depth).map(Term::Tuple)
            }
            NIL_EXT => Ok(Term::List(vec![])),
            STRING_EXT => {
                let n = self.u16()?;
                let bytes = self.take(n)?;
                Ok(Term::List(
                    bytes.iter().map(|&b| Term::Integer(b as i64)).collect(),
                ))
            }
            LIST_EXT => {
                let n = self.u32()?;
                let items = self.seq(n, depth)?;
                if self.u8()? != NIL_EXT {
                    return self.fail(self.pos - 1, "improper lists are not supported");
                }
                Ok(Term::List(items))
            }
            BINARY_EXT => {
                let n = self.u32()?;
                Ok(Term::Binary(self.take(n)?.to_vec()))
            }
            MAP_EXT => {
                let n = self.u32()?;
                let n = self.count(n, 2)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.term(depth + 1)?;
                    let v = self.term(depth + 1)?;
                    entries.push((k, v));
                }
                Ok(Term::Map(entries))
            }
            tag => self.fail(at, &format!("unsupported term tag {tag}")),
        }
    }

    fn seq(&mut self, n: usize, depth: usize) -> Result<Vec<Term>, DecodeError> {
        let n = self.count(n, 1)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.term(depth + 1)?);
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected bytes are those `term_to_binary/1` gives on OTP 25.
    #[test]
    fn small_terms_match_otp25() {
        let t = Term::tuple(vec![
            Term::atom("ok"),
            Term::string("ab"),
            Term::List(vec![]),
            Term::Integer(300),
            Term::Integer(-1),
        ]);
        assert_eq!(
            encode(&t, AtomEncoding::Latin1),
            vec![
                131, 104, 5, 100, 0, 2, b'o', b'k', 107, 0, 2, b'a', b'b', 106, 98, 0, 0, 1, 44,
                98, 255, 255, 255, 255
            ]
        );
        assert_eq!(
            encode(&Term::atom("ok"), AtomEncoding::Utf8),
            vec![131, 119, 2, b'o', b'k']
        );
    }

    #[test]
    fn lists_with_large_codes_are_list_ext() {
        let t = Term::string("\u{263A}");
        assert_eq!(
            encode(&t, AtomEncoding::Latin1),
            vec![131, 108, 0, 0, 0, 1, 98, 0, 0, 0x26, 0x3A, 106]
        );
    }

    #[test]
    fn decode_inverts_encode() {
        let t = Term::tuple(vec![
            Term::atom("script"),
            Term::string("x\u{263A}"),
            Term::Integer(-(1 << 40)),
            Term::Integer(i64::MIN),
            Term::Float(-0.5),
            Term::Binary(b"ab".to_vec()),
            Term::Map(vec![(Term::atom("k"), Term::List(vec![]))]),
            Term::atom("\u{e9}t\u{e9}"),
        ]);
        for enc in [AtomEncoding::Latin1, AtomEncoding::Utf8] {
            assert_eq!(decode(&encode(&t, enc)).unwrap(), t);
        }
    }

    #[test]
    fn decode_rejects_hostile_input() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[131, 108, 255, 255, 255, 255])
            .unwrap_err()
            .message
            .contains("larger"));
        assert!(decode(&[131, 104, 1]).is_err());
        assert!(decode(&[131, 98, 0, 0])
            .unwrap_err()
            .message
            .contains("truncated"));
        assert!(decode(&[131, 97, 1, 0])
            .unwrap_err()
            .message
            .contains("trailing"));
        let mut deep = vec![131];
        deep.extend(std::iter::repeat_n([104u8, 1], 10_000).flatten());
        assert!(decode(&deep).unwrap_err().message.contains("deeply"));
    }

    #[test]
    fn big_integers() {
        assert_eq!(
            encode(&Term::Integer(-(1 << 40)), AtomEncoding::Latin1),
            vec![131, 110, 6, 1, 0, 0, 0, 0, 0, 1]
        );
    }
}
