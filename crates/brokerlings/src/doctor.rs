//! `doctor`: what this machine has for brokerlings, each finding with its fix.

use std::process::{Command, ExitCode};

use lab::Topology;

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

pub async fn run() -> anyhow::Result<ExitCode> {
    let mut findings = Vec::new();
    match version("rustc", &["--version"]) {
        Some(v) => findings.push(good(format!("Rust: {v}"))),
        None => findings.push(bad(
            "no rustc on PATH",
            "install Rust with rustup (https://rustup.rs)",
        )),
    }
    let docker = lab::select::docker_answers().await;
    findings.push(match &docker {
        Ok(()) => good("Docker answers: the containers lab can start brokers"),
        Err(reason) => bad(
            format!("Docker: {reason}"),
            "start Docker, or use the native lab (`cargo run -p brokerlings -- lab install`)",
        ),
    });
    if lab::native_installed() {
        findings.push(good(format!(
            "native lab installed in {}",
            lab::select::home().display()
        )));
    } else {
        findings.push(bad(
            "native lab not installed",
            "on Debian/Ubuntu as root: `cargo run -p brokerlings -- lab install` (needs Java 17+ and Maven)",
        ));
        for (program, args, fix) in [
            (
                "java",
                &["-version"][..],
                "apt-get install openjdk-17-jre-headless",
            ),
            ("mvn", &["-v"][..], "apt-get install maven"),
        ] {
            match version(program, args) {
                Some(v) => findings.push(good(format!("{program}: {v}"))),
                None => findings.push(bad(
                    format!("no {program} (the native Kafka needs it)"),
                    fix,
                )),
            }
        }
    }
    let external: Vec<String> = [
        "BROKERLINGS_AMQP_URL",
        "BROKERLINGS_KAFKA_BOOTSTRAP",
        "BROKERLINGS_LAB",
    ]
    .iter()
    .filter_map(|v| std::env::var(v).ok().map(|value| format!("{v}={value}")))
    .collect();
    if !external.is_empty() {
        findings.push(good(format!("settings: {}", external.join(", "))));
    }
    let lab = lab::lab().await;
    match &lab {
        Ok(lab) => {
            findings.push(good(format!("lab: {} ({})", lab.kind(), lab.reason())));
            for (topology, nodes) in lab.status().await {
                let running = nodes.iter().filter(|up| **up).count();
                if running == 0 {
                    ports(topology, &mut findings);
                } else {
                    findings.push(good(format!(
                        "{topology}: {running} of {} nodes running",
                        nodes.len()
                    )));
                }
            }
        }
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

/// For a stopped topology: are its ports free for it to start?
fn ports(topology: Topology, findings: &mut Vec<Finding>) {
    let taken: Vec<u16> = topology
        .nodes()
        .flat_map(|node| node.host_ports())
        .filter(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_err())
        .collect();
    if taken.is_empty() {
        findings.push(good(format!("{topology}: stopped; its ports are free")));
    } else {
        findings.push(bad(
            format!("{topology}: stopped, but ports {taken:?} are in use by another program"),
            "stop that program (e.g. `ss -ltnp` shows which), or use BROKERLINGS_LAB=external for brokers you run",
        ));
    }
}
