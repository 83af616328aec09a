//! The broker lab: real RabbitMQ and Kafka for every check, proof and the CLI.
//!
//! A test asks for a topology and gets endpoints of real, running brokers, started
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
//! # Layout: cut by broker, with thin backends
//!
//! - [`rabbitmq`], [`kafka`]: everything the lab knows about each broker, once:
//!   a node's settings (rendered by every backend), readiness probes, clustering,
//!   the version query, the handle a test gets ([`Rabbit`], [`Kafka`]) and the
//!   shared test [`rabbitmq::steps`] / [`kafka::steps`] that exercise checks,
//!   proofs and the lab's own tests use.
//! - `node`: the description of one node a backend runs; `placement`: where it
//!   runs (loopback or a Docker network), which decides how nodes find each other.
//! - `backend`: the life cycle of a node on each way of getting brokers:
//!   `containers` (testcontainers, Docker), `native` (local processes: RabbitMQ
//!   from Debian packages in a chroot, Kafka from its Maven jars; `lab install`)
//!   and `external` (endpoints you give).
//! - [`Lab`] (`lab`): the backend this process uses and how a whole topology
//!   starts on it; [`select`]: which backend, and why.
//! - [`brokers`]: a topology's running brokers, with fault control; `lease`: the
//!   cross-process locks that keep fault experiments and other tests apart.
//! - [`topology`]: the four topologies, node names and ports; [`Endpoint`]: where
//!   a client reaches a node.
//! - [`versions`]: the pinned broker versions, in one place.
//! - [`names`], [`wait`]: unique resource names and bounded waits, for tests.
//! - [`client`]: client programs run as their own processes, for crash
//!   experiments (a consumer killed with SIGKILL, not a dropped future).
//! - [`error`]: one error type whose messages fit on one line.
//! - `home`: the lab's folder.

pub mod brokers;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod kafka;
pub mod names;
pub mod rabbitmq;
pub mod select;
pub mod topology;
pub mod versions;
pub mod wait;

mod backend;

/// The containers lab's Docker images: which one runs each broker, and why.
pub mod docker {
    pub use crate::backend::containers::{
        docker_host_is_local, image, image_present, image_variable, missing_images,
        official_image,
    };
    pub use crate::backend::native::local_image;
}
mod home;
mod lab;
mod lease;
mod node;
mod placement;

pub use backend::BackendKind;
pub use backend::native::{
    BuiltImage, InstallEvent, build_images, can_install_native, install_native,
    local_image, native_installed,
};
pub use client::ClientProcess;
pub use endpoint::Endpoint;
pub use error::{LabError, Result};
pub use home::home;
pub use kafka::Kafka;
pub use kafka::{
    kafka, kafka_cluster, kafka_cluster_with_faults, kafka_for, kafka_with_faults,
};
pub use lab::{Lab, lab};
pub use lease::Access;
pub use names::unique_name;
pub use rabbitmq::Rabbit;
pub use rabbitmq::{
    rabbit, rabbit_cluster, rabbit_cluster_with_faults, rabbit_for, rabbit_with_faults,
};
pub use topology::{Broker, NodeLayout, Topology};
pub use wait::{check, until, within};
