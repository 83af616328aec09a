//! `brokerlings answers NAME`: grades a learner's quiz answers file, explaining
//! every wrong answer. The file format is documented in the `quiz` crate and in the
//! book's "Quizzes and your answers" page.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use quiz::{Answers, Quiz, Verdict};
use workbook::Info;

pub fn run(name: &str, file: Option<PathBuf>, template: bool) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let root = workbook::find_root(&cwd)
        .context("not inside a brokerlings checkout (no info.toml here or above)")?;
    let info = Info::load(&root)?;
    if info.exercise(name).is_none() {
        let known: Vec<&str> = info.exercises.iter().map(|e| e.name.as_str()).collect();
        bail!("unknown exercise `{name}`; known: {}", known.join(", "));
    }
    let quiz = Quiz::load(&workbook::quizzes_dir(&root), name)?;
    let file = file.unwrap_or_else(|| root.join("answers").join(format!("{name}.toml")));
    if template {
        if file.exists() {
            bail!(
                "{} already exists; not overwriting your answers",
                file.display()
            );
        }
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&file, quiz.template())
            .with_context(|| format!("writing {}", file.display()))?;
        println!(
            "Wrote {}: fill in your answers, then run this command without --template.",
            file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !file.exists() {
        bail!(
            "no answers file at {}: write one, or start from `cargo run -p brokerlings -- answers {name} --template`",
            file.display()
        );
    }
    let answers = Answers::load(&file)?;
    let unknown: Vec<&String> = answers
        .0
        .keys()
        .filter(|slug| quiz.question(slug).is_none())
        .collect();
    for slug in &unknown {
        println!("? {slug}: no question of {name} has this slug");
    }
    let graded = quiz.check(&answers);
    let (mut right, mut wrong, mut missing) = (0, 0, 0);
    for grade in &graded {
        let q = grade.question;
        match &grade.verdict {
            Verdict::Right => {
                right += 1;
                println!("✓ {}", q.slug);
            }
            Verdict::Wrong(given) => {
                wrong += 1;
                println!(
                    "✗ {}: you answered \"{given}\"; the answer is \"{}\"",
                    q.slug, q.key
                );
                for line in q.explanation.lines() {
                    println!("    {line}");
                }
            }
            Verdict::Missing => {
                missing += 1;
                println!("· {}: not answered yet", q.slug);
            }
        }
    }
    println!(
        "{right} of {} right, {wrong} wrong, {missing} not answered.",
        graded.len()
    );
    Ok(if right == graded.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
