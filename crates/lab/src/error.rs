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
#[derive(Debug, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(LabErrorKind),
    derive(strum::EnumIter),
    doc = "The variants of [`LabError`], for the book's troubleshooting page."
)]
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

    /// A RabbitMQ node that cannot join its cluster, and why.
    #[error("the RabbitMQ cluster did not form: {node} {why}; {log_hint}")]
    NotInCluster {
        /// The node, by its Erlang name.
        node: String,
        /// Why it is not a member, as seen by the lab.
        why: String,
        /// Where its log is.
        log_hint: String,
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

/// One error as the troubleshooting page shows it: an example of its line, its
/// cause and its fix.
pub type Trouble = (String, &'static str, &'static str);

impl LabError {
    /// Every variant, each with an example, its cause and its fix: the book's
    /// troubleshooting page is generated from this (`cargo xtask timings --render`),
    /// and a new variant does not compile until it is here.
    pub fn troubleshooting() -> Vec<Trouble> {
        use strum::IntoEnumIterator;
        LabErrorKind::iter().map(trouble).collect()
    }
}

fn trouble(kind: LabErrorKind) -> Trouble {
    use LabErrorKind as K;
    let (error, cause, fix) = match kind {
        K::NoBackend => (
            LabError::NoBackend,
            "the lab looked for Docker, the native lab and broker addresses, and found none",
            "start Docker; or `brokerlings lab install` (Debian/Ubuntu, as root); or set the addresses of brokers you run",
        ),
        K::NotInstalled => (
            LabError::NotInstalled,
            "`BROKERLINGS_LAB=native` (or a native command) on a machine where `lab install` never ran",
            "`brokerlings lab install`",
        ),
        K::Unreachable => (
            LabError::Unreachable {
                broker: "RabbitMQ",
                address: "127.0.0.1:5672".into(),
                cause: "Connection refused (os error 111)".into(),
                hint: "is it running? `brokerlings lab status`".into(),
            },
            "the broker is stopped, still starting, or the address points elsewhere",
            "`brokerlings lab up`, then `brokerlings lab status`; for external brokers, check BROKERLINGS_AMQP_URL / BROKERLINGS_KAFKA_BOOTSTRAP",
        ),
        K::Timeout => (
            LabError::Timeout {
                what: "3 messages in queue `tasks-4f2a`".into(),
                after: Duration::from_secs(10),
            },
            "a check or proof waited for a broker state that never came: usually the code under test, sometimes an overloaded machine",
            "read what was expected: it names the behaviour; run the check alone (`brokerlings check NAME`) to rule out load",
        ),
        K::CheckTimedOut => (
            LabError::CheckTimedOut {
                what: "consuming the tasks".into(),
                after: Duration::from_secs(60),
            },
            "the exercise's code did not return: a consumer that never stops, an await on a confirm that never comes",
            "make every loop end (a count, a timeout); the message says what the check was doing",
        ),
        K::Unavailable => (
            LabError::Unavailable {
                backend: "containers",
                reason: "Docker does not answer".into(),
            },
            "BROKERLINGS_LAB asks for a backend this machine cannot use",
            "unset BROKERLINGS_LAB to let the lab choose, or fix what the reason says",
        ),
        K::NoFaults => (
            LabError::NoFaults("the external lab's brokers run elsewhere".into()),
            "a check that restarts or kills brokers ran against brokers the lab does not control",
            "run fault checks on your own lab (Docker or `brokerlings lab install`)",
        ),
        K::SharedHandle => (
            LabError::SharedHandle {
                action: "kill",
                topology: "3-node Kafka cluster",
            },
            "test code asked a shared handle (`lab::kafka_cluster()`) for a fault",
            "take the exclusive handle (`lab::kafka_cluster_with_faults()`) in fault tests",
        ),
        K::NoSuchNode => (
            LabError::NoSuchNode {
                topology: "3-node RabbitMQ cluster",
                nodes: 3,
                number: 4,
            },
            "test code named a node outside the topology",
            "nodes are numbered from 1",
        ),
        K::ClusterIncomplete => (
            LabError::ClusterIncomplete {
                missing: "rabbit-3@localhost".into(),
                after: Duration::from_secs(60),
            },
            "a RabbitMQ node started but did not join node 1 (an old data directory, a clashing Erlang cookie)",
            "`brokerlings lab down`, then `brokerlings lab up rabbit-cluster`; read the node's log if it happens again",
        ),
        K::NotInCluster => (
            LabError::NotInCluster {
                node: "rabbit3@brokerlings-rabbit3".into(),
                why: "rejects its peers: its Erlang cookie is not theirs (its log: `Invalid challenge reply`)".into(),
                log_hint: "its log: `docker logs brokerlings-rabbit3`".into(),
            },
            "a RabbitMQ node could not join its peers: another Erlang cookie, or it came back without the data of its membership and formed a cluster alone",
            "`brokerlings lab down`, then `brokerlings lab up rabbit-cluster`; if it happens again, its log says why it could not join",
        ),
        K::NotVisible => (
            LabError::NotVisible("the node's log lives in its container".into()),
            "something the lab can show on one backend but not on this one",
            "look where the message says (e.g. `docker logs`)",
        ),
        K::PortTaken => (
            LabError::PortTaken {
                port: 5672,
                what: "single RabbitMQ".into(),
            },
            "another program (often a RabbitMQ or Kafka installed as a service) listens on a port the lab needs",
            "stop it (`ss -ltnp` shows which), or point the lab at it with BROKERLINGS_LAB=external",
        ),
        K::BadSetting => (
            LabError::BadSetting {
                name: "BROKERLINGS_LAB",
                value: "docker".into(),
                expected: "one of containers, native, external".into(),
            },
            "an environment variable of the lab has a value it cannot use",
            "fix or unset the variable; the message lists what is accepted",
        ),
        K::Step => (
            LabError::step(
                "starting Kafka node 1",
                "it exited with status 1 (log: ~/.local/share/brokerlings/native/run/kafka-1.log)",
            ),
            "installing or starting a native broker failed",
            "read the log the message names; `brokerlings lab install` again repairs a partial install",
        ),
        K::Docker => (
            LabError::Docker(
                "creating container: no such image rabbitmq:4.0.5-management".into(),
            ),
            "Docker answered but refused an operation",
            "the message is Docker's own; `docker images` and `docker ps -a` show the state",
        ),
        K::Broker => (
            LabError::Broker {
                broker: "Kafka",
                context: "creating topic orders-1c2d".into(),
                cause: "Broker: Invalid replication factor".into(),
            },
            "the broker refused an operation of the lab",
            "the cause is the broker's own words; `brokerlings lab status` shows which nodes run",
        ),
        K::Io => (
            LabError::Io {
                context: "writing ~/.local/share/brokerlings/locks/rabbit".into(),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            },
            "a file of the lab could not be read or written",
            "check the owner and free space of the lab's home (`brokerlings doctor`)",
        ),
    };
    (error.to_string(), cause, fix)
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
