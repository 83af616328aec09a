//! Bad situations answered by `brokerlings lab` with one line and an exit code,
//! never a hang, a panic or a backtrace.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Runs `brokerlings` with `args` and `env`, in a lab home of its own.
fn brokerlings(args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let home =
        std::env::temp_dir().join(format!("brokerlings-test-{}", fastrand_suffix()));
    std::fs::create_dir_all(&home).expect("temp dir is writable");
    let start = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_brokerlings"))
        .args(args)
        .env("BROKERLINGS_HOME", &home)
        .env_remove("BROKERLINGS_LAB")
        .env_remove("BROKERLINGS_AMQP_URL")
        .env_remove("BROKERLINGS_KAFKA_BOOTSTRAP")
        .envs(env.iter().copied())
        .output()
        .expect("the brokerlings binary runs");
    let _ = std::fs::remove_dir_all(&home);
    (output, start.elapsed())
}

fn fastrand_suffix() -> String {
    format!("{}-{:?}", std::process::id(), Instant::now())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("an ephemeral port");
    listener.local_addr().expect("bound").port()
}

/// Asserts a failed run printed exactly one line, starting with `error: ` and
/// containing `expected`; the line is under snapshot review as `name`, with ports,
/// temporary paths and the OS's words redacted.
fn assert_one_line_error(name: &str, output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    settings.add_filter(r"/tmp/[^ )`,]+", "[tmp]");
    settings.add_filter(r"\(os error \d+\)", "(os error [n])");
    settings.bind(|| insta::assert_snapshot!(name, stderr.trim_end()));
    assert!(!output.status.success(), "should fail; stderr: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line expected, got: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

/// An unreachable RabbitMQ is reported on one line, well within 30 s.
#[test]
fn unreachable_rabbitmq_fails_fast_on_one_line() {
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", closed_port());
    let (output, took) =
        brokerlings(&["lab", "up", "rabbit"], &[("BROKERLINGS_AMQP_URL", &url)]);
    assert_one_line_error(
        "unreachable_rabbitmq",
        &output,
        "no RabbitMQ reachable at amqp://guest:***@127.0.0.1",
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// An unreachable Kafka is reported on one line, well within 30 s.
#[test]
fn unreachable_kafka_fails_fast_on_one_line() {
    let bootstrap = format!("127.0.0.1:{}", closed_port());
    let (output, took) = brokerlings(
        &["lab", "up", "kafka"],
        &[("BROKERLINGS_KAFKA_BOOTSTRAP", &bootstrap)],
    );
    assert_one_line_error(
        "unreachable_kafka",
        &output,
        "no Kafka reachable at 127.0.0.1",
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// With no Docker, nothing installed and no addresses, the error names every way out.
#[test]
fn no_backend_names_the_ways_to_get_brokers() {
    let (output, _) = brokerlings(
        &["lab", "status"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_one_line_error(
        "no_backend",
        &output,
        "no brokers available: start Docker, or run `cargo run -p brokerlings -- lab install`",
    );
}

/// Asking for the containers lab without Docker says so, on one line.
#[test]
fn containers_lab_without_docker_says_docker_does_not_answer() {
    let env = [
        ("BROKERLINGS_LAB", "containers"),
        ("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
    ];
    let (output, _) = brokerlings(&["lab", "up"], &env);
    assert_one_line_error(
        "containers_without_docker",
        &output,
        "the containers lab is not usable here: Docker",
    );
}

/// A misspelt backend is rejected with the accepted values.
#[test]
fn unknown_backend_setting_lists_the_choices() {
    let (output, _) =
        brokerlings(&["lab", "status"], &[("BROKERLINGS_LAB", "kubernetes")]);
    assert_one_line_error(
        "unknown_backend",
        &output,
        "one of containers, native, external",
    );
}

/// A native node whose port another program holds is refused before it starts.
#[test]
fn native_node_on_a_taken_port_is_refused() {
    let port = lab::Topology::Rabbit.node(1).amqp_port();
    // Hold the port ourselves; if that fails, something (a running lab) holds it already.
    let _holder = std::net::TcpListener::bind(("127.0.0.1", port));
    let home =
        std::env::temp_dir().join(format!("brokerlings-ports-{}", fastrand_suffix()));
    let installs = [
        format!("rabbitmq-{}", lab::versions::RABBITMQ_VERSION),
        format!("kafka-{}", lab::versions::KAFKA_VERSION),
    ];
    for install in installs {
        let dir = home.join("native").join(install);
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        std::fs::write(dir.join("installed"), "chroot").expect("temp dir is writable");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_brokerlings"))
        .args(["lab", "up", "rabbit"])
        .env("BROKERLINGS_HOME", &home)
        .env("BROKERLINGS_LAB", "native")
        .output()
        .expect("the brokerlings binary runs");
    let _ = std::fs::remove_dir_all(&home);
    assert_one_line_error(
        "port_taken",
        &output,
        &format!("port {port} is already in use"),
    );
}
