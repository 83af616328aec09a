//! The parts of the CLI other crates read: its errors, for the book's
//! troubleshooting page (`cargo xtask timings --render`). The CLI itself is
//! `main.rs`.

pub mod errors;
