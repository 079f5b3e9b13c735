//! The Elixir configuration readers (`config/*.exs` and Distillery's
//! `rel/config.exs`, native evaluator only) never panic, hang or exhaust
//! memory, whatever the file holds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use relpack::config::{app_config::AppConfig, distillery, elixir::Context};

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("relpack-fuzz-config-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("config.exs");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let context = Context::new(&dir, "prod");
    let _ = AppConfig::read_file(&path, &context, false);
    let _ = distillery::parse(&path, &context, false);
});
