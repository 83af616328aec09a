//! Kafka nodes from the official jars, in KRaft mode (each node broker + controller).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Dirs, process, write};
use crate::{NodeLayout, Result, Topology};

/// Fixed cluster ids (base64 of 16 bytes): a lab cluster is formatted once, on first start.
fn cluster_id(topology: Topology) -> &'static str {
    match topology {
        Topology::KafkaCluster => "YnJva2VybGluZ3Mta2ZrMw",
        _ => "YnJva2VybGluZ3Mta2ZrMQ",
    }
}

/// Logging: warnings, plus the lines that give the version and say the server started.
const LOG4J2: &str = "\
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: \"[%d] %p %m (%c)%n\"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: INFO
      - name: org.apache.kafka.common.utils.AppInfoParser
        level: INFO
";

/// The installed jars.
pub(crate) struct KafkaInstall {
    libs: PathBuf,
}

impl KafkaInstall {
    pub(crate) fn load(dirs: &Dirs) -> KafkaInstall {
        KafkaInstall {
            libs: libs_dir(dirs),
        }
    }

    fn classpath(&self) -> String {
        format!("{}/*", self.libs.display())
    }

    fn env() -> Vec<(String, String)> {
        ["PATH", "JAVA_HOME", "HOME", "LANG"]
            .into_iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect()
    }

    /// Formats the node's storage on first start, then starts it detached.
    pub(crate) async fn spawn(&self, run: &Path, node: NodeLayout) -> Result<()> {
        let properties = run.join("server.properties");
        write(&properties, &server_properties(run, node))?;
        write(&run.join("log4j2.yaml"), LOG4J2)?;
        if !run.join("data").join("meta.properties").exists() {
            let mut format = tokio::process::Command::new("java");
            format
                .args([
                    "-cp",
                    &self.classpath(),
                    "kafka.tools.StorageTool",
                    "format",
                ])
                .args(["-t", cluster_id(node.topology), "-c"])
                .arg(&properties)
                .env_clear()
                .envs(Self::env());
            process::run_bounded(
                &format!("formatting the storage of {node}"),
                format,
                Duration::from_secs(60),
            )
            .await?;
        }
        let args: Vec<String> = [
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseSerialGC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
        ]
        .into_iter()
        .map(String::from)
        .chain([
            format!(
                "-Dlog4j2.configurationFile={}",
                run.join("log4j2.yaml").display()
            ),
            "-cp".into(),
            self.classpath(),
            "kafka.Kafka".into(),
            properties.display().to_string(),
        ])
        .collect();
        process::spawn_detached(run, "java", &args, &Self::env()).await
    }
}

/// The jar directory of the install.
pub(crate) fn libs_dir(dirs: &Dirs) -> PathBuf {
    dirs.kafka_install().join("libs")
}

/// `server.properties` of one node: a combined broker + controller on loopback.
fn server_properties(run: &Path, node: NodeLayout) -> String {
    let voters: Vec<String> = node
        .topology
        .nodes()
        .map(|n| format!("{}@127.0.0.1:{}", n.number, n.controller_port()))
        .collect();
    let replicas = node.topology.size();
    let min_isr = if replicas == 3 { 2 } else { 1 };
    format!(
        "# Written by the brokerlings lab for {node}.\n\
         process.roles=broker,controller\n\
         node.id={id}\n\
         controller.quorum.voters={voters}\n\
         listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
         advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
         listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
         controller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=PLAINTEXT\n\
         log.dirs={data}\n\
         num.partitions=1\n\
         default.replication.factor={replicas}\n\
         min.insync.replicas={min_isr}\n\
         offsets.topic.replication.factor={replicas}\n\
         transaction.state.log.replication.factor={replicas}\n\
         transaction.state.log.min.isr={min_isr}\n\
         share.coordinator.state.topic.replication.factor={replicas}\n\
         share.coordinator.state.topic.min.isr={min_isr}\n\
         group.initial.rebalance.delay.ms=0\n",
        id = node.number,
        voters = voters.join(","),
        port = node.kafka_port(),
        controller = node.controller_port(),
        data = run.join("data").display(),
    )
}
