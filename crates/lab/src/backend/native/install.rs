//! `lab install`: provisions the native lab, idempotently, with progress.

use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Dirs, create_dir, kafka, process, rabbitmq, write};
use crate::{LabError, Result, versions};

/// Shows one step at a time: a spinner with elapsed time on a terminal, plain lines
/// elsewhere (CI logs). Progress goes to stdout; stderr is kept for errors.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    what: String,
}

impl Progress {
    /// Starts showing `what`.
    pub fn step(what: impl Into<String>) -> Progress {
        let what = what.into();
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
        if bar.is_hidden() {
            println!("  … {what}");
        }
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                .expect("the spinner template is valid"),
        );
        bar.set_message(what.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            bar,
            started: Instant::now(),
            what,
        }
    }

    /// Ends the step with a check mark and how long it took.
    pub fn done(self, note: &str) {
        self.bar.finish_and_clear();
        let secs = self.started.elapsed().as_secs_f64();
        println!("  ✓ {}{note} ({secs:.1} s)", self.what);
    }
}

/// Installs RabbitMQ and Kafka for the native lab; a second run checks and returns.
pub async fn install_native() -> Result<()> {
    let dirs = Dirs::new(crate::select::home());
    println!("Native lab in {}", dirs.home.display());
    install_kafka(&dirs).await?;
    install_rabbitmq(&dirs).await?;
    Ok(())
}

async fn install_kafka(dirs: &Dirs) -> Result<()> {
    let what = format!(
        "Kafka {} (jars from Maven Central)",
        versions::KAFKA_VERSION
    );
    if dirs.kafka_marker().exists() {
        Progress::step(what).done(": already installed");
        return Ok(());
    }
    let step = Progress::step(what);
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

async fn install_rabbitmq(dirs: &Dirs) -> Result<()> {
    let version = versions::RABBITMQ_VERSION;
    if dirs.rabbit_marker().exists() {
        Progress::step(format!("RabbitMQ {version}")).done(": already installed");
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
    let install = dirs.rabbit_install();
    create_dir(&install)?;
    if let Some(host_version) = host_candidate().await.filter(|v| at_least_4_0(v)) {
        let step =
            Progress::step(format!("RabbitMQ {host_version} from this host's packages"));
        apt_install(Path::new("/"), "rabbitmq-server").await?;
        // Debian starts the service on install; the lab runs its own nodes.
        let _ = process::run_bounded(
            "stopping the packaged RabbitMQ service",
            command("service", &["rabbitmq-server", "stop"]),
            Duration::from_secs(60),
        )
        .await;
        write(&dirs.rabbit_marker(), "host")?;
        step.done("");
        return Ok(());
    }
    if which("debootstrap").is_none() {
        let step = Progress::step("debootstrap (Debian package)");
        apt_install(Path::new("/"), "debootstrap").await?;
        step.done("");
    }
    let step = Progress::step(format!(
        "RabbitMQ {version}: a Debian {} chroot with rabbitmq-server (debootstrap)",
        versions::DEBIAN_SUITE
    ));
    let root = rabbitmq::chroot_root(dirs);
    let staging = install.join("root.partial");
    let _ = std::fs::remove_dir_all(&staging);
    let mirror = std::env::var("BROKERLINGS_DEBIAN_MIRROR")
        .unwrap_or_else(|_| "http://deb.debian.org/debian".into());
    process::run_bounded(
        "debootstrap of the RabbitMQ chroot",
        command(
            "debootstrap",
            &[
                "--variant=minbase",
                "--include=rabbitmq-server",
                versions::DEBIAN_SUITE,
                &staging.display().to_string(),
                &mirror,
            ],
        ),
        Duration::from_secs(1200),
    )
    .await?;
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
    write(&dirs.rabbit_marker(), "chroot")?;
    step.done("");
    Ok(())
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
