//! `cargo xtask timings`: what a room waits for, measured, and the instructors'
//! pages built from it.
//!
//! - Measured on this machine (`book/timings.toml`): per chapter, the rebuild of the
//!   exercise after a save, one run of its checks against the solution, one run of
//!   its proofs; with `--lab`, how long the lab takes to start (it stops the lab
//!   first).
//! - Counted from the files every time: words of the chapter's pages, `todo!`s of
//!   the exercise, questions of the quiz, and the goals and live demo of its
//!   speaker notes.
//! - Rendered: `book/src/instructors-timings.md` (the table) and
//!   `book/src/instructors-agendas.md` (the agendas of `book/agendas.toml`, each
//!   segment's minutes from the table; an agenda over its budget is an error), and
//!   `book/src/troubleshooting.md` (every error of the CLI, the lab, the workbook
//!   and the quiz files, from their types).
//!   `cargo xtask check` renders both again and fails if the committed pages differ,
//!   so the agendas cannot drift from the book.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use workbook::{Exercise, Info};

/// Reading speed assumed for the book's technical prose, in words per minute.
pub const WORDS_PER_MINUTE: usize = 200;
/// Minutes a learner is assumed to spend on each `todo!` of an exercise.
const MINUTES_PER_TODO: usize = 8;
/// Check runs a learner is assumed to wait for per exercise (fail, fix, pass).
const CHECK_RUNS: f64 = 3.0;
/// Minutes per quiz question.
const MINUTES_PER_QUESTION: usize = 1;
/// Minutes for the instructor's live demo, with the question to the room.
const DEMO_MINUTES: usize = 5;

const TIMINGS: &str = "book/timings.toml";
const AGENDAS: &str = "book/agendas.toml";
const TIMINGS_PAGE: &str = "book/src/instructors-timings.md";
const AGENDAS_PAGE: &str = "book/src/instructors-agendas.md";
const TROUBLESHOOTING_PAGE: &str = "book/src/troubleshooting.md";

/// What was measured (`book/timings.toml`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Timings {
    /// The machine the numbers come from, e.g. "2 cores, Linux 6.1".
    pub machine: String,
    /// How long the lab took to be ready, from stopped.
    pub lab: LabTimes,
    /// Per exercise name.
    pub chapters: BTreeMap<String, Measured>,
}

/// Lab start-up, in seconds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LabTimes {
    /// Single RabbitMQ + single Kafka, started together.
    pub singles_s: f64,
    /// Both 3-node clusters, started together.
    pub clusters_s: f64,
}

/// One chapter's waits, in seconds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Measured {
    /// `cargo test -p exercise_NN --no-run` after a save of the exercise.
    pub rebuild_s: f64,
    /// One run of the checks against the reference solution.
    pub check_s: f64,
    /// One run of the chapter's proofs.
    pub proofs_s: f64,
}

/// The agendas (`book/agendas.toml`).
#[derive(Debug, Deserialize)]
struct Agendas {
    /// When each day starts, "09:00".
    start: String,
    agenda: Vec<Agenda>,
}

#[derive(Debug, Deserialize)]
struct Agenda {
    title: String,
    /// The most minutes the agenda may take per day.
    day_budget_min: usize,
    /// Exercise names, `setup`, `break N`, `lunch N`, `wrap-up`, `day`.
    items: Vec<String>,
}

/// One chapter as the pages show it.
struct Row<'a> {
    exercise: &'a Exercise,
    title: String,
    words: usize,
    todos: usize,
    questions: usize,
    goals: String,
    demo: String,
    measured: Option<&'a Measured>,
}

impl Row<'_> {
    fn read_min(&self) -> usize {
        self.words.div_ceil(WORDS_PER_MINUTE)
    }
    fn exercise_min(&self) -> usize {
        let waits = self.measured.map_or(0.0, |m| m.rebuild_s + m.check_s) * CHECK_RUNS;
        self.todos * MINUTES_PER_TODO + (waits / 60.0).ceil() as usize
    }
    fn quiz_min(&self) -> usize {
        self.questions * MINUTES_PER_QUESTION
    }
    /// Reading, exercise, quiz and demo, rounded up to five minutes.
    fn total_min(&self) -> usize {
        (self.read_min() + self.exercise_min() + self.quiz_min() + DEMO_MINUTES)
            .div_ceil(5)
            * 5
    }
}

/// Measures the chapters (all, or `only`), and the lab with `lab`; writes
/// `book/timings.toml` and renders the pages.
pub async fn measure(root: &Path, only: &[String], lab: bool) -> Result<()> {
    let info = Info::load(root)?;
    let mut timings = load(root).unwrap_or_default();
    timings.machine = machine();
    if lab {
        let ready = crate::measure_lab().await?;
        timings.lab = LabTimes {
            singles_s: round(ready[0]),
            clusters_s: round(ready[1]),
        };
    }
    for exercise in &info.exercises {
        if !only.is_empty() && !only.contains(&exercise.name) {
            continue;
        }
        println!("timings: {}", exercise.name);
        let measured = measure_chapter(root, exercise)?;
        println!(
            "  rebuild {:.1} s, checks {:.1} s, proofs {:.1} s",
            measured.rebuild_s, measured.check_s, measured.proofs_s
        );
        timings.chapters.insert(exercise.name.clone(), measured);
        // Kept after each chapter, so a failure later loses nothing measured.
        save(root, &timings)?;
    }
    save(root, &timings)?;
    render_to_files(root)
}

fn save(root: &Path, timings: &Timings) -> Result<()> {
    let text = toml::to_string_pretty(timings).context("writing the timings")?;
    std::fs::write(
        root.join(TIMINGS),
        format!("# Written by `cargo xtask timings`; do not edit.\n{text}"),
    )?;
    Ok(())
}

/// Renders the instructors' pages from what is committed (no measuring).
pub fn render_to_files(root: &Path) -> Result<()> {
    for (path, text) in render(root)? {
        std::fs::write(root.join(path), text)?;
        println!("wrote {path}");
    }
    Ok(())
}

/// Problems for `cargo xtask check`: a chapter without timings, an agenda over its
/// budget or naming no chapter, or a committed page that differs from its rendering.
pub fn problems(root: &Path) -> Vec<String> {
    let pages = match render(root) {
        Ok(pages) => pages,
        Err(error) => return vec![format!("{error:#}")],
    };
    pages
        .into_iter()
        .filter(|(path, text)| {
            std::fs::read_to_string(root.join(path)).ok().as_ref() != Some(text)
        })
        .map(|(path, _)| {
            format!(
                "{path} is not what the timings give: run `cargo xtask timings --render`"
            )
        })
        .collect()
}

fn load(root: &Path) -> Result<Timings> {
    let text = std::fs::read_to_string(root.join(TIMINGS)).with_context(|| {
        format!("reading {TIMINGS} (make it with `cargo xtask timings`)")
    })?;
    toml::from_str(&text).with_context(|| format!("{TIMINGS} is malformed"))
}

fn render(root: &Path) -> Result<Vec<(&'static str, String)>> {
    let info = Info::load(root)?;
    let timings = load(root)?;
    let rows = rows(root, &info, &timings)?;
    let agendas: Agendas = toml::from_str(
        &std::fs::read_to_string(root.join(AGENDAS))
            .with_context(|| format!("reading {AGENDAS}"))?,
    )
    .with_context(|| format!("{AGENDAS} is malformed"))?;
    Ok(vec![
        (TIMINGS_PAGE, timings_page(&rows, &timings)),
        (AGENDAS_PAGE, agendas_page(&rows, &timings, &agendas)?),
        (TROUBLESHOOTING_PAGE, troubleshooting_page()),
    ])
}

fn rows<'a>(root: &Path, info: &'a Info, timings: &'a Timings) -> Result<Vec<Row<'a>>> {
    let summary = std::fs::read_to_string(root.join("book/src/SUMMARY.md"))?;
    let mut rows = Vec::new();
    for exercise in &info.exercises {
        let page = std::fs::read_to_string(exercise.chapter_page(root))?;
        // `ch06-routing.md` has its exercise on `ch06-exercise.md`.
        let number = exercise.chapter.split('-').next().unwrap_or_default();
        let exercise_page = root.join("book/src").join(format!("{number}-exercise.md"));
        let exercise_text = std::fs::read_to_string(exercise_page).unwrap_or_default();
        let quiz = quiz::Quiz::load_file(&exercise.quiz(root))?;
        let notes = crate::notes::SpeakerNotes::find(&page);
        let part = |name: &str| {
            notes
                .as_ref()
                .and_then(|n| n.part(name))
                .unwrap_or_default()
        };
        let demo = notes
            .as_ref()
            .and_then(crate::notes::SpeakerNotes::demo_command)
            .unwrap_or_default();
        rows.push(Row {
            exercise,
            title: title(&summary, &exercise.chapter),
            words: words(&page) + words(&exercise_text),
            todos: todos(&exercise.exercise_dir(root).join("src")),
            questions: quiz.questions.len(),
            goals: part("Goals"),
            demo,
            measured: timings.chapters.get(&exercise.name),
        });
    }
    if let Some(row) = rows.iter().find(|row| row.measured.is_none()) {
        bail!(
            "{TIMINGS} has no measurements for {0}: run `cargo xtask timings --exercise {0}`",
            row.exercise.name
        );
    }
    Ok(rows)
}

/// The title SUMMARY.md gives a page.
fn title(summary: &str, page: &str) -> String {
    summary
        .lines()
        .find(|line| line.contains(&format!("]({page})")))
        .and_then(|line| line.split('[').nth(1))
        .and_then(|rest| rest.split(']').next())
        .unwrap_or(page)
        .to_string()
}

/// Words of prose: fenced blocks, HTML tags and `{{#..}}` directives do not count.
pub fn words(markdown: &str) -> usize {
    let mut fenced = false;
    let mut count = 0;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || line.trim_start().starts_with('<') || line.contains("{{#") {
            continue;
        }
        count += line
            .split_whitespace()
            .filter(|word| word.chars().any(char::is_alphanumeric))
            .count();
    }
    count
}

/// The `todo!(` calls in an exercise's sources: what the learner writes.
fn todos(dir: &Path) -> usize {
    let mut count = 0;
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                count += text.matches("todo!(").count();
            }
        }
    }
    count
}

fn timings_page(rows: &[Row], timings: &Timings) -> String {
    let mut page = String::from(
        "<!-- Written by `cargo xtask timings` from book/timings.toml and the chapters; do not edit. -->\n\n\
         # Timings\n\n",
    );
    let _ = write!(
        page,
        "What a room waits for, measured by `cargo xtask timings` on {}, and the minutes \
         each chapter takes, derived from it. Regenerate the measurements with \
         `cargo xtask timings` (add `--lab` to measure the lab's start, which stops it \
         first) and the pages alone with `cargo xtask timings --render`.\n\n\
         The minutes are derived, not timed on people:\n\n\
         - **read**: the words of the chapter and its exercise page at {WORDS_PER_MINUTE} \
         words per minute (fenced code and diagrams not counted);\n\
         - **exercise**: {MINUTES_PER_TODO} minutes per `todo!` the learner replaces, plus \
         {CHECK_RUNS} waits for a rebuild and a check run (fail, fix, pass);\n\
         - **quiz**: {MINUTES_PER_QUESTION} minute per question;\n\
         - **total**: read + exercise + quiz + {DEMO_MINUTES} minutes for the instructor's \
         live demo, rounded up to 5 minutes.\n\n\
         The lab starts once per room: the single RabbitMQ and Kafka were ready in \
         **{:.0} s**, both 3-node clusters in **{:.0} s** (native lab, from stopped). \
         A machine's first build of the workspace takes minutes: do it before the day \
         (see [Room setup](instructors-room.md)).\n\n",
        timings.machine, timings.lab.singles_s, timings.lab.clusters_s
    );
    page.push_str(
        "| chapter | words | read | `todo!`s | rebuild (s) | check run (s) | exercise | questions | proofs run (s) | total (min) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let m = row
            .measured
            .expect("rows() checked every chapter is measured");
        let _ = writeln!(
            page,
            "| [{}]({}) | {} | {} | {} | {:.1} | {:.1} | {} | {} | {:.1} | **{}** |",
            row.title,
            row.exercise.chapter,
            row.words,
            row.read_min(),
            row.todos,
            m.rebuild_s,
            m.check_s,
            row.exercise_min(),
            row.questions,
            m.proofs_s,
            row.total_min()
        );
    }
    page.push_str("\n## Per chapter\n");
    for row in rows {
        let _ = write!(
            page,
            "\n### [{}]({})\n\n- **Goals:** {}\n- **Minutes:** {} reading, {} exercise, {} quiz, {} demo ({} in all)\n- **Demo:** `{}`\n",
            row.title,
            row.exercise.chapter,
            row.goals,
            row.read_min(),
            row.exercise_min(),
            row.quiz_min(),
            DEMO_MINUTES,
            row.total_min(),
            row.demo
        );
    }
    page
}

fn agendas_page(rows: &[Row], timings: &Timings, agendas: &Agendas) -> Result<String> {
    let (hours, minutes) = agendas
        .start
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<usize>().ok()?, m.parse::<usize>().ok()?)))
        .with_context(|| format!("{AGENDAS}: start {:?} is not HH:MM", agendas.start))?;
    let setup_min =
        15 + ((timings.lab.singles_s + timings.lab.clusters_s) / 60.0).ceil() as usize;
    let mut page = String::from(
        "<!-- Written by `cargo xtask timings` from book/agendas.toml and the timings; do not edit. -->\n\n\
         # Agendas\n\n\
         Each segment's minutes come from the [timings](instructors-timings.md); the \
         agendas themselves are in `book/agendas.toml`, and `cargo xtask check` fails when \
         a day runs over its budget or names a chapter the book does not have. \"Setup\" is \
         the welcome, `brokerlings doctor` on every machine and `brokerlings lab up --all` \
         (15 minutes plus the lab's measured start).\n",
    );
    for agenda in &agendas.agenda {
        let _ = write!(
            page,
            "\n## {}\n\n| time | segment | min | the instructor runs |\n|---|---|---:|---|\n",
            agenda.title
        );
        let mut clock = hours * 60 + minutes;
        let mut day = 1;
        let mut used = 0;
        let over = |used: usize, day: usize| -> Result<()> {
            if used > agenda.day_budget_min {
                bail!(
                    "{AGENDAS}: day {day} of \"{}\" takes {used} min, over its budget of {} min",
                    agenda.title,
                    agenda.day_budget_min
                );
            }
            Ok(())
        };
        for item in &agenda.items {
            let (segment, min, runs) = match item.split_once(' ') {
                _ if item == "day" => {
                    over(used, day)?;
                    day += 1;
                    used = 0;
                    clock = hours * 60 + minutes;
                    let _ = writeln!(page, "| | **Day {day}** | | |");
                    continue;
                }
                _ if item == "setup" => (
                    "Setup".to_string(),
                    setup_min,
                    "`brokerlings doctor`, `brokerlings lab up --all`".to_string(),
                ),
                _ if item == "wrap-up" => (
                    "Wrap-up: questions, [RabbitMQ or Kafka?](rabbitmq-or-kafka.md)"
                        .to_string(),
                    15,
                    String::new(),
                ),
                Some((kind @ ("break" | "lunch"), n)) => (
                    format!("*{}*", if kind == "break" { "Break" } else { "Lunch" }),
                    n.parse().with_context(|| {
                        format!("{AGENDAS}: \"{item}\" needs minutes")
                    })?,
                    String::new(),
                ),
                _ => {
                    let row = rows
                        .iter()
                        .find(|row| row.exercise.name == *item)
                        .with_context(|| {
                            format!(
                                "{AGENDAS}: \"{}\" names {item}, which info.toml does not have",
                                agenda.title
                            )
                        })?;
                    (
                        format!("[{}]({})", row.title, row.exercise.chapter),
                        row.total_min(),
                        format!("`{}`", row.demo),
                    )
                }
            };
            let _ = writeln!(
                page,
                "| {:02}:{:02} | {segment} | {min} | {runs} |",
                clock / 60,
                clock % 60
            );
            clock += min;
            used += min;
        }
        over(used, day)?;
        let _ = writeln!(page, "| {:02}:{:02} | *End* | | |", clock / 60, clock % 60);
    }
    Ok(page)
}

/// Every error the CLI, the lab, the workbook and the quiz files can print, from their types.
fn troubleshooting_page() -> String {
    let mut page = String::from(
        "<!-- Written by `cargo xtask timings --render` from the error types; do not edit. -->\n\n\
         # Troubleshooting\n\n\
         Every error the CLI, the lab, the workbook and the quiz files can print, one line each, \
         with its cause and fix. The page is generated from the error types \
         (`CliError`, `LabError`, `InfoError`, `QuizError`), so a new error cannot be missing here. \
         The examples fill in typical names and numbers. `brokerlings` is the CLI: in a \
         clone, `cargo run -p brokerlings --`. Start with `brokerlings doctor`, which \
         checks a machine and prints a fix for each finding.\n",
    );
    let sections = [
        (
            "The command line",
            brokerlings::errors::CliError::troubleshooting(),
        ),
        ("Brokers and the lab", lab::LabError::troubleshooting()),
        ("The workbook", workbook::InfoError::troubleshooting()),
        ("Quiz and answers files", quiz::QuizError::troubleshooting()),
    ];
    for (title, troubles) in sections {
        let _ = write!(page, "\n## {title}\n");
        for (line, cause, fix) in troubles {
            // The same page on every machine: the lab's home as its default.
            let line = line.replace(
                &lab::home().display().to_string(),
                "~/.local/share/brokerlings",
            );
            let _ = write!(
                page,
                "\n```text\nerror: {line}\n```\n\n- **Cause:** {cause}.\n- **Fix:** {fix}.\n"
            );
        }
    }
    page
}

/// Runs one cargo command in the workspace; its wall time in seconds. A failing
/// command is an error: the time of a failed check run means nothing.
fn timed_cargo(root: &Path, args: &[&str]) -> Result<f64> {
    crate::cargo::succeeds(root, args)
        .map(round)
        .map_err(|why| anyhow!("`cargo {}` failed: {why}", args.join(" ")))
}

fn measure_chapter(root: &Path, exercise: &Exercise) -> Result<Measured> {
    let exercise_package = exercise.exercise_package();
    let solution = exercise.solution_package();
    // Everything built first, so only the waits in question are timed.
    for package in [exercise_package.as_str(), solution.as_str(), "proofs"] {
        timed_cargo(root, &["test", "--no-run", "-p", package])?;
    }
    // A save of the learner's file: only the exercise crate builds again.
    let lib = exercise.exercise_dir(root).join("src/lib.rs");
    std::fs::File::options()
        .append(true)
        .open(&lib)?
        .set_modified(SystemTime::now())?;
    Ok(Measured {
        rebuild_s: timed_cargo(root, &["test", "--no-run", "-p", &exercise_package])?,
        check_s: timed_cargo(root, &["test", "-p", &solution, "--test", "check"])?,
        proofs_s: timed_cargo(root, &["test", "-p", "proofs", "--test", &exercise.name])?,
    })
}

fn round(seconds: f64) -> f64 {
    (seconds * 10.0).round() / 10.0
}

/// "2 cores, Linux 6.1.0-…": what the numbers were measured on.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            line.strip_prefix("PRETTY_NAME=")
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into());
    format!("{os}, {cores} cores, kernel {}", kernel.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agendas(items: &str, budget: usize) -> Agendas {
        toml::from_str(&format!(
            "start = \"09:00\"\n[[agenda]]\ntitle = \"T\"\nday_budget_min = {budget}\nitems = [{items}]\n"
        ))
        .expect("agenda fixture")
    }

    /// A day over its budget and a chapter the book does not have are errors; a
    /// fitting agenda renders with its clock.
    #[test]
    fn agendas_are_checked_against_budget_and_chapters() {
        let timings = Timings::default();
        let fits = agendas("\"setup\", \"break 15\", \"wrap-up\"", 60);
        let page = agendas_page(&[], &timings, &fits).expect("fits");
        assert!(page.contains("| 09:15 | *Break* | 15 |"), "{page}");
        assert!(page.contains("| 09:45 | *End* |"), "{page}");
        let over = agendas("\"setup\", \"lunch 60\"", 60);
        let error = agendas_page(&[], &timings, &over).expect_err("over budget");
        assert!(
            error
                .to_string()
                .contains("takes 75 min, over its budget of 60 min")
        );
        let unknown = agendas("\"07_rpc\"", 600);
        let error = agendas_page(&[], &timings, &unknown).expect_err("unknown chapter");
        assert!(
            error
                .to_string()
                .contains("names 07_rpc, which info.toml does not have")
        );
    }

    /// Every error of the troubleshooting page is one line, with a cause and a fix.
    #[test]
    fn the_troubleshooting_page_lists_every_error_on_one_line() {
        let page = troubleshooting_page();
        let errors = page.matches("error: ").count();
        assert!(errors >= 20, "{errors} errors on the page");
        assert_eq!(page.matches("- **Cause:** ").count(), errors);
        assert_eq!(page.matches("- **Fix:** ").count(), errors);
        for line in page.lines().filter(|l| l.starts_with("error: ")) {
            assert!(!line.contains('\n') && line.len() > 15, "{line}");
        }
    }

    #[test]
    fn words_skip_code_and_directives() {
        let text = "# Title here\n\nTwo words.\n\n```rust\nlet x = 1;\n```\n{{#include a.rs}}\n<details>\n- a - b\n";
        assert_eq!(words(text), 6);
    }
}
