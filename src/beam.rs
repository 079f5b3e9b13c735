//! Stripping `.beam` files to the chunks a running system needs, as
//! `mix release` does (`strip_beams`, Distillery's `strip_debug_info`):
//! debug info, docs and compile-time metadata go, `Attr` stays (libraries
//! read module attributes at run time).
//!
//! The result is what `beam_lib:build_module/1` writes for the chunks
//! `beam_lib:chunks/3` returns in this order, byte for byte.

/// The chunks kept, in the order they are written (Elixir 1.14's list).
const KEEP: [&[u8; 4]; 10] = [
    b"Atom", b"AtU8", b"Attr", b"Code", b"StrT", b"ImpT", b"ExpT", b"FunT", b"LitT", b"Line",
];

/// The stripped bytes of a BEAM file, or `None` if `bytes` is not an
/// uncompressed BEAM file (it is then shipped as it is).
pub fn strip(bytes: &[u8]) -> Option<Vec<u8>> {
    let header = bytes.get(..12)?;
    if &header[..4] != b"FOR1" || &header[8..12] != b"BEAM" {
        return None;
    }
    let declared = u32::from_be_bytes(header[4..8].try_into().ok()?) as usize;
    let body = bytes.get(12..8 + declared)?;
    let mut chunks: Vec<(&[u8], &[u8])> = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let id = rest.get(..4)?;
        let size = u32::from_be_bytes(rest.get(4..8)?.try_into().ok()?) as usize;
        let data = rest.get(8..8 + size)?;
        chunks.push((id, data));
        rest = rest.get((8 + size.div_ceil(4) * 4).min(rest.len())..)?;
    }
    let mut out_body = Vec::new();
    for id in KEEP {
        if let Some((_, data)) = chunks.iter().find(|(c, _)| *c == id.as_slice()) {
            out_body.extend_from_slice(id.as_slice());
            out_body.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out_body.extend_from_slice(data);
            out_body.resize(out_body.len().div_ceil(4) * 4, 0);
        }
    }
    let mut out = Vec::with_capacity(out_body.len() + 12);
    out.extend_from_slice(b"FOR1");
    out.extend_from_slice(&((out_body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(b"BEAM");
    out.extend_from_slice(&out_body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beam(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (id, data) in chunks {
            body.extend_from_slice(id.as_slice());
            body.extend_from_slice(&(data.len() as u32).to_be_bytes());
            body.extend_from_slice(data);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        let mut out = b"FOR1".to_vec();
        out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        out.extend_from_slice(b"BEAM");
        out.extend(body);
        out
    }

    #[test]
    fn keeps_runtime_chunks_in_beam_lib_order() {
        let input = beam(&[
            (b"Code", b"c"),
            (b"Dbgi", b"debug"),
            (b"AtU8", b"atoms"),
            (b"Attr", b"at"),
        ]);
        let want = beam(&[(b"AtU8", b"atoms"), (b"Attr", b"at"), (b"Code", b"c")]);
        assert_eq!(strip(&input).unwrap(), want);
    }

    #[test]
    fn leaves_what_is_not_a_beam_file() {
        assert_eq!(strip(b"\x1f\x8b compressed"), None);
        assert_eq!(strip(b"FOR1\0\0\0\x04BEA"), None);
        let mut truncated = beam(&[(b"Code", b"code")]);
        truncated.truncate(18);
        assert_eq!(strip(&truncated), None);
    }
}
