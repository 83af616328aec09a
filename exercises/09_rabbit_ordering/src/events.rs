//! The events and the handler the exercise works with (given: you need not change
//! this file). An [`Event`] travels as the body `<key>#<seq>`; a [`Handler`] is
//! what the application does with one, and the checks pass their own.

use std::sync::Arc;

use anyhow::{Context, Result};
use futures::future::BoxFuture;

/// One event of an entity (an account, an order): its key, and its number in
/// that key's sequence (1, 2, 3 ...). Events of one key must be processed in
/// sequence order; events of different keys may be processed in any order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    /// The entity the event belongs to.
    pub key: String,
    /// Its number in the key's sequence, from 1.
    pub seq: u32,
}

impl Event {
    /// Event number `seq` of `key`.
    pub fn new(key: &str, seq: u32) -> Event {
        Event {
            key: key.to_string(),
            seq,
        }
    }

    /// The message body: `<key>#<seq>`.
    pub fn body(&self) -> String {
        format!("{}#{}", self.key, self.seq)
    }

    /// Reads an event from a message body written by [`Event::body`].
    pub fn parse(body: &[u8]) -> Result<Event> {
        let text = String::from_utf8_lossy(body);
        let (key, seq) = text
            .rsplit_once('#')
            .with_context(|| format!("{text:?} is not `<key>#<seq>`"))?;
        let seq = seq
            .parse()
            .with_context(|| format!("the sequence number of {text:?}"))?;
        Ok(Event::new(key, seq))
    }
}

/// What the application does with one event: an `Err` means "failed, try again"
/// (a database that was briefly away, a timeout). The checks give their own.
pub type Handler = Arc<dyn Fn(Event) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// Makes a [`Handler`] of an async function or closure.
pub fn handler<F, Fut>(function: F) -> Handler
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |event| Box::pin(function(event)))
}
