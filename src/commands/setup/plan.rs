//! What `setup` does, as an ordered list of steps, and how each is carried
//! out: for real, under a root directory (files written there, commands only
//! printed), or not at all (`--dry-run`).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{json, Value};

/// One thing `setup` does to the machine.
pub enum Step {
    /// A file with exactly this text and mode.
    File { path: String, text: String, mode: u32 },
    /// `path` is a symbolic link to `target`.
    Link { path: String, target: String },
    /// A command that changes the system; `shown` is what is printed (never a secret).
    Run { shown: String, argv: Vec<String>, stdin: Option<String>, env: Vec<(String, String)> },
}

impl Step {
    pub fn run(argv: &[&str]) -> Step {
        Step::Run {
            shown: argv.join(" "),
            argv: argv.iter().map(|a| a.to_string()).collect(),
            stdin: None,
            env: vec![],
        }
    }
}

/// Where the steps land.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On this machine: files written, commands run.
    System,
    /// Files written under a directory; commands printed, not run.
    Root,
    /// Nothing written, nothing run.
    DryRun,
}

/// What a file step found and did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Created,
    Changed,
    Unchanged,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Changed => "changed",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// The path of an absolute system `path` under `root`.
pub fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// Carries out the steps in order; returns one report line per step.
pub fn apply(steps: &[Step], root: &Path, mode: Mode, report: &mut Vec<Value>) -> anyhow::Result<()> {
    for step in steps {
        match step {
            Step::File { path, text, mode: file_mode } => {
                let at = under(root, path);
                let outcome = outcome_of_file(&at, text, *file_mode)?;
                if mode != Mode::DryRun && outcome != Outcome::Unchanged {
                    write_file(&at, text, *file_mode)?;
                }
                report.push(json!({ "file": path, "mode": format!("{file_mode:04o}"), "outcome": outcome.as_str() }));
            }
            Step::Link { path, target } => {
                let at = under(root, path);
                let outcome = match std::fs::read_link(&at) {
                    Ok(current) if current == Path::new(target) => Outcome::Unchanged,
                    Ok(_) => Outcome::Changed,
                    Err(_) => Outcome::Created,
                };
                if mode != Mode::DryRun && outcome != Outcome::Unchanged {
                    if let Some(dir) = at.parent() {
                        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                    }
                    let _ = std::fs::remove_file(&at);
                    std::os::unix::fs::symlink(target, &at).with_context(|| format!("linking {}", at.display()))?;
                }
                report.push(json!({ "link": path, "target": target, "outcome": outcome.as_str() }));
            }
            Step::Run { shown, argv, stdin, env } => {
                let ran = mode == Mode::System;
                if ran {
                    run_command(shown, argv, stdin.as_deref(), env)?;
                }
                report.push(json!({ "command": shown, "ran": ran }));
            }
        }
    }
    Ok(())
}

fn outcome_of_file(at: &Path, text: &str, mode: u32) -> anyhow::Result<Outcome> {
    match std::fs::read(at) {
        Ok(current) => {
            let current_mode = std::fs::metadata(at)?.permissions().mode() & 0o7777;
            Ok(if current == text.as_bytes() && current_mode == mode { Outcome::Unchanged } else { Outcome::Changed })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Outcome::Created),
        Err(e) => Err(e).with_context(|| format!("reading {}", at.display())),
    }
}

/// Writes through a temporary file and a rename, with the mode set before
/// any byte is written: a secret is never readable by others, even briefly.
fn write_file(at: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = at.parent().context("a file path has a directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = at.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.setup-tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, at).with_context(|| format!("writing {}", at.display()))
}

fn run_command(shown: &str, argv: &[String], stdin: Option<&str>, env: &[(String, String)]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let (program, args) = argv.split_first().context("an empty command")?;
    let mut command = std::process::Command::new(program);
    command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    if stdin.is_some() {
        command.stdin(std::process::Stdio::piped());
    }
    let mut child = command.spawn().with_context(|| format!("cannot run `{shown}`"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).with_context(|| format!("writing to `{shown}`"))?;
    }
    let status = child.wait().with_context(|| format!("waiting for `{shown}`"))?;
    anyhow::ensure!(status.success(), "`{shown}` failed ({status})");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> Step {
        Step::File { path: path.into(), text: text.into(), mode: 0o600 }
    }

    fn outcomes(report: &[Value]) -> Vec<String> {
        report.iter().map(|r| r["outcome"].as_str().unwrap_or("ran").to_string()).collect()
    }

    #[test]
    fn a_file_is_created_then_left_alone_then_changed() {
        let root = tempfile::tempdir().expect("tempdir");
        let mut report = vec![];
        apply(&[file("/etc/x/a", "one")], root.path(), Mode::Root, &mut report).expect("apply");
        apply(&[file("/etc/x/a", "one")], root.path(), Mode::Root, &mut report).expect("apply");
        apply(&[file("/etc/x/a", "two")], root.path(), Mode::Root, &mut report).expect("apply");
        assert_eq!(outcomes(&report), ["created", "unchanged", "changed"]);
        let at = root.path().join("etc/x/a");
        assert_eq!(std::fs::read_to_string(&at).expect("read"), "two");
        assert_eq!(std::fs::metadata(&at).expect("meta").permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_dry_run_writes_nothing_and_runs_nothing() {
        let root = tempfile::tempdir().expect("tempdir");
        let steps = [
            file("/etc/x/a", "one"),
            Step::Link { path: "/etc/x/b".into(), target: "/etc/x/a".into() },
            Step::run(&["false"]),
        ];
        let mut report = vec![];
        apply(&steps, root.path(), Mode::DryRun, &mut report).expect("a dry run runs nothing, not even `false`");
        assert!(!root.path().join("etc").exists());
        assert_eq!(outcomes(&report), ["created", "created", "ran"]);
        assert_eq!(report[2]["ran"], false);
    }

    #[test]
    fn a_failing_command_stops_the_steps() {
        let root = tempfile::tempdir().expect("tempdir");
        let steps = [Step::run(&["false"]), file("/etc/after", "x")];
        let error = apply(&steps, root.path(), Mode::System, &mut vec![]).expect_err("false fails");
        assert!(error.to_string().contains("`false` failed"), "{error}");
        assert!(!root.path().join("etc/after").exists());
    }
}
