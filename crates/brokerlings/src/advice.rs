//! Errors as the learner reads them: one line, and for the lab's situations that a
//! command of this CLI fixes, that command. (The lab describes situations; which
//! command fixes them is the CLI's business.)

use lab::LabError;

/// How to run this CLI, as the README shows it.
pub const CLI: &str = "cargo run -p brokerlings --";

/// `error` on one line, with the command that fixes it where there is one.
pub fn render(error: &anyhow::Error) -> String {
    let text = lab::error::one_line(&format!("{error:#}"));
    match error.downcast_ref::<LabError>() {
        Some(LabError::NoBackend) => format!(
            "no brokers available: start Docker, or run `{CLI} lab install` (native, \
             Debian/Ubuntu), or set BROKERLINGS_AMQP_URL / BROKERLINGS_KAFKA_BOOTSTRAP for \
             brokers you already run"
        ),
        Some(LabError::NotInstalled) => {
            format!(
                "the native lab is not usable here: it is not installed: run `{CLI} lab install`"
            )
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lab's "nothing to run brokers with" becomes the commands that fix it.
    #[test]
    fn no_backend_names_the_ways_to_get_brokers() {
        let rendered = render(&LabError::NoBackend.into());
        assert!(
            rendered.starts_with(
                "no brokers available: start Docker, or run `cargo run -p brokerlings -- lab install`"
            ),
            "{rendered}"
        );
    }

    /// Other errors keep their own words, on one line.
    #[test]
    fn other_errors_keep_their_words() {
        let error = anyhow::anyhow!("line one\nline two");
        assert_eq!(render(&error), "line one line two");
    }
}
