//! `.app` validation never panics, whatever the file holds.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = relpack::formats::app::AppSpec::parse(data, std::path::Path::new("fuzz.app"), "fuzz");
});
