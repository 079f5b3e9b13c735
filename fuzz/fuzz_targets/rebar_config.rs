//! The `rebar.config` reader (its `relx` section and profiles) never
//! panics, hangs or exhausts memory, whatever the file holds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use relpack::config::rebar;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("relpack-fuzz-rebar-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    if std::fs::write(dir.join("rebar.config"), data).is_err() {
        return;
    }
    // The first release, then the same one asked for by name.
    if let Ok(Some(release)) = rebar::read(&dir, "prod", None) {
        let _ = rebar::read(&dir, "prod", Some(&release.name));
    }
});
