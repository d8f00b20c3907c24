//! `version [--json]`: the version, git commit, build date and rustc.

pub fn run(json: bool) -> anyhow::Result<()> {
    let v = novij_ingress::this_version();
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let b = &v.build;
        println!(
            "{} {} (commit {}, built {} with {}, {} {}-{})",
            v.name, v.version, b.commit, b.built_at, b.rustc, b.profile, b.target_os, b.target_arch
        );
    }
    Ok(())
}
