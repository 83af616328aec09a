//! The quizzes of the book, read from the same TOML files mdbook-quiz renders.
//!
//! - [`Quiz::load`] parses `book/quizzes/<chapter>.toml` with mdbook-quiz's own
//!   schema crate, so the book, the proofs and the CLI read one file.
//! - Every question id has the shape `<chapter>/<kind>/<slug>`, where `<kind>` is
//!   `behaviour` (a proof in package `proofs` observes the answer on a live broker)
//!   or `definition` (about words, not behaviour). That is the one, checkable mark.
//! - [`Answers`] is a learner's answers file and [`Quiz::check`] grades it.
//!
//! # The answers file
//!
//! A TOML table from question slug to answer, e.g. `answers/01_first_contact.toml`:
//!
//! ```toml
//! # chapter 1: slug = "your answer"
//! reading_does_not_delete_records = "No"
//! new_group_reads_old_records = "0"
//! what_a_broker_is_for = "Let services exchange messages without waiting for each other"
//! ```
//!
//! A multiple-choice answer is the text of the option (case and surrounding spaces
//! do not matter); a question with several right options takes a list of them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use mdbook_quiz_schema as schema;

/// What went wrong reading a quiz or an answers file; one line each.
#[derive(Debug, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(QuizErrorKind),
    derive(strum::EnumIter),
    doc = "The variants of [`QuizError`], for the book's troubleshooting page."
)]
pub enum QuizError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("{path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The parser's words, on one line.
        reason: String,
    },
}

impl QuizError {
    /// Every variant with an example line, its cause and its fix (the book's
    /// troubleshooting page; a new variant does not compile until it is here).
    pub fn troubleshooting() -> Vec<(String, &'static str, &'static str)> {
        use strum::IntoEnumIterator;
        QuizErrorKind::iter()
            .map(|kind| {
                let (error, cause, fix) = match kind {
                    QuizErrorKind::Read => (
                        QuizError::Read {
                            path: "answers/02_work_queues.toml".into(),
                            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                        },
                        "the answers file (or a quiz file) cannot be read",
                        "check the file's owner; `brokerlings answers NAME --template` writes a fresh one to fill in",
                    ),
                    QuizErrorKind::Malformed => (
                        QuizError::Malformed {
                            path: "answers/02_work_queues.toml".into(),
                            reason: "TOML parse error at line 3, column 20: expected `\"`".into(),
                        },
                        "the answers file was edited into something that is not TOML of the expected shape",
                        "the reason names the line; each answer is one line `slug = \"your answer\"`, as the template writes it",
                    ),
                };
                (error.to_string(), cause, fix)
            })
            .collect()
    }
}

/// Whether a question is proven by an experiment or is about a definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A proof observes the answer on a live broker.
    Behaviour,
    /// About words or concepts; no broker can observe it.
    Definition,
}

/// The answer key of one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// A typed answer and its accepted alternatives.
    Text {
        /// The answer.
        answer: String,
        /// Other accepted spellings.
        alternatives: Vec<String>,
    },
    /// The right options of a multiple-choice question (one, or several).
    Choice(Vec<String>),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Text { answer, .. } => f.write_str(answer),
            Key::Choice(options) => f.write_str(&options.join(" + ")),
        }
    }
}

/// One question of a quiz.
#[derive(Debug, Clone)]
pub struct Question {
    /// The full id, `<chapter>/<kind>/<slug>`.
    pub id: String,
    /// The part of the id that names it within its chapter.
    pub slug: String,
    /// Behaviour or definition; `None` if the id does not follow the convention.
    pub kind: Option<Kind>,
    /// The question, in Markdown.
    pub prompt: String,
    /// The answer key.
    pub key: Key,
    /// Every option of a multiple-choice question (answers and distractors).
    pub options: Vec<String>,
    /// The explanation shown after answering.
    pub explanation: String,
}

impl Question {
    /// Whether `given` answers this question correctly.
    pub fn accepts(&self, given: &Given) -> bool {
        let normal = |s: &str| s.trim().to_lowercase();
        match (&self.key, given) {
            (
                Key::Text {
                    answer,
                    alternatives,
                },
                Given::One(text),
            ) => std::iter::once(answer)
                .chain(alternatives)
                .any(|a| normal(a) == normal(text)),
            (Key::Choice(right), given) => {
                let mut right: Vec<String> = right.iter().map(|s| normal(s)).collect();
                let mut given: Vec<String> =
                    given.values().iter().map(|s| normal(s)).collect();
                right.sort();
                given.sort();
                right == given
            }
            (Key::Text { .. }, Given::Many(_)) => false,
        }
    }
}

/// A quiz: the questions of one chapter.
#[derive(Debug, Clone)]
pub struct Quiz {
    /// The chapter, e.g. `01_first_contact`.
    pub chapter: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// Its questions, in the book's order.
    pub questions: Vec<Question>,
}

impl Quiz {
    /// Reads `<quizzes>/<chapter>.toml`.
    pub fn load(quizzes: &Path, chapter: &str) -> Result<Quiz, QuizError> {
        Quiz::load_file(&quizzes.join(format!("{chapter}.toml")))
    }

    /// Reads one quiz file; the chapter is its file stem.
    pub fn load_file(path: &Path) -> Result<Quiz, QuizError> {
        let text = std::fs::read_to_string(path).map_err(|source| QuizError::Read {
            path: path.into(),
            source,
        })?;
        let parsed: schema::Quiz =
            toml::from_str(&text).map_err(|e| QuizError::Malformed {
                path: path.into(),
                reason: one_line(&e.to_string()),
            })?;
        let chapter = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let questions = parsed.questions.into_iter().map(convert).collect();
        Ok(Quiz {
            chapter,
            path: path.into(),
            questions,
        })
    }

    /// The question whose slug is `slug`.
    pub fn question(&self, slug: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.slug == slug)
    }

    /// Grades `answers`, question by question, in the quiz's order.
    pub fn check(&self, answers: &Answers) -> Vec<Graded<'_>> {
        self.questions
            .iter()
            .map(|question| {
                let verdict = match answers.0.get(&question.slug) {
                    None => Verdict::Missing,
                    Some(Given::One(text)) if text.trim().is_empty() => Verdict::Missing,
                    Some(given) if question.accepts(given) => Verdict::Right,
                    Some(given) => Verdict::Wrong(given.clone()),
                };
                Graded { question, verdict }
            })
            .collect()
    }

    /// Problems with the quiz itself: ids off the convention, duplicates.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for q in &self.questions {
            let prefix = format!("{}/", self.chapter);
            if q.kind.is_none() || !q.id.starts_with(&prefix) {
                problems.push(format!(
                    "question id {:?} is not `{}/behaviour/<slug>` or `{}/definition/<slug>`",
                    q.id, self.chapter, self.chapter
                ));
            }
            if !seen.insert(q.slug.clone()) {
                problems.push(format!("question slug {:?} is used twice", q.slug));
            }
            if q.explanation.trim().is_empty() {
                problems
                    .push(format!("question {} has no explanation (`context`)", q.id));
            }
        }
        problems
    }
}

fn convert(question: schema::Question) -> Question {
    let (fields_id, prompt, key, options, explanation) = match question {
        schema::Question::ShortAnswer(q) => {
            let f = q.0;
            let key = Key::Text {
                answer: f.answer.answer,
                alternatives: f.answer.alternatives.unwrap_or_default(),
            };
            (f.id, f.prompt.prompt.0, key, vec![], f.context)
        }
        schema::Question::MultipleChoice(q) => {
            let f = q.0;
            let right = match f.answer.answer {
                schema::MultipleChoiceAnswerFormat::Single(one) => vec![one.0],
                schema::MultipleChoiceAnswerFormat::Multi(many) => {
                    many.into_iter().map(|m| m.0).collect()
                }
            };
            let mut options: Vec<String> = right.clone();
            options.extend(f.prompt.distractors.into_iter().map(|d| d.0));
            (
                f.id,
                f.prompt.prompt.0,
                Key::Choice(right),
                options,
                f.context,
            )
        }
        schema::Question::Tracing(q) => {
            let f = q.0;
            let key = Key::Text {
                answer: f.answer.stdout.unwrap_or_default(),
                alternatives: vec![],
            };
            (f.id, f.prompt.program, key, vec![], f.context)
        }
    };
    let id = fields_id.unwrap_or_default();
    let mut parts = id.splitn(3, '/');
    let (_, kind, slug) = (parts.next(), parts.next(), parts.next());
    let kind = match kind {
        Some("behaviour") => Some(Kind::Behaviour),
        Some("definition") => Some(Kind::Definition),
        _ => None,
    };
    Question {
        slug: slug.unwrap_or(&id).to_string(),
        id: id.clone(),
        kind,
        prompt: prompt.trim().to_string(),
        key,
        options,
        explanation: explanation
            .map(|m| m.0)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// A learner's answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum Given {
    /// One answer (text, a number, or one option).
    One(String),
    /// Several options of a multiple-choice question.
    Many(Vec<String>),
}

impl Given {
    fn values(&self) -> Vec<String> {
        match self {
            Given::One(one) => vec![one.clone()],
            Given::Many(many) => many.clone(),
        }
    }
}

impl fmt::Display for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.values().join(" + "))
    }
}

/// A learner's answers file: question slug to answer.
#[derive(Debug, Clone, Default)]
pub struct Answers(pub BTreeMap<String, Given>);

impl Answers {
    /// Reads an answers file (see the crate docs for its format).
    pub fn load(path: &Path) -> Result<Answers, QuizError> {
        let text = std::fs::read_to_string(path).map_err(|source| QuizError::Read {
            path: path.into(),
            source,
        })?;
        Answers::parse(&text).map_err(|reason| QuizError::Malformed {
            path: path.into(),
            reason,
        })
    }

    /// Parses the text of an answers file; numbers and booleans are taken as text.
    pub fn parse(text: &str) -> Result<Answers, String> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| one_line(&e.to_string()))?;
        let mut answers = BTreeMap::new();
        for (slug, value) in table {
            let given = match value {
                toml::Value::String(s) => Given::One(s),
                toml::Value::Integer(n) => Given::One(n.to_string()),
                toml::Value::Float(n) => Given::One(n.to_string()),
                toml::Value::Boolean(b) => {
                    Given::One(if b { "Yes".into() } else { "No".into() })
                }
                toml::Value::Array(items) => Given::Many(
                    items
                        .into_iter()
                        .map(|v| v.as_str().map(String::from).ok_or(()))
                        .collect::<Result<_, _>>()
                        .map_err(|()| {
                            format!("answer `{slug}`: a list must hold only strings")
                        })?,
                ),
                other => {
                    return Err(format!(
                        "answer `{slug}` is a {}, expected a string, a number or a list of strings",
                        other.type_str()
                    ));
                }
            };
            answers.insert(slug, given);
        }
        Ok(Answers(answers))
    }
}

/// The grade of one question.
#[derive(Debug, Clone)]
pub struct Graded<'q> {
    /// The question.
    pub question: &'q Question,
    /// How the learner did.
    pub verdict: Verdict,
}

/// How one answer fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Correct.
    Right,
    /// Incorrect: what was given.
    Wrong(Given),
    /// Not answered.
    Missing,
}

impl Quiz {
    /// A starting answers file: every question as a comment (with its options),
    /// then its slug with an empty answer.
    pub fn template(&self) -> String {
        let mut text = format!(
            "# Your answers to the quiz of {}: fill in each \"\" and run\n\
             #   cargo run -p brokerlings -- answers {}\n",
            self.chapter, self.chapter
        );
        for question in &self.questions {
            text.push('\n');
            for line in question.prompt.lines() {
                text.push_str(&format!("# {line}\n"));
            }
            let mut options = question.options.clone();
            options.sort();
            for option in options {
                text.push_str(&format!("#   - {option}\n"));
            }
            text.push_str(&format!("{} = \"\"\n", question.slug));
        }
        text
    }
}

/// Joins a multi-line message into one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIZ: &str = r#"
[[questions]]
id = "01_demo/behaviour/reading_deletes"
type = "MultipleChoice"
prompt.prompt = "Does reading delete records?"
prompt.distractors = ["Yes"]
answer.answer = "No"
context = "Kafka keeps records until retention removes them."

[[questions]]
id = "01_demo/definition/count"
type = "ShortAnswer"
prompt.prompt = "How many?"
answer.answer = "0"
answer.alternatives = ["zero"]
context = "None."
"#;

    fn quiz() -> Quiz {
        // One file per test: tests run in parallel threads of one process.
        let test = std::thread::current()
            .name()
            .unwrap_or("test")
            .replace("::", "-");
        let dir =
            std::env::temp_dir().join(format!("quiz-test-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("01_demo.toml");
        std::fs::write(&path, QUIZ).expect("temp file");
        Quiz::load_file(&path).expect("the test quiz parses")
    }

    /// Ids carry the kind and slug; a well-formed quiz has no problems.
    #[test]
    fn ids_give_kind_and_slug() {
        let quiz = quiz();
        assert_eq!(quiz.questions[0].kind, Some(Kind::Behaviour));
        assert_eq!(quiz.questions[0].slug, "reading_deletes");
        assert_eq!(quiz.questions[1].kind, Some(Kind::Definition));
        assert!(quiz.problems().is_empty(), "{:?}", quiz.problems());
    }

    /// Answers are graded ignoring case and spaces; numbers may be written as TOML numbers.
    #[test]
    fn answers_are_graded_right_wrong_or_missing() {
        let quiz = quiz();
        let answers =
            Answers::parse("reading_deletes = ' no '\ncount = 0\n").expect("parses");
        let graded = quiz.check(&answers);
        assert!(graded.iter().all(|g| g.verdict == Verdict::Right));
        let answers = Answers::parse("reading_deletes = 'Yes'").expect("parses");
        let graded = quiz.check(&answers);
        assert_eq!(graded[0].verdict, Verdict::Wrong(Given::One("Yes".into())));
        assert_eq!(graded[1].verdict, Verdict::Missing);
    }

    /// A malformed answers file is an error that fits on one line.
    #[test]
    fn malformed_answers_are_one_line_errors() {
        let error = Answers::parse("reading_deletes = \n").expect_err("invalid TOML");
        assert!(!error.contains('\n'), "{error}");
        let error =
            Answers::parse("count = { a = 1 }").expect_err("a table is no answer");
        assert!(error.contains("count"), "{error}");
    }
}
