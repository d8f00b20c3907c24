//! Locating the workspace root and the workspace's built binaries.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The workspace root: the first directory, walking up, that contains a `justfile`.
///
/// The search starts from the runtime `CARGO_MANIFEST_DIR` (set by `cargo test`),
/// then the current directory, then this crate's own manifest directory.
pub fn workspace_root() -> Option<PathBuf> {
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        starts.push(PathBuf::from(dir));
    }
    if let Ok(dir) = std::env::current_dir() {
        starts.push(dir);
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    starts.iter().find_map(|start| find_up(start, "justfile"))
}

fn find_up(start: &Path, marker: &str) -> Option<PathBuf> {
    start.ancestors().find(|dir| dir.join(marker).is_file()).map(Path::to_path_buf)
}

/// Path of a binary built by `cargo build --workspace --bins` in the same
/// profile as the running test (e.g. `target/debug/novij-telegram`).
///
/// Integration tests of one crate cannot use `CARGO_BIN_EXE_*` for another
/// crate's binaries, so this looks next to the running test executable
/// (`<target>/<profile>/deps/<test>`), which also honours `CARGO_TARGET_DIR`.
pub fn target_bin(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("current_exe")?;
    let mut candidates = Vec::new();
    if let Some(deps) = exe.parent() {
        if deps.file_name().is_some_and(|n| n == "deps") {
            if let Some(profile_dir) = deps.parent() {
                candidates.push(profile_dir.join(name));
            }
        } else {
            candidates.push(deps.join(name));
        }
    }
    if let Some(root) = workspace_root() {
        candidates.push(root.join("target").join("debug").join(name));
    }
    candidates.iter().find(|p| p.is_file()).cloned().with_context(|| {
        format!(
            "binary `{name}` not found (looked in {candidates:?}); \
                 build it first with `cargo build --workspace --bins` (or run `./dev test`)"
        )
    })
}
