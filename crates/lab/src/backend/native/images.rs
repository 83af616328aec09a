//! `lab images`: Docker images of both brokers built on this machine, from what the
//! native lab installs, for CI and for machines that cannot pull the official ones
//! (no registry, offline). Learners with a registry get the official images.
//!
//! Each image is a Dockerfile in `crates/lab/images/<broker>/` (compiled into the
//! lab, so an installed CLI can build them too) on a base image imported from a
//! Debian 13 root file system:
//!
//! - RabbitMQ: the chroot `lab install` made (its `rabbitmq-server` 4.0.5), without
//!   the native nodes' data;
//! - Kafka: a debootstrap of Debian 13 with `openjdk-21-jre-headless`, plus the
//!   jars `lab install` fetched from Maven Central.
//!
//! Every image is labelled with a hash of its recipe (the files and the versions),
//! so a second run with nothing changed does nothing, and a changed recipe rebuilds.

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::install::{Step, ensure_debootstrap, install_native};
use super::{Dirs, InstallEvent, create_dir, kafka, process, rabbitmq, write};
use crate::{Broker, LabError, Result, versions};

/// The label holding an image's recipe hash.
pub(crate) const RECIPE_LABEL: &str = "org.brokerlings.recipe";

/// One file of an image's build context.
struct File {
    name: &'static str,
    text: &'static str,
}

macro_rules! files {
    ($dir:literal: $($name:literal),*) => {
        &[$(File { name: $name, text: include_str!(concat!("../../../images/", $dir, "/", $name)) }),*]
    };
}

const RABBITMQ_FILES: &[File] = files!("rabbitmq": "Dockerfile", "docker-entrypoint.sh", "10-defaults.conf", "enabled_plugins");
const KAFKA_FILES: &[File] = files!("kafka": "Dockerfile", "run", "server.properties", "log4j2.yaml", "tools-log4j2.yaml");

/// The Debian package of the JRE in the Kafka image.
const JRE: &str = "openjdk-21-jre-headless";

/// What one image build did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// The image's name, e.g. `brokerlings/rabbitmq:4.0.5-management`.
    pub name: String,
    /// Whether it was already there with the same recipe (nothing was done).
    pub unchanged: bool,
}

/// Builds both images (installing the native lab first if needed); `report` hears
/// each step. Needs root (chroot, debootstrap) and the `docker` command.
pub async fn build_images(report: &dyn Fn(InstallEvent)) -> Result<Vec<BuiltImage>> {
    which_docker().await?;
    install_native(report).await?;
    let dirs = Dirs::new(crate::home());
    if super::read_trimmed(&dirs.rabbit_marker()).as_deref() == Some("host") {
        return Err(LabError::step(
            "building the RabbitMQ image",
            "the native lab uses this host's RabbitMQ packages, not a Debian 13 chroot; build on a Debian 12 host, or pull the official image",
        ));
    }
    let mut built = Vec::new();
    for broker in [Broker::RabbitMq, Broker::Kafka] {
        built.push(build(&dirs, broker, report).await?);
    }
    Ok(built)
}

/// The name of the image built here for `broker`.
pub fn local_image(broker: Broker) -> String {
    match broker {
        Broker::RabbitMq => format!("brokerlings/rabbitmq:{}", versions::RABBITMQ_TAG),
        Broker::Kafka => format!("brokerlings/kafka:{}", versions::KAFKA_TAG),
    }
}

fn files(broker: Broker) -> &'static [File] {
    match broker {
        Broker::RabbitMq => RABBITMQ_FILES,
        Broker::Kafka => KAFKA_FILES,
    }
}

/// A hash of everything an image is made from, but the packages' own bytes (they
/// are pinned by version).
fn recipe(broker: Broker) -> String {
    let mut hash = Sha256::new();
    for file in files(broker) {
        hash.update(file.name.as_bytes());
        hash.update([0]);
        hash.update(file.text.as_bytes());
        hash.update([0]);
    }
    for part in [
        versions::RABBITMQ_VERSION,
        versions::KAFKA_VERSION,
        versions::DEBIAN_SUITE,
        JRE,
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

async fn build(
    dirs: &Dirs,
    broker: Broker,
    report: &dyn Fn(InstallEvent),
) -> Result<BuiltImage> {
    let name = local_image(broker);
    let recipe = recipe(broker);
    let step = Step::start(format!("image {name}"), report);
    if label_of(&name).await.as_deref() == Some(recipe.as_str()) {
        step.done(": already built");
        return Ok(BuiltImage {
            name,
            unchanged: true,
        });
    }
    let context = crate::home().join("images").join(broker_slug(broker));
    let _ = std::fs::remove_dir_all(&context);
    create_dir(&context)?;
    for file in files(broker) {
        write(&context.join(file.name), file.text)?;
    }
    let base = match broker {
        Broker::RabbitMq => {
            let base =
                format!("brokerlings/rabbitmq-rootfs:{}", versions::RABBITMQ_VERSION);
            import(
                &rabbitmq::chroot_root(dirs),
                &base,
                &["./var/lib/brokerlings"],
            )
            .await?;
            base
        }
        Broker::Kafka => {
            copy_jars(&kafka::libs_dir(dirs), &context.join("libs"))?;
            kafka_base(report).await?
        }
    };
    let mut docker = tokio::process::Command::new("docker");
    docker
        .args(["build", "--quiet", "--label"])
        .arg(format!("{RECIPE_LABEL}={recipe}"))
        .arg("--build-arg")
        .arg(format!("BASE={base}"))
        .args(["--tag", &name])
        .arg(&context)
        .env("DOCKER_BUILDKIT", "0");
    process::run_bounded(
        &format!("docker build of {name}"),
        docker,
        Duration::from_secs(900),
    )
    .await?;
    let _ = std::fs::remove_dir_all(&context);
    step.done("");
    Ok(BuiltImage {
        name,
        unchanged: false,
    })
}

fn broker_slug(broker: Broker) -> &'static str {
    match broker {
        Broker::RabbitMq => "rabbitmq",
        Broker::Kafka => "kafka",
    }
}

/// The Kafka image's base: Debian 13 with a JRE, debootstrapped once and kept as an
/// image (a second build reuses it).
async fn kafka_base(report: &dyn Fn(InstallEvent)) -> Result<String> {
    let base = format!("brokerlings/debian-jre:{}-{JRE}", versions::DEBIAN_SUITE);
    if image_exists(&base).await {
        return Ok(base);
    }
    ensure_debootstrap(report).await?;
    let step = Step::start(
        format!(
            "Debian {} with {JRE} (debootstrap, for the Kafka image)",
            versions::DEBIAN_SUITE
        ),
        report,
    );
    let root = crate::home().join("images").join("debian-jre.partial");
    let _ = std::fs::remove_dir_all(&root);
    super::install::debootstrap(&root, JRE).await?;
    import(&root, &base, &[]).await?;
    let _ = std::fs::remove_dir_all(&root);
    step.done("");
    Ok(base)
}

/// Imports the file system under `root` (without `/proc`'s contents, apt's cache
/// and `exclude`) as the image `name`.
async fn import(root: &Path, name: &str, exclude: &[&str]) -> Result<()> {
    let mut script = String::from(
        "set -eo pipefail; tar -C \"$1\" --exclude='./proc/*' --exclude='./var/cache/apt/*'",
    );
    for path in exclude {
        script.push_str(&format!(" --exclude='{path}'"));
    }
    script.push_str(" -c . | docker import - \"$2\" >/dev/null");
    let mut bash = tokio::process::Command::new("bash");
    bash.args(["-c", &script, "import"]).arg(root).arg(name);
    process::run_bounded(&format!("importing {name}"), bash, Duration::from_secs(600))
        .await
        .map(drop)
}

/// Copies the jars into the build context (hard links where the file system allows).
fn copy_jars(from: &Path, to: &Path) -> Result<()> {
    create_dir(to)?;
    let entries = std::fs::read_dir(from)
        .map_err(LabError::io(format!("reading {}", from.display())))?;
    for entry in entries.filter_map(|e| e.ok()) {
        let target = to.join(entry.file_name());
        if std::fs::hard_link(entry.path(), &target).is_err() {
            std::fs::copy(entry.path(), &target)
                .map_err(LabError::io(format!("copying {}", entry.path().display())))?;
        }
    }
    Ok(())
}

/// The recipe label of image `name`, if the image is here.
async fn label_of(name: &str) -> Option<String> {
    let format = format!("{{{{index .Config.Labels \"{RECIPE_LABEL}\"}}}}");
    let output = tokio::process::Command::new("docker")
        .args(["image", "inspect", "--format", &format, name])
        .output()
        .await
        .ok()?;
    let label = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !label.is_empty()).then_some(label)
}

async fn image_exists(name: &str) -> bool {
    tokio::process::Command::new("docker")
        .args(["image", "inspect", name])
        .output()
        .await
        .is_ok_and(|o| o.status.success())
}

async fn which_docker() -> Result<()> {
    let version = tokio::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .await;
    match version {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(LabError::Unavailable {
            backend: "containers",
            reason: format!(
                "the Docker engine does not answer `docker version` ({}): start it (e.g. `dockerd &`)",
                crate::error::one_line(String::from_utf8_lossy(&output.stderr).trim())
            ),
        }),
        Err(_) => Err(LabError::Unavailable {
            backend: "containers",
            reason: "no `docker` command: building images needs the Docker CLI and engine (apt-get install docker.io)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recipe hash changes with any file of the image, so a changed recipe
    /// rebuilds; and it is stable, so an unchanged one does not.
    #[test]
    fn recipes_differ_per_broker_and_are_stable() {
        assert_eq!(recipe(Broker::Kafka), recipe(Broker::Kafka));
        assert_ne!(recipe(Broker::Kafka), recipe(Broker::RabbitMq));
        assert_eq!(recipe(Broker::RabbitMq).len(), 16);
        assert_eq!(local_image(Broker::Kafka), "brokerlings/kafka:4.1.1");
    }
}
