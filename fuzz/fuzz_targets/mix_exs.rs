//! The `mix.exs` reader (native evaluator only: `elixir` is never run)
//! never panics, hangs or exhausts memory, whatever the file holds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use relpack::config::mix_project::MixProject;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("relpack-fuzz-mix-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("mix.exs");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let _ = MixProject::read_file(&path, "prod", false);
});
