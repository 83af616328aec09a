//! The containers lab's own defects, each as a test that would have caught it. They
//! need a Docker engine and `BROKERLINGS_LAB=containers`, so they build only with
//! the `docker-tests` feature (CI's containers section:
//! `cargo test -p lab --features docker-tests --test containers`).
//!
//! They change containers under the other tests' feet, so each holds the fault
//! lease of the topology it changes, and leaves the lab able to start it again.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use lab::{BackendKind, Topology};

/// Every test here is bounded.
const TIMEOUT: Duration = Duration::from_secs(240);

async fn bounded(test: impl std::future::Future<Output = Result<()>>) -> Result<()> {
    let kind = lab::lab().await?.kind();
    ensure!(
        kind == BackendKind::Containers,
        "these tests are for the containers lab; this run uses the {kind} lab: set BROKERLINGS_LAB=containers"
    );
    tokio::time::timeout(TIMEOUT, test)
        .await
        .context("the test did not finish within its bound")?
}

/// Runs `docker` with `args`; its standard output, or an error with its stderr.
fn docker(args: &[&str]) -> Result<String> {
    let output = Command::new("docker")
        .args(args)
        .output()
        .context("running docker")?;
    if !output.status.success() {
        bail!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn inspect(name: &str) -> Result<serde_json::Value> {
    let text = docker(&["inspect", name])?;
    let mut list: Vec<serde_json::Value> = serde_json::from_str(&text)?;
    list.pop().context("docker inspect listed nothing")
}

/// Defect 1: a node that cannot join its cluster (here: another Erlang cookie)
/// must fail the start with one line naming it, instead of the start returning as
/// if the cluster had formed.
#[tokio::test]
async fn a_cluster_node_with_another_cookie_fails_the_start_naming_it() -> Result<()> {
    bounded(async {
        let cluster = lab::rabbit_cluster_with_faults().await?;
        let name = "brokerlings-rabbit3";
        // Node 3 again, from the same description (so the lab takes it as its
        // own) but with another cookie and no data.
        let container = inspect(name)?;
        let config = &container["Config"];
        let image = config["Image"].as_str().context("an image")?.to_string();
        let mut create: Vec<String> = ["create", "--name", name, "--network", "brokerlings"]
            .map(String::from)
            .to_vec();
        for port in [5675, 15675] {
            create.push("-p".into());
            create.push(format!("127.0.0.1:{port}:{port}"));
        }
        for (key, value) in config["Labels"].as_object().context("labels")? {
            create.push("--label".into());
            create.push(format!("{key}={}", value.as_str().unwrap_or_default()));
        }
        for variable in config["Env"].as_array().context("env")? {
            let variable = variable.as_str().unwrap_or_default();
            create.push("-e".into());
            create.push(if variable.starts_with("RABBITMQ_ERLANG_COOKIE=") {
                "RABBITMQ_ERLANG_COOKIE=another-cookie".into()
            } else {
                variable.into()
            });
        }
        create.push(image);
        let files = tempdir()?;
        for file in ["conf.d/90-brokerlings.conf", "enabled_plugins"] {
            let base = file.rsplit('/').next().unwrap_or(file);
            docker(&[
                "cp",
                &format!("{name}:/etc/rabbitmq/{file}"),
                &format!("{files}/{base}"),
            ])?;
        }
        docker(&["rm", "--force", "--volumes", name])?;
        docker(&create.iter().map(String::as_str).collect::<Vec<_>>())?;
        for file in ["conf.d/90-brokerlings.conf", "enabled_plugins"] {
            let base = file.rsplit('/').next().unwrap_or(file);
            docker(&[
                "cp",
                &format!("{files}/{base}"),
                &format!("{name}:/etc/rabbitmq/{file}"),
            ])?;
        }
        drop(cluster);
        let started = std::time::Instant::now();
        let error = lab::rabbit_cluster_with_faults()
            .await
            .err()
            .context("the cluster started although node 3 has another Erlang cookie")?;
        let text = error.to_string();
        // The next start of the cluster makes all three afresh.
        for node in 1..=3 {
            docker(&["rm", "--force", "--volumes", &format!("brokerlings-rabbit{node}")])?;
        }
        ensure!(
            text.contains("rabbit3@brokerlings-rabbit3 rejects its peers: its Erlang cookie is not theirs"),
            "{text}"
        );
        ensure!(text.contains("docker logs brokerlings-rabbit3"), "{text}");
        ensure!(!text.contains('\n'), "one line: {text}");
        println!("failed after {:.1} s: {text}", started.elapsed().as_secs_f64());
        let cluster = lab::rabbit_cluster().await?;
        ensure!(cluster.endpoints().len() == 3);
        Ok(())
    })
    .await
}

/// Defect 3: a start that failed (a port taken) must leave nothing that breaks the
/// next one: the lab's network stays, and the next start works without `lab down`.
#[tokio::test]
async fn a_start_that_failed_on_a_taken_port_succeeds_the_next_time() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka_with_faults().await?;
        // As if the node had never been created, and another program held its port.
        docker(&["rm", "--force", "--volumes", "brokerlings-kafka"])?;
        let port = Topology::Kafka.node(1).kafka_port();
        let squatter = std::net::TcpListener::bind(("127.0.0.1", port))?;
        let error = kafka
            .start(1)
            .await
            .err()
            .context("Kafka started although its port was taken")?
            .to_string();
        ensure!(error.contains(&port.to_string()), "names the port: {error}");
        ensure!(!error.contains('\n'), "one line: {error}");
        docker(&["network", "inspect", "brokerlings"])
            .context("the network outlives a failed start")?;
        drop(squatter);
        kafka.start(1).await?;
        ensure!(kafka.live_broker_ids().await? == [1]);
        Ok(())
    })
    .await
}

/// Defect 2: published ports listen on this machine's loopback only, not on every
/// interface (guest/guest and a Kafka without authentication).
#[tokio::test]
async fn published_ports_listen_on_loopback_only() -> Result<()> {
    bounded(async {
        let _rabbit = lab::rabbit().await?;
        let _kafka = lab::kafka().await?;
        let names = docker(&[
            "ps",
            "--filter",
            "label=org.brokerlings.lab",
            "--format",
            "{{.Names}}",
        ])?;
        let names: Vec<&str> = names.lines().collect();
        ensure!(
            names.len() >= 2,
            "the single RabbitMQ and Kafka run: {names:?}"
        );
        for name in names {
            let bindings = &inspect(name)?["HostConfig"]["PortBindings"];
            let bindings = bindings.as_object().context("port bindings")?;
            ensure!(!bindings.is_empty(), "{name} publishes its ports");
            for (port, hosts) in bindings {
                for host in hosts.as_array().context("bindings")? {
                    let ip = host["HostIp"].as_str().unwrap_or_default();
                    ensure!(
                        ip == "127.0.0.1",
                        "{name} publishes {port} on {ip:?}, not 127.0.0.1"
                    );
                }
            }
        }
        // And from another interface of this machine, nobody answers.
        if let Some(address) = other_address() {
            let amqp = std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::new(address, 5672),
                Duration::from_secs(2),
            );
            ensure!(amqp.is_err(), "AMQP answers on {address}:5672");
        }
        Ok(())
    })
    .await
}

/// Defect 7: a container left by another description (here: a stale label) is
/// replaced when its topology next starts, not reused silently.
#[tokio::test]
async fn an_outdated_container_is_replaced() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka_with_faults().await?;
        let name = "brokerlings-kafka";
        let image = inspect(name)?["Config"]["Image"]
            .as_str()
            .context("an image")?
            .to_string();
        docker(&["rm", "--force", "--volumes", name])?;
        let stale = docker(&[
            "create",
            "--name",
            name,
            "--network",
            "brokerlings",
            "--label",
            "org.brokerlings.lab=kafka",
            "--label",
            "org.brokerlings.spec=stale",
            &image,
        ])?;
        drop(kafka);
        let kafka = lab::kafka_with_faults().await?;
        let now = inspect(name)?;
        ensure!(
            now["Id"].as_str() != Some(stale.as_str()),
            "the stale container was reused"
        );
        ensure!(now["Config"]["Labels"]["org.brokerlings.spec"] != "stale");
        ensure!(kafka.live_broker_ids().await? == [1]);
        Ok(())
    })
    .await
}

/// A non-loopback IPv4 address of this machine, if it has one.
fn other_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connecting a UDP socket only picks the outgoing interface.
    socket.connect("192.0.2.255:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

fn tempdir() -> Result<String> {
    let dir =
        std::env::temp_dir().join(format!("brokerlings-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir.display().to_string())
}
