//! `update`: the package site's channel index (docs/PACKAGES.md), the newest
//! release for this machine, and, unless only checking, its .deb downloaded,
//! its SHA-256 verified and installed with dpkg, whose postinst restarts the
//! running units.
//! A checksum mismatch installs nothing; a downgrade needs `--force`.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Context as _;
use novij_package_site_client::{self as site, ChannelIndex, Release};
use serde_json::json;

const PACKAGE: &str = "novij-telegram";
const DEFAULT_SITE: &str = "https://packages.novij.tech/services/telegram";
const DEFAULT_CHANNEL: &str = "latest";

#[derive(clap::Args)]
pub struct Options {
    /// Only tell whether the channel has a newer package.
    #[arg(long)]
    pub check: bool,
    /// Install even when it is the same or an older version.
    #[arg(long)]
    pub force: bool,
    /// Say what would be installed; download and install nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The release channel (default: PACKAGE_CHANNEL, else `latest`).
    #[arg(long)]
    pub channel: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// How the channel's newest release compares with what is installed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Standing {
    Newer,
    Current,
    Older,
}

impl Standing {
    fn as_str(self) -> &'static str {
        match self {
            Standing::Newer => "newer",
            Standing::Current => "current",
            Standing::Older => "older",
        }
    }
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let env_file = super::setup::installed_env()?;
    let base = setting("PACKAGE_SITE_URL", &env_file).unwrap_or_else(|| DEFAULT_SITE.to_string());
    let base = url::Url::parse(&base).with_context(|| format!("PACKAGE_SITE_URL `{base}` is not a URL"))?;
    let channel = match options.channel.clone() {
        Some(channel) => channel,
        None => setting("PACKAGE_CHANNEL", &env_file).unwrap_or_else(|| DEFAULT_CHANNEL.to_string()),
    };
    let architecture = dpkg_output(&["--print-architecture"])?.context("dpkg has no architecture")?;
    let installed = installed_version()?;
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(600)).build()?;
    let index = fetch_index(&http, &base, &channel).await?;
    let release = index
        .releases
        .iter()
        .find(|r| r.architecture == architecture || r.architecture == "all")
        .with_context(|| format!("channel `{channel}` has no release for {architecture}"))?;
    let standing = match &installed {
        None => Standing::Newer,
        Some(v) if compare(&release.version, "gt", v)? => Standing::Newer,
        Some(v) if compare(&release.version, "eq", v)? => Standing::Current,
        Some(_) => Standing::Older,
    };
    let mut summary = json!({
        "channel": channel,
        "installed": installed,
        "available": release.version,
        "standing": standing.as_str(),
    });
    let say = |summary: &serde_json::Value, line: String| -> anyhow::Result<()> {
        if options.json {
            println!("{summary}");
        } else {
            println!("{line}");
        }
        Ok(())
    };
    let installed_text = installed.as_deref().unwrap_or("nothing (not installed from a package)");
    if options.check {
        let verdict = match standing {
            Standing::Newer => "a newer package is available",
            Standing::Current => "up to date",
            Standing::Older => "the channel's package is older than the installed one",
        };
        return say(&summary, format!("installed: {installed_text}; {channel}: {}: {verdict}", release.version));
    }
    match standing {
        Standing::Current if !options.force => {
            summary["action"] = json!("none");
            return say(&summary, format!("{PACKAGE} {installed_text} is up to date on {channel}"));
        }
        Standing::Older if !options.force => anyhow::bail!(
            "refusing to downgrade {PACKAGE} from {installed_text} to {} (channel {channel}); use --force to install it anyway",
            release.version
        ),
        _ => {}
    }
    let url = site::file_url(&base, release)?;
    if options.dry_run {
        summary["action"] = json!("would_install");
        return say(
            &summary,
            format!(
                "would download {url}, verify its SHA-256 {}, install {} {} with dpkg",
                release.sha256, PACKAGE, release.version
            ),
        );
    }
    let file = download_verified(&http, &url, release).await?;
    install(file.path())?;
    summary["action"] = json!("installed");
    // The package's postinst restarts the services that were running.
    say(&summary, format!("installed {PACKAGE} {} from {channel} (SHA-256 verified)", release.version))
}

/// A setting from the environment, else from the installed env file: `sudo
/// novij-telegram update` runs outside the units, without their environment.
fn setting(name: &str, env_file: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let set = |v: &String| !v.is_empty();
    std::env::var(name).ok().filter(set).or_else(|| env_file.get(name).filter(|v| set(v)).cloned())
}

async fn fetch_index(http: &reqwest::Client, base: &url::Url, channel: &str) -> anyhow::Result<ChannelIndex> {
    let url = site::index_url(base, channel)?;
    let response = http.get(url.clone()).send().await.map_err(|e| super::Unreachable::new("the package site", e))?;
    match response.status().as_u16() {
        200 => {
            let index: ChannelIndex = response.json().await.with_context(|| format!("{url} is not a channel index"))?;
            // An index of another package or channel would install the wrong thing.
            anyhow::ensure!(
                index.package == PACKAGE && index.channel == channel,
                "{url} indexes {} on channel `{}`, not {PACKAGE} on `{channel}`",
                index.package,
                index.channel
            );
            Ok(index)
        }
        404 => anyhow::bail!("the package site has no channel `{channel}` ({url})"),
        status => anyhow::bail!("{url} answered {status}"),
    }
}

/// The release's file in a temporary file, after its length and SHA-256
/// matched the index; otherwise an error and nothing kept.
async fn download_verified(
    http: &reqwest::Client,
    url: &url::Url,
    release: &Release,
) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut response =
        http.get(url.clone()).send().await.map_err(|e| super::Unreachable::new("the package site", e))?;
    anyhow::ensure!(response.status().is_success(), "{url} answered {}", response.status());
    let mut file = tempfile::Builder::new().prefix("novij-telegram-").suffix(".deb").tempfile()?;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut size = 0u64;
    while let Some(chunk) = response.chunk().await.with_context(|| format!("downloading {url}"))? {
        digest.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk)?;
    }
    file.flush()?;
    let actual = hex::encode(digest.finish());
    anyhow::ensure!(
        actual.eq_ignore_ascii_case(&release.sha256),
        "checksum mismatch for {url}: the package site says SHA-256 {}, the file downloaded has {actual}; nothing was installed",
        release.sha256
    );
    anyhow::ensure!(
        size == release.size,
        "{url} has {size} bytes, the index says {}; nothing was installed",
        release.size
    );
    Ok(file)
}

/// dpkg installs it; an operator's edited configuration files are kept.
fn install(deb: &Path) -> anyhow::Result<()> {
    let status = Command::new("dpkg")
        .args(["--force-confdef", "--force-confold", "-i"])
        .arg(deb)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("cannot run dpkg")?;
    anyhow::ensure!(status.success(), "dpkg could not install the package ({status}); see its output above");
    Ok(())
}

/// The installed package's version, if dpkg has it installed.
fn installed_version() -> anyhow::Result<Option<String>> {
    let output = Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status} ${Version}", PACKAGE])
        .output()
        .context("cannot run dpkg-query")?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.strip_prefix("installed ").map(|v| v.trim().to_string()).filter(|v| !v.is_empty()))
}

/// Debian's version order, as dpkg itself compares.
fn compare(a: &str, op: &str, b: &str) -> anyhow::Result<bool> {
    let status = Command::new("dpkg").args(["--compare-versions", a, op, b]).status().context("cannot run dpkg")?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => anyhow::bail!("dpkg cannot compare the versions `{a}` and `{b}`"),
    }
}

fn dpkg_output(args: &[&str]) -> anyhow::Result<Option<String>> {
    let output = Command::new("dpkg").args(args).output().context("cannot run dpkg (update needs Debian)")?;
    Ok(Some(String::from_utf8_lossy(&output.stdout).trim().to_string()).filter(|s| !s.is_empty()))
}
