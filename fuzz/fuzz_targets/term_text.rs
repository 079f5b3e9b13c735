//! The Erlang term reader never panics, and what the writer prints of a
//! term it read reads back to the same term.
#![no_main]
use libfuzzer_sys::fuzz_target;
use relpack::formats::term::{parse_consult, to_consult_text};

fuzz_target!(|data: &[u8]| {
    if let Ok(terms) = parse_consult(data) {
        let text = to_consult_text(&terms);
        let again = parse_consult(text.as_bytes()).expect("written terms must parse");
        // NaN cannot come out of the reader, so equality is exact.
        assert_eq!(again, terms, "round trip changed the terms of {text}");
    }
});
