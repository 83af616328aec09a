//! What a test gets: running brokers of one topology, held under a lease, with
//! fault control. `lab::Rabbit` and `lab::Kafka` wrap it with each broker's client
//! helpers (and the functions that open them, `lab::rabbit()`, `lab::kafka()`, ...).
//!
//! A handle holds a lease on its topology until it is dropped (see `lease`): plain
//! handles share the brokers with other tests; `*_with_faults` handles run alone and
//! may restart, stop, kill and start nodes.

use crate::lease::{Access, Lease};
use crate::{Endpoint, LabError, Result, Topology, lab};

/// Running brokers of one topology, as handed to a test.
#[derive(Debug)]
pub struct Brokers {
    topology: Topology,
    endpoints: Vec<Endpoint>,
    lease: Lease,
}

impl Brokers {
    /// Takes a lease on `topology`, starts it if needed and waits until it answers.
    pub(crate) async fn open(topology: Topology, access: Access) -> Result<Brokers> {
        let lab = lab().await?;
        let lease = Lease::take(topology, access).await?;
        let endpoints = lab.ensure(topology).await?;
        Ok(Brokers {
            topology,
            endpoints,
            lease,
        })
    }

    /// Which topology these brokers form.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// Where clients reach each node, node 1 first.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The endpoint of node `number` (1-based).
    pub fn endpoint(&self, number: usize) -> Result<&Endpoint> {
        number
            .checked_sub(1)
            .and_then(|i| self.endpoints.get(i))
            .ok_or(LabError::NoSuchNode {
                topology: self.topology.description(),
                nodes: self.topology.size(),
                number,
            })
    }

    /// Stops node `number` (1-based) cleanly, as an operator would.
    pub async fn stop(&self, number: usize) -> Result<()> {
        self.halt(number, false).await
    }

    /// Kills node `number` (1-based) at once (SIGKILL): a crash, not a shutdown.
    pub async fn kill(&self, number: usize) -> Result<()> {
        self.halt(number, true).await
    }

    async fn halt(&self, number: usize, kill: bool) -> Result<()> {
        self.fault(if kill { "kill" } else { "stop" }, number)?;
        let node = self.topology.node(number);
        lab().await?.stop_node(node, kill).await
    }

    /// Starts node `number` (1-based) again on its old data, and waits until it answers.
    pub async fn start(&self, number: usize) -> Result<()> {
        self.fault("start", number)?;
        lab().await?.start_node(self.topology.node(number)).await
    }

    /// Stops node `number` cleanly and starts it again on the same data.
    pub async fn restart(&self, number: usize) -> Result<()> {
        self.stop(number).await?;
        self.start(number).await
    }

    fn fault(&self, action: &'static str, number: usize) -> Result<()> {
        if self.lease.access != Access::Faults {
            return Err(LabError::SharedHandle {
                action,
                topology: self.topology.description(),
            });
        }
        self.endpoint(number).map(|_| ())
    }
}

/// Writes the functions that open a broker's handle on each topology: `$handle` is
/// the handle type (a newtype around [`Brokers`]); each `name => (topology, access)`
/// becomes `pub async fn name() -> Result<$handle>`, and `$any` opens any topology,
/// shared.
macro_rules! openers {
    ($handle:ident, $any:ident: $($(#[$doc:meta])* $name:ident => ($topology:ident, $access:ident);)*) => {
        $(
            $(#[$doc])*
            pub async fn $name() -> $crate::Result<$handle> {
                $crate::brokers::Brokers::open($crate::Topology::$topology, $crate::Access::$access)
                    .await
                    .map($handle)
            }
        )*

        #[doc = concat!("The ", stringify!($handle), " brokers of `topology`, shared with other tests.")]
        pub async fn $any(topology: $crate::Topology) -> $crate::Result<$handle> {
            $crate::brokers::Brokers::open(topology, $crate::Access::Shared)
                .await
                .map($handle)
        }
    };
}

pub(crate) use openers;
