//! Raw deflate pieces that join into one stream, as pigz makes them, but
//! compressed with libdeflate: at the levels relpack uses it is about
//! twice as fast as zlib for a smaller output.
//!
//! libdeflate compresses a whole buffer into a complete stream whose last
//! block is marked final. To let another piece follow, [`joinable`] walks
//! the stream's blocks to find that last block, clears its final bit, and
//! ends the piece as zlib's sync flush does: an empty stored block, which
//! also brings the piece to a byte boundary. Walking a block means decoding
//! its Huffman codes (without producing output), which costs a few percent
//! of the compression time.

use std::cell::RefCell;
use std::fmt;

use libdeflater::{CompressionLvl, Compressor};

/// A deflate stream that could not be walked: libdeflate wrote something
/// this reader does not understand, which would be a bug.
#[derive(Debug)]
pub struct BadStream(&'static str);

impl fmt::Display for BadStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed deflate stream: {}", self.0)
    }
}

impl std::error::Error for BadStream {}

/// Compresses `input` at `level` (libdeflate's 1 to 12) into a raw
/// deflate piece that is not final and ends on a byte boundary, so that
/// pieces concatenate into one stream.
pub fn compress(input: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    // Each thread keeps its compressor and output buffer: allocating them
    // for every piece costs page faults on fresh memory each time.
    thread_local! {
        static SCRATCH: RefCell<Option<(i32, Compressor, Vec<u8>)>> = const { RefCell::new(None) };
    }
    SCRATCH.with_borrow_mut(|scratch| {
        let (_, mut compressor, mut buf) = match scratch.take() {
            Some(kept) if kept.0 == level => kept,
            _ => {
                let lvl = CompressionLvl::new(level)
                    .map_err(|_| std::io::Error::other("invalid deflate level"))?;
                (level, Compressor::new(lvl), Vec::new())
            }
        };
        buf.resize(compressor.deflate_compress_bound(input.len()), 0);
        let n = compressor
            .deflate_compress(input, &mut buf)
            .map_err(std::io::Error::other)?;
        // Room for the sync marker that joinable() appends.
        let mut out = Vec::with_capacity(n + 6);
        out.extend_from_slice(&buf[..n]);
        *scratch = Some((level, compressor, buf));
        joinable(&mut out).map_err(std::io::Error::other)?;
        Ok(out)
    })
}

/// Turns a complete raw deflate stream into a joinable piece, in place.
pub fn joinable(stream: &mut Vec<u8>) -> Result<(), BadStream> {
    let (last_header, end) = walk(stream)?;
    stream[last_header / 8] &= !(1 << (last_header % 8));
    // The sync marker: three zero bits (not final, stored), zero padding
    // to the byte boundary, then LEN 0 and NLEN 0xffff.
    stream.truncate(end.div_ceil(8));
    if end % 8 != 0 {
        let last = stream.len() - 1;
        stream[last] &= (1u8 << (end % 8)) - 1;
    }
    stream.resize((end + 3).div_ceil(8), 0);
    stream.extend_from_slice(&[0, 0, 0xff, 0xff]);
    Ok(())
}

/// Bit positions of the final block's header and of the stream's end.
fn walk(stream: &[u8]) -> Result<(usize, usize), BadStream> {
    let mut bits = Bits::new(stream);
    let mut litlen = Table::default();
    let mut dist = Table::default();
    loop {
        let header = bits.pos();
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => {
                bits.seek(bits.pos().div_ceil(8))?;
                let len = bits.take(16)? as usize;
                if bits.take(16)? as usize != !len & 0xffff {
                    return Err(BadStream("stored block length"));
                }
                bits.seek(bits.pos() / 8 + len)?;
            }
            1 => {
                litlen.build(&FIXED_LITLEN)?;
                dist.build(&[5; 30])?;
                skip_codes(&mut bits, &litlen, &dist)?;
            }
            2 => {
                read_dynamic_tables(&mut bits, &mut litlen, &mut dist)?;
                skip_codes(&mut bits, &litlen, &dist)?;
            }
            _ => return Err(BadStream("reserved block type")),
        }
        if last {
            let end = bits.pos();
            return match end <= stream.len() * 8 {
                true => Ok((header, end)),
                false => Err(BadStream("truncated")),
            };
        }
    }
}

const FIXED_LITLEN: [u8; 288] = {
    let mut lengths = [8u8; 288];
    let mut i = 144;
    while i < 256 {
        lengths[i] = 9;
        i += 1;
    }
    while i < 280 {
        lengths[i] = 7;
        i += 1;
    }
    lengths
};

/// Extra bits after length symbols 257..=285.
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];

/// The order in which code-length code lengths are stored.
const CLEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

fn read_dynamic_tables(
    bits: &mut Bits,
    litlen: &mut Table,
    dist: &mut Table,
) -> Result<(), BadStream> {
    let hlit = bits.take(5)? as usize + 257;
    let hdist = bits.take(5)? as usize + 1;
    let hclen = bits.take(4)? as usize + 4;
    let mut clen_lengths = [0u8; 19];
    for &i in &CLEN_ORDER[..hclen] {
        clen_lengths[i] = bits.take(3)? as u8;
    }
    let mut clen = Table::default();
    clen.build(&clen_lengths)?;
    let mut lengths = [0u8; 286 + 30];
    let mut i = 0;
    while i < hlit + hdist {
        if bits.count < 32 {
            bits.refill()?;
        }
        let (repeat, value) = match clen.decode(bits)? {
            sym @ 0..=15 => (1, sym as u8),
            16 if i > 0 => (3 + bits.take(2)? as usize, lengths[i - 1]),
            17 => (3 + bits.take(3)? as usize, 0),
            18 => (11 + bits.take(7)? as usize, 0),
            _ => return Err(BadStream("code lengths")),
        };
        let to = i + repeat;
        lengths
            .get_mut(i..to)
            .ok_or(BadStream("too many code lengths"))?
            .fill(value);
        i = to;
    }
    litlen.build(&lengths[..hlit])?;
    dist.build(&lengths[hlit..hlit + hdist])
}

/// Reads a block's symbols up to its end-of-block code. This is most of
/// the walk's time, so refills are few: literals (up to 15 bits each) are
/// taken while the buffer holds them, and one refill serves a length code,
/// its extra bits, a distance code and its extra bits (48 bits at most).
fn skip_codes(bits: &mut Bits, litlen: &Table, dist: &Table) -> Result<(), BadStream> {
    loop {
        if bits.count < 48 {
            bits.refill()?;
        }
        let mut sym = litlen.decode(bits)?;
        while sym < 256 && bits.count >= MAX_BITS as u32 {
            sym = litlen.decode(bits)?;
        }
        match sym {
            0..=255 => {}
            256 => return Ok(()),
            257..=285 => {
                if bits.count < 33 {
                    bits.refill()?;
                }
                bits.consume(u32::from(LENGTH_EXTRA[sym as usize - 257]));
                let d = dist.decode(bits)?;
                if d >= 30 {
                    return Err(BadStream("distance symbol"));
                }
                bits.consume((u32::from(d) / 2).saturating_sub(1));
            }
            _ => return Err(BadStream("length symbol")),
        }
    }
}

/// A deflate bit stream, read least significant bit first through a
/// 64-bit buffer refilled a word at a time.
struct Bits<'a> {
    data: &'a [u8],
    /// The next byte to load into `buf`.
    next: usize,
    buf: u64,
    /// How many bits of `buf` are loaded.
    count: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits {
            data,
            next: 0,
            buf: 0,
            count: 0,
        }
    }

    /// How many bits have been consumed.
    fn pos(&self) -> usize {
        self.next * 8 - self.count as usize
    }

    /// Continues at byte `byte`, dropping what is loaded.
    fn seek(&mut self, byte: usize) -> Result<(), BadStream> {
        if byte > self.data.len() {
            return Err(BadStream("truncated"));
        }
        (self.next, self.buf, self.count) = (byte, 0, 0);
        Ok(())
    }

    /// Loads at least 56 bits; past the end of the data reads zeros, but
    /// not far: a stream that needs more is truncated.
    fn refill(&mut self) -> Result<(), BadStream> {
        if let Some(word) = self
            .data
            .get(self.next..)
            .and_then(|r| r.first_chunk::<8>())
        {
            self.buf |= u64::from_le_bytes(*word) << self.count;
            self.next += (63 - self.count as usize) / 8;
            self.count |= 56;
            return Ok(());
        }
        while self.count <= 56 {
            if self.next >= self.data.len() + 8 {
                return Err(BadStream("truncated"));
            }
            let byte = self.data.get(self.next).copied().unwrap_or(0);
            self.buf |= u64::from(byte) << self.count;
            self.next += 1;
            self.count += 8;
        }
        Ok(())
    }

    /// Consumes `n` loaded bits.
    fn consume(&mut self, n: u32) {
        self.buf >>= n;
        self.count -= n;
    }

    /// Reads `n` (at most 32) bits.
    fn take(&mut self, n: u32) -> Result<u64, BadStream> {
        if self.count < 32 {
            self.refill()?;
        }
        let value = self.buf & ((1 << n) - 1);
        self.consume(n);
        Ok(value)
    }
}

const MAX_BITS: usize = 15;
/// Codes up to this long are decoded with one table lookup; longer ones,
/// which are rare, bit by bit.
const FAST_BITS: usize = 10;

/// A canonical Huffman code: a lookup table indexed by the next
/// `FAST_BITS` bits (each entry `symbol << 4 | length`, 0 for a longer
/// code), and the code's length counts and symbols in code order for the
/// longer codes.
struct Table {
    fast: [u16; 1 << FAST_BITS],
    count: [u16; MAX_BITS + 1],
    symbols: Vec<u16>,
}

impl Default for Table {
    fn default() -> Table {
        Table {
            fast: [0; 1 << FAST_BITS],
            count: [0; MAX_BITS + 1],
            symbols: Vec::new(),
        }
    }
}

impl Table {
    fn build(&mut self, lengths: &[u8]) -> Result<(), BadStream> {
        self.fast.fill(0);
        self.count = [0; MAX_BITS + 1];
        for &l in lengths {
            self.count[l as usize] += 1;
        }
        self.count[0] = 0;
        // Where each length's codes start, in code order and in value.
        let mut offset = [0usize; MAX_BITS + 2];
        let mut next = [0u32; MAX_BITS + 1];
        let mut code = 0u32;
        for len in 1..=MAX_BITS {
            offset[len + 1] = offset[len] + self.count[len] as usize;
            code = (code + u32::from(self.count[len - 1])) << 1;
            next[len] = code;
        }
        self.symbols.clear();
        self.symbols.resize(offset[MAX_BITS + 1], 0);
        for (sym, &len) in lengths.iter().enumerate() {
            let len = len as usize;
            if len == 0 {
                continue;
            }
            let code = next[len];
            next[len] += 1;
            if code >= 1 << len {
                return Err(BadStream("over-subscribed code"));
            }
            self.symbols[offset[len]] = sym as u16;
            offset[len] += 1;
            if len <= FAST_BITS {
                // Codes are sent most significant bit first.
                let reversed = (code as u16).reverse_bits() as usize >> (16 - len);
                let entry = (sym as u16) << 4 | len as u16;
                for slot in self.fast.iter_mut().skip(reversed).step_by(1 << len) {
                    *slot = entry;
                }
            }
        }
        Ok(())
    }

    /// Decodes a symbol from the loaded bits (at least 15 must be).
    #[inline]
    fn decode(&self, bits: &mut Bits) -> Result<u16, BadStream> {
        let entry = self.fast[bits.buf as usize & ((1 << FAST_BITS) - 1)];
        if entry != 0 {
            bits.consume(u32::from(entry & 15));
            return Ok(entry >> 4);
        }
        self.decode_long(bits)
    }

    /// Canonical decoding, bit by bit: the codes of each length are
    /// consecutive.
    #[cold]
    fn decode_long(&self, bits: &mut Bits) -> Result<u16, BadStream> {
        let peek = bits.buf;
        let (mut code, mut first, mut index) = (0i32, 0i32, 0usize);
        for len in 1..=MAX_BITS {
            code |= ((peek >> (len - 1)) & 1) as i32;
            let count = i32::from(self.count[len]);
            if code - first < count {
                bits.consume(len as u32);
                return Ok(self.symbols[index + (code - first) as usize]);
            }
            index += count as usize;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(BadStream("invalid code"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::DeflateDecoder;
    use std::io::Read;

    fn inflate(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        DeflateDecoder::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    /// Text-like, repetitive and random-looking inputs of many sizes, at
    /// levels that make stored, fixed and dynamic blocks.
    #[test]
    fn pieces_join_into_one_stream() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut random = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        };
        let text: Vec<u8> = (0..400_000u32)
            .flat_map(|i| format!("line {} of {}\n", i % 977, i / 13).into_bytes())
            .collect();
        let inputs = [
            Vec::new(),
            b"a".to_vec(),
            random(70_000),
            text[..1_000].to_vec(),
            text.clone(),
            vec![0; 1 << 20],
            [random(5_000), text[..50_000].to_vec()].concat(),
        ];
        for level in [1, 2, 6, 12] {
            let mut joined = Vec::new();
            for input in &inputs {
                joined.extend(compress(input, level).unwrap());
            }
            // A final empty fixed block ends the stream.
            joined.extend_from_slice(&[3, 0]);
            assert_eq!(inflate(&joined), inputs.concat(), "level {level}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &[0xffu8; 3][..],
            &[0x06],
            &[0x00, 0x05, 0x00, 0x00, 0x00],
            &[],
        ] {
            assert!(joinable(&mut bytes.to_vec()).is_err(), "{bytes:?}");
        }
    }
}
