//! `cargo xtask book`: builds the book with pinned tools, installing them if missing.
//!
//! The tools are built from the Rust registry with `cargo install --locked` into
//! `target/book-tools/` (in `$CARGO_TARGET_DIR` if set), so they never clash with other versions on the machine, and
//! the build works offline once they are there.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// mdBook and its preprocessors, pinned.
pub const TOOLS: [(&str, &str); 3] = [
    ("mdbook", "0.5.4"),
    ("mdbook-quiz", "0.5.0"),
    ("mdbook-mermaid", "0.17.1"),
];

/// Where the pinned tools are installed: `book-tools/` in the target directory.
pub fn tools_root(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from);
    target.join("book-tools")
}

/// Installs each pinned tool that is missing (or at another version).
pub fn install_tools(root: &Path) -> Result<PathBuf> {
    let bin = tools_root(root).join("bin");
    for (tool, version) in TOOLS {
        let installed = Command::new(bin.join(tool))
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(version));
        if installed {
            continue;
        }
        println!("Installing {tool} {version} (once; a few minutes) ...");
        let status =
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args([
                    "install",
                    "--locked",
                    "--quiet",
                    "--version",
                    version,
                    "--root",
                ])
                .arg(tools_root(root))
                .arg(tool)
                .status()
                .with_context(|| format!("running cargo install {tool}"))?;
        if !status.success() {
            bail!("cargo install {tool}@{version} failed");
        }
    }
    Ok(bin)
}

/// Builds `book/` into `book/book/`; fails on any error mdBook only logs.
pub fn build(root: &Path) -> Result<PathBuf> {
    let bin = install_tools(root)?;
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let book = root.join("book");
    if !book.join("mermaid.min.js").exists() {
        run(Command::new(bin.join("mdbook-mermaid"))
            .arg("install")
            .arg(&book)
            .env("PATH", &path))
        .context("mdbook-mermaid install")?;
    }
    let output = Command::new(bin.join("mdbook"))
        .arg("build")
        .arg(&book)
        .env("PATH", &path)
        .output()
        .context("running mdbook build")?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .collect();
    if !output.status.success() || !errors.is_empty() {
        bail!("the book does not build cleanly: {}", errors.join(" / "));
    }
    Ok(book.join("book"))
}

fn run(command: &mut Command) -> Result<()> {
    let output = command.output()?;
    if !output.status.success() {
        bail!("{}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}
