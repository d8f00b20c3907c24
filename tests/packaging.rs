//! The Debian package and `update`: `just deb` builds a package that holds
//! the binary, the units and the configuration, which lintian accepts; and
//! `update` installs newer packages from the package site for real, with
//! dpkg and the package's maintainer scripts, in a Debian root that
//! debootstrap made (cached under .state/cache between runs).
//!
//! Needs root (chroot, dpkg into the root), and lintian and debootstrap,
//! which scripts/bootstrap.sh installs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use package_site::PackageSiteConfig;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-1");

fn run(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

fn ok(command: &mut Command) -> String {
    let shown = format!("{command:?}");
    let output = run(command);
    assert!(
        output.status.success(),
        "{shown} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `just`, as scripts/bootstrap.sh installs it, else from PATH.
fn just() -> Command {
    let pinned = Path::new(ROOT).join(".state/bin/just");
    let mut command = Command::new(if pinned.exists() { pinned } else { PathBuf::from("just") });
    command.current_dir(ROOT);
    command
}

/// `just deb dev` with these extra cargo-deb options; the package's path.
fn build_package(out: &Path, extra: &[&str]) -> PathBuf {
    std::fs::create_dir_all(out).expect("mkdir");
    let stdout = ok(just().args(["deb", "dev", "-o"]).arg(format!("{}/", out.display())).args(extra));
    let path = stdout.lines().last().map(PathBuf::from).expect("just deb prints the package's path");
    assert!(path.is_file(), "{} is not a file", path.display());
    path
}

/// The package of this version, built once for every test here.
fn package() -> &'static Path {
    static PACKAGE: OnceLock<PathBuf> = OnceLock::new();
    PACKAGE.get_or_init(|| build_package(&Path::new(ROOT).join("target/test-packages"), &[]))
}

#[test]
fn just_deb_holds_the_binary_units_and_configuration_and_lintian_finds_no_error() {
    let deb = package();
    assert!(deb.file_name().is_some_and(|n| n.to_string_lossy() == format!("novij-telegram_{VERSION}_amd64.deb")));
    let listing = ok(Command::new("dpkg-deb").arg("--contents").arg(deb));
    let paths: Vec<&str> = listing.lines().filter_map(|l| l.split_whitespace().nth(5)).collect();
    let mut expected = vec![
        "./usr/bin/novij-telegram".to_string(),
        "./etc/novij-telegram/nats/nats-server.conf".into(),
        "./usr/share/doc/novij-telegram/examples/env.example".into(),
        "./usr/share/doc/novij-telegram/copyright".into(),
        "./usr/share/doc/novij-telegram/changelog.Debian.gz".into(),
    ];
    let units = std::fs::read_dir(Path::new(ROOT).join("deploy/systemd")).expect("deploy/systemd");
    let units: Vec<String> = units.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
    assert!(units.len() >= 8, "{units:?}");
    expected.extend(units.iter().map(|u| format!("./lib/systemd/system/{u}")));
    for path in &expected {
        assert!(paths.contains(&path.as_str()), "{path} is not in the package:\n{listing}");
    }

    // The configuration is a conffile, so dpkg never overwrites an edited one;
    // postinst makes the system user the units run as.
    let control = tempfile::tempdir().expect("tempdir");
    ok(Command::new("dpkg-deb").arg("--control").arg(deb).arg(control.path()));
    let conffiles = std::fs::read_to_string(control.path().join("conffiles")).expect("conffiles");
    assert!(conffiles.lines().any(|l| l == "/etc/novij-telegram/nats/nats-server.conf"), "{conffiles}");
    let postinst = std::fs::read_to_string(control.path().join("postinst")).expect("postinst");
    assert!(postinst.contains("adduser --system") && postinst.contains("novij-telegram"), "{postinst}");
    for unit in units.iter().filter(|u| u.ends_with(".service")) {
        let text = std::fs::read_to_string(Path::new(ROOT).join("deploy/systemd").join(unit)).expect("unit");
        assert!(text.contains("User=novij-telegram"), "{unit} does not run as the package's user");
    }

    // The packaged binary is this one, and runs.
    let tree = tempfile::tempdir().expect("tempdir");
    ok(Command::new("dpkg-deb").arg("--extract").arg(deb).arg(tree.path()));
    let version = ok(Command::new(tree.path().join("usr/bin/novij-telegram")).arg("--version"));
    assert_eq!(version.trim(), concat!("novij-telegram ", env!("CARGO_PKG_VERSION")));

    let lintian = run(Command::new("lintian").args(["--tag-display-limit", "0"]).arg(deb));
    let report = String::from_utf8_lossy(&lintian.stdout);
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E: ")).collect();
    assert!(errors.is_empty(), "lintian reports errors:\n{report}");
    assert!(lintian.status.success(), "lintian failed:\n{report}\n{}", String::from_utf8_lossy(&lintian.stderr));
}

/// A minimal Debian 12 root with adduser (the package's dependency) and
/// curl (the installer's), made by debootstrap once and kept as a tarball;
/// each call unpacks a fresh copy.
fn debian_root() -> tempfile::TempDir {
    let tarball = DEBIAN_TARBALL.get_or_init(debian_tarball);
    let root = tempfile::tempdir().expect("tempdir");
    ok(Command::new("tar").arg("-C").arg(root.path()).arg("-xf").arg(tarball));
    root
}

/// Tests of this binary share one build of the cache; a build in another
/// process writes its own partial file, so the last rename wins whole.
static DEBIAN_TARBALL: OnceLock<PathBuf> = OnceLock::new();

fn debian_tarball() -> PathBuf {
    let cache = Path::new(ROOT).join(".state/cache");
    let tarball = cache.join("debian-bookworm-minbase-curl.tar");
    if tarball.exists() {
        return tarball;
    }
    std::fs::create_dir_all(&cache).expect("mkdir");
    let build = tempfile::tempdir_in(&cache).expect("tempdir");
    let mirror = std::env::var("DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into());
    ok(Command::new("debootstrap")
        .args(["--variant=minbase", "--include=adduser,curl,ca-certificates", "bookworm"])
        .arg(build.path())
        .arg(&mirror));
    let partial = tempfile::Builder::new().suffix(".tar.partial").tempfile_in(&cache).expect("partial");
    ok(Command::new("tar").arg("-C").arg(build.path()).arg("-cf").arg(partial.path()).arg("."));
    partial.persist(&tarball).expect("keep the tarball");
    tarball
}

fn chroot(root: &Path, args: &[&str]) -> Output {
    run(Command::new("chroot").arg(root).args(args))
}

fn installed_version(root: &Path) -> String {
    let out = chroot(root, &["dpkg-query", "-W", "-f=${Version}", "novij-telegram"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `update …` inside the root, against the package site: its exit status,
/// its JSON line and its error text.
fn update(root: &Path, site: &str, args: &[&str]) -> (bool, Value, String) {
    let site = format!("PACKAGE_SITE_URL={site}");
    let mut argv = vec!["env", site.as_str(), "/usr/bin/novij-telegram", "update", "--json"];
    argv.extend(args);
    let out = chroot(root, &argv);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = stdout.lines().rev().find_map(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
    (out.status.success(), json, format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
}

async fn publish(site: &str, channel: &str, version: &str, deb: &Path, wrong_sha: bool) {
    let mut url = format!("{site}/control/channels/{channel}/packages?version={version}&architecture=amd64");
    if wrong_sha {
        url.push_str(&format!("&sha256={}", "0".repeat(64)));
    }
    let body = std::fs::read(deb).expect("read package");
    let response = reqwest::Client::new().post(url).body(body).send().await.expect("publish");
    assert_eq!(response.status().as_u16(), 201, "{}", response.text().await.unwrap_or_default());
}

async fn downloads(site: &str) -> usize {
    let list: Value = reqwest::get(format!("{site}/control/downloads")).await.expect("get").json().await.expect("json");
    list["downloads"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread")]
async fn update_installs_newer_packages_from_the_site_with_dpkg_and_refuses_a_bad_checksum() {
    let current = package().to_path_buf();
    let versions = tempfile::tempdir().expect("tempdir");
    // Newer packages of the same binary: higher Debian revisions.
    let newer = format!("{VERSION}.1");
    let newest = format!("{VERSION}.2");
    let newer_deb = build_package(versions.path(), &["--deb-version", &newer]);
    let newest_deb = build_package(versions.path(), &["--deb-version", &newest]);

    let site = package_site::start(PackageSiteConfig::default()).await.expect("package site");
    let url = site.base_url();
    publish(&url, "stable", VERSION, &current, false).await;
    publish(&url, "stable", &newer, &newer_deb, false).await;
    // `latest` (the default channel) publishes a checksum its file does not have.
    publish(&url, "latest", &newest, &newest_deb, true).await;
    publish(&url, "old", VERSION, &current, false).await;

    // The current package, installed for real: postinst made the system user.
    let root = debian_root();
    let root = root.path();
    std::fs::copy(&current, root.join("tmp/current.deb")).expect("copy");
    let out = chroot(root, &["dpkg", "-i", "/tmp/current.deb"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(installed_version(root), VERSION);
    assert!(chroot(root, &["getent", "passwd", "novij-telegram"]).status.success(), "postinst made no user");
    // An operator's edit of a configuration file survives updates.
    let conf = root.join("etc/novij-telegram/nats/nats-server.conf");
    let edited = format!("{}# edited by the operator\n", std::fs::read_to_string(&conf).expect("conf"));
    std::fs::write(&conf, &edited).expect("edit");

    let (success, check, text) = update(root, &url, &["--check", "--channel", "stable"]);
    assert!(success, "{text}");
    assert_eq!(
        (&check["standing"], &check["installed"], &check["available"]),
        (&"newer".into(), &VERSION.into(), &newer.as_str().into()),
        "{check}"
    );

    let (success, dry, text) = update(root, &url, &["--dry-run", "--channel", "stable"]);
    assert!(success, "{text}");
    assert_eq!(dry["action"], "would_install", "{dry}");
    assert_eq!(installed_version(root), VERSION, "--dry-run installed something");
    assert_eq!(downloads(&url).await, 0, "--check and --dry-run download nothing");

    let (success, _, text) = update(root, &url, &[]);
    assert!(!success, "a wrong checksum was accepted: {text}");
    assert!(text.contains("checksum mismatch") && text.contains("nothing was installed"), "{text}");
    assert_eq!(installed_version(root), VERSION, "a package with a wrong checksum was installed");

    let (success, done, text) = update(root, &url, &["--channel", "stable"]);
    assert!(success, "{text}");
    assert_eq!(done["action"], "installed", "{done}");
    assert_eq!(installed_version(root), newer, "--channel stable follows stable");
    assert_eq!(std::fs::read_to_string(&conf).expect("conf"), edited, "the operator's edit was overwritten");
    let (success, check, text) = update(root, &url, &["--check", "--channel", "stable"]);
    assert!(success, "{text}");
    assert_eq!(check["standing"], "current", "{check}");
    let (success, again, text) = update(root, &url, &["--channel", "stable"]);
    assert!(success, "{text}");
    assert_eq!(again["action"], "none", "{again}");

    // A downgrade only with --force.
    let (success, _, text) = update(root, &url, &["--channel", "old"]);
    assert!(!success && text.contains("refusing to downgrade"), "{text}");
    assert_eq!(installed_version(root), newer);
    let (success, _, text) = update(root, &url, &["--channel", "old", "--force"]);
    assert!(success, "{text}");
    assert_eq!(installed_version(root), VERSION);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_installer_refuses_a_bad_checksum_installs_the_channels_package_and_hands_over_to_setup() {
    let current = package().to_path_buf();
    let versions = tempfile::tempdir().expect("tempdir");
    let newer = format!("{VERSION}.1");
    let newer_deb = build_package(versions.path(), &["--deb-version", &newer]);
    let site = package_site::start(PackageSiteConfig::default()).await.expect("package site");
    let url = site.base_url();
    publish(&url, "stable", VERSION, &current, false).await;
    publish(&url, "latest", &newer, &newer_deb, true).await;

    let root = debian_root();
    let root = root.path();
    // As an operator runs it: `curl -fsSL <site>/install.sh | sudo bash -s -- …`.
    let install = |channel: &str, args: &[&str]| {
        let pipeline = format!(
            "curl -fsSL {url}/install.sh | NOVIJ_PACKAGE_SITE={url} NOVIJ_PACKAGE_CHANNEL={channel} bash -s -- {}",
            args.join(" ")
        );
        let out = chroot(root, &["sh", "-c", &pipeline]);
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), said)
    };

    // `latest` publishes a checksum its file does not have.
    let (success, said) = install("latest", &["--package-only"]);
    assert!(!success && said.contains("checksum mismatch"), "{said}");
    assert_eq!(installed_version(root), "", "a package with a wrong checksum was installed");

    // From `stable`, then setup with the remaining arguments (into a root of
    // its own: the Debian root has no systemd to configure).
    let (success, said) = install("stable", &["example.org", "--enable-tls", "--root", "/srv/setup"]);
    assert!(success, "{said}");
    assert_eq!(installed_version(root), VERSION);
    assert!(chroot(root, &["getent", "passwd", "novij-telegram"]).status.success(), "postinst made no user");
    let env = std::fs::read_to_string(root.join("srv/setup/etc/novij-telegram/env")).expect("setup wrote the env file");
    assert!(env.lines().any(|l| l == "PUBLIC_BASE_URL=https://example.org"), "{env}");
    assert!(said.contains("config-check: ok"), "{said}");

    let (success, said) = install("stable", &[]);
    assert!(!success && said.contains("name the domain"), "{said}");
}
