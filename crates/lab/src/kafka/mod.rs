//! Kafka: everything the lab knows about Kafka, in one place.
//!
//! - `config`: a node's settings (one list, rendered as `server.properties` and
//!   as the `apache/kafka` image's `KAFKA_*` variables), cluster id and heap.
//! - `probe`: is a node up, which version runs.
//! - [`Kafka`] (`handle`): the brokers a test gets, with client helpers.
//! - [`steps`]: the test steps checks, proofs and the lab's tests share.

pub(crate) mod config;
mod handle;
pub(crate) mod probe;
pub mod steps;

pub use config::HEAP_OPTS;

pub use handle::{
    Kafka, kafka, kafka_cluster, kafka_cluster_with_faults, kafka_for, kafka_with_faults,
};
