//! Cross-process leases on a topology, so fault experiments never surprise a test.
//!
//! Tests in every test binary share the brokers. A test that only uses a topology
//! holds a *shared* lease; a test that restarts or kills its nodes holds an
//! *exclusive* one, so it runs alone on that topology. Leases are advisory file
//! locks (`flock`) under the lab's home, released when the handle is dropped or the
//! process dies.

use std::fs::{File, OpenOptions, TryLockError};
use std::time::{Duration, Instant};

use crate::{LabError, Result, Topology};

/// How a test uses a topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Alongside other tests; no faults.
    Shared,
    /// Alone, so it may restart, stop, kill and start nodes.
    Faults,
}

/// How long a test waits for other tests to release a topology.
const LEASE_TIMEOUT: Duration = Duration::from_secs(600);

/// A held lease; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct Lease {
    _file: File,
    pub(crate) access: Access,
}

impl Lease {
    /// Takes a lease on `topology`, waiting (bounded) for other holders.
    pub(crate) async fn take(topology: Topology, access: Access) -> Result<Lease> {
        let file = lock_file(&format!("{}.lease", topology.slug()))?;
        let what = match access {
            Access::Shared => format!("a fault experiment on the {topology} to finish"),
            Access::Faults => format!("other tests using the {topology} to finish"),
        };
        let file = acquire(file, access == Access::Faults, LEASE_TIMEOUT, &what).await?;
        Ok(Lease {
            _file: file,
            access,
        })
    }
}

/// An exclusive lock for a short critical section (starting brokers).
pub(crate) async fn exclusive(name: &str, timeout: Duration, what: &str) -> Result<File> {
    acquire(lock_file(name)?, true, timeout, what).await
}

fn lock_file(name: &str) -> Result<File> {
    let dir = crate::home().join("locks");
    std::fs::create_dir_all(&dir)
        .map_err(LabError::io(format!("creating {}", dir.display())))?;
    let path = dir.join(name);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(LabError::io(format!("opening lock {}", path.display())))
}

async fn acquire(
    file: File,
    exclusive: bool,
    timeout: Duration,
    what: &str,
) -> Result<File> {
    let start = Instant::now();
    loop {
        let attempt = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match attempt {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if start.elapsed() < timeout => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(TryLockError::WouldBlock) => {
                return Err(LabError::Timeout {
                    what: what.into(),
                    after: timeout,
                });
            }
            Err(TryLockError::Error(error)) => {
                return Err(LabError::Io {
                    context: "locking the lab".into(),
                    source: error,
                });
            }
        }
    }
}
