//! The broker versions of brokerlings, pinned in one place.
//!
//! The native lab, the containers lab, `docker-compose.yml` and the book all name
//! these versions; a lab test fails when `docker-compose.yml` drifts from them.

/// RabbitMQ as Debian 13 ("trixie") packages it, and the matching Docker image.
pub const RABBITMQ_VERSION: &str = "4.0.5";

/// Apache Kafka, from its jars on Maven Central and the official `apache/kafka` image.
pub const KAFKA_VERSION: &str = "4.1.1";

/// The Scala build of the Kafka broker jar (`kafka_2.13`).
pub const KAFKA_SCALA: &str = "2.13";

/// The Debian release whose packages give [`RABBITMQ_VERSION`].
pub const DEBIAN_SUITE: &str = "trixie";

/// Docker image of RabbitMQ, with the management UI.
pub const RABBITMQ_IMAGE: &str = "rabbitmq";
/// Tag of [`RABBITMQ_IMAGE`]; always [`RABBITMQ_VERSION`] plus `-management`.
pub const RABBITMQ_TAG: &str = "4.0.5-management";

/// Docker image of Kafka (the JVM build, as the native lab runs the JVM too).
pub const KAFKA_IMAGE: &str = "apache/kafka";
/// Tag of [`KAFKA_IMAGE`]; always [`KAFKA_VERSION`].
pub const KAFKA_TAG: &str = "4.1.1";

#[cfg(test)]
mod tests {
    use super::*;

    /// The image tags cannot drift from the versions the native lab installs.
    #[test]
    fn image_tags_name_the_pinned_versions() {
        assert_eq!(RABBITMQ_TAG, format!("{RABBITMQ_VERSION}-management"));
        assert_eq!(KAFKA_TAG, KAFKA_VERSION);
    }
}
