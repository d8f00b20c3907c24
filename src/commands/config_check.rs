//! `config-check`: every setting's state; exit 1 naming each problem.

use novij_config::{Config, SETTINGS};

pub fn run(json: bool) -> anyhow::Result<()> {
    let file = std::env::var("NOVIJ_CONFIG").ok();
    let result = Config::load(file.as_deref().map(std::path::Path::new), |k| std::env::var(k).ok());
    let problems = result.as_ref().err().map(|e| e.problems.clone()).unwrap_or_default();
    if json {
        let listed: Vec<serde_json::Value> =
            problems.iter().map(|p| serde_json::json!({ "setting": p.setting, "problem": p.problem })).collect();
        println!("{}", serde_json::json!({ "ok": problems.is_empty(), "problems": listed }));
        anyhow::ensure!(problems.is_empty(), "{} configuration problem(s)", problems.len());
        return Ok(());
    }
    for s in SETTINGS {
        let set = std::env::var(s.env).map(|v| !v.is_empty()).unwrap_or(false);
        let state = match problems.iter().find(|p| p.setting == s.env) {
            Some(p) => format!("PROBLEM: {}", p.problem),
            None if set => "set".to_string(),
            None => match s.default {
                Some(d) if !s.secret => format!("default ({d})"),
                _ => "not set".to_string(),
            },
        };
        println!("{:<28} {state}", s.env);
    }
    for p in problems.iter().filter(|p| !SETTINGS.iter().any(|s| s.env == p.setting)) {
        println!("{:<28} PROBLEM: {}", p.setting, p.problem);
    }
    if problems.is_empty() {
        println!("configuration ok");
        Ok(())
    } else {
        anyhow::bail!("{} configuration problem(s)", problems.len())
    }
}
