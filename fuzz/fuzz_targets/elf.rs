//! The ELF `DT_NEEDED` reader never panics on truncated or hostile files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = relpack::formats::elf::needed_libraries(data);
});
