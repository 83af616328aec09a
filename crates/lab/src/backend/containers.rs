//! Brokers in Docker containers, through testcontainers.
//!
//! Each node is one container, created from its description ([`NodeSpec`], placed
//! on the lab's Docker network) under a fixed name (`brokerlings-rabbit`,
//! `brokerlings-kafka2`, ...) with reuse (`ReuseDirective::Always`), so every test
//! binary of a run, and the next run, finds and shares the same brokers instead of
//! starting its own. Nodes listen on the same ports inside their containers as on
//! the host, the ports of the native lab and `docker-compose.yml`, published on the
//! host's loopback only. `lab down` removes them, their volumes and the network.
//!
//! - The network is the lab's own, created (once, under a lock) before any node
//!   starts, so no handle of testcontainers owns it and removes it under a node.
//! - Each container carries a hash of its description ([`SPEC_LABEL`]): a container
//!   left by an older description (another image, env or configuration) is
//!   replaced, not silently reused.
//! - The image of each broker is a setting ([`image`]): `BROKERLINGS_RABBITMQ_IMAGE`
//!   / `BROKERLINGS_KAFKA_IMAGE`, else the pinned official image, else (when that
//!   is not here) the one `brokerlings lab images` built.
//! - The Docker engine is assumed to publish ports on this machine
//!   ([`docker_host_is_local`]); a remote `DOCKER_HOST` is refused with what to do.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use sha2::{Digest, Sha256};
use testcontainers_modules::testcontainers::bollard::Docker;
use testcontainers_modules::testcontainers::bollard::errors::Error as DockerError;
use testcontainers_modules::testcontainers::bollard::models::NetworkCreateRequest;
use testcontainers_modules::testcontainers::bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptions, LogsOptions, RemoveContainerOptions,
    StopContainerOptions,
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
use crate::{Broker, LabError, NodeLayout, Result, Topology, lease, versions};

/// The Docker network the cluster nodes talk over.
pub(crate) const NETWORK: &str = "brokerlings";
/// How long a container may take from start to answering (an image pull included).
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(180);
/// The label with the hash of a container's description.
pub(crate) const SPEC_LABEL: &str = "org.brokerlings.spec";
/// The label naming a container's topology.
const TOPOLOGY_LABEL: &str = "org.brokerlings.lab";
/// The interface published ports listen on: this machine only, as in the native
/// lab and the compose file (guest/guest and a Kafka without authentication must
/// not be reachable from the room's network).
pub(crate) const HOST_IP: &str = "127.0.0.1";

/// The setting that names the image of `broker`'s nodes.
pub fn image_variable(broker: Broker) -> &'static str {
    match broker {
        Broker::RabbitMq => "BROKERLINGS_RABBITMQ_IMAGE",
        Broker::Kafka => "BROKERLINGS_KAFKA_IMAGE",
    }
}

/// The pinned official image of `broker`.
pub fn official_image(broker: Broker) -> String {
    match broker {
        Broker::RabbitMq => {
            format!("{}:{}", versions::RABBITMQ_IMAGE, versions::RABBITMQ_TAG)
        }
        Broker::Kafka => format!("{}:{}", versions::KAFKA_IMAGE, versions::KAFKA_TAG),
    }
}

/// The image the containers lab runs for `broker`, and why: the setting if given;
/// else the official image if it is here (or nothing else is); else the image
/// `brokerlings lab images` built here.
pub async fn image(broker: Broker) -> (String, String) {
    let variable = image_variable(broker);
    if let Some(name) = std::env::var(variable).ok().filter(|v| !v.is_empty()) {
        return (name, format!("{variable} is set"));
    }
    let official = official_image(broker);
    if image_present(&official).await {
        return (official, "the pinned official image, present here".into());
    }
    let local = super::native::local_image(broker);
    if image_present(&local).await {
        return (
            local,
            format!("{official} is not here; the image `lab images` built here is"),
        );
    }
    (official, "the pinned official image, to be pulled".into())
}

/// The images the containers lab would run that the engine does not have.
pub async fn missing_images() -> Vec<String> {
    let mut missing = Vec::new();
    for broker in [Broker::RabbitMq, Broker::Kafka] {
        let (name, _) = image(broker).await;
        if !image_present(&name).await {
            missing.push(name);
        }
    }
    missing
}

/// Whether the Docker engine has image `name`.
pub async fn image_present(name: &str) -> bool {
    match docker().await {
        Ok(docker) => docker.inspect_image(name).await.is_ok(),
        Err(_) => false,
    }
}

/// Whether `DOCKER_HOST` (if set) is an engine on this machine, whose published
/// ports are on this machine's loopback; `Err` says what is not supported.
pub fn docker_host_is_local() -> std::result::Result<(), String> {
    local_docker_host(std::env::var("DOCKER_HOST").ok().as_deref())
}

fn local_docker_host(host: Option<&str>) -> std::result::Result<(), String> {
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        return Ok(());
    };
    let local = host.starts_with("unix://")
        || host.starts_with("npipe://")
        || ["tcp://127.0.0.1", "tcp://localhost", "tcp://[::1]"]
            .iter()
            .any(|prefix| host.starts_with(prefix));
    if local {
        Ok(())
    } else {
        Err(format!(
            "DOCKER_HOST={host} is an engine on another machine, and the containers lab reaches brokers on this machine's 127.0.0.1 only: \
             unset DOCKER_HOST, or start the brokers there (`docker compose up -d`) and use BROKERLINGS_LAB=external with their addresses"
        ))
    }
}

pub(crate) struct Containers;

/// A node's container, described: what it is made from, and the hash of that.
struct Described {
    request: ContainerRequest<GenericImage>,
    hash: String,
}

impl Containers {
    pub(crate) fn new() -> Containers {
        Containers
    }

    /// The container request of `node`: its description rendered as environment
    /// variables and a configuration file, its ports published on the host's
    /// loopback, labelled with the hash of all of that.
    async fn describe(node: NodeLayout) -> Described {
        let (image, _) = image(node.topology.broker()).await;
        let image_id = match docker().await {
            Ok(docker) => docker
                .inspect_image(&image)
                .await
                .ok()
                .and_then(|i| i.id)
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let mut hash = Sha256::new();
        let mut part = |text: &str| {
            hash.update(text.as_bytes());
            hash.update([0]);
        };
        part(&image);
        part(&image_id);
        let (name, tag) = split_image(&image);
        let mut request = GenericImage::new(name, tag)
            .with_container_name(container_name(node))
            .with_network(NETWORK)
            .with_label(TOPOLOGY_LABEL, node.topology.slug())
            .with_reuse(ReuseDirective::Always)
            .with_startup_timeout(START_TIMEOUT);
        let env = match NodeSpec::new(node, &Placement::Docker) {
            NodeSpec::Rabbit(spec) => {
                for (path, text) in [
                    (CONTAINER_CONF, spec.conf_file()),
                    (CONTAINER_PLUGINS, spec.enabled_plugins()),
                ] {
                    part(path);
                    part(&text);
                    request = request.with_copy_to(path, text.into_bytes());
                }
                let mut env = spec.env();
                env.push(("RABBITMQ_ERLANG_COOKIE".into(), COOKIE.into()));
                env
            }
            NodeSpec::Kafka(spec) => spec.env(),
        };
        for (key, value) in env {
            part(&format!("{key}={value}"));
            request = request.with_env_var(key, value);
        }
        for port in published_ports(node) {
            part(&format!("{HOST_IP}:{port}"));
            request = request.with_mapped_port(port, ContainerPort::Tcp(port));
        }
        let hash: String = hash
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let request = request
            .with_label(SPEC_LABEL, hash.clone())
            .with_host_config_modifier(|config| {
                // testcontainers leaves the host IP out, and Docker then binds
                // 0.0.0.0 and [::]: every interface of the machine.
                if let Some(bindings) = config.port_bindings.as_mut() {
                    for binding in bindings.values_mut().flatten().flatten() {
                        binding.host_ip = Some(HOST_IP.into());
                    }
                }
            });
        Described { request, hash }
    }

    /// Removes every container of `topology` if any of them was made from another
    /// description (an older image, env or configuration), or some of a cluster's
    /// are missing, so that the next start
    /// creates them all afresh: a cluster is re-formed as a whole, never one new
    /// node among old ones. Returns whether it removed them.
    pub(crate) async fn replace_outdated(&self, topology: Topology) -> Result<bool> {
        let docker = docker().await?;
        let (mut outdated, mut existing) = (false, 0);
        for node in topology.nodes() {
            let name = container_name(node);
            if let Ok(container) = docker
                .inspect_container(&name, None::<InspectContainerOptions>)
                .await
            {
                existing += 1;
                let labels = container.config.and_then(|c| c.labels).unwrap_or_default();
                let wanted = Self::describe(node).await.hash;
                outdated |= labels.get(SPEC_LABEL) != Some(&wanted);
            }
        }
        // Some nodes of a cluster without the others: a new node would find peers
        // that remember an old one of its name, and could not join them.
        outdated |= existing > 0 && existing < topology.size();
        if outdated {
            for node in topology.nodes() {
                remove(&docker, &container_name(node)).await?;
            }
        }
        Ok(outdated)
    }

    /// Starts `node`'s container: the existing one if there is one (a node stopped
    /// or killed by a fault experiment comes back on its own data), else a new one.
    pub(crate) async fn start(&self, node: NodeLayout) -> Result<()> {
        let docker = docker().await?;
        ensure_network(&docker).await?;
        let name = container_name(node);
        if docker
            .inspect_container(&name, None::<InspectContainerOptions>)
            .await
            .is_ok()
        {
            return docker
                .start_container(&name, None)
                .await
                .or_else(already_running)
                .map_err(|e| docker_error(&format!("starting {node}"), e));
        }
        let described = Self::describe(node).await;
        let (image, _) = image(node.topology.broker()).await;
        let pulled = image_present(&image).await;
        described.request.start().await.map(drop).map_err(|e| {
            let mut text = format!("starting {node}: {}", one_line(&e.to_string()));
            if !pulled {
                text.push_str(&format!(
                    "; if {image} cannot be pulled here (offline, no registry): `brokerlings lab images` builds it on this machine, or `brokerlings lab install` gives the native lab"
                ));
            }
            LabError::Docker(text)
        })
    }

    /// Stops `node`: cleanly (`docker stop`, SIGTERM then SIGKILL after 45 s) or
    /// with SIGKILL. A node that is not running is not an error, as natively.
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
        result
            .or_else(not_running)
            .map_err(|e| docker_error(&format!("stopping {node}"), e))
    }

    pub(crate) async fn running(&self, node: NodeLayout) -> bool {
        let Ok(docker) = docker().await else {
            return false;
        };
        docker
            .inspect_container(&container_name(node), None::<InspectContainerOptions>)
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

    /// Removes every node's container with its volumes, then the network.
    pub(crate) async fn down(&self) -> Result<()> {
        let docker = docker().await?;
        for node in Topology::ALL.into_iter().flat_map(Topology::nodes) {
            remove(&docker, &container_name(node)).await?;
        }
        match docker.remove_network(NETWORK).await {
            Ok(())
            | Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(error) => Err(docker_error("removing the network", error)),
        }
    }
}

/// Removes a container with its anonymous volumes (the images declare VOLUMEs); a
/// container that is not there is not an error.
async fn remove(docker: &Docker, name: &str) -> Result<()> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match docker.remove_container(name, Some(options)).await {
        Ok(())
        | Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(error) => Err(docker_error(&format!("removing {name}"), error)),
    }
}

/// Creates the lab's network if it is not there, under a lock so that two
/// processes starting different topologies do not both create it.
async fn ensure_network(docker: &Docker) -> Result<()> {
    let _lock = lease::exclusive(
        "docker-network",
        Duration::from_secs(30),
        "another process to create the Docker network",
    )
    .await?;
    if docker.inspect_network(NETWORK, None).await.is_ok() {
        return Ok(());
    }
    let request = NetworkCreateRequest {
        name: NETWORK.into(),
        driver: Some("bridge".into()),
        labels: Some(HashMap::from([(
            TOPOLOGY_LABEL.to_string(),
            "network".to_string(),
        )])),
        ..Default::default()
    };
    docker
        .create_network(request)
        .await
        .map(drop)
        .map_err(|e| docker_error("creating the Docker network `brokerlings`", e))
}

/// `name:tag` (a registry host's port is not a tag).
fn split_image(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_string(), tag.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

/// The host ports a node's container publishes: what clients use.
fn published_ports(node: NodeLayout) -> Vec<u16> {
    match node.topology.broker() {
        Broker::RabbitMq => vec![node.amqp_port(), node.management_port()],
        Broker::Kafka => vec![node.kafka_port()],
    }
}

/// Starting a container that runs already is not an error (Docker says 304).
fn already_running(error: DockerError) -> std::result::Result<(), DockerError> {
    match error {
        DockerError::DockerResponseServerError {
            status_code: 304, ..
        } => Ok(()),
        other => Err(other),
    }
}

/// Stopping a stopped container (304) or killing one (409) is not an error.
fn not_running(error: DockerError) -> std::result::Result<(), DockerError> {
    match error {
        DockerError::DockerResponseServerError {
            status_code: 304 | 409,
            ..
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Image settings may name a registry with a port, or no tag at all.
    #[test]
    fn image_names_split_into_name_and_tag() {
        assert_eq!(
            split_image("rabbitmq:4.0.5-management"),
            ("rabbitmq".into(), "4.0.5-management".into())
        );
        assert_eq!(
            split_image("mirror.example:5000/apache/kafka:4.1.1"),
            ("mirror.example:5000/apache/kafka".into(), "4.1.1".into())
        );
        assert_eq!(
            split_image("mirror.example:5000/kafka"),
            ("mirror.example:5000/kafka".into(), "latest".into())
        );
    }

    /// Only an engine on this machine publishes ports where the lab looks.
    #[test]
    fn a_remote_docker_host_is_refused_with_what_to_do() {
        assert!(local_docker_host(None).is_ok());
        assert!(local_docker_host(Some("unix:///var/run/docker.sock")).is_ok());
        assert!(local_docker_host(Some("tcp://127.0.0.1:2375")).is_ok());
        let error = local_docker_host(Some("tcp://10.0.0.5:2375")).expect_err("remote");
        assert!(error.contains("BROKERLINGS_LAB=external"), "{error}");
    }

    /// The official images are the pinned versions.
    #[test]
    fn official_images_are_the_pinned_tags() {
        assert_eq!(
            official_image(Broker::RabbitMq),
            "rabbitmq:4.0.5-management"
        );
        assert_eq!(official_image(Broker::Kafka), "apache/kafka:4.1.1");
    }
}
