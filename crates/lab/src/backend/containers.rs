//! Brokers in Docker containers, through testcontainers.
//!
//! Containers are started with reuse (`ReuseDirective::Always`) under fixed names
//! (`brokerlings-rabbit`, `brokerlings-kafka2`, ...), so every test binary of a run,
//! and the next run, finds and shares the same brokers instead of starting its own.
//! They listen on the same host ports as the native lab and `docker-compose.yml`.
//! `lab down` removes them.

use std::time::Duration;

use testcontainers_modules::testcontainers::bollard::query_parameters::{
    KillContainerOptions, RemoveContainerOptions, StopContainerOptions,
};
use testcontainers_modules::testcontainers::core::client::docker_client_instance;
use testcontainers_modules::testcontainers::core::{ContainerPort, ExecCommand};
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{
    ContainerAsync, ContainerRequest, GenericImage, ImageExt, ReuseDirective,
};

use crate::error::one_line;
use crate::{LabError, NodeLayout, Result, Topology, probe, versions};

/// The Docker network the cluster nodes talk over.
const NETWORK: &str = "brokerlings";
/// Shared by the RabbitMQ cluster nodes and their CLI tools.
const COOKIE: &str = "brokerlings-lab-cookie";
const START_TIMEOUT: Duration = Duration::from_secs(180);

pub(crate) struct Containers;

impl Containers {
    pub(crate) fn new() -> Containers {
        Containers
    }

    fn container_name(node: NodeLayout) -> String {
        format!("brokerlings-{}", node.name())
    }

    fn request(node: NodeLayout) -> ContainerRequest<GenericImage> {
        let image = if node.topology.is_rabbit() {
            GenericImage::new(versions::RABBITMQ_IMAGE, versions::RABBITMQ_TAG)
        } else {
            GenericImage::new(versions::KAFKA_IMAGE, versions::KAFKA_TAG)
        };
        let mut request = image
            .with_container_name(Self::container_name(node))
            .with_hostname(node.name())
            .with_network(NETWORK)
            .with_label("org.brokerlings.lab", node.topology.slug())
            .with_reuse(ReuseDirective::Always)
            .with_startup_timeout(START_TIMEOUT);
        if node.topology.is_rabbit() {
            request = request
                .with_mapped_port(node.amqp_port(), ContainerPort::Tcp(5672))
                .with_mapped_port(node.management_port(), ContainerPort::Tcp(15672))
                .with_env_var("RABBITMQ_NODENAME", format!("rabbit@{}", node.name()))
                .with_env_var("RABBITMQ_ERLANG_COOKIE", COOKIE);
            if node.topology == Topology::RabbitCluster {
                let peers: String = node
                    .topology
                    .nodes()
                    .map(|p| {
                        format!(
                            "cluster_formation.classic_config.nodes.{} = rabbit@{}\n",
                            p.number,
                            p.name()
                        )
                    })
                    .collect();
                let conf = format!(
                    "cluster_formation.peer_discovery_backend = classic_config\n{peers}"
                );
                request = request.with_copy_to(
                    "/etc/rabbitmq/conf.d/90-brokerlings.conf",
                    conf.into_bytes(),
                );
            }
        } else {
            for (key, value) in kafka_env(node) {
                request = request.with_env_var(key, value);
            }
            request = request.with_mapped_port(
                node.kafka_port(),
                ContainerPort::Tcp(node.kafka_port()),
            );
        }
        request
    }

    async fn start_container(node: NodeLayout) -> Result<ContainerAsync<GenericImage>> {
        Self::request(node).start().await.map_err(|e| {
            LabError::Docker(format!("starting {node}: {}", one_line(&e.to_string())))
        })
    }

    pub(crate) async fn ensure(&self, topology: Topology) -> Result<Vec<String>> {
        let _starting = crate::lease::exclusive(
            &format!("{}.start", topology.slug()),
            START_TIMEOUT * 2,
            &format!("another process to finish starting the {topology}"),
        )
        .await?;
        let mut containers = Vec::new();
        for node in topology.nodes() {
            containers.push(Self::start_container(node).await?);
        }
        for node in topology.nodes() {
            wait_ready(node).await?;
        }
        if topology == Topology::RabbitCluster {
            let command = ExecCommand::new([
                "rabbitmqctl",
                "await_online_nodes",
                "3",
                "--timeout",
                "120",
            ]);
            crate::within(
                Duration::from_secs(130),
                "the 3 RabbitMQ containers to cluster",
                async { containers[0].exec(command).await },
            )
            .await?
            .map_err(|e| {
                LabError::Docker(format!(
                    "clustering RabbitMQ: {}",
                    one_line(&e.to_string())
                ))
            })?;
        }
        Ok(topology.nodes().map(NodeLayout::client_address).collect())
    }

    pub(crate) async fn stop_node(&self, node: NodeLayout, kill: bool) -> Result<()> {
        let docker = docker().await?;
        let name = Self::container_name(node);
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
        result.map_err(|e| {
            LabError::Docker(format!("stopping {node}: {}", one_line(&e.to_string())))
        })
    }

    pub(crate) async fn start_node(&self, node: NodeLayout) -> Result<()> {
        let docker = docker().await?;
        docker
            .start_container(&Self::container_name(node), None)
            .await
            .map_err(|e| {
                LabError::Docker(format!("starting {node}: {}", one_line(&e.to_string())))
            })?;
        wait_ready(node).await
    }

    /// The version of the `kafka-clients` jar inside the node's image.
    pub(crate) async fn kafka_version(&self, node: NodeLayout) -> Result<String> {
        let container = Self::start_container(node).await?;
        let command =
            ExecCommand::new(["sh", "-c", "ls /opt/kafka/libs | grep '^kafka-clients-'"]);
        let mut result = container.exec(command).await.map_err(|e| {
            LabError::Docker(format!(
                "asking {node} its version: {}",
                one_line(&e.to_string())
            ))
        })?;
        let listing = result.stdout_to_vec().await.unwrap_or_default();
        let listing = String::from_utf8_lossy(&listing);
        Ok(listing
            .trim()
            .trim_start_matches("kafka-clients-")
            .trim_end_matches(".jar")
            .to_string())
    }

    pub(crate) async fn running(&self, topology: Topology) -> Vec<bool> {
        let mut up = Vec::new();
        let docker = docker().await.ok();
        for node in topology.nodes() {
            let running = match &docker {
                Some(docker) => docker
                    .inspect_container(&Self::container_name(node), None)
                    .await
                    .ok()
                    .and_then(|c| c.state.and_then(|s| s.running))
                    .unwrap_or(false),
                None => false,
            };
            up.push(running);
        }
        up
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
                .remove_container(&Self::container_name(node), Some(options))
                .await;
        }
        Ok(())
    }
}

async fn docker() -> Result<testcontainers_modules::testcontainers::bollard::Docker> {
    docker_client_instance()
        .await
        .map_err(|e| LabError::Docker(one_line(&e.to_string())))
}

async fn wait_ready(node: NodeLayout) -> Result<()> {
    let address = node.client_address();
    let size = node.topology.size();
    let what = format!(
        "{node} (container {}) to answer",
        Containers::container_name(node)
    );
    crate::until(START_TIMEOUT, &what, Duration::from_millis(500), || {
        let address = address.clone();
        async move {
            if node.topology.is_rabbit() {
                probe::rabbit_ready(&address).await
            } else {
                probe::kafka_ready(&address, size).await
            }
        }
    })
    .await
}

/// The `apache/kafka` image turns `KAFKA_*` variables into `server.properties`.
/// Clients reach each node on its host port (`EXTERNAL`); nodes reach each other by
/// container name on the Docker network (`INTERNAL`).
fn kafka_env(node: NodeLayout) -> Vec<(String, String)> {
    let voters: Vec<String> = node
        .topology
        .nodes()
        .map(|n| format!("{}@{}:9093", n.number, n.name()))
        .collect();
    let replicas = node.topology.size().to_string();
    let min_isr = if node.topology.size() == 3 { "2" } else { "1" };
    let port = node.kafka_port();
    let internal = node.kafka_internal_port();
    [
        ("CLUSTER_ID", "YnJva2VybGluZ3Mta2ZrMw"),
        ("KAFKA_NODE_ID", &node.number.to_string()),
        ("KAFKA_PROCESS_ROLES", "broker,controller"),
        ("KAFKA_CONTROLLER_QUORUM_VOTERS", &voters.join(",")),
        (
            "KAFKA_LISTENERS",
            &format!("EXTERNAL://:{port},INTERNAL://:{internal},CONTROLLER://:9093"),
        ),
        (
            "KAFKA_ADVERTISED_LISTENERS",
            &format!(
                "EXTERNAL://127.0.0.1:{port},INTERNAL://{}:{internal}",
                node.name()
            ),
        ),
        (
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
            "EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
        ),
        ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"),
        ("KAFKA_INTER_BROKER_LISTENER_NAME", "INTERNAL"),
        ("KAFKA_DEFAULT_REPLICATION_FACTOR", &replicas),
        ("KAFKA_MIN_INSYNC_REPLICAS", min_isr),
        ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", &replicas),
        ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", &replicas),
        ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", min_isr),
        (
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
            &replicas,
        ),
        ("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", min_isr),
        ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
