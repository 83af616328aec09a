//! `quiz NAME`: the chapter's quiz in the terminal, from the same TOML as the book.
//! Each answer is explained at once and recorded in `answers/NAME.toml` (the file
//! `answers NAME` checks).

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use quiz::{Answers, Given, Key, Question, Quiz};

/// Asks every question of `name`'s quiz, explains each answer, saves them all.
pub fn run(name: &str) -> Result<ExitCode> {
    let workbook = super::workbook()?;
    workbook.exercise(name)?;
    let quiz = Quiz::load(&workbook.quizzes_dir(), name)?;
    let file = workbook.root.join("answers").join(format!("{name}.toml"));
    let mut answers = if file.exists() {
        Answers::load(&file)?
    } else {
        Answers::default()
    };
    let stdin = std::io::stdin();
    let mut lines = stdin
        .lock()
        .lines()
        .map(|l| l.context("reading your answer"));
    let total = quiz.questions.len();
    println!(
        "Quiz of {name}: {total} questions. Your answers go to {}.",
        file.display()
    );
    let mut right = 0;
    for (number, question) in quiz.questions.iter().enumerate() {
        println!("\n{}/{total}. {}", number + 1, question.prompt);
        let given = ask(question, &mut lines)?;
        if question.accepts(&given) {
            right += 1;
            println!("   ✓ right");
        } else {
            println!("   ✗ the answer is: {}", key_text(&question.key));
        }
        for line in question.explanation.lines() {
            println!("   {line}");
        }
        answers.0.insert(question.slug.clone(), given);
    }
    save(&file, &answers)?;
    println!(
        "\n{right} of {total} right. Answers saved to {}.",
        file.display()
    );
    Ok(if right == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Shows `question`'s options (if any) and reads an answer until one is valid.
fn ask(
    question: &Question,
    lines: &mut impl Iterator<Item = Result<String>>,
) -> Result<Given> {
    let mut options = question.options.clone();
    options.sort();
    for (i, option) in options.iter().enumerate() {
        println!("   {}) {option}", i + 1);
    }
    loop {
        print!(
            "{} ",
            if options.is_empty() {
                "answer>"
            } else {
                "number>"
            }
        );
        std::io::stdout().flush()?;
        let Some(line) = lines.next() else {
            return Err(brokerlings::errors::CliError::QuizInputEnded.into());
        };
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if options.is_empty() {
            return Ok(Given::One(line.to_string()));
        }
        match line
            .parse::<usize>()
            .ok()
            .and_then(|i| options.get(i.wrapping_sub(1)))
        {
            Some(option) => return Ok(Given::One(option.clone())),
            None => println!("   type a number from 1 to {}", options.len()),
        }
    }
}

fn key_text(key: &Key) -> String {
    match key {
        Key::Text { answer, .. } => answer.clone(),
        Key::Choice(choices) => choices.join(" + "),
    }
}

fn save(file: &Path, answers: &Answers) -> Result<()> {
    let mut text = String::from(
        "# Your quiz answers (written by `brokerlings quiz`; `brokerlings answers` checks them)\n",
    );
    for (slug, given) in &answers.0 {
        match given {
            Given::One(one) => {
                text.push_str(&format!("{slug} = {}\n", toml::Value::String(one.clone())))
            }
            Given::Many(many) => {
                let list: Vec<String> = many
                    .iter()
                    .map(|m| toml::Value::String(m.clone()).to_string())
                    .collect();
                text.push_str(&format!("{slug} = [{}]\n", list.join(", ")));
            }
        }
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))
}
