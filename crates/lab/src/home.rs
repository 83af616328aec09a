//! Where the lab keeps its installs, running state and locks.

use std::path::PathBuf;

/// The lab's home: `$BROKERLINGS_HOME`, else `~/.local/share/brokerlings` (the
/// platform's data directory). Native installs live in `native/`, each native node's
/// files in `run/<node>/`, cross-process locks in `locks/`.
pub fn home() -> PathBuf {
    if let Some(home) = std::env::var_os("BROKERLINGS_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("brokerlings")
}
