//! relpack as a library: plan a release, look at and adjust the plan,
//! write it, and check the result.
//!
//! ```sh
//! cargo run --example library -- path/to/compiled/mix/project [OUT_DIR]
//! ```

use std::path::PathBuf;

fn main() -> Result<(), relpack::Error> {
    let mut args = std::env::args().skip(1);
    let project = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let mut options = relpack::BuildOptions::new(&project);
    options.tar = false;

    let mut plan = relpack::plan(&options)?;
    if let Some(out) = args.next() {
        plan.output_dir = PathBuf::from(out);
    }
    println!("{} {} will hold:", plan.name, plan.version);
    for app in &plan.apps {
        println!("  {:<12} {:<8} {}", app.name(), app.vsn(), app.start_type);
    }
    let inspection = relpack::inspect::inspect(&plan)?;
    println!("target packages: {}", inspection.packages().join(" "));

    let report = relpack::write(&plan)?;
    let check = relpack::check::check(&report.release_dir)?;
    if !check.ok() {
        return Err(relpack::Error::Option(check.problems.join("; ")));
    }
    println!(
        "wrote {} and checked it: {} applications, {} modules",
        report.release_dir.display(),
        check.apps,
        check.modules
    );
    Ok(())
}
