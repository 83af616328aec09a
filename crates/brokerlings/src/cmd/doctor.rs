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

/// Prints every finding; exits non-zero when no lab can give brokers.
pub async fn run() -> anyhow::Result<ExitCode> {
    let mut findings = vec![toolchain()];
    findings.push(docker().await);
    findings.extend(native());
    findings.extend(settings());
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
    Ok(if lab.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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

async fn docker() -> Finding {
    match lab::select::docker_answers().await {
        Ok(()) => good("Docker answers: the containers lab can start brokers"),
        Err(reason) => bad(
            format!("Docker: {reason}"),
            format!("start Docker, or use the native lab (`{CLI} lab install`)"),
        ),
    }
}

/// The native lab, or what installing it needs.
fn native() -> Vec<Finding> {
    if lab::native_installed() {
        return vec![good(format!(
            "native lab installed in {}",
            lab::home().display()
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
        ("mvn", &["-v"][..], "apt-get install maven"),
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
        } else {
            good(format!(
                "{topology}: {running} of {} nodes running",
                nodes.len()
            ))
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
