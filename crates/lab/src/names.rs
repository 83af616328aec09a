//! Unique names for queues, exchanges, topics and groups.
//!
//! Tests share brokers and run in parallel, so a fixed name like `task_queue` would
//! let one test read another's messages. Every name made here carries the name of
//! the running test and a random suffix.

/// A name for a broker resource that no other test and no earlier run uses.
///
/// It has the shape `<test>.<what>.<suffix>`, where `<test>` is the name of the
/// running test (cargo runs each test on a thread named after it) and `<suffix>`
/// is random. Only `[A-Za-z0-9._-]` are used, which both RabbitMQ and Kafka accept.
///
/// ```
/// let queue = lab::unique_name("task_queue");
/// assert!(queue.contains("task_queue"));
/// assert_ne!(queue, lab::unique_name("task_queue"));
/// ```
pub fn unique_name(what: &str) -> String {
    let thread = std::thread::current();
    let test = thread
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("lab");
    let test = test.rsplit("::").next().unwrap_or(test);
    let suffix: String = (0..8).map(|_| fastrand::alphanumeric()).collect();
    let name = format!("{}.{}.{}", clean(test), clean(what), suffix.to_lowercase());
    // Kafka topics may be at most 249 characters long.
    let keep = name.len().saturating_sub(200);
    name[keep..].to_string()
}

fn clean(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names carry the test's own name, so a leftover queue says who made it.
    #[test]
    fn names_carry_the_test_name_and_differ() {
        let a = unique_name("orders");
        let b = unique_name("orders");
        assert_ne!(a, b);
        assert!(
            a.starts_with("names_carry_the_test_name_and_differ.orders."),
            "{a}"
        );
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        );
    }
}
