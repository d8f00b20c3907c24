//! `schemas`: JSON Schemas of every event and subject payload, the OpenAPI
//! document and the AsyncAPI document, generated from the Rust types. `--check` fails when the files
//! in the repository are stale.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

fn pretty(value: &impl serde::Serialize) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// Every generated file, by path relative to the schemas folder.
fn generate() -> anyhow::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    for (name, schema) in novij_events::catalogue::event_schemas() {
        files.insert(format!("events/{name}.json"), pretty(&schema)?);
    }
    for (name, schema) in novij_events::catalogue::subject_schemas() {
        files.insert(format!("subjects/{name}.json"), pretty(&schema)?);
    }
    files.insert("openapi.json".to_string(), pretty(&novij_ingress::openapi::document())?);
    files.insert("asyncapi.json".to_string(), pretty(&novij_ingress::asyncapi::document())?);
    Ok(files)
}

pub fn run(out: &Path, check: bool) -> anyhow::Result<()> {
    let files = generate()?;
    if check {
        let mut stale = Vec::new();
        for (path, content) in &files {
            if std::fs::read_to_string(out.join(path)).ok().as_deref() != Some(content.as_str()) {
                stale.push(path.clone());
            }
        }
        for dir in ["events", "subjects"] {
            for entry in std::fs::read_dir(out.join(dir)).into_iter().flatten().flatten() {
                let rel = format!("{dir}/{}", entry.file_name().to_string_lossy());
                if !files.contains_key(&rel) {
                    stale.push(format!("{rel} (no longer generated)"));
                }
            }
        }
        if !stale.is_empty() {
            anyhow::bail!("schemas are stale, run `just schemas`: {}", stale.join(", "));
        }
        println!("{} schemas up to date", files.len());
        return Ok(());
    }
    for dir in ["events", "subjects"] {
        let d = out.join(dir);
        if d.exists() {
            std::fs::remove_dir_all(&d).with_context(|| format!("clearing {}", d.display()))?;
        }
    }
    for (path, content) in &files {
        let target = out.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, content).with_context(|| format!("writing {}", target.display()))?;
    }
    println!("wrote {} schemas to {}", files.len(), out.display());
    Ok(())
}
