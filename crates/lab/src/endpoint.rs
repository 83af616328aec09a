//! Where a client reaches one broker node: an [`Endpoint`], never a bare string.

use std::fmt;
use std::time::Duration;

use lapin::uri::AMQPUri;

use crate::{Result, kafka, rabbitmq};

/// The address of one broker node, as a client uses it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// An AMQP 0.9.1 URL, `amqp://user:password@host:port/vhost`.
    Amqp(String),
    /// A Kafka bootstrap address, `host:port`.
    Kafka(String),
}

impl Endpoint {
    /// Parses an AMQP URL (`amqp://` or `amqps://`, with a host), as lapin does.
    pub fn amqp(url: &str) -> std::result::Result<Endpoint, String> {
        let example = "as in amqp://guest:guest@127.0.0.1:5672/%2f";
        let parsed: AMQPUri = url
            .parse()
            .map_err(|e| format!("not an AMQP URL ({e}), {example}"))?;
        if parsed.authority.host.is_empty() {
            return Err(format!("an AMQP URL names a host, {example}"));
        }
        Ok(Endpoint::Amqp(url.to_string()))
    }

    /// Parses a Kafka address, `host:port`.
    pub fn kafka(address: &str) -> std::result::Result<Endpoint, String> {
        match address.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Endpoint::Kafka(address.to_string()))
            }
            _ => Err("a Kafka address is host:port, as in 127.0.0.1:9092".into()),
        }
    }

    /// The address itself, with its password: for clients, never for messages.
    pub fn as_str(&self) -> &str {
        match self {
            Endpoint::Amqp(url) => url,
            Endpoint::Kafka(address) => address,
        }
    }

    /// "RabbitMQ" or "Kafka".
    pub fn broker(&self) -> &'static str {
        match self {
            Endpoint::Amqp(_) => "RabbitMQ",
            Endpoint::Kafka(_) => "Kafka",
        }
    }

    /// Whether the node answers a client now: an AMQP handshake, or a Kafka metadata
    /// request that lists at least `brokers` live brokers.
    pub(crate) async fn answers(&self, brokers: usize) -> Result<bool> {
        match self {
            Endpoint::Amqp(url) => rabbitmq::probe::ready(url).await,
            Endpoint::Kafka(bootstrap) => kafka::probe::ready(bootstrap, brokers).await,
        }
    }

    /// Whether node `id` answers a client now as a member of its cluster, even while
    /// other nodes are down: an AMQP handshake, or a Kafka metadata request to it
    /// that lists `id` itself (a Kafka broker is listed once it has registered with
    /// the controller and been unfenced).
    pub(crate) async fn answers_as(&self, id: usize) -> Result<bool> {
        match self {
            Endpoint::Amqp(url) => rabbitmq::probe::ready(url).await,
            Endpoint::Kafka(bootstrap) => {
                let ids =
                    kafka::probe::broker_ids(bootstrap, Duration::from_secs(3)).await?;
                Ok(ids.iter().any(|listed| usize::try_from(*listed) == Ok(id)))
            }
        }
    }

    /// Whether the node answers within `timeout`, with `hint` in the error if not.
    pub(crate) async fn reachable(&self, timeout: Duration, hint: &str) -> Result<()> {
        match self {
            Endpoint::Amqp(url) => {
                let connection = rabbitmq::probe::connect(url, timeout, hint).await?;
                let _ = connection.close(200, "lab check".into()).await;
                Ok(())
            }
            Endpoint::Kafka(bootstrap) => kafka::probe::broker_ids(bootstrap, timeout)
                .await
                .map(|_| ())
                .map_err(|error| crate::LabError::Unreachable {
                    broker: "Kafka",
                    address: bootstrap.clone(),
                    cause: error.to_string(),
                    hint: hint.to_string(),
                }),
        }
    }
}

impl fmt::Display for Endpoint {
    /// The address with any password hidden, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&rabbitmq::probe::redact(self.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Passwords of classroom servers never end up in a learner's terminal.
    #[test]
    fn display_hides_the_password() {
        let endpoint = Endpoint::amqp("amqp://ann:secret@host:5672/%2f").expect("valid");
        assert_eq!(endpoint.to_string(), "amqp://ann:***@host:5672/%2f");
        assert_eq!(
            rabbitmq::probe::redact("amqp://host:5672"),
            "amqp://host:5672"
        );
    }

    /// A setting that is not an address is refused with what one looks like.
    #[test]
    fn malformed_addresses_are_refused() {
        assert!(Endpoint::amqp("http://host").is_err());
        assert!(Endpoint::amqp("amqp://guest:guest@:5672").is_err());
        assert!(Endpoint::kafka("127.0.0.1").is_err());
        assert!(Endpoint::kafka("127.0.0.1:x").is_err());
        assert!(Endpoint::kafka("127.0.0.1:9092").is_ok());
    }
}
