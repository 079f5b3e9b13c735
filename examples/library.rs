//! relpack as a library: plan a release, look at the plan, write it, check
//! the result and print the report as JSON.
//!
//! ```sh
//! cargo run --example library -- path/to/compiled/mix/project [OUT_DIR]
//! ```

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let project = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let mut options = relpack::BuildOptions::new(&project);
    // Every choice is made before planning: the plan is checked whole (an
    // output directory overlapping the inputs is refused) and cannot be
    // changed afterwards.
    options.output_dir = args.next().map(PathBuf::from);
    options.tar = Some(false);
    options.mtime = Some(1_700_000_000);
    options.jobs = Some(2);
    // Another thread may stop the build with `cancel.cancel(code)`.
    let cancel = options.cancel.clone();

    let plan = relpack::plan(&options)?;
    println!("{} {} will hold:", plan.name(), plan.version());
    for app in plan.apps() {
        println!("  {:<12} {:<8} {}", app.name(), app.vsn(), app.start_type());
    }
    let inspection = relpack::tools::inspect::inspect(&plan)?;
    println!("target packages: {}", inspection.packages().join(" "));

    let report = relpack::write(&plan)?;
    assert!(cancel.cancelled().is_none());
    let check = relpack::tools::check::check(&report.release_dir)?;
    if !check.ok() {
        return Err(check.problems.join("; ").into());
    }
    println!(
        "checked: {} applications, {} modules",
        check.apps, check.modules
    );
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
