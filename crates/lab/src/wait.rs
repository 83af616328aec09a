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
