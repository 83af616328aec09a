//! The lab's one error type.
//!
//! Every variant renders as a single line that says what went wrong and what to
//! do next, because learners read these in a terminal, not in a debugger. The lab
//! speaks of brokers, backends and settings; the commands of the CLI that fix a
//! situation are the CLI's to add (see `brokerlings`' `advice`).

use std::time::Duration;

/// Result of every lab operation.
pub type Result<T, E = LabError> = std::result::Result<T, E>;

/// What can go wrong while getting or controlling brokers.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// No backend can give brokers on this machine.
    #[error(
        "no brokers available: no Docker engine answers, the native lab is not installed, \
         and no BROKERLINGS_AMQP_URL / BROKERLINGS_KAFKA_BOOTSTRAP is set for brokers you already run"
    )]
    NoBackend,

    /// The native lab was asked for but is not installed.
    #[error("the native lab is not installed (in {})", crate::home().display())]
    NotInstalled,

    /// A broker did not answer at its address.
    #[error("no {broker} reachable at {address} ({cause}); {hint}")]
    Unreachable {
        /// "RabbitMQ" or "Kafka".
        broker: &'static str,
        /// Where we looked.
        address: String,
        /// The client's own words, flattened to one line.
        cause: String,
        /// The next command to try.
        hint: String,
    },

    /// Something we waited for did not happen in time.
    #[error("timed out after {} s waiting for {what}", .after.as_secs())]
    Timeout {
        /// What was expected to happen.
        what: String,
        /// How long we waited.
        after: Duration,
    },

    /// An exercise check did not finish in time (see `lab::check`).
    #[error("check timed out after {} s while {what}", .after.as_secs())]
    CheckTimedOut {
        /// What the check was doing, in the learner's terms.
        what: String,
        /// How long it ran.
        after: Duration,
    },

    /// The requested backend cannot be used on this machine.
    #[error("the {backend} lab is not usable here: {reason}")]
    Unavailable {
        /// Which backend.
        backend: &'static str,
        /// Why, and what to do.
        reason: String,
    },

    /// A fault was asked of a lab that cannot inject it (external brokers).
    #[error("fault control unavailable: {0}")]
    NoFaults(String),

    /// A fault was asked through a handle shared with other tests.
    #[error(
        "fault control unavailable: cannot {action} a node through a shared handle; \
         get the {topology} with `lab::…_with_faults()`"
    )]
    SharedHandle {
        /// stop, kill, start.
        action: &'static str,
        /// The handle's topology, e.g. "3-node RabbitMQ cluster".
        topology: &'static str,
    },

    /// A node number outside the topology.
    #[error("the {topology} has nodes 1..={nodes}, not {number}")]
    NoSuchNode {
        /// The topology, e.g. "3-node Kafka cluster".
        topology: &'static str,
        /// How many nodes it has.
        nodes: usize,
        /// The number asked for.
        number: usize,
    },

    /// RabbitMQ nodes that did not join their cluster in time.
    #[error(
        "the RabbitMQ cluster did not form within {} s: {missing} did not join (check its log)",
        .after.as_secs()
    )]
    ClusterIncomplete {
        /// The Erlang names of the nodes node 1 does not see running.
        missing: String,
        /// How long we waited.
        after: Duration,
    },

    /// Something the lab cannot see on this backend.
    #[error("not visible to the lab: {0}")]
    NotVisible(String),

    /// A port the lab needs is held by another program.
    #[error(
        "port {port} is already in use by another program ({what} needs it): stop that program or use `BROKERLINGS_LAB=external`"
    )]
    PortTaken {
        /// The port.
        port: u16,
        /// Which broker node wanted it.
        what: String,
    },

    /// A setting (environment variable) has a value we cannot use.
    #[error("bad setting {name}={value:?}: {expected}")]
    BadSetting {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What would be accepted.
        expected: String,
    },

    /// A step of installing or starting a native broker failed.
    #[error("{step} failed: {detail}")]
    Step {
        /// What we were doing.
        step: String,
        /// What went wrong, including where to find the log.
        detail: String,
    },

    /// The Docker backend failed.
    #[error("docker: {0}")]
    Docker(String),

    /// A broker operation failed.
    #[error("{broker}: {context}: {cause}")]
    Broker {
        /// "RabbitMQ" or "Kafka".
        broker: &'static str,
        /// What we were doing.
        context: String,
        /// The client's words, one line.
        cause: String,
    },

    /// A file of the lab could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// Which file, doing what.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl LabError {
    /// Wraps an I/O error with the file and action it concerns.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
        let context = context.into();
        move |source| LabError::Io { context, source }
    }

    /// A step error with its detail flattened to one line.
    pub fn step(step: impl Into<String>, detail: impl std::fmt::Display) -> LabError {
        LabError::Step {
            step: step.into(),
            detail: one_line(&detail.to_string()),
        }
    }
}

/// Joins a multi-line message into one line, so no error spans a screen.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Errors are read in a terminal: none of them may span several lines.
    #[test]
    fn errors_render_on_one_line() {
        let errors = [
            LabError::NoBackend,
            LabError::step("starting Kafka", "line one\nline two\n"),
            LabError::Timeout {
                what: "a delivery".into(),
                after: Duration::from_secs(3),
            },
        ];
        for error in errors {
            assert!(!error.to_string().contains('\n'), "{error}");
        }
    }
}
