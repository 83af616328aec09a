//! Running a Kafka node from the official jars: format its storage once, then
//! `java ... kafka.Kafka server.properties`, detached.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Dirs, process, write};
use crate::Result;
use crate::kafka::config::{HEAP_OPTS, KafkaNode, cluster_id};

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

    /// Writes the node's `server.properties`, formats its storage on first start,
    /// then starts it detached.
    pub(crate) async fn spawn(&self, run: &Path, node: &KafkaNode) -> Result<()> {
        let properties = run.join("server.properties");
        write(&properties, &node.properties())?;
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
                .args(["-t", cluster_id(node.layout.topology), "-c"])
                .arg(&properties)
                .env_clear()
                .envs(Self::env());
            process::run_bounded(
                &format!("formatting the storage of {}", node.layout),
                format,
                Duration::from_secs(60),
            )
            .await?;
        }
        let args: Vec<String> = HEAP_OPTS
            .split_whitespace()
            .chain([
                "-XX:+UseSerialGC",
                "-XX:+ExitOnOutOfMemoryError",
                "-Djava.awt.headless=true",
            ])
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
