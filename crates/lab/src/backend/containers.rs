//! Brokers in Docker containers, through testcontainers.
//!
//! Each node is one container, created from its description ([`NodeSpec`], placed
//! on the lab's Docker network) under a fixed name (`brokerlings-rabbit`,
//! `brokerlings-kafka2`, ...) with reuse (`ReuseDirective::Always`), so every test
//! binary of a run, and the next run, finds and shares the same brokers instead of
//! starting its own. Nodes listen on the same ports inside their containers as on
//! the host, the ports of the native lab and `docker-compose.yml`. `lab down`
//! removes them.

use std::time::Duration;

use futures::StreamExt;
use testcontainers_modules::testcontainers::bollard::Docker;
use testcontainers_modules::testcontainers::bollard::query_parameters::{
    KillContainerOptions, LogsOptions, RemoveContainerOptions, StopContainerOptions,
};
use testcontainers_modules::testcontainers::core::ContainerPort;
use testcontainers_modules::testcontainers::core::client::docker_client_instance;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{
    ContainerRequest, GenericImage, ImageExt, ReuseDirective,
};

use crate::error::one_line;
use crate::node::NodeSpec;
use crate::placement::{Placement, container_name};
use crate::rabbitmq::config::{CONTAINER_CONF, CONTAINER_PLUGINS, COOKIE};
use crate::{LabError, NodeLayout, Result, Topology, versions};

/// The Docker network the cluster nodes talk over.
const NETWORK: &str = "brokerlings";
/// How long a container may take from start to answering (an image pull included).
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(180);

pub(crate) struct Containers;

impl Containers {
    pub(crate) fn new() -> Containers {
        Containers
    }

    /// The container request of `node`: its description rendered as environment
    /// variables and a configuration file, its ports published on the host.
    fn request(node: NodeLayout) -> ContainerRequest<GenericImage> {
        let image = match node.topology.broker() {
            crate::Broker::RabbitMq => {
                GenericImage::new(versions::RABBITMQ_IMAGE, versions::RABBITMQ_TAG)
            }
            crate::Broker::Kafka => {
                GenericImage::new(versions::KAFKA_IMAGE, versions::KAFKA_TAG)
            }
        };
        let mut request = image
            .with_container_name(container_name(node))
            .with_network(NETWORK)
            .with_label("org.brokerlings.lab", node.topology.slug())
            .with_reuse(ReuseDirective::Always)
            .with_startup_timeout(START_TIMEOUT);
        let env = match NodeSpec::new(node, &Placement::Docker) {
            NodeSpec::Rabbit(spec) => {
                request = request
                    .with_copy_to(CONTAINER_CONF, spec.conf_file().into_bytes())
                    .with_copy_to(CONTAINER_PLUGINS, spec.enabled_plugins().into_bytes());
                let mut env = spec.env();
                env.push(("RABBITMQ_ERLANG_COOKIE".into(), COOKIE.into()));
                env
            }
            NodeSpec::Kafka(spec) => spec.env(),
        };
        for (key, value) in env {
            request = request.with_env_var(key, value);
        }
        for port in published_ports(node) {
            request = request.with_mapped_port(port, ContainerPort::Tcp(port));
        }
        request
    }

    /// Starts `node`'s container: the existing one if there is one, else a new one.
    pub(crate) async fn start(&self, node: NodeLayout) -> Result<()> {
        let docker = docker().await?;
        let name = container_name(node);
        if docker.inspect_container(&name, None).await.is_ok() {
            return docker
                .start_container(&name, None)
                .await
                .or_else(already_running)
                .map_err(|e| docker_error(&format!("starting {node}"), e));
        }
        Self::request(node).start().await.map(drop).map_err(|e| {
            LabError::Docker(format!("starting {node}: {}", one_line(&e.to_string())))
        })
    }

    pub(crate) async fn stop(&self, node: NodeLayout, kill: bool) -> Result<()> {
        let docker = docker().await?;
        let name = container_name(node);
        let result = if kill {
            let options = KillContainerOptions {
                signal: "SIGKILL".into(),
            };
            docker.kill_container(&name, Some(options)).await
        } else {
            let options = StopContainerOptions {
                t: Some(45),
                signal: None,
            };
            docker.stop_container(&name, Some(options)).await
        };
        result.map_err(|e| docker_error(&format!("stopping {node}"), e))
    }

    pub(crate) async fn running(&self, node: NodeLayout) -> bool {
        let Ok(docker) = docker().await else {
            return false;
        };
        docker
            .inspect_container(&container_name(node), None)
            .await
            .ok()
            .and_then(|c| c.state.and_then(|s| s.running))
            .unwrap_or(false)
    }

    /// The container's output (the brokers log to stdout).
    pub(crate) async fn log(&self, node: NodeLayout) -> Result<String> {
        let docker = docker().await?;
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let mut logs = docker.logs(&container_name(node), Some(options));
        let mut text = String::new();
        while let Some(chunk) = logs.next().await {
            let chunk = chunk
                .map_err(|e| docker_error(&format!("reading the log of {node}"), e))?;
            text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        Ok(text)
    }

    pub(crate) async fn down(&self) -> Result<()> {
        let docker = docker().await?;
        for node in Topology::ALL.into_iter().flat_map(Topology::nodes) {
            let options = RemoveContainerOptions {
                force: true,
                ..Default::default()
            };
            // A container that was never started is not an error here.
            let _ = docker
                .remove_container(&container_name(node), Some(options))
                .await;
        }
        Ok(())
    }
}

/// The host ports a node's container publishes: what clients use.
fn published_ports(node: NodeLayout) -> Vec<u16> {
    match node.topology.broker() {
        crate::Broker::RabbitMq => vec![node.amqp_port(), node.management_port()],
        crate::Broker::Kafka => vec![node.kafka_port()],
    }
}

/// Starting a container that runs already is not an error (Docker says 304).
fn already_running(
    error: testcontainers_modules::testcontainers::bollard::errors::Error,
) -> std::result::Result<(), testcontainers_modules::testcontainers::bollard::errors::Error>
{
    use testcontainers_modules::testcontainers::bollard::errors::Error;
    match error {
        Error::DockerResponseServerError {
            status_code: 304, ..
        } => Ok(()),
        other => Err(other),
    }
}

fn docker_error(what: &str, error: impl std::fmt::Display) -> LabError {
    LabError::Docker(format!("{what}: {}", one_line(&error.to_string())))
}

async fn docker() -> Result<Docker> {
    docker_client_instance()
        .await
        .map_err(|e| LabError::Docker(one_line(&e.to_string())))
}
