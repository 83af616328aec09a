//! The broker lab: real RabbitMQ and Kafka for every check, proof and the CLI.
//!
//! A test asks for a topology and gets addresses of real, running brokers, started
//! on first use and shared by every test binary of the run:
//!
//! ```no_run
//! # async fn demo() -> lab::Result<()> {
//! let rabbit = lab::rabbit().await?;          // one RabbitMQ 4.0 node
//! let connection = rabbit.connect().await?;   // a lapin connection, bounded wait
//! let kafka = lab::kafka().await?;            // one Kafka 4.x node (KRaft)
//! let producer: rdkafka::producer::FutureProducer =
//!     kafka.client_config().create().expect("valid producer config");
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`topology`]: the four topologies (single / 3-node, RabbitMQ / Kafka) and
//!   the ports every backend gives their nodes.
//! - [`brokers`]: the handles a test gets ([`Rabbit`], [`Kafka`]), their client
//!   helpers and fault control (restart, stop, kill, start a node).
//! - [`select`]: which backend serves this run, and why.
//! - `backend`: the three ways of getting brokers: `containers` (testcontainers,
//!   Docker), `native` (local processes: RabbitMQ from Debian packages in a
//!   chroot, Kafka from its Maven jars) and `external` (addresses you give).
//! - [`versions`]: the pinned broker versions, in one place.
//! - [`names`], [`wait`]: unique resource names and bounded waits, for tests.
//! - [`client`]: client programs run as their own processes, for crash experiments
//!   (a consumer killed with SIGKILL, not a dropped future).
//! - [`error`]: one error type whose messages fit on one line and say what to do.

pub mod brokers;
pub mod client;
pub mod error;
pub mod names;
pub mod select;
pub mod topology;
pub mod versions;
pub mod wait;

mod backend;
mod lease;
mod probe;

pub use backend::native::{Progress, install_native, native_installed};
pub use brokers::{
    Access, Kafka, Rabbit, kafka, kafka_cluster, kafka_cluster_with_faults, kafka_for,
    kafka_with_faults, rabbit, rabbit_cluster, rabbit_cluster_with_faults, rabbit_for,
    rabbit_with_faults,
};
pub use client::ClientProcess;
pub use error::{LabError, Result};
pub use names::unique_name;
pub use select::{BackendKind, Lab, lab};
pub use topology::{NodeLayout, Topology};
pub use wait::{check, until, within};
