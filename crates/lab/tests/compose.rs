//! `docker-compose.yml` parses and names the versions the lab pins, by default,
//! with the lab's image settings (CI also starts it, in its containers section).

use lab::versions;

fn compose() -> serde_norway::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docker-compose.yml");
    let text = std::fs::read_to_string(path)
        .expect("docker-compose.yml is at the repository root");
    let mut value: serde_norway::Value =
        serde_norway::from_str(&text).expect("docker-compose.yml is valid YAML");
    value
        .apply_merge()
        .expect("merge keys of docker-compose.yml resolve");
    value
}

fn services() -> Vec<(String, serde_norway::Value)> {
    let compose = compose();
    let services = compose["services"]
        .as_mapping()
        .expect("compose has services");
    services
        .iter()
        .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v.clone()))
        .collect()
}

/// Every broker image in the compose file is the lab's image setting, defaulting to
/// the pinned tag; every Kafka node gets the lab's heap.
#[test]
fn compose_images_match_the_pinned_versions() {
    let rabbit = format!(
        "${{BROKERLINGS_RABBITMQ_IMAGE:-{}:{}}}",
        versions::RABBITMQ_IMAGE,
        versions::RABBITMQ_TAG
    );
    let kafka = format!(
        "${{BROKERLINGS_KAFKA_IMAGE:-{}:{}}}",
        versions::KAFKA_IMAGE,
        versions::KAFKA_TAG
    );
    let services = services();
    assert_eq!(services.len(), 8, "2 single nodes + 3 + 3 cluster nodes");
    for (name, service) in services {
        let image = service["image"].as_str().unwrap_or_default();
        let expected = if name.starts_with("rabbit") {
            &rabbit
        } else {
            &kafka
        };
        assert_eq!(image, expected, "service {name}");
        if name.starts_with("kafka") {
            let heap = service["environment"]["KAFKA_HEAP_OPTS"].as_str();
            assert_eq!(heap, Some(lab::kafka::HEAP_OPTS), "service {name}");
        }
    }
}

/// The compose file needs no feature newer than Compose v2.0 (`configs.content`
/// came in 2.23.1, and older versions refuse the whole file): files it mounts are
/// committed.
#[test]
fn compose_uses_committed_files_not_inline_configs() {
    let compose = compose();
    assert!(compose.get("configs").is_none(), "no top-level configs");
    for (name, service) in services() {
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            let source = volume
                .as_str()
                .unwrap_or_default()
                .split(':')
                .next()
                .unwrap_or_default();
            let path =
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../").to_string() + source;
            assert!(
                std::path::Path::new(&path).is_file(),
                "{name} mounts {source}, which is committed"
            );
        }
    }
}

/// The default profile is one RabbitMQ + one Kafka; profile `cluster` is 3 + 3.
#[test]
fn compose_profiles_give_single_nodes_by_default_and_clusters_on_request() {
    let mut default = Vec::new();
    let mut cluster = Vec::new();
    for (name, service) in services() {
        let profiles: Vec<&str> = service["profiles"]
            .as_sequence()
            .map(|p| p.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if profiles.contains(&"cluster") {
            cluster.push(name)
        } else {
            default.push(name)
        }
    }
    default.sort();
    cluster.sort();
    assert_eq!(default, ["kafka", "rabbit"]);
    assert_eq!(
        cluster,
        [
            "kafka1", "kafka2", "kafka3", "rabbit1", "rabbit2", "rabbit3"
        ]
    );
}

/// The compose file publishes each node on the port the lab's layout gives it, so
/// `BROKERLINGS_LAB=external` needs no addresses.
#[test]
fn compose_ports_match_the_lab_layout() {
    let services = services();
    for topology in lab::Topology::ALL {
        for node in topology.nodes() {
            let (_, service) = services
                .iter()
                .find(|(n, _)| *n == node.name())
                .expect("service per node");
            let ports: Vec<String> = service["ports"]
                .as_sequence()
                .map(|p| {
                    p.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let port = if topology.is_rabbit() {
                node.amqp_port()
            } else {
                node.kafka_port()
            };
            assert!(
                ports.iter().any(|p| p.contains(&format!(":{port}:"))
                    || p.starts_with(&format!("{port}:"))),
                "{} should publish port {port}, has {ports:?}",
                node.name()
            );
        }
    }
}
