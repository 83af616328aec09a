//! The learner's self-check, `brokerlings answers NAME`, run as a process on the
//! real chapter 1 quiz.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CHAPTER: &str = "01_first_contact";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn answers(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brokerlings"))
        .arg("answers")
        .args(args)
        .current_dir(root())
        .output()
        .expect("the brokerlings binary runs")
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("answers-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).expect("temp file");
    path
}

/// The key itself, written as a learner would: every answer right, exit 0.
fn all_right() -> String {
    let quiz =
        quiz::Quiz::load(&root().join("book/quizzes"), CHAPTER).expect("the quiz loads");
    quiz.questions
        .iter()
        .map(|q| format!("{} = {:?}\n", q.slug, q.key.to_string()))
        .collect()
}

/// Every answer right: each question is ticked and the command succeeds.
#[test]
fn right_answers_pass() {
    let file = scratch("right", &all_right());
    let output = answers(&[CHAPTER, "--file", file.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("16 of 16 right, 0 wrong, 0 not answered."),
        "{stdout}"
    );
}

/// A wrong answer is explained, and the command fails until it is fixed.
#[test]
fn a_wrong_answer_is_explained() {
    let text = all_right().replace(
        "new_group_reads_earlier_records = \"0\"",
        "new_group_reads_earlier_records = 10",
    );
    let file = scratch("wrong", &text);
    let output = answers(&[CHAPTER, "--file", file.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(
        stdout.contains(
            "✗ new_group_reads_earlier_records: you answered \"10\"; the answer is \"0\""
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("librdkafka's default is `latest`"),
        "the explanation is shown: {stdout}"
    );
}

/// A malformed answers file is one line on stderr and a failure, not a panic.
#[test]
fn a_malformed_answers_file_is_one_line() {
    let file = scratch("malformed", "reading_deletes_records = \n");
    let output = answers(&[CHAPTER, "--file", file.to_str().expect("utf-8 path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("is malformed"),
        "{stderr}"
    );
}

/// An unknown exercise name is one line that lists the known ones.
#[test]
fn an_unknown_exercise_is_one_line() {
    let output = answers(&["99_nope"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: unknown exercise `99_nope`; known: {CHAPTER}, "
        )),
        "{stderr}"
    );
}

/// `--template` never overwrites answers that exist.
#[test]
fn the_template_never_overwrites_answers() {
    let file = scratch("keep", "reading_deletes_records = \"No\"\n");
    let output = answers(&[
        CHAPTER,
        "--template",
        "--file",
        file.to_str().expect("utf-8 path"),
    ]);
    assert!(!output.status.success());
    assert_eq!(
        std::fs::read_to_string(&file).expect("still there"),
        "reading_deletes_records = \"No\"\n"
    );
}
