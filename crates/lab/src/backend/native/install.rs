//! `lab install`: provisions the native lab, idempotently. It reports each step as
//! an [`InstallEvent`]; showing them (a spinner, log lines) is the caller's job.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Dirs, create_dir, kafka, process, rabbitmq, write};
use crate::{LabError, Result, versions};

/// What `install_native` is doing, for its caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallEvent {
    /// A step began, e.g. "Kafka 4.1.1 (jars from Maven Central)".
    Started(String),
    /// A step ended; `note` says how (": already installed", or empty).
    Finished {
        /// The step, as it started.
        step: String,
        /// How it ended, to append to the step.
        note: String,
        /// How long it took.
        took: Duration,
    },
}

/// A step in progress, reported when it starts and when `done` ends it.
pub(crate) struct Step<'a> {
    what: String,
    started: Instant,
    report: &'a dyn Fn(InstallEvent),
}

impl<'a> Step<'a> {
    pub(crate) fn start(
        what: impl Into<String>,
        report: &'a dyn Fn(InstallEvent),
    ) -> Step<'a> {
        let what = what.into();
        report(InstallEvent::Started(what.clone()));
        Step {
            what,
            started: Instant::now(),
            report,
        }
    }

    pub(crate) fn done(self, note: &str) {
        (self.report)(InstallEvent::Finished {
            step: self.what,
            note: note.into(),
            took: self.started.elapsed(),
        });
    }
}

/// Whether `install_native` can work here: a Debian-family machine (apt-get,
/// debootstrap) and root.
pub fn can_install_native() -> bool {
    Path::new("/usr/bin/apt-get").exists() && nix::unistd::geteuid().is_root()
}

/// Installs RabbitMQ and Kafka for the native lab in the lab's home; a second run
/// checks and returns. `report` hears each step.
pub async fn install_native(report: &dyn Fn(InstallEvent)) -> Result<()> {
    let dirs = Dirs::new(crate::home());
    install_kafka(&dirs, report).await?;
    install_rabbitmq(&dirs, report).await?;
    Ok(())
}

async fn install_kafka(dirs: &Dirs, report: &dyn Fn(InstallEvent)) -> Result<()> {
    let what = format!(
        "Kafka {} (jars from Maven Central)",
        versions::KAFKA_VERSION
    );
    let step = Step::start(what, report);
    if dirs.kafka_marker().exists() {
        step.done(": already installed");
        return Ok(());
    }
    let java = process::run_bounded(
        "checking Java (the Kafka broker needs Java 17 or newer)",
        command("java", &["-version"]),
        Duration::from_secs(30),
    )
    .await;
    java.map_err(|_| {
        LabError::step("checking Java", "no `java` on PATH: install Java 17+ (apt-get install openjdk-17-jre-headless)")
    })?;
    let install = dirs.kafka_install();
    create_dir(&install)?;
    let pom = install.join("pom.xml");
    write(&pom, &kafka_pom())?;
    let staging = install.join("libs.partial");
    let _ = std::fs::remove_dir_all(&staging);
    let mut mvn = command(
        "mvn",
        &[
            "-B",
            "-q",
            "-f",
            &pom.display().to_string(),
            "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
            "-DincludeScope=runtime",
            &format!("-DoutputDirectory={}", staging.display()),
        ],
    );
    mvn.current_dir(&install);
    process::run_bounded(
        "downloading the Kafka jars with Maven",
        mvn,
        Duration::from_secs(900),
    )
    .await?;
    let libs = kafka::libs_dir(dirs);
    let _ = std::fs::remove_dir_all(&libs);
    std::fs::rename(&staging, &libs)
        .map_err(LabError::io("moving the Kafka jars in place"))?;
    write(&dirs.kafka_marker(), versions::KAFKA_VERSION)?;
    step.done("");
    Ok(())
}

/// A pom whose runtime dependencies are exactly what the broker needs: the broker
/// (`kafka_2.13`) and an SLF4J binding to log4j, which the broker's POM leaves out.
fn kafka_pom() -> String {
    format!(
        r#"<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- Written by the brokerlings lab: resolves the Kafka broker's jars. -->
  <modelVersion>4.0.0</modelVersion>
  <groupId>brokerlings</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"#,
        kafka = versions::KAFKA_VERSION,
        scala = versions::KAFKA_SCALA,
        log4j = KAFKA_LOG4J_VERSION,
    )
}

/// The log4j version the pinned Kafka resolves (its binding must match).
const KAFKA_LOG4J_VERSION: &str = "2.24.3";

async fn install_rabbitmq(dirs: &Dirs, report: &dyn Fn(InstallEvent)) -> Result<()> {
    let version = versions::RABBITMQ_VERSION;
    if dirs.rabbit_marker().exists() {
        Step::start(format!("RabbitMQ {version}"), report).done(": already installed");
        return Ok(());
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(LabError::Unavailable {
            backend: "native",
            reason: "installing and running RabbitMQ natively needs root (apt-get, debootstrap, chroot): \
                     run as root, or use Docker"
                .into(),
        });
    }
    create_dir(&dirs.rabbit_install())?;
    if let Some(host_version) = host_candidate().await.filter(|v| at_least_4_0(v)) {
        let step = Step::start(
            format!("RabbitMQ {host_version} from this host's packages"),
            report,
        );
        install_from_host(dirs).await?;
        step.done("");
        return Ok(());
    }
    ensure_debootstrap(report).await?;
    let step = Step::start(
        format!(
            "RabbitMQ {version}: a Debian {} chroot with rabbitmq-server (debootstrap)",
            versions::DEBIAN_SUITE
        ),
        report,
    );
    install_chroot(dirs).await?;
    step.done("");
    Ok(())
}

/// Installs Debian's `debootstrap` on the host if it is missing.
pub(crate) async fn ensure_debootstrap(report: &dyn Fn(InstallEvent)) -> Result<()> {
    if which("debootstrap").is_none() {
        let step = Step::start("debootstrap (Debian package)", report);
        apt_install(Path::new("/"), "debootstrap").await?;
        step.done("");
    }
    Ok(())
}

/// A minimal Debian [`versions::DEBIAN_SUITE`] root file system in `root`, with
/// `include` (a package list, comma-separated) installed.
pub(crate) async fn debootstrap(root: &Path, include: &str) -> Result<()> {
    let mirror = std::env::var("BROKERLINGS_DEBIAN_MIRROR")
        .unwrap_or_else(|_| "http://deb.debian.org/debian".into());
    process::run_bounded(
        &format!(
            "debootstrap of Debian {} with {include}",
            versions::DEBIAN_SUITE
        ),
        command(
            "debootstrap",
            &[
                "--variant=minbase",
                &format!("--include={include}"),
                versions::DEBIAN_SUITE,
                &root.display().to_string(),
                &mirror,
            ],
        ),
        Duration::from_secs(1200),
    )
    .await
    .map(drop)
}

/// RabbitMQ from this host's own packages.
async fn install_from_host(dirs: &Dirs) -> Result<()> {
    apt_install(Path::new("/"), "rabbitmq-server").await?;
    // Debian starts the service on install; the lab runs its own nodes.
    let _ = process::run_bounded(
        "stopping the packaged RabbitMQ service",
        command("service", &["rabbitmq-server", "stop"]),
        Duration::from_secs(60),
    )
    .await;
    write(&dirs.rabbit_marker(), "host")
}

/// A Debian chroot with `rabbitmq-server`, built aside and moved in place whole.
async fn install_chroot(dirs: &Dirs) -> Result<()> {
    let version = versions::RABBITMQ_VERSION;
    let root = rabbitmq::chroot_root(dirs);
    let staging = dirs.rabbit_install().join("root.partial");
    let _ = std::fs::remove_dir_all(&staging);
    debootstrap(&staging, "rabbitmq-server").await?;
    write(
        &staging.join("etc/hosts"),
        "127.0.0.1 localhost\n::1 localhost\n",
    )?;
    let installed = std::fs::read_dir(staging.join("usr/lib/rabbitmq/lib"))
        .map_err(LabError::io("looking for RabbitMQ in the chroot"))?
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy() == format!("rabbitmq_server-{version}"));
    if !installed {
        return Err(LabError::step(
            "checking the RabbitMQ version in the chroot",
            format!(
                "Debian {} did not give RabbitMQ {version}",
                versions::DEBIAN_SUITE
            ),
        ));
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::rename(&staging, &root)
        .map_err(LabError::io("moving the chroot in place"))?;
    write(&dirs.rabbit_marker(), "chroot")
}

/// The version of `rabbitmq-server` this host's apt would install, if any.
async fn host_candidate() -> Option<String> {
    let policy = process::run_bounded(
        "asking apt for rabbitmq-server",
        command("apt-cache", &["policy", "rabbitmq-server"]),
        Duration::from_secs(60),
    )
    .await
    .ok()?;
    let line = policy
        .lines()
        .find(|l| l.trim_start().starts_with("Candidate:"))?;
    let version = line.split_whitespace().nth(1)?.to_string();
    (version != "(none)").then_some(version)
}

fn at_least_4_0(version: &str) -> bool {
    let version = version.split(':').next_back().unwrap_or(version);
    version
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|m| m >= 4)
}

async fn apt_install(root: &Path, package: &str) -> Result<()> {
    let mut apt = command("apt-get", &["install", "-y", "-q", package]);
    apt.env("DEBIAN_FRONTEND", "noninteractive");
    if root != Path::new("/") {
        return Err(LabError::step("apt-get", "only the host's apt is used"));
    }
    if process::run_bounded("apt-get install", apt, Duration::from_secs(900))
        .await
        .is_err()
    {
        // The package lists may be missing on a fresh machine.
        process::run_bounded(
            "apt-get update",
            command("apt-get", &["update", "-q"]),
            Duration::from_secs(600),
        )
        .await?;
        let mut apt = command("apt-get", &["install", "-y", "-q", package]);
        apt.env("DEBIAN_FRONTEND", "noninteractive");
        process::run_bounded(
            &format!("apt-get install {package}"),
            apt,
            Duration::from_secs(900),
        )
        .await?;
    }
    Ok(())
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.is_file())
}

fn command(program: &str, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command.args(args);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian 12's RabbitMQ 3.10 is too old; Debian 13's 4.0.5 is what we pin.
    #[test]
    fn host_packages_are_used_from_rabbitmq_4_0() {
        assert!(!at_least_4_0("3.10.8-1.1+deb12u1"));
        assert!(at_least_4_0("4.0.5-6"));
        assert!(at_least_4_0("1:4.1.0-1"));
    }
}
