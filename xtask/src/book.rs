//! `cargo xtask book`: builds the book with pinned tools, installing them if missing.
//!
//! The tools are built from the Rust registry with `cargo install --locked`, each
//! into a folder named after its pinned version in the machine's cache
//! (`$BROKERLINGS_CACHE`, else `~/.cache/brokerlings`): outside the checkout, so a
//! fresh clone does not build them again, and never clashing with other versions.
//! Once they are there the book builds offline.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// mdBook and its preprocessors, pinned.
pub const TOOLS: [(&str, &str); 3] = [
    ("mdbook", "0.5.4"),
    ("mdbook-quiz", "0.5.0"),
    ("mdbook-mermaid", "0.17.1"),
];

/// The machine's cache for what brokerlings pins: `$BROKERLINGS_CACHE`, else
/// `~/.cache/brokerlings`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("BROKERLINGS_CACHE")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|dir| dir.join("brokerlings")))
        .unwrap_or_else(|| std::env::temp_dir().join("brokerlings-cache"))
}

/// Where one pinned tool is installed.
fn tool_root(tool: &str, version: &str) -> PathBuf {
    cache_dir()
        .join("book-tools")
        .join(format!("{tool}-{version}"))
}

/// The program of one pinned tool.
fn program(tool: &str) -> PathBuf {
    let version = TOOLS
        .iter()
        .find(|(name, _)| *name == tool)
        .map_or("", |(_, version)| version);
    tool_root(tool, version).join("bin").join(tool)
}

/// Installs each pinned tool that is missing; returns a PATH holding all of them.
pub fn install_tools() -> Result<String> {
    let mut path = Vec::new();
    for (tool, version) in TOOLS {
        let bin = tool_root(tool, version).join("bin");
        path.push(bin.display().to_string());
        let installed = Command::new(bin.join(tool))
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(version));
        if installed {
            continue;
        }
        println!(
            "Installing {tool} {version} into {} (once per machine; a few minutes) ...",
            tool_root(tool, version).display()
        );
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
                .arg(tool_root(tool, version))
                .arg(tool)
                .status()
                .with_context(|| format!("running cargo install {tool}"))?;
        if !status.success() {
            bail!("cargo install {tool}@{version} failed");
        }
    }
    path.push(std::env::var("PATH").unwrap_or_default());
    Ok(path.join(":"))
}

/// Builds `book/` into `book/book/`; fails on any error mdBook only logs.
pub fn build(root: &Path) -> Result<PathBuf> {
    let path = install_tools()?;
    let book = root.join("book");
    if !book.join("mermaid.min.js").exists() {
        run(Command::new(program("mdbook-mermaid"))
            .arg("install")
            .arg(&book)
            .env("PATH", &path))
        .context("mdbook-mermaid install")?;
    }
    let output = Command::new(program("mdbook"))
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
