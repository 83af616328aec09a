//! The terminal quiz as a learner sees it: the questions, the options, and the
//! explanation after each answer, from the same TOML as the book. The whole
//! session is under snapshot review.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A scratch workbook holding the real `info.toml` and chapter 1's quiz, so the
/// answers the quiz saves never touch the checkout's own `answers/`.
fn scratch() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir =
        std::env::temp_dir().join(format!("brokerlings-quiz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("book/quizzes")).expect("temp dir");
    std::fs::copy(root.join("info.toml"), dir.join("info.toml")).expect("info.toml");
    std::fs::copy(
        root.join("book/quizzes/01_first_contact.toml"),
        dir.join("book/quizzes/01_first_contact.toml"),
    )
    .expect("the quiz");
    dir
}

/// Answering `1` to every question: each is shown with its options, marked right
/// or wrong, and explained; the answers are saved.
#[test]
fn the_quiz_explains_every_answer() {
    let dir = scratch();
    let mut quiz = Command::new(env!("CARGO_BIN_EXE_brokerlings"))
        .args(["quiz", "01_first_contact"])
        .env("BROKERLINGS_ROOT", &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("brokerlings runs");
    let answers = "1\n".repeat(40);
    quiz.stdin
        .take()
        .expect("stdin is piped")
        .write_all(answers.as_bytes())
        .expect("answers written");
    let output = quiz.wait_with_output().expect("the quiz ends");
    let stdout = String::from_utf8_lossy(&output.stdout)
        .replace(&dir.display().to_string(), "[workbook]");
    assert!(
        dir.join("answers/01_first_contact.toml").exists(),
        "answers saved"
    );
    let _ = std::fs::remove_dir_all(&dir);
    insta::assert_snapshot!(stdout);
}
