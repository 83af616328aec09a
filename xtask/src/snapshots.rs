//! What a learner sees when their code is wrong, under review: the failure
//! messages of every untouched exercise and every wrong solution are compared with
//! snapshots kept beside the exercise (`exercises/<name>/snapshots/*.snap`, insta's
//! format). A changed message is then a diff someone reviewed, as the Rust book's
//! console output is.
//!
//! What differs from run to run is redacted: unique resource names, numbers and
//! times. A new or changed message fails the check, and insta writes the new text
//! beside the snapshot (`*.snap.new`); accept it with `cargo insta review` or by
//! running `INSTA_UPDATE=always cargo xtask check`.

use std::path::Path;
use std::sync::Mutex;

use workbook::libtest::Failure;

/// insta keeps settings per thread and panics on a mismatch: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The failures as a learner reads them, one block per check, redacted: the first
/// line of each message (the headline the check wrote; what follows it, such as the
/// error chain of the learner's own code, depends on timing).
pub fn text(failures: &[Failure]) -> String {
    failures
        .iter()
        .map(|f| {
            let headline = f.message.lines().next().unwrap_or_default();
            format!("✗ {}:\n{}\n", f.check, redact(headline))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Replaces what differs between runs: the items of listed values (`["job-3",
/// "job-4"]` becomes `[…]`: how many were listed varies), names made by
/// `lab::unique_name` (`<test>.<what>.<8 random>`), then every number but those of
/// chapter pointers (`see ch04 '...'`).
pub fn redact(text: &str) -> String {
    let text = lists_collapsed(text);
    let mut out = String::with_capacity(text.len());
    for word in
        text.split_inclusive(|c: char| c.is_whitespace() || "\"'`(),;:[]{}".contains(c))
    {
        let (body, tail) = split_tail(word);
        if is_unique_name(body) {
            out.push_str("[name]");
        } else if is_chapter(body) {
            out.push_str(body);
        } else {
            out.push_str(&numbers_redacted(body));
        }
        out.push_str(tail);
    }
    out
}

/// `[a, b]`, `["x"]`, `[3]` and `[]` become `[…]` (how many were listed varies);
/// other brackets stay.
fn lists_collapsed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        match after.find(']') {
            Some(close)
                if !after[1..close].contains('[')
                    && (after[..close].contains([',', '"'])
                        || after[1..close].chars().all(|c| c.is_ascii_digit())) =>
            {
                out.push_str("[…]");
                rest = &after[close + 1..];
            }
            _ => {
                out.push('[');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn split_tail(word: &str) -> (&str, &str) {
    let cut = word
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_whitespace() || "\"'`(),;:[]{}".contains(*c))
        .last()
        .map_or(word.len(), |(i, _)| i);
    word.split_at(cut)
}

/// `test_name.what.abcd1234`: three dot-separated parts, the last 8 alphanumerics.
fn is_unique_name(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() >= 3
        && parts.last().is_some_and(|s| {
            s.len() == 8
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// `ch06`: a pointer to a chapter, which a message must keep.
fn is_chapter(word: &str) -> bool {
    word.strip_prefix("ch")
        .is_some_and(|n| n.len() == 2 && n.chars().all(|c| c.is_ascii_digit()))
}

fn numbers_redacted(word: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in word.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push_str("[n]");
            }
            in_number = true;
        } else if c == '.' && in_number {
            continue;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// Compares `text` with the snapshot `<dir>/<name>.snap`; on a difference, why.
pub fn compare(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let compared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, text));
    }));
    std::panic::set_hook(hook);
    compared.map_err(|_| {
        format!(
            "what the learner sees changed (or is new): review {}/{name}.snap.new with \
             `cargo insta review`, or accept it with `INSTA_UPDATE=always cargo xtask check`",
            dir.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random names and numbers are redacted; the words stay.
    #[test]
    fn what_varies_is_redacted() {
        let message = "12 of 40 tasks in every_task.task_queue.ab12cd34 took 3.5 s";
        assert_eq!(redact(message), "[n] of [n] tasks in [name] took [n] s");
        assert_eq!(redact("record-3 (offset 4)"), "record-[n] (offset [n])");
        assert_eq!(redact("(see ch04 'Durability')"), "(see ch04 'Durability')");
        assert_eq!(
            redact("lost: [\"job-3\", \"job-4\"]; offsets [Some(4), None]"),
            "lost: […]; offsets […]"
        );
        assert_eq!(
            redact("offsets [] or [7], not [a]"),
            "offsets […] or […], not [a]"
        );
    }
}
