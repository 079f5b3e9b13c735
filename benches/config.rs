//! How long reading a project's configuration takes: natively (what every
//! `relpack build` pays; the target is under 5 ms) and through the
//! `elixir` fallback (for code beyond the native subset).
//!
//! `cargo bench --bench config`: prints the median per fixture and fails if
//! a native read takes 5 ms or more.

use std::path::Path;
use std::time::{Duration, Instant};

use relpack::config::{app_config, load, Context, LoadOptions};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = Duration::from_millis(5);
    let mut over = Vec::new();
    // mix.exs + config.exs/prod.exs + runtime.exs; mix.exs + Distillery
    // rel/config.exs + config.exs.
    for fixture in ["configured", "distillery", "hello"] {
        let dir = repo.join("fixtures").join(fixture);
        let t = time(200, || {
            load(&LoadOptions {
                dir: &dir,
                env: "prod",
                name: None,
                use_elixir: false,
                every_release: false,
            })
            .expect("fixture config reads");
        });
        println!(
            "native config read, {fixture}: {:.3} ms",
            t.as_secs_f64() * 1e3
        );
        if t >= target {
            over.push(fixture);
        }
    }
    let dir = repo.join("fixtures").join("configured");
    let context = Context {
        env: "prod".into(),
        target: "host".into(),
        dir: dir.clone(),
        project: None,
    };
    let main = dir.join("config").join("config.exs");
    let t = time(5, || {
        app_config::read_with_elixir(&main, &context).expect("elixir evaluates the config");
    });
    println!(
        "elixir fallback (Config.Reader via `elixir -e`), configured: {:.0} ms",
        t.as_secs_f64() * 1e3
    );
    assert!(
        over.is_empty(),
        "native config read took 5 ms or more for {over:?}"
    );
}
