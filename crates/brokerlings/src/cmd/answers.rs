//! `answers NAME [--file F] [--template]`: grades a learner's quiz answers file,
//! explaining every wrong answer. The file format is documented in the `quiz` crate
//! and in the book's "Quizzes and your answers" page.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use brokerlings::errors::CliError;
use quiz::{Answers, Quiz, Verdict};

/// Grades `file` (default `answers/NAME.toml`), or writes a template to fill in.
pub fn run(name: &str, file: Option<PathBuf>, template: bool) -> Result<ExitCode> {
    let workbook = super::workbook()?;
    workbook.exercise(name)?;
    let quiz = Quiz::load(&workbook.quizzes_dir(), name)?;
    let file = file
        .unwrap_or_else(|| workbook.root.join("answers").join(format!("{name}.toml")));
    if template {
        return write_template(&quiz, &file);
    }
    if !file.exists() {
        return Err(CliError::NoAnswersFile {
            path: file,
            name: name.into(),
        }
        .into());
    }
    let answers = Answers::load(&file)?;
    for slug in answers
        .0
        .keys()
        .filter(|slug| quiz.question(slug).is_none())
    {
        println!("? {slug}: no question of {name} has this slug");
    }
    Ok(if grade(&quiz, &answers) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes every question with an empty answer; never overwrites a file.
fn write_template(quiz: &Quiz, file: &Path) -> Result<ExitCode> {
    if file.exists() {
        return Err(CliError::AnswersExist {
            path: file.to_path_buf(),
        }
        .into());
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(file, quiz.template())
        .with_context(|| format!("writing {}", file.display()))?;
    println!(
        "Wrote {}: fill in your answers, then run this command without --template.",
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints a verdict per question (with the explanation of each wrong one) and a
/// summary; returns whether every answer is right.
fn grade(quiz: &Quiz, answers: &Answers) -> bool {
    let graded = quiz.check(answers);
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
    right == graded.len()
}
