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

use crate::term::{sorted_entries, Term};

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
    fn big_integers() {
        assert_eq!(
            encode(&Term::Integer(-(1 << 40)), AtomEncoding::Latin1),
            vec![131, 110, 6, 1, 0, 0, 0, 0, 0, 1]
        );
    }
}
