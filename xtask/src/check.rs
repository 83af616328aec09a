//! `cargo xtask check`: keeps every chapter honest.
//!
//! Static checks read files only; run checks build and test crates against the lab.
//! Each finding names its culprit (a question id, a proof, a file and anchor, an
//! exercise), and the whole result is printed as one table.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use quiz::{Kind, Quiz};
use workbook::{Exercise, Info};

/// One row of the report.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was checked, e.g. "proofs".
    pub check: &'static str,
    /// What it was checked on, e.g. an exercise name.
    pub subject: String,
    /// `None` when it passed; else what is wrong.
    pub problem: Option<String>,
}

impl Row {
    pub(crate) fn ok(check: &'static str, subject: impl Into<String>) -> Row {
        Row {
            check,
            subject: subject.into(),
            problem: None,
        }
    }
    pub(crate) fn bad(
        check: &'static str,
        subject: impl Into<String>,
        problem: impl Into<String>,
    ) -> Row {
        Row {
            check,
            subject: subject.into(),
            problem: Some(problem.into()),
        }
    }
    pub(crate) fn from(
        check: &'static str,
        subject: impl Into<String>,
        problems: Vec<String>,
    ) -> Row {
        let problem = (!problems.is_empty()).then(|| problems.join("; "));
        Row {
            check,
            subject: subject.into(),
            problem,
        }
    }
}

/// The report: rows, printed as a table.
#[derive(Debug, Default)]
pub struct Report(pub Vec<Row>);

impl Report {
    /// Whether any row failed.
    pub fn failed(&self) -> bool {
        self.0.iter().any(|row| row.problem.is_some())
    }

    /// The problems, one line each, naming check and subject.
    pub fn problems(&self) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|r| {
                r.problem
                    .as_ref()
                    .map(|p| format!("{} {}: {p}", r.check, r.subject))
            })
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .0
            .iter()
            .map(|r| r.check.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let subject_width = self
            .0
            .iter()
            .map(|r| r.subject.len())
            .max()
            .unwrap_or(7)
            .max(7);
        writeln!(
            f,
            "{:<width$}  {:<subject_width$}  result",
            "check", "subject"
        )?;
        writeln!(f, "{}", "-".repeat(width + subject_width + 12))?;
        for row in &self.0 {
            let result = match &row.problem {
                None => "ok".to_string(),
                Some(problem) => format!("FAIL: {problem}"),
            };
            writeln!(
                f,
                "{:<width$}  {:<subject_width$}  {result}",
                row.check, row.subject
            )?;
        }
        let failed = self.0.iter().filter(|r| r.problem.is_some()).count();
        write!(f, "{} checks, {failed} failed", self.0.len())
    }
}

/// Checks that read files only: layout, quizzes, proofs, book includes, versions.
pub fn static_checks(root: &Path) -> Report {
    let mut report = Report::default();
    let info = match Info::load(root) {
        Ok(info) => info,
        Err(error) => {
            report
                .0
                .push(Row::bad("info.toml", "info.toml", error.to_string()));
            return report;
        }
    };
    report.0.push(Row::ok(
        "info.toml",
        format!("{} exercise(s)", info.exercises.len()),
    ));
    report.0.push(Row::from(
        "listed",
        "exercises/ solutions/ quizzes",
        unlisted(root, &info),
    ));
    for exercise in &info.exercises {
        report
            .0
            .push(Row::from("layout", &exercise.name, layout(root, exercise)));
        report.0.push(quiz_row(root, exercise));
        report
            .0
            .push(Row::from("proofs", &exercise.name, proofs(root, exercise)));
        report.0.push(Row::from(
            "speaker notes",
            &exercise.name,
            speaker_notes(root, exercise),
        ));
    }
    report.0.extend(crate::wrong::find(root, &info).1);
    report.0.push(Row::from(
        "includes",
        "book/src",
        includes(&root.join("book/src")),
    ));
    report.0.push(Row::from(
        "chapter links",
        "book/src, book/quizzes",
        chapter_references(root),
    ));
    report
        .0
        .push(Row::from("versions", "README, book", versions(root)));
    report.0.push(Row::from(
        "timings",
        "instructors' pages",
        crate::timings::problems(root),
    ));
    report
}

/// Folders and quizzes that info.toml does not list.
fn unlisted(root: &Path, info: &Info) -> Vec<String> {
    let listed: BTreeSet<&str> = info.exercises.iter().map(|e| e.name.as_str()).collect();
    let mut problems = Vec::new();
    for (dir, what) in [("exercises", "exercise"), ("solutions", "solution")] {
        for name in entries(&root.join(dir))
            .into_iter()
            .filter(|n| root.join(dir).join(n).is_dir())
        {
            if !listed.contains(name.as_str()) {
                problems.push(format!("{what} {dir}/{name} is not in info.toml"));
            }
        }
    }
    for file in entries(&workbook::quizzes_dir(root)) {
        if let Some(name) = file.strip_suffix(".toml")
            && !listed.contains(name)
        {
            problems.push(format!(
                "quiz book/quizzes/{file} belongs to no exercise in info.toml"
            ));
        }
    }
    problems
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The exercise's parts exist and agree.
fn layout(root: &Path, exercise: &Exercise) -> Vec<String> {
    let mut problems = Vec::new();
    let exercise_lib = exercise.exercise_dir(root).join("src/lib.rs");
    let solution_lib = exercise.solution_dir(root).join("src/lib.rs");
    for (path, what) in [
        (&exercise_lib, "exercise src/lib.rs"),
        (&solution_lib, "solution src/lib.rs"),
        (&exercise.checks(root), "checks tests/check.rs"),
        (&exercise.chapter_page(root), "chapter page"),
    ] {
        if !path.is_file() {
            problems.push(format!("missing {what} ({})", relative(root, path)));
        }
    }
    let stub = std::fs::read_to_string(&exercise_lib).unwrap_or_default();
    if !stub.contains("// TODO") || !stub.contains("todo!(") {
        problems
            .push("the exercise has no `// TODO:` with a `todo!()` to fill in".into());
    }
    let manifest = |dir: PathBuf| {
        std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default()
    };
    let exercise_manifest = manifest(exercise.exercise_dir(root));
    let solution_manifest = manifest(exercise.solution_dir(root));
    if !exercise_manifest.contains(&format!("name = \"{}\"", exercise.exercise_package()))
    {
        problems.push(format!(
            "the exercise package is not named {}",
            exercise.exercise_package()
        ));
    }
    if !solution_manifest.contains(&format!("name = \"{}\"", exercise.solution_package()))
    {
        problems.push(format!(
            "the solution package is not named {}",
            exercise.solution_package()
        ));
    }
    let checks_path = format!("../../exercises/{}/tests/check.rs", exercise.name);
    if !solution_manifest.contains(&checks_path) {
        problems.push(format!("the solution does not run the exercise's checks ([[test]] path = {checks_path:?})"));
    }
    let lib_name = |manifest: &str| {
        manifest.split("[lib]").nth(1).and_then(|lib| {
            lib.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("name = ")
                    .map(|n| n.trim_matches('"').to_string())
            })
        })
    };
    if lib_name(&exercise_manifest).is_none()
        || lib_name(&exercise_manifest) != lib_name(&solution_manifest)
    {
        problems.push("exercise and solution must have the same [lib] name".into());
    }
    if exercise.hints.is_empty() || exercise.hints.iter().any(|h| h.trim().is_empty()) {
        problems.push("info.toml gives it no hints (or an empty one)".into());
    }
    let summary =
        std::fs::read_to_string(root.join("book/src/SUMMARY.md")).unwrap_or_default();
    if !summary.contains(&format!("]({})", exercise.chapter)) {
        problems.push(format!(
            "book/src/SUMMARY.md does not list {}",
            exercise.chapter
        ));
    }
    problems
}

fn quiz_row(root: &Path, exercise: &Exercise) -> Row {
    match Quiz::load_file(&exercise.quiz(root)) {
        Err(error) => Row::bad("quiz", &exercise.name, error.to_string()),
        Ok(quiz) => {
            let mut problems = quiz.problems();
            let behavioural = quiz
                .questions
                .iter()
                .filter(|q| q.kind == Some(Kind::Behaviour))
                .count();
            if behavioural * 2 <= quiz.questions.len() {
                problems.push(format!(
                    "only {behavioural} of {} questions are behavioural; most must be",
                    quiz.questions.len()
                ));
            }
            let page =
                std::fs::read_to_string(exercise.chapter_page(root)).unwrap_or_default();
            if !page.contains(&format!("quizzes/{}.toml", exercise.name)) {
                problems.push(format!("{} does not embed the quiz", exercise.chapter));
            }
            let subject = format!(
                "{} ({} questions, {behavioural} behavioural)",
                exercise.name,
                quiz.questions.len()
            );
            Row::from("quiz", subject, problems)
        }
    }
}

/// Every behavioural question has exactly one proof, and every proof a question.
pub fn proofs(root: &Path, exercise: &Exercise) -> Vec<String> {
    let Ok(quiz) = Quiz::load_file(&exercise.quiz(root)) else {
        return vec!["the quiz does not load (see the quiz row)".into()];
    };
    let proofs_path = exercise.proofs(root);
    let source = std::fs::read_to_string(&proofs_path).unwrap_or_default();
    let tests = test_functions(&source);
    let mut problems = Vec::new();
    let manifest = std::fs::read_to_string(workbook::proofs_dir(root).join("Cargo.toml"))
        .unwrap_or_default();
    if !manifest.contains(&format!("path = \"{}.rs\"", exercise.name)) {
        problems.push(format!(
            "proofs/Cargo.toml has no [[test]] for {}.rs",
            exercise.name
        ));
    }
    for question in quiz
        .questions
        .iter()
        .filter(|q| q.kind == Some(Kind::Behaviour))
    {
        match tests.iter().filter(|t| **t == question.slug).count() {
            0 => problems.push(format!(
                "question {} has no proof (expected fn {} in {})",
                question.id,
                question.slug,
                relative(root, &proofs_path)
            )),
            1 => {}
            n => problems.push(format!("question {} has {n} proofs", question.id)),
        }
        // `proof!(slug, ..)` compares with the key by construction.
        let by_macro = source.contains(&format!("proof!({},", question.slug));
        if !by_macro && !source.contains(&format!("\"{}\"", question.slug)) {
            problems.push(format!(
                "the proof of {} never compares with its key (assert_key)",
                question.id
            ));
        }
    }
    for test in &tests {
        match quiz.question(test) {
            None => problems.push(format!(
                "proof {test} in {} proves no question of the quiz",
                relative(root, &proofs_path)
            )),
            Some(q) if q.kind != Some(Kind::Behaviour) => problems.push(format!(
                "proof {test} proves {}, which is marked a definition",
                q.id
            )),
            Some(_) => {}
        }
    }
    problems
}

/// The chapter page has its speaker notes block, in the form instructors rely on,
/// and its live demo runs a proof of this chapter that exists.
pub fn speaker_notes(root: &Path, exercise: &Exercise) -> Vec<String> {
    let page = root.join("book/src").join(&exercise.chapter);
    let text = std::fs::read_to_string(&page).unwrap_or_default();
    let shown = relative(root, &page);
    let Some(notes) = crate::notes::SpeakerNotes::find(&text) else {
        return vec![format!(
            "{shown} has no <details class=\"speaker-notes\"> block (see book/src/instructors.md)"
        )];
    };
    let mut problems: Vec<String> = notes
        .missing()
        .into_iter()
        .map(|part| format!("the speaker notes of {shown} have no {part}"))
        .collect();
    let demo = format!("`cargo test -p proofs --test {} ", exercise.name);
    let proof = notes.demo_proof(&exercise.name);
    let source = std::fs::read_to_string(exercise.proofs(root)).unwrap_or_default();
    match proof {
        None => problems.push(format!(
            "the live demo of {shown} is not {demo}<proof> -- --nocapture`"
        )),
        Some(name) if !test_functions(&source).contains(&name) => problems.push(format!(
            "the live demo of {shown} runs proof {name}, which {}.rs does not have",
            exercise.name
        )),
        Some(_) => {}
    }
    problems
}

/// Names of the proofs in a proofs file: `proof!(name, ..)` declarations and
/// `#[test]` / `#[tokio::test]` functions.
fn test_functions(source: &str) -> Vec<String> {
    let mut names: Vec<String> = source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("proof!("))
        .map(|rest| {
            rest.split(',')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect();
    names.extend(workbook::libtest::test_names(source));
    names
}

/// Every `{{#include}}`, `{{#rustdoc_include}}` and `{{#quiz}}` in the book resolves,
/// anchors included (mdBook itself only logs a missing one).
pub fn includes(book_src: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for page in entries(book_src).into_iter().filter(|f| f.ends_with(".md")) {
        let text = std::fs::read_to_string(book_src.join(&page)).unwrap_or_default();
        for (directive, target) in directives(&text) {
            let (file, anchor) = match target.rsplit_once(':') {
                Some((file, anchor))
                    if !anchor.chars().all(|c| c.is_ascii_digit() || c == ':') =>
                {
                    (file, Some(anchor))
                }
                _ => (target.as_str(), None),
            };
            let path = book_src.join(file);
            let Ok(content) = std::fs::read_to_string(&path) else {
                problems.push(format!(
                    "{page}: {{{{#{directive} {target}}}}} names a missing file {file}"
                ));
                continue;
            };
            if let Some(anchor) = anchor {
                let start = content.contains(&format!("ANCHOR: {anchor}"));
                let end = content.contains(&format!("ANCHOR_END: {anchor}"));
                if !(start && end) {
                    problems.push(format!("{page}: anchor `{anchor}` is not in {file}"));
                }
            }
        }
    }
    problems
}

/// Every "chapter 7", "chapters 6 and 8", "chapters 14 to 17" in the book's pages and
/// quizzes, and every link to a `chNN-*.md` page, names a chapter the book has (a
/// page `chNN-*.md` listed in SUMMARY.md): no promise of a chapter that is not there.
pub fn chapter_references(root: &Path) -> Vec<String> {
    let summary =
        std::fs::read_to_string(root.join("book/src/SUMMARY.md")).unwrap_or_default();
    let has = |n: u32| summary.contains(&format!("](ch{n:02}-"));
    let mut problems = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["book/src", "book/quizzes"] {
        for name in entries(&root.join(dir)) {
            if name.ends_with(".md") || name.ends_with(".toml") {
                files.push(root.join(dir).join(name));
            }
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let shown = relative(root, &file);
        for n in chapter_numbers(&text) {
            if !has(n) {
                problems.push(format!(
                    "{shown} refers to chapter {n}, which the book does not have"
                ));
            }
        }
        for link in text.split("](").skip(1) {
            let target = link.split([')', '#']).next().unwrap_or_default();
            if target.starts_with("ch")
                && target.ends_with(".md")
                && !summary.contains(&format!("]({target})"))
            {
                problems.push(format!(
                    "{shown} links to {target}, which SUMMARY.md does not list"
                ));
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// The chapter numbers in "chapter 3", "chapters 6 and 8", "chapters 2 to 5", "(chapters 4, 5)".
fn chapter_numbers(text: &str) -> Vec<u32> {
    let mut numbers = Vec::new();
    let lower = text.to_lowercase();
    for (at, _) in lower.match_indices("chapter") {
        let rest = lower[at + "chapter".len()..].trim_start_matches('s');
        let mut words = rest.split_whitespace();
        let mut range_from = None;
        while let Some(word) = words.next() {
            let digits: String = word.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse::<u32>() {
                if let Some(from) = range_from.take() {
                    numbers.extend(from + 1..=n);
                } else {
                    numbers.push(n);
                }
                // "3," or "3" followed by "and"/"or"/"to" continues the list.
                if !word.ends_with(',') {
                    match words.clone().next() {
                        Some("and") | Some("or") => {
                            words.next();
                        }
                        Some("to") => {
                            words.next();
                            range_from = Some(n);
                        }
                        _ => break,
                    }
                }
            } else {
                break;
            }
        }
    }
    numbers
}

fn directives(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for piece in text.split("{{#").skip(1) {
        let Some((inside, _)) = piece.split_once("}}") else {
            continue;
        };
        let mut words = inside.split_whitespace();
        if let (Some(directive), Some(target)) = (words.next(), words.next())
            && matches!(directive, "include" | "rustdoc_include" | "quiz")
        {
            found.push((directive.to_string(), target.to_string()));
        }
    }
    found
}

/// README and the book's versions page name the pinned broker versions.
fn versions(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let wanted = [
        format!("RabbitMQ {}", lab::versions::RABBITMQ_VERSION),
        format!("Kafka {}", lab::versions::KAFKA_VERSION),
    ];
    for file in ["README.md", "book/src/versions.md"] {
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_default()
            .replace("**", "");
        let text = text
            .replace("| RabbitMQ | ", "RabbitMQ ")
            .replace("| Apache Kafka | ", "Kafka ");
        for version in &wanted {
            if !text.contains(version.as_str()) {
                problems.push(format!("{file} does not name {version}"));
            }
        }
    }
    problems
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Checks that build and run crates: solutions pass, untouched exercises compile and
/// fail, proofs pass. What `cargo xtask test` has already shown passing on exactly
/// these files (see [`crate::results`]) is not run again.
/// The dynamic checks: of every exercise, or of those named in `only`.
pub fn run_checks(root: &Path, only: &[String]) -> Report {
    let mut report = Report::default();
    let Ok(mut info) = Info::load(root) else {
        return report;
    };
    if !only.is_empty() {
        info.exercises
            .retain(|exercise| only.contains(&exercise.name));
    }
    let proven = crate::results::passed_on_these_files(root);
    let mut passes = |check: &'static str, subject: &str, package: &str| {
        report.0.push(if proven {
            Row::ok(check, format!("{subject} (passed in `cargo xtask test`)"))
        } else {
            match crate::cargo::succeeds(root, &["test", "-p", package]) {
                Ok(_) => Row::ok(check, subject),
                Err(tail) => Row::bad(check, subject, format!("its tests fail: {tail}")),
            }
        });
    };
    for exercise in &info.exercises {
        passes(
            "solution passes",
            &exercise.name,
            &exercise.solution_package(),
        );
    }
    if only.is_empty() {
        passes("proofs pass", "proofs", "proofs");
    }
    for exercise in &info.exercises {
        report.0.push(untouched_exercise(root, exercise));
    }
    let (candidates, _) = crate::wrong::find(root, &info);
    for ran in crate::wrong::run(root, candidates) {
        report.0.push(crate::wrong::row(root, &ran));
    }
    report
}

/// The untouched exercise must compile, and its checks must fail; what they say to
/// the learner is compared with `exercises/<name>/snapshots/untouched.snap`.
pub fn untouched_exercise(root: &Path, exercise: &Exercise) -> Row {
    let package = exercise.exercise_package();
    if let Err(tail) = crate::cargo::succeeds(root, &["test", "--no-run", "-p", &package])
    {
        return Row::bad(
            "exercise fails",
            &exercise.name,
            format!("the untouched exercise does not compile: {tail}"),
        );
    }
    let run = match crate::cargo::run(root, &["test", "-p", &package, "--test", "check"])
    {
        Ok(run) => run,
        Err(e) => return Row::bad("exercise fails", &exercise.name, e),
    };
    if run.success {
        return Row::bad(
            "exercise fails",
            &exercise.name,
            format!(
                "the untouched exercise {} passes its checks: they do not bite",
                exercise.name
            ),
        );
    }
    let failures = workbook::libtest::failures(&run.text);
    let dir = exercise.exercise_dir(root).join("snapshots");
    match crate::snapshots::compare(&dir, "untouched", &crate::snapshots::text(&failures))
    {
        Ok(()) => Row::ok("exercise fails", &exercise.name),
        Err(problem) => Row::bad("exercise fails", &exercise.name, problem),
    }
}

#[cfg(test)]
mod tests {
    //! Deliberate breakages, each of which must fail the check and name its culprit.

    use super::*;

    /// A scratch workbook: info.toml with one exercise `01_demo`, its quiz (one
    /// behavioural and one definitional question), its proof, its chapter.
    fn fixture(name: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("fixture paths have parents"))
                .expect("temp dir");
            std::fs::write(path, text).expect("temp file");
        };
        write(
            "info.toml",
            "format_version = 1\n[[exercises]]\nname = \"01_demo\"\nchapter = \"ch01.md\"\nbrokers = []\nhints = [\"look\"]\n",
        );
        write(
            "book/quizzes/01_demo.toml",
            r#"
[[questions]]
id = "01_demo/behaviour/reading_deletes"
type = "MultipleChoice"
prompt.prompt = "Does reading delete?"
prompt.distractors = ["Yes"]
answer.answer = "No"
context = "It does not."

[[questions]]
id = "01_demo/definition/what"
type = "ShortAnswer"
prompt.prompt = "What?"
answer.answer = "this"
context = "Because."
"#,
        );
        write(
            "proofs/01_demo.rs",
            "#[tokio::test]\nasync fn reading_deletes() {\n    assert_key(\"01_demo\", \"reading_deletes\", false);\n}\n",
        );
        write(
            "proofs/Cargo.toml",
            "[[test]]\nname = \"01_demo\"\npath = \"01_demo.rs\"\n",
        );
        write(
            "exercises/01_demo/src/lib.rs",
            "// ANCHOR: answer\npub fn answer() -> u32 {\n    // TODO: answer\n    todo!()\n}\n// ANCHOR_END: answer\n",
        );
        write("book/src/SUMMARY.md", "- [Demo](ch01.md)\n");
        write(
            "book/src/ch01.md",
            "{{#include ../../exercises/01_demo/src/lib.rs:answer}}\n{{#quiz ../quizzes/01_demo.toml}}\n",
        );
        root
    }

    fn demo(root: &Path) -> Exercise {
        Info::load(root)
            .expect("fixture info.toml")
            .exercises
            .remove(0)
    }

    /// The fixture itself is consistent: the breakages below are what fails.
    #[test]
    fn a_consistent_fixture_has_no_proof_or_include_problems() {
        let root = fixture("consistent");
        assert_eq!(proofs(&root, &demo(&root)), Vec::<String>::new());
        assert_eq!(includes(&root.join("book/src")), Vec::<String>::new());
    }

    /// A proof declared with `proof!` counts, and compares with its key by construction.
    #[test]
    fn a_proof_macro_is_a_proof() {
        let root = fixture("macro-proof");
        std::fs::write(
            root.join("proofs/01_demo.rs"),
            "proof!(reading_deletes, async {\n    Ok(false)\n});\n",
        )
        .expect("temp file");
        assert_eq!(proofs(&root, &demo(&root)), Vec::<String>::new());
    }

    /// Removing a proof fails the check, naming the question left unproven.
    #[test]
    fn a_removed_proof_is_named() {
        let root = fixture("removed-proof");
        std::fs::write(root.join("proofs/01_demo.rs"), "// the proof was removed\n")
            .expect("temp file");
        let problems = proofs(&root, &demo(&root)).join("\n");
        assert!(
            problems.contains("question 01_demo/behaviour/reading_deletes has no proof"),
            "{problems}"
        );
    }

    /// A proof with no question fails the check, naming the proof.
    #[test]
    fn a_proof_without_a_question_is_named() {
        let root = fixture("orphan-proof");
        let source =
            std::fs::read_to_string(root.join("proofs/01_demo.rs")).expect("fixture");
        let orphan =
            format!("{source}\n#[tokio::test]\nasync fn acks_are_optional() {{}}\n");
        std::fs::write(root.join("proofs/01_demo.rs"), orphan).expect("temp file");
        let problems = proofs(&root, &demo(&root)).join("\n");
        assert!(problems.contains("proof acks_are_optional"), "{problems}");
    }

    /// A page that promises a chapter the book does not have fails the check, naming
    /// page and chapter; one that exists passes.
    #[test]
    fn a_reference_to_a_missing_chapter_is_named() {
        let root = fixture("missing-chapter");
        std::fs::write(
            root.join("book/src/ch01.md"),
            "See chapter 1, and chapters 7 and 9 (chapter 1 is here).\n",
        )
        .expect("temp file");
        std::fs::write(root.join("book/src/SUMMARY.md"), "- [Demo](ch01-demo.md)\n")
            .expect("temp file");
        let problems = chapter_references(&root).join("\n");
        assert!(
            problems.contains("book/src/ch01.md refers to chapter 7"),
            "{problems}"
        );
        assert!(problems.contains("refers to chapter 9"), "{problems}");
        assert!(!problems.contains("chapter 1,"), "{problems}");
        assert_eq!(
            chapter_numbers("chapters 2 to 4, and chapter 12."),
            [2, 3, 4, 12]
        );
        assert_eq!(chapter_numbers("Chapters 6, 7 and 8"), [6, 7, 8]);
    }

    /// Speaker notes must exist, have their five parts, and demo a proof that exists.
    #[test]
    fn speaker_notes_with_a_missing_part_or_proof_are_named() {
        let root = fixture("speaker-notes");
        let exercise = demo(&root);
        let missing = speaker_notes(&root, &exercise).join("\n");
        assert!(missing.contains("has no <details"), "{missing}");
        let notes = |demo: &str| {
            format!(
                "<details class=\"speaker-notes\">\n<summary>Speaker notes</summary>\n\n\
                 - **Goals:** g\n- **Draw:** d\n- **Learners get this wrong:** w\n\
                 - **Live demo:** `cargo test -p proofs --test 01_demo {demo} -- --nocapture`\n\
                 - **Ask the room:** q\n\n</details>\n"
            )
        };
        let page = root.join("book/src/ch01.md");
        std::fs::write(&page, notes("reading_deletes")).expect("temp file");
        assert_eq!(speaker_notes(&root, &exercise), Vec::<String>::new());
        std::fs::write(&page, notes("no_such_proof")).expect("temp file");
        let problems = speaker_notes(&root, &exercise).join("\n");
        assert!(
            problems.contains("runs proof no_such_proof, which 01_demo.rs does not have"),
            "{problems}"
        );
        std::fs::write(
            &page,
            notes("reading_deletes").replace("- **Draw:** d\n", ""),
        )
        .expect("temp file");
        let problems = speaker_notes(&root, &exercise).join("\n");
        assert!(problems.contains("have no **Draw:**"), "{problems}");
    }

    /// An include pointing at a missing anchor fails the check, naming page, anchor and file.
    #[test]
    fn an_include_of_a_missing_anchor_is_named() {
        let root = fixture("missing-anchor");
        std::fs::write(
            root.join("book/src/ch01.md"),
            "{{#include ../../exercises/01_demo/src/lib.rs:no_such_anchor}}\n",
        )
        .expect("temp file");
        let problems = includes(&root.join("book/src")).join("\n");
        assert!(
            problems.contains("ch01.md: anchor `no_such_anchor` is not in ../../exercises/01_demo/src/lib.rs"),
            "{problems}"
        );
    }

    /// An exercise whose checks pass untouched fails the check, naming the exercise.
    /// This builds and runs a real (dependency-free) crate with cargo.
    #[test]
    fn an_exercise_that_passes_untouched_is_named() {
        let root = fixture("passes-untouched");
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("has a parent"))
                .expect("temp dir");
            std::fs::write(path, text).expect("temp file");
        };
        write(
            "Cargo.toml",
            "[workspace]\nresolver = \"3\"\nmembers = [\"exercises/01_demo\"]\n",
        );
        write(
            "exercises/01_demo/Cargo.toml",
            "[package]\nname = \"exercise_01_demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n[lib]\nname = \"demo\"\n",
        );
        // The "exercise" ships already solved, so its check passes.
        write(
            "exercises/01_demo/src/lib.rs",
            "pub fn answer() -> u32 {\n    42\n}\n",
        );
        write(
            "exercises/01_demo/tests/check.rs",
            "#[test]\nfn answers() {\n    assert_eq!(demo::answer(), 42);\n}\n",
        );
        let row = untouched_exercise(&root, &demo(&root));
        let problem = row.problem.unwrap_or_default();
        assert!(
            problem.contains("the untouched exercise 01_demo passes its checks"),
            "{problem}"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    /// The real workbook passes every static check.
    #[test]
    fn the_workbook_passes_its_static_checks() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let report = static_checks(&root);
        assert!(!report.failed(), "{}", report.problems().join("\n"));
    }
}
