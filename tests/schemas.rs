//! The checked-in schemas (`schemas/`) match what the Rust types generate.

#[test]
fn schemas_are_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_novij-telegram"))
        .args(["schemas", "--check", "--out"])
        .arg(root.join("schemas"))
        .output()
        .expect("run schemas --check");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn config_check_names_every_missing_setting() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_novij-telegram"))
        .arg("config-check")
        .env_clear()
        .env("WEBHOOK_MAX_CONNECTIONS", "0")
        .output()
        .expect("run config-check");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for setting in ["DATABASE_URL", "NOVIJ_MASTER_KEYS", "PUBLIC_BASE_URL", "ADMIN_API_KEY", "WEBHOOK_MAX_CONNECTIONS"]
    {
        assert!(text.lines().any(|l| l.starts_with(setting) && l.contains("PROBLEM")), "{setting} not named:\n{text}");
    }
}
