//! A chapter page's speaker notes: the `<details class="speaker-notes">` block
//! instructors read (see book/src/instructors.md). `check` verifies it and
//! `timings` takes each chapter's goals and live demo from it; both read it here.

/// The parts every block has, in order: `- **<part>:** text`.
pub const PARTS: [&str; 5] = [
    "Goals",
    "Draw",
    "Learners get this wrong",
    "Live demo",
    "Ask the room",
];

const OPEN: &str = "<details class=\"speaker-notes\">";
const SUMMARY: &str = "<summary>Speaker notes</summary>";

/// The block of one page.
pub struct SpeakerNotes<'a> {
    block: &'a str,
}

impl<'a> SpeakerNotes<'a> {
    /// The page's block, from its opening tag to `</details>`; `None` without one.
    pub fn find(page: &'a str) -> Option<Self> {
        let block = &page[page.find(OPEN)?..];
        let end = block.find("</details>").unwrap_or(block.len());
        Some(SpeakerNotes {
            block: &block[..end],
        })
    }

    /// What is missing from the form: the summary line or any of [`PARTS`].
    pub fn missing(&self) -> Vec<String> {
        let summary = (!self.block.contains(SUMMARY)).then(|| SUMMARY.to_string());
        let parts = PARTS
            .iter()
            .filter(|part| self.part(part).is_none())
            .map(|part| format!("**{part}:**"));
        summary.into_iter().chain(parts).collect()
    }

    /// The text of one part, on one line; `None` if the block has no such part.
    pub fn part(&self, name: &str) -> Option<String> {
        let (_, rest) = self.block.split_once(&format!("**{name}:**"))?;
        let text = rest.split("\n- **").next().unwrap_or_default();
        Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// The live demo's command: the first `code` of its part.
    pub fn demo_command(&self) -> Option<String> {
        let demo = self.part("Live demo")?;
        demo.split('`').nth(1).map(str::to_string)
    }

    /// The proof the live demo runs, if the command is
    /// `cargo test -p proofs --test <chapter> <proof> -- --nocapture`.
    pub fn demo_proof(&self, chapter: &str) -> Option<String> {
        let command = self.demo_command()?;
        let words: Vec<&str> = command.split_whitespace().collect();
        match words.as_slice() {
            [
                "cargo",
                "test",
                "-p",
                "proofs",
                "--test",
                name,
                proof,
                "--",
                "--nocapture",
            ] if *name == chapter => Some((*proof).to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# Ch\n\n<details class=\"speaker-notes\">\n<summary>Speaker notes</summary>\n\n\
        - **Goals:** route log lines\n  by level.\n\
        - **Draw:** a box.\n\
        - **Learners get this wrong:** `#` vs `*`.\n\
        - **Live demo:** `cargo test -p proofs --test 06_routing fanout -- --nocapture`\n  every queue gets one.\n\
        - **Ask the room:** how many?\n\n</details>\n\n## The exercise\n- **Goals:** not these\n";

    #[test]
    fn parts_are_read_on_one_line_and_only_inside_the_block() {
        let notes = SpeakerNotes::find(PAGE).expect("the page has notes");
        assert!(notes.missing().is_empty(), "{:?}", notes.missing());
        let goals = notes.part("Goals");
        assert_eq!(goals.as_deref(), Some("route log lines by level."));
        assert_eq!(notes.part("Ask the room").as_deref(), Some("how many?"));
        assert_eq!(notes.demo_proof("06_routing").as_deref(), Some("fanout"));
        assert_eq!(notes.demo_proof("07_rpc"), None);
    }

    #[test]
    fn a_missing_part_is_named() {
        let page = PAGE.replace("- **Draw:** a box.\n", "");
        let notes = SpeakerNotes::find(&page).expect("the page has notes");
        assert_eq!(notes.missing(), vec!["**Draw:**"]);
        assert!(SpeakerNotes::find("# no notes").is_none());
    }
}
