//! `doctor`: what this machine has for brokerlings, each finding with its fix.

use std::process::{Command, ExitCode};

use lab::Topology;

use crate::advice::CLI;

/// One thing found, good or bad, and how to fix it if bad.
struct Finding {
    ok: bool,
    what: String,
    fix: Option<String>,
}

fn good(what: impl Into<String>) -> Finding {
    Finding {
        ok: true,
        what: what.into(),
        fix: None,
    }
}

fn bad(what: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        ok: false,
        what: what.into(),
        fix: Some(fix.into()),
    }
}

/// Prints every finding and a verdict: the pre-flight check of a machine. Exits
/// non-zero when anything needs fixing.
pub async fn run() -> anyhow::Result<ExitCode> {
    let mut findings = vec![toolchain()];
    let docker = docker().await;
    // With Docker and both images here, the containers lab serves this machine.
    let docker_serves = docker.iter().all(|f| f.ok);
    findings.extend(docker);
    findings.extend(native(docker_serves));
    findings.extend(settings());
    findings.extend(resources());
    let lab = lab::lab().await;
    match &lab {
        Ok(lab) => findings.extend(lab_findings(lab).await),
        Err(error) => {
            findings.push(bad(format!("no lab: {error}"), "see the fixes above"))
        }
    }
    for finding in &findings {
        let mark = if finding.ok { "✓" } else { "✗" };
        println!("{mark} {}", finding.what);
        if let Some(fix) = &finding.fix {
            println!("    fix: {fix}");
        }
    }
    let to_fix = findings.iter().filter(|f| !f.ok).count();
    Ok(if to_fix == 0 {
        println!("Ready: this machine can run every check and proof.");
        ExitCode::SUCCESS
    } else {
        println!(
            "{to_fix} thing(s) to fix (see `fix:` above), then run `{CLI} doctor` again."
        );
        ExitCode::FAILURE
    })
}

/// Memory and disk, against what the lab and a build were measured to take
/// (see the book's "Room setup").
fn resources() -> Vec<Finding> {
    let mut findings = Vec::new();
    // The four topologies' eight nodes took about 2 GiB resident on the lab.
    if let Some(mib) = meminfo_mib("MemAvailable:") {
        findings.push(if mib >= 3 * 1024 {
            good(format!("memory: {:.1} GiB available", mib as f64 / 1024.0))
        } else {
            bad(
                format!("memory: only {:.1} GiB available", mib as f64 / 1024.0),
                "the brokers of all four topologies need about 2 GiB, a build 1 more: close programs or start only what a chapter needs (`lab up rabbit kafka`)",
            )
        });
    }
    // A fresh clone's target dir after the whole suite took 15 GB.
    if let Some(gib) = free_disk_gib(".") {
        findings.push(if gib >= 20 {
            good(format!("disk: {gib} GiB free here"))
        } else {
            bad(
                format!("disk: only {gib} GiB free here"),
                "a build of every exercise and its checks takes up to 15 GB in target/: free some space",
            )
        });
    }
    findings
}

/// A field of /proc/meminfo, in MiB (Linux; elsewhere nothing is said).
fn meminfo_mib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|line| line.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Free space on the file system of `dir`, in GiB, as `df` reports it.
fn free_disk_gib(dir: &str) -> Option<u64> {
    let output = Command::new("df").args(["-Pk", dir]).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let kib: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kib / 1024 / 1024)
}

/// The first line a program prints of its version, if it runs.
fn version(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
        .status
        .success()
        .then(|| text.lines().next().unwrap_or_default().trim().to_string())
}

fn toolchain() -> Finding {
    match version("rustc", &["--version"]) {
        Some(v) => good(format!("Rust: {v}")),
        None => bad(
            "no rustc on PATH",
            "install Rust with rustup (https://rustup.rs)",
        ),
    }
}

/// The Docker engine, and the image each broker would run from.
async fn docker() -> Vec<Finding> {
    let version = match lab::select::docker_version().await {
        Ok(version) => version,
        // Not a fault when the native lab serves this machine instead.
        Err(reason) if lab::native_installed() => {
            return vec![good(format!(
                "Docker: not used ({reason}); the native lab serves instead"
            ))];
        }
        Err(reason) => {
            return vec![bad(
                format!("Docker: {reason}"),
                format!("start Docker, or use the native lab (`{CLI} lab install`)"),
            )];
        }
    };
    let mut findings = vec![match lab::docker::docker_host_is_local() {
        Ok(()) => good(format!(
            "Docker {version} answers: the containers lab can start brokers"
        )),
        Err(reason) => bad(format!("Docker {version}: {reason}"), "see above"),
    }];
    for broker in [lab::Broker::RabbitMq, lab::Broker::Kafka] {
        let (image, why) = lab::docker::image(broker).await;
        findings.push(if lab::docker::image_present(&image).await {
            good(format!("{broker} image: {image} ({why})"))
        } else {
            bad(
                format!("{broker} image: {image} is not here yet ({why})"),
                format!(
                    "it is pulled on first use; offline, or no registry: `{CLI} lab images` builds it here, \
                     or `{CLI} lab install` for the native lab, or set {} to an image you have",
                    lab::docker::image_variable(broker)
                ),
            )
        });
    }
    findings
}

/// The native lab, or what installing it needs (not a fault where Docker serves).
fn native(docker_serves: bool) -> Vec<Finding> {
    if lab::native_installed() {
        return vec![good(format!(
            "native lab installed in {}",
            lab::home().display()
        ))];
    }
    if docker_serves {
        return vec![good(format!(
            "native lab: not installed, not needed while Docker serves (`{CLI} lab install` gives it)"
        ))];
    }
    let mut findings = vec![bad(
        "native lab not installed",
        format!(
            "on Debian/Ubuntu as root: `{CLI} lab install` (needs Java 17+ and Maven)"
        ),
    )];
    let needs = [
        (
            "java",
            &["-version"][..],
            "apt-get install openjdk-17-jre-headless",
        ),
        ("mvn", &["-B", "-v"][..], "apt-get install maven"),
    ];
    for (program, args, fix) in needs {
        findings.push(match version(program, args) {
            Some(v) => good(format!("{program}: {v}")),
            None => bad(format!("no {program} (the native Kafka needs it)"), fix),
        });
    }
    findings
}

/// The lab's settings from the environment, if any are set.
fn settings() -> Option<Finding> {
    let set: Vec<String> = [
        "BROKERLINGS_AMQP_URL",
        "BROKERLINGS_KAFKA_BOOTSTRAP",
        "BROKERLINGS_LAB",
        "BROKERLINGS_RABBITMQ_IMAGE",
        "BROKERLINGS_KAFKA_IMAGE",
    ]
    .iter()
    .filter_map(|v| std::env::var(v).ok().map(|value| format!("{v}={value}")))
    .collect();
    (!set.is_empty()).then(|| good(format!("settings: {}", set.join(", "))))
}

/// Which lab serves this machine, and per topology what runs (or whether its
/// ports are free to start it).
async fn lab_findings(lab: &lab::Lab) -> Vec<Finding> {
    let mut findings = vec![good(format!("lab: {} ({})", lab.kind(), lab.reason()))];
    for (topology, nodes) in lab.status().await {
        let running = nodes.iter().filter(|up| **up).count();
        findings.push(if running == 0 {
            ports(topology)
        } else if running < nodes.len() {
            bad(
                format!(
                    "{topology}: only {running} of {} nodes running",
                    nodes.len()
                ),
                format!("`{CLI} lab up {}` starts the others", topology.slug()),
            )
        } else {
            good(format!("{topology}: {running} of {running} nodes running"))
        });
    }
    findings
}

/// For a stopped topology: are its ports free for it to start?
fn ports(topology: Topology) -> Finding {
    let taken: Vec<u16> = topology
        .nodes()
        .flat_map(|node| node.host_ports())
        .filter(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_err())
        .collect();
    if taken.is_empty() {
        good(format!("{topology}: stopped; its ports are free"))
    } else {
        bad(
            format!(
                "{topology}: stopped, but ports {taken:?} are in use by another program"
            ),
            "stop that program (e.g. `ss -ltnp` shows which), or use BROKERLINGS_LAB=external for brokers you run",
        )
    }
}
