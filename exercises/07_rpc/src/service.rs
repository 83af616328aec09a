//! The service the RPC server offers (given, do not modify): it upper-cases a word.
//! A request `slow:<word>` takes [`SLOW`] to answer, so that replies can come back
//! late, and out of order. A service made with [`Service::stalling_on`] gets stuck
//! on one request, so a check can kill its server in the middle of that request.

use std::io::Write;
use std::time::Duration;

/// How long a `slow:` request takes to answer.
pub const SLOW: Duration = Duration::from_millis(500);

/// What the server computes for each request.
#[derive(Debug, Clone, Default)]
pub struct Service {
    stall_on: Option<String>,
}

impl Service {
    /// A service that answers every request.
    pub fn new() -> Service {
        Service::default()
    }

    /// A service that gets stuck, forever, on the request `request`, after printing
    /// `stalled on <request>` (the checks wait for that line, then kill the server).
    pub fn stalling_on(request: &str) -> Service {
        Service {
            stall_on: Some(request.to_string()),
        }
    }

    /// The answer to `request`: the word upper-cased, after [`SLOW`] for `slow:`.
    pub async fn answer(&self, request: &str) -> String {
        if self.stall_on.as_deref() == Some(request) {
            println!("stalled on {request}");
            let _ = std::io::stdout().flush();
            std::future::pending::<()>().await;
        }
        match request.strip_prefix("slow:") {
            Some(word) => {
                tokio::time::sleep(SLOW).await;
                word.to_uppercase()
            }
            None => request.to_uppercase(),
        }
    }
}
