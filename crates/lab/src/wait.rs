//! Bounded waits: nothing in brokerlings waits on a broker forever.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::{LabError, Result};

/// Awaits `future`, or fails after `timeout` with a message naming `what` was expected.
///
/// ```no_run
/// # async fn demo() -> lab::Result<()> {
/// use std::time::Duration;
/// let answer = lab::within(Duration::from_secs(5), "the answer", async { 42 }).await?;
/// # Ok(()) }
/// ```
pub async fn within<T>(
    timeout: Duration,
    what: impl std::fmt::Display,
    future: impl Future<Output = T>,
) -> Result<T> {
    tokio::time::timeout(timeout, future)
        .await
        .map_err(|_| LabError::Timeout {
            what: what.to_string(),
            after: timeout,
        })
}

/// Runs one exercise check with a deadline, so that a learner's consumer that
/// never stops fails the check (saying what it was doing) instead of hanging it.
///
/// ```no_run
/// # async fn demo() -> anyhow::Result<()> {
/// use std::time::Duration;
/// lab::check(Duration::from_secs(60), "receiving 3 tasks", async {
///     // ... run the learner's functions against the lab, assert what it saw ...
///     anyhow::Ok(())
/// })
/// .await
/// # }
/// ```
pub async fn check<T, E: From<LabError>>(
    timeout: Duration,
    what: &str,
    body: impl Future<Output = std::result::Result<T, E>>,
) -> std::result::Result<T, E> {
    match tokio::time::timeout(timeout, body).await {
        Ok(result) => result,
        Err(_) => Err(LabError::CheckTimedOut {
            what: what.to_string(),
            after: timeout,
        }
        .into()),
    }
}

/// Polls `probe` every `every` until it returns `Ok(true)`, for at most `timeout`.
///
/// The last error the probe returned is kept in the timeout message, so a broker
/// that never came up says why.
pub async fn until<F, Fut>(
    timeout: Duration,
    what: &str,
    every: Duration,
    mut probe: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match probe().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(error) => last_error = Some(error.to_string()),
        }
        if start.elapsed() >= timeout {
            let what = match last_error {
                Some(error) => format!("{what} (last error: {error})"),
                None => what.to_string(),
            };
            return Err(LabError::Timeout {
                what,
                after: timeout,
            });
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A check that does not finish fails with one line saying what it was doing.
    #[tokio::test]
    async fn a_check_that_hangs_fails_saying_what_it_did() {
        let hung = check(Duration::from_millis(50), "receiving 3 tasks", async {
            std::future::pending::<Result<()>>().await
        })
        .await;
        let Err(error) = hung else {
            panic!("a hung check must fail");
        };
        assert_eq!(
            error.to_string(),
            "check timed out after 0 s while receiving 3 tasks"
        );
    }

    /// A check that finishes returns its own result.
    #[tokio::test]
    async fn a_check_returns_its_result() {
        let result = check(Duration::from_secs(5), "adding", async {
            Ok::<_, LabError>(2 + 2)
        })
        .await;
        assert_eq!(result.ok(), Some(4));
    }
}
