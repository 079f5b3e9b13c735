//! The ETF decoder never panics on hostile `.boot` bytes, and encoding
//! what it decoded decodes to the same term (for both atom encodings).
#![no_main]
use libfuzzer_sys::fuzz_target;
use relpack::formats::etf::{decode, encode, AtomEncoding};

fuzz_target!(|data: &[u8]| {
    if let Ok(term) = decode(data) {
        for enc in [AtomEncoding::Latin1, AtomEncoding::Utf8] {
            let bytes = encode(&term, enc);
            let back = decode(&bytes).expect("encoded terms must decode");
            let same = match (&back, &term) {
                // NaN floats are not equal to themselves; compare bits.
                _ if format!("{back:?}") == format!("{term:?}") => true,
                _ => back == term,
            };
            assert!(same, "round trip changed {term:?} into {back:?}");
        }
    }
});
