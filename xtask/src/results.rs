//! What `cargo xtask test` proved, so that `cargo xtask check` does not prove it
//! again in the same CI run.
//!
//! When the whole test suite passes, `test` writes a fingerprint of every file of
//! the checkout (what git tracks, plus untracked files it does not ignore) to
//! `<target>/xtask/tests-passed`. `check` reuses that verdict only if the
//! fingerprint of the files now is the same; any edit since means it runs the
//! tests itself.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Where the verdict is kept.
fn record(root: &Path) -> PathBuf {
    crate::target_dir(root).join("xtask").join("tests-passed")
}

/// A fingerprint of every file of the checkout, by path and content.
pub fn fingerprint(root: &Path) -> Result<String> {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .context("running git ls-files")?;
    if !listed.status.success() {
        bail!("git ls-files failed in {}", root.display());
    }
    let mut files: Vec<&[u8]> = listed
        .stdout
        .split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .collect();
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in files {
        let path = root.join(String::from_utf8_lossy(file).as_ref());
        hasher.write(file);
        // A deleted but still listed file hashes as empty.
        hasher.write(&std::fs::read(&path).unwrap_or_default());
    }
    Ok(format!("{:016x}", hasher.finish()))
}

/// Records that the whole test suite passed on the files whose fingerprint was
/// `before` when it started, if none changed while it ran.
pub fn record_pass(root: &Path, before: &str) -> Result<()> {
    if fingerprint(root)? != before {
        println!(
            "Files changed while the tests ran: `cargo xtask check` will run them again."
        );
        return Ok(());
    }
    let path = record(root);
    std::fs::create_dir_all(path.parent().context("the record has a folder")?)?;
    std::fs::write(&path, before).with_context(|| format!("writing {}", path.display()))
}

/// Forgets any earlier pass (the suite is about to run again).
pub fn forget(root: &Path) {
    let _ = std::fs::remove_file(record(root));
}

/// Whether `test` passed on exactly the files there are now.
pub fn passed_on_these_files(root: &Path) -> bool {
    match (std::fs::read_to_string(record(root)), fingerprint(root)) {
        (Ok(recorded), Ok(now)) => recorded.trim() == now,
        _ => false,
    }
}
