//! `cargo xtask repeat`: chapters' checks (run against their solutions) and proofs,
//! together in one cargo invocation, several times in a row; a line per run, so a
//! flaky test shows itself before CI or a room finds it.

use std::path::Path;

use anyhow::{Result, bail};
use workbook::Exercise;

/// The cargo arguments that test these chapters' solutions and proofs together.
fn arguments(exercises: &[&Exercise]) -> Vec<String> {
    let mut args = vec!["test".to_string()];
    for exercise in exercises {
        args.extend(["-p".into(), exercise.solution_package()]);
    }
    args.extend([
        "-p".into(),
        "proofs".into(),
        "--test".into(),
        "check".into(),
    ]);
    for exercise in exercises {
        args.extend(["--test".into(), exercise.name.clone()]);
    }
    args
}

/// Runs them `runs` times; fails unless every run passed and ran something.
pub fn run(root: &Path, exercises: &[&Exercise], runs: u32) -> Result<()> {
    let args = arguments(exercises);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    println!("Building: cargo {} --no-run", args.join(" "));
    let mut build = args.clone();
    build.push("--no-run");
    if let Err(why) = crate::cargo::succeeds(root, &build) {
        bail!("the chapters do not build: {why}");
    }
    let mut green = 0;
    let mut seconds = Vec::new();
    for n in 1..=runs {
        let run = crate::cargo::run(root, &args).map_err(anyhow::Error::msg)?;
        let tally = run.tally();
        let ok = run.success && tally.failed == 0 && tally.passed > 0;
        println!(
            "run {n:>2}/{runs}: {} {:>3} passed, {} failed, {} ignored, {:6.1} s",
            if ok { "ok    " } else { "FAILED" },
            tally.passed,
            tally.failed,
            tally.ignored,
            run.seconds
        );
        if ok {
            green += 1;
        } else {
            println!("        {}", run.why());
        }
        seconds.push(run.seconds);
    }
    seconds.sort_by(f64::total_cmp);
    println!(
        "{green} of {runs} runs green; seconds per run: min {:.1}, median {:.1}, max {:.1}",
        seconds[0],
        seconds[seconds.len() / 2],
        seconds[seconds.len() - 1]
    );
    if green != runs {
        bail!("{} of {runs} runs failed", runs - green);
    }
    Ok(())
}
