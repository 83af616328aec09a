//! RabbitMQ: everything the lab knows about RabbitMQ, in one place.
//!
//! - `config`: a node's settings (node name, `rabbitmq.conf`, plugins, cookie),
//!   which every backend renders.
//! - `probe`: is a node up, has a cluster formed.
//! - [`management`]: the management HTTP API.
//! - [`Rabbit`] (`handle`): the brokers a test gets, with client helpers.
//! - [`steps`]: the test steps checks, proofs and the lab's tests share.

pub(crate) mod config;
mod handle;
pub mod management;
pub(crate) mod probe;
pub mod steps;

pub use handle::{
    CONNECT_TIMEOUT, Rabbit, rabbit, rabbit_cluster, rabbit_cluster_with_faults,
    rabbit_for, rabbit_with_faults,
};
