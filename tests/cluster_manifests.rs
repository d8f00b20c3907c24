//! deploy/kubernetes, checked offline. kubernetes-validate (pinned by
//! scripts/bootstrap.sh; it ships the Kubernetes schemas) validates every
//! manifest strictly against two Kubernetes versions. Then the manifests are
//! read as that tool reads them (PyYAML, handed over as JSON) and what no
//! schema sees is checked: the NATS cluster, its routes and R3 streams, each
//! service replicated and running `serve <service>`, every reference to a
//! Secret, ConfigMap, Service or port, the hardening, and the settings each
//! process gets, against `novij_config::SETTINGS`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::Value;

/// An old release still in wide use, and the newest the pinned validator knows.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.30.0", "1.37.0"];
/// Every service, as `serve <service>` names it.
const SERVICES: [&str; 5] = ["ingress", "payment-verifier", "dispatcher", "scheduler", "connect"];
/// Where the image keeps the binary (README.md).
const BINARY: &str = "/usr/bin/novij-telegram";
const IMAGE: &str = "ghcr.io/novij/novij-telegram";
/// The settings of every process and their secrets.
const ENV_CONFIG_MAP: &str = "novij-telegram-env";
const ENV_SECRET: &str = "novij-telegram-secrets";
/// Secrets the manifests use but do not hold (made with cert-manager or by
/// hand; README.md says how), with the keys they must have.
const EXTERNAL_SECRETS: [(&str, &[&str]); 2] =
    [("novij-nats-tls", &["ca.crt", "tls.crt", "tls.key"]), ("novij-telegram-tls", &["tls.crt", "tls.key"])];
/// Kinds whose `spec.template` is a pod.
const WORKLOADS: [&str; 3] = ["Deployment", "StatefulSet", "Job"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes")
}

/// The YAML files of the directory, kustomization.yaml included, by name.
fn yaml_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .expect("deploy/kubernetes")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .collect();
    files.sort();
    files
}

/// The manifests proper: what `kubectl apply` sends to the cluster.
fn manifest_files() -> Vec<String> {
    yaml_files().into_iter().filter(|f| f != "kustomization.yaml").collect()
}

/// The tests' Python (TEST_PYTHON, TEST_PYTHONPATH from .state/dev.env), in deploy/kubernetes.
fn python() -> Command {
    let python = std::env::var("TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut command = Command::new(python);
    command.current_dir(dir()).env("PYTHONPATH", std::env::var("TEST_PYTHONPATH").unwrap_or_default());
    command
}

fn run(mut command: Command) -> (bool, String, String) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?} (TEST_PYTHON; scripts/bootstrap.sh sets it): {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Manifests {
    /// Every document of every manifest file.
    objects: Vec<Value>,
    kustomization: Value,
}

/// Read once by PyYAML's safe loader, the parser kubernetes-validate uses.
fn manifests() -> &'static Manifests {
    static MANIFESTS: OnceLock<Manifests> = OnceLock::new();
    MANIFESTS.get_or_init(|| {
        let script = "import json, sys, yaml\n\
                      json.dump({f: [d for d in yaml.safe_load_all(open(f)) if d is not None] for f in sys.argv[1:]}, sys.stdout)";
        let mut command = python();
        command.args(["-c", script]).args(yaml_files());
        let (ok, stdout, stderr) = run(command);
        assert!(ok, "reading the manifests failed:\n{stderr}");
        let files: BTreeMap<String, Vec<Value>> = serde_json::from_str(&stdout).expect("JSON from the reader");
        let mut objects = Vec::new();
        let mut kustomization = Value::Null;
        for (file, docs) in files {
            if file == "kustomization.yaml" {
                kustomization = docs.into_iter().next().expect("kustomization.yaml holds a document");
            } else {
                objects.extend(docs);
            }
        }
        Manifests { objects, kustomization }
    })
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, found {v}"))
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn name(v: &Value) -> &str {
    text(&v["metadata"]["name"])
}

/// `selector` (a label map) is not empty and `labels` carries all of it.
fn selects(selector: &Value, labels: &Value) -> bool {
    let Some(selector) = selector.as_object().filter(|s| !s.is_empty()) else { return false };
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A listen address's port: `0.0.0.0:8080` -> 8080.
fn port_of(listen: &str) -> u64 {
    listen.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).unwrap_or_else(|| panic!("no port in {listen}"))
}

/// A container's argv: command, then args.
fn argv(container: &Value) -> Vec<&str> {
    list(&container["command"]).iter().chain(list(&container["args"])).map(text).collect()
}

fn all_containers(pod: &Value) -> impl Iterator<Item = &Value> {
    list(&pod["initContainers"]).iter().chain(list(&pod["containers"]))
}

/// A plain env entry of a container.
fn env_value<'a>(container: &'a Value, key: &str) -> Option<&'a Value> {
    list(&container["env"]).iter().find(|e| e["name"] == key)
}

impl Manifests {
    fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Value> + 'a {
        let kind = kind.to_string();
        self.objects.iter().filter(move |v| v["kind"] == kind.as_str())
    }

    fn find(&self, kind: &str, wanted: &str) -> Option<&Value> {
        self.of_kind(kind).find(|v| name(v) == wanted)
    }

    fn get(&self, kind: &str, wanted: &str) -> &Value {
        self.find(kind, wanted).unwrap_or_else(|| panic!("no {kind} {wanted} in deploy/kubernetes"))
    }

    /// Every workload with its pod template.
    fn pods(&self) -> impl Iterator<Item = (&Value, &Value)> {
        WORKLOADS.iter().flat_map(|k| self.of_kind(k)).map(|w| (w, &w["spec"]["template"]))
    }

    fn config_map(&self, wanted: &str) -> BTreeMap<String, String> {
        let data = self.get("ConfigMap", wanted)["data"].as_object().cloned().unwrap_or_default();
        data.into_iter().map(|(k, v)| (k, text(&v).to_string())).collect()
    }

    /// A Secret of the manifests: `stringData`, and `data` decoded.
    fn secret(&self, wanted: &str) -> Option<BTreeMap<String, String>> {
        let secret = self.find("Secret", wanted)?;
        let mut keys = BTreeMap::new();
        for (k, v) in secret["stringData"].as_object().into_iter().flatten() {
            keys.insert(k.clone(), text(v).to_string());
        }
        for (k, v) in secret["data"].as_object().into_iter().flatten() {
            let bytes = base64::engine::general_purpose::STANDARD.decode(text(v)).expect("base64 in a Secret's data");
            keys.insert(k.clone(), String::from_utf8(bytes).expect("UTF-8"));
        }
        Some(keys)
    }

    /// The keys a Secret has, from the manifests or the external list.
    fn secret_keys(&self, wanted: &str) -> Option<BTreeSet<String>> {
        if let Some(keys) = self.secret(wanted) {
            return Some(keys.into_keys().collect());
        }
        EXTERNAL_SECRETS
            .iter()
            .find(|(n, _)| *n == wanted)
            .map(|(_, keys)| keys.iter().map(|k| k.to_string()).collect())
    }

    /// The settings a container starts with, as Kubernetes assembles them.
    fn environment(&self, container: &Value) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for source in list(&container["envFrom"]) {
            if let Some(cm) = source["configMapRef"]["name"].as_str() {
                env.extend(self.config_map(cm));
            }
            if let Some(secret) = source["secretRef"]["name"].as_str() {
                env.extend(self.secret(secret).unwrap_or_else(|| panic!("envFrom names no Secret {secret}")));
            }
        }
        for entry in list(&container["env"]) {
            let value = if let Some(v) = entry["value"].as_str() {
                v.to_string()
            } else if let Some(r) = entry["valueFrom"]["secretKeyRef"].as_object() {
                let secret = self.secret(text(&r["name"])).expect("a Secret of the manifests");
                secret.get(text(&r["key"])).cloned().expect("a key of the Secret")
            } else if let Some(r) = entry["valueFrom"]["configMapKeyRef"].as_object() {
                self.config_map(text(&r["name"])).get(text(&r["key"])).cloned().expect("a key of the ConfigMap")
            } else {
                continue;
            };
            env.insert(text(&entry["name"]).to_string(), value);
        }
        env
    }

    /// Every container of the novij-telegram image.
    fn novij_containers(&self) -> Vec<&Value> {
        self.pods()
            .flat_map(|(_, pod)| all_containers(&pod["spec"]))
            .filter(|c| text(&c["image"]).starts_with(&format!("{IMAGE}:")))
            .collect()
    }

    /// The file `path` as a container sees it: the item of a Secret volume
    /// mounted at its directory.
    fn mounts_secret_file(&self, pod: &Value, container: &Value, path: &str) -> bool {
        let (dir, file) = path.rsplit_once('/').unwrap_or_else(|| panic!("{path} is no absolute path"));
        let mount = list(&container["volumeMounts"]).iter().find(|v| v["mountPath"] == dir);
        let volume = mount.and_then(|mount| list(&pod["volumes"]).iter().find(|v| v["name"] == mount["name"]));
        volume.is_some_and(|v| list(&v["secret"]["items"]).iter().any(|i| i["path"] == file))
    }

    /// The Deployment whose container runs `serve <service>`.
    fn service(&self, service: &str) -> (&Value, &Value) {
        let found: Vec<(&Value, &Value)> = self
            .of_kind("Deployment")
            .flat_map(|d| list(&d["spec"]["template"]["spec"]["containers"]).iter().map(move |c| (d, c)))
            .filter(|(_, c)| argv(c) == [BINARY, "serve", service])
            .collect();
        assert_eq!(found.len(), 1, "one Deployment must run `{BINARY} serve {service}`, found {}", found.len());
        found[0]
    }
}

#[test]
fn kubernetes_validate_accepts_every_manifest_strictly() {
    let files = manifest_files();
    let mut command = python();
    command.args(["-m", "kubernetes_validate", "--strict"]);
    for version in KUBERNETES_VERSIONS {
        command.args(["-k", version]);
    }
    command.args(&files);
    let (ok, stdout, stderr) = run(command);
    let report = format!("{stdout}{stderr}");
    assert!(ok, "kubernetes-validate refused the manifests:\n{report}");
    // A kind or apiVersion it has no schema for is only a warning to it; here
    // every resource must have passed, once per version.
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.iter().all(|l| l.starts_with("INFO ") && l.contains(" passed for resource ")), "{report}");
    assert_eq!(
        lines.len(),
        manifests().objects.len() * KUBERNETES_VERSIONS.len(),
        "not every resource was validated:\n{report}"
    );
}

#[test]
fn the_kustomization_lists_every_manifest() {
    let k = &manifests().kustomization;
    assert_eq!(k["kind"], "Kustomization");
    let listed: BTreeSet<&str> = list(&k["resources"]).iter().map(text).collect();
    let files = manifest_files();
    let present: BTreeSet<&str> = files.iter().map(String::as_str).collect();
    assert_eq!(listed, present, "kustomization.yaml's resources are not the directory's manifests");
    let namespace = text(&k["namespace"]);
    assert!(
        manifests().find("Namespace", namespace).is_some(),
        "the kustomization's namespace {namespace} is not created"
    );
}

#[test]
fn nats_runs_three_routed_nodes_and_the_streams_three_replicas() {
    let m = manifests();
    let sts = m.get("StatefulSet", "novij-nats");
    let replicas = sts["spec"]["replicas"].as_u64().expect("replicas");
    assert_eq!(replicas, 3, "a 3-node NATS cluster");
    let pod = &sts["spec"]["template"]["spec"];

    // The routes and seeds go through the governing headless Service, which
    // must publish pods before they are ready (they become ready only together).
    let headless_name = text(&sts["spec"]["serviceName"]);
    let headless = m.get("Service", headless_name);
    assert_eq!(headless["spec"]["clusterIP"], "None", "{headless_name} must be headless");
    assert_eq!(headless["spec"]["publishNotReadyAddresses"], true, "{headless_name} must publish not-ready pods");
    let port = |port_name: &str| {
        list(&headless["spec"]["ports"]).iter().find(|p| p["name"] == port_name).and_then(|p| p["port"].as_u64())
    };
    let (client_port, cluster_port) = (port("client").expect("client port"), port("cluster").expect("cluster port"));
    let hosts: Vec<String> = (0..replicas).map(|i| format!("{}-{i}.{headless_name}", name(sts))).collect();

    // The configuration the server runs with: the file of its --config, from the volume mounted there.
    let nats = list(&pod["containers"]).iter().find(|c| c["name"] == "nats").expect("a container nats");
    let args = argv(nats);
    let config_path = args.iter().position(|a| *a == "--config").map(|i| args[i + 1]).expect("nats-server --config");
    let (config_dir, config_file) = config_path.rsplit_once('/').unwrap();
    let mount = list(&nats["volumeMounts"]).iter().find(|v| v["mountPath"] == config_dir).expect("the config mounted");
    let volume = list(&pod["volumes"]).iter().find(|v| v["name"] == mount["name"]).expect("the config volume");
    let conf = m.config_map(text(&volume["configMap"]["name"])).remove(config_file).expect("the config file");

    let routes: BTreeSet<String> = conf
        .split_once("routes: [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("a routes list")
        .0
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let expected: BTreeSet<String> = hosts.iter().map(|h| format!("nats-route://{h}:{cluster_port}")).collect();
    assert_eq!(routes, expected, "the routes must name every pod of the StatefulSet");
    assert!(conf.contains(&format!("listen: 0.0.0.0:{client_port}")), "clients listen on {client_port}");
    assert!(conf.contains(&format!("listen: 0.0.0.0:{cluster_port}")), "routes listen on {cluster_port}");
    for (var, port) in [("CLIENT_ADVERTISE", client_port), ("CLUSTER_ADVERTISE", cluster_port)] {
        let value = env_value(nats, var).map(|e| text(&e["value"])).unwrap_or_default();
        assert_eq!(value, format!("$(POD_NAME).{headless_name}:{port}"), "{var}");
        assert!(conf.contains(&format!("${var}")), "the config uses {var}");
    }

    // The certificates the server reads are mounted where it reads them.
    for line in conf.lines().map(str::trim) {
        let Some((key, path)) = line.split_once(": ") else { continue };
        if ["cert_file", "key_file", "ca_file"].contains(&key) {
            assert!(m.mounts_secret_file(pod, nats, path), "NATS reads {path}, which is not mounted");
        }
    }

    // JetStream writes to the volume claim of each pod.
    let store_dir = conf.lines().find_map(|l| l.trim().strip_prefix("store_dir: ")).expect("jetstream store_dir");
    let claims: BTreeSet<&str> = list(&sts["spec"]["volumeClaimTemplates"]).iter().map(name).collect();
    assert!(
        list(&nats["volumeMounts"]).iter().any(|v| claims.contains(text(&v["name"]))
            && store_dir.starts_with(&format!("{}/", text(&v["mountPath"])))),
        "store_dir {store_dir} must lie on a volumeClaimTemplate"
    );

    // The users file the server includes is the one the init container writes.
    let include = conf.lines().find_map(|l| l.trim().strip_prefix("include ")).expect("the users include");
    let mut included: Vec<&str> = config_dir.split('/').collect();
    for part in include.split('/') {
        match part {
            "." => {}
            ".." => {
                included.pop();
            }
            p => included.push(p),
        }
    }
    let users = list(&pod["initContainers"]).iter().find(|c| argv(c).get(1) == Some(&"nats-auth")).expect("nats-auth");
    let out = argv(users).iter().position(|a| *a == "--out").map(|i| argv(users)[i + 1]).expect("nats-auth --out");
    assert_eq!(included.join("/"), out, "the server includes another file than nats-auth writes");

    // Every stream and bucket on every node, and the services reach them all.
    let env = m.config_map(ENV_CONFIG_MAP);
    assert_eq!(env.get("NATS_STREAM_REPLICAS").map(String::as_str), Some(replicas.to_string().as_str()));
    let seeds: BTreeSet<&str> = env["NATS_URL"].split(',').collect();
    let expected: BTreeSet<String> = hosts.iter().map(|h| format!("tls://{h}:{client_port}")).collect();
    assert_eq!(seeds, expected.iter().map(String::as_str).collect(), "NATS_URL must seed every node, over TLS");

    // Voluntary disruptions keep a quorum: two of three.
    let labels = &sts["spec"]["template"]["metadata"]["labels"];
    let pdb = m.of_kind("PodDisruptionBudget").find(|p| selects(&p["spec"]["selector"]["matchLabels"], labels));
    assert_eq!(pdb.expect("a PodDisruptionBudget for NATS")["spec"]["minAvailable"], 2);
}

#[test]
fn every_service_runs_replicated_as_its_own_nats_user() {
    let m = manifests();
    let known: BTreeSet<&str> = novij_bus::auth::SERVICES.into_iter().collect();
    assert_eq!(known, SERVICES.into_iter().collect(), "a service without a Deployment, or one that no longer exists");
    let passwords = m.secret("novij-nats-users").expect("the Secret novij-nats-users");
    for service in SERVICES {
        let (deployment, container) = m.service(service);
        let replicas = deployment["spec"]["replicas"].as_u64().unwrap_or(1);
        assert!(replicas >= 2, "{service} runs {replicas} replica(s)");
        let user = env_value(container, "NATS_USER").map(|e| text(&e["value"]));
        assert_eq!(user, Some(service), "{service}'s NATS user");
        let password = env_value(container, "NATS_PASSWORD").expect("NATS_PASSWORD");
        let reference = &password["valueFrom"]["secretKeyRef"];
        assert_eq!(reference["name"], "novij-nats-users", "{service}'s NATS password");
        assert_eq!(reference["key"], format!("{service}.password"), "{service}'s NATS password");
    }
    // nats-auth reads a password for each user it makes; a missing one fails the NATS pods.
    for user in
        novij_bus::auth::SERVICES.iter().chain(&[novij_bus::auth::ALL, novij_bus::auth::ADMIN, novij_bus::auth::OPS])
    {
        assert!(passwords.contains_key(&format!("{user}.password")), "novij-nats-users lacks {user}.password");
    }

    let migrate = m.of_kind("Job").flat_map(|j| list(&j["spec"]["template"]["spec"]["containers"]));
    assert!(migrate.into_iter().any(|c| argv(c) == [BINARY, "migrate"]), "a Job runs `{BINARY} migrate`");

    // One release everywhere: the services, the migration and nats-auth.
    let images: BTreeSet<&str> = m.novij_containers().iter().map(|c| text(&c["image"])).collect();
    let expected = format!("{IMAGE}:{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(images, BTreeSet::from([expected.as_str()]), "every novij-telegram container runs this version");
    for c in m.novij_containers() {
        assert_eq!(argv(c).first(), Some(&BINARY), "container {} runs the binary by its path", c["name"]);
    }

    // The ports the settings open are the ports the pods declare and probe.
    let env = m.config_map(ENV_CONFIG_MAP);
    let (metrics, http) = (port_of(&env["METRICS_LISTEN"]), port_of(&env["HTTP_LISTEN"]));
    for service in SERVICES {
        let (deployment, container) = m.service(service);
        let port = |n: &str| list(&container["ports"]).iter().find(|p| p["name"] == n).map(|p| &p["containerPort"]);
        assert_eq!(port("metrics"), Some(&Value::from(metrics)), "{service} serves /metrics on METRICS_LISTEN");
        if service == "ingress" {
            assert_eq!(port("http"), Some(&Value::from(http)), "ingress serves HTTP on HTTP_LISTEN");
        }
        // Mounted where NATS_TLS_CA_FILE points, or the process cannot verify NATS.
        let ca = &env["NATS_TLS_CA_FILE"];
        let pod = &deployment["spec"]["template"]["spec"];
        assert!(m.mounts_secret_file(pod, container, ca), "{service} has no {ca} (NATS_TLS_CA_FILE)");
    }
}

#[test]
fn every_referenced_secret_config_map_and_volume_exists() {
    let m = manifests();
    let readme = std::fs::read_to_string(dir().join("README.md")).expect("deploy/kubernetes/README.md");
    for (external, _) in EXTERNAL_SECRETS {
        assert!(m.find("Secret", external).is_none(), "{external} is listed as external");
        assert!(readme.contains(external), "README.md must tell how to make the Secret {external}");
    }
    let config_keys = |n: &str| m.find("ConfigMap", n).map(|_| m.config_map(n).into_keys().collect::<BTreeSet<_>>());
    for (workload, pod) in m.pods() {
        let at = format!("{} {}", workload["kind"], name(workload));
        let spec = &pod["spec"];
        let claims: BTreeSet<&str> = list(&workload["spec"]["volumeClaimTemplates"]).iter().map(name).collect();
        let volumes: BTreeSet<&str> = list(&spec["volumes"]).iter().map(|v| text(&v["name"])).collect();
        let mut mounted = BTreeSet::new();
        for c in all_containers(spec) {
            for source in list(&c["envFrom"]) {
                if let Some(n) = source["configMapRef"]["name"].as_str() {
                    assert!(config_keys(n).is_some(), "{at}: envFrom names no ConfigMap {n}");
                }
                if let Some(n) = source["secretRef"]["name"].as_str() {
                    assert!(m.secret(n).is_some(), "{at}: envFrom names no Secret {n}");
                }
            }
            for entry in list(&c["env"]) {
                if let Some(r) = entry["valueFrom"]["secretKeyRef"].as_object() {
                    let (n, key) = (text(&r["name"]), text(&r["key"]));
                    let keys = m.secret_keys(n).unwrap_or_else(|| panic!("{at}: no Secret {n}"));
                    assert!(keys.contains(key), "{at}: the Secret {n} has no key {key}");
                }
                if let Some(r) = entry["valueFrom"]["configMapKeyRef"].as_object() {
                    let (n, key) = (text(&r["name"]), text(&r["key"]));
                    let keys = config_keys(n).unwrap_or_else(|| panic!("{at}: no ConfigMap {n}"));
                    assert!(keys.contains(key), "{at}: the ConfigMap {n} has no key {key}");
                }
            }
            for mount in list(&c["volumeMounts"]) {
                let n = text(&mount["name"]);
                assert!(volumes.contains(n) || claims.contains(n), "{at}: no volume {n} to mount");
                mounted.insert(n);
            }
        }
        for volume in list(&spec["volumes"]) {
            let n = text(&volume["name"]);
            assert!(mounted.contains(n), "{at}: the volume {n} is mounted nowhere");
            let (keys, what) = if let Some(secret) = volume["secret"]["secretName"].as_str() {
                (m.secret_keys(secret), format!("Secret {secret}"))
            } else if let Some(cm) = volume["configMap"]["name"].as_str() {
                (config_keys(cm), format!("ConfigMap {cm}"))
            } else {
                continue;
            };
            let keys = keys.unwrap_or_else(|| panic!("{at}: the volume {n} names no {what}"));
            for item in list(&volume["secret"]["items"]).iter().chain(list(&volume["configMap"]["items"])) {
                assert!(keys.contains(text(&item["key"])), "{at}: the {what} has no key {}", item["key"]);
            }
        }
    }
}

#[test]
fn every_selector_matches_the_pods_it_means() {
    let m = manifests();
    let pods: Vec<(&Value, &Value)> = m.pods().collect();
    for (workload, pod) in &pods {
        let labels = &pod["metadata"]["labels"];
        assert!(selects(&workload["spec"]["selector"]["matchLabels"], labels) || workload["kind"] == "Job");
        let others = pods.iter().filter(|(w, p)| w != workload && selects(labels, &p["metadata"]["labels"])).count();
        assert_eq!(others, 0, "{} shares its pod labels with another workload", name(workload));
    }
    for service in m.of_kind("Service") {
        let selector = &service["spec"]["selector"];
        let matched: Vec<&Value> =
            pods.iter().filter(|(_, p)| selects(selector, &p["metadata"]["labels"])).map(|(_, p)| *p).collect();
        assert_eq!(matched.len(), 1, "Service {} selects the pods of {} workloads", name(service), matched.len());
        let containers: Vec<&Value> = list(&matched[0]["spec"]["containers"]).iter().collect();
        for port in list(&service["spec"]["ports"]) {
            let target = if port["targetPort"].is_null() { &port["port"] } else { &port["targetPort"] };
            let declared = containers.iter().flat_map(|c| list(&c["ports"])).any(|p| match target.as_str() {
                Some(named) => p["name"] == named,
                None => &p["containerPort"] == target,
            });
            assert!(declared, "Service {} targets {target}, which no container declares", name(service));
        }
    }
    for sts in m.of_kind("StatefulSet") {
        let governing = m.get("Service", text(&sts["spec"]["serviceName"]));
        assert!(selects(&governing["spec"]["selector"], &sts["spec"]["template"]["metadata"]["labels"]));
    }
    for pdb in m.of_kind("PodDisruptionBudget") {
        let selector = &pdb["spec"]["selector"]["matchLabels"];
        assert!(pods.iter().any(|(_, p)| selects(selector, &p["metadata"]["labels"])), "{} selects no pods", name(pdb));
    }
    let ingress = m.get("Deployment", "novij-telegram-ingress");
    let ingress_labels = &ingress["spec"]["template"]["metadata"]["labels"];
    let budget =
        m.of_kind("PodDisruptionBudget").any(|p| selects(&p["spec"]["selector"]["matchLabels"], ingress_labels));
    assert!(budget, "a PodDisruptionBudget for ingress");
}

/// Whether an Ingress path takes a request path, as Kubernetes matches them.
fn routes(path: &Value, request: &str) -> bool {
    let p = text(&path["path"]);
    match text(&path["pathType"]) {
        "Exact" => request == p,
        _ => {
            let prefix = p.trim_end_matches('/');
            request == prefix || request.starts_with(&format!("{prefix}/"))
        }
    }
}

#[test]
fn the_ingress_serves_the_public_paths_of_the_api_host_over_tls() {
    let m = manifests();
    let public = m.config_map(ENV_CONFIG_MAP)["PUBLIC_BASE_URL"].clone();
    let host = public.strip_prefix("https://").expect("PUBLIC_BASE_URL is https").trim_end_matches('/');
    let ingresses: Vec<&Value> = m.of_kind("Ingress").collect();
    assert_eq!(ingresses.len(), 1);
    let ingress = ingresses[0];
    let tls_hosts: BTreeSet<&str> =
        list(&ingress["spec"]["tls"]).iter().flat_map(|t| list(&t["hosts"])).map(text).collect();
    for tls in list(&ingress["spec"]["tls"]) {
        assert!(EXTERNAL_SECRETS.iter().any(|(n, _)| tls["secretName"] == *n), "the TLS Secret is made outside");
    }
    let mut paths = Vec::new();
    for rule in list(&ingress["spec"]["rules"]) {
        assert_eq!(text(&rule["host"]), host, "the Ingress's host is PUBLIC_BASE_URL's");
        assert!(tls_hosts.contains(host), "{host} has no TLS");
        paths.extend(list(&rule["http"]["paths"]));
    }
    for path in &paths {
        let backend = &path["backend"]["service"];
        let service = m.get("Service", text(&backend["name"]));
        let port = &backend["port"];
        let exists = list(&service["spec"]["ports"]).iter().any(|p| {
            if port["name"].is_null() {
                p["port"] == port["number"]
            } else {
                p["name"] == port["name"]
            }
        });
        assert!(exists, "the Ingress names port {port} of Service {}, which it has not", name(service));
        let target = m.service("ingress").0;
        let target_labels = &target["spec"]["template"]["metadata"]["labels"];
        assert!(selects(&service["spec"]["selector"], target_labels), "the Ingress must reach the ingress pods");
    }
    for request in ["/api/v1/health", "/api/v1/telegram/webhook/common", "/.well-known/novij/service", "/openapi.json"]
    {
        assert!(paths.iter().any(|p| routes(p, request)), "{request} is not routed");
    }
    assert!(!paths.iter().any(|p| routes(p, "/metrics")), "/metrics must stay off the public Ingress");
}

#[test]
fn every_pod_is_hardened_limited_and_probed() {
    let m = manifests();
    let namespace = m.of_kind("Namespace").next().expect("a Namespace");
    assert_eq!(namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");
    for (workload, pod) in m.pods() {
        let at = format!("{} {}", workload["kind"], name(workload));
        let spec = &pod["spec"];
        assert_eq!(spec["automountServiceAccountToken"], false, "{at}: no pod here talks to the Kubernetes API");
        assert_eq!(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault", "{at}");
        for c in all_containers(spec) {
            let at = format!("{at}, container {}", c["name"]);
            let sc = &c["securityContext"];
            let non_root = sc["runAsNonRoot"].as_bool().or(spec["securityContext"]["runAsNonRoot"].as_bool());
            assert_eq!(non_root, Some(true), "{at}: runAsNonRoot");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{at}: readOnlyRootFilesystem");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{at}: allowPrivilegeEscalation");
            assert!(list(&sc["capabilities"]["drop"]).contains(&Value::from("ALL")), "{at}: drop ALL capabilities");
            for bound in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(c["resources"][bound][resource].is_string(), "{at}: no {bound}.{resource}");
                }
            }
        }
        if workload["kind"] == "Job" {
            continue;
        }
        for c in list(&spec["containers"]) {
            let at = format!("{at}, container {}", c["name"]);
            for probe in ["livenessProbe", "readinessProbe"] {
                assert!(c[probe].is_object(), "{at}: no {probe}");
            }
            for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
                let Some(port) = c[probe]["httpGet"].get("port") else { continue };
                let declared = list(&c["ports"]).iter().any(|p| match port.as_str() {
                    Some(named) => p["name"] == named,
                    None => &p["containerPort"] == port,
                });
                assert!(declared, "{at}: {probe} on port {port}, which the container does not declare");
            }
        }
    }
}

#[test]
fn every_process_gets_valid_settings_and_only_the_placeholders_stop_it() {
    let m = manifests();
    let settings: BTreeMap<&str, &novij_config::Setting> = novij_config::SETTINGS.iter().map(|s| (s.env, s)).collect();
    for key in m.config_map(ENV_CONFIG_MAP).keys() {
        let setting = settings.get(key.as_str());
        assert!(
            key == "RUST_LOG" || setting.is_some(),
            "{ENV_CONFIG_MAP}: {key} is no setting (docs/CONFIGURATION.md)"
        );
        assert!(!setting.is_some_and(|s| s.secret), "{ENV_CONFIG_MAP}: {key} is a secret; it belongs in {ENV_SECRET}");
    }
    for key in m.secret(ENV_SECRET).expect(ENV_SECRET).keys() {
        assert!(settings.get(key.as_str()).is_some_and(|s| s.secret), "{ENV_SECRET}: {key} is no secret setting");
    }
    // Every process of the image reads the whole configuration, as
    // Config::load does here: it refuses each placeholder, and once the
    // operator has filled them in, nothing else is missing or invalid.
    for container in m.novij_containers() {
        let at = format!("container {}", container["name"]);
        let env = m.environment(container);
        let placeholders: BTreeSet<&str> = env
            .iter()
            .filter(|(k, v)| v.contains("CHANGE_ME") && settings.get(k.as_str()).is_some_and(|s| s.secret))
            .map(|(k, _)| k.as_str())
            .collect();
        assert!(!placeholders.is_empty(), "{at}: the Secrets must hold CHANGE_ME placeholders, not values");
        let problems = match novij_config::Config::load(None, |k| env.get(k).cloned()) {
            Ok(_) => panic!("{at} starts with the placeholders"),
            Err(errors) => errors.problems,
        };
        let refused: BTreeSet<&str> =
            problems.iter().filter(|p| p.problem.contains("CHANGE_ME")).map(|p| p.setting.as_str()).collect();
        assert_eq!(refused, placeholders, "{at}: every placeholder must be refused");

        let filled: BTreeMap<&str, String> = env.iter().map(|(k, v)| (k.as_str(), filled(k, v))).collect();
        if let Err(errors) = novij_config::Config::load(None, |k| filled.get(k).cloned()) {
            let problems: Vec<String> =
                errors.problems.iter().map(|p| format!("{}: {}", p.setting, p.problem)).collect();
            panic!("{at}, with the placeholders filled in: {problems:?}");
        }
    }
}

/// What an operator puts in place of a placeholder: a value of the shape
/// the setting takes (secrets.yaml says how to make each).
fn filled(setting: &str, value: &str) -> String {
    if !value.contains("CHANGE_ME") {
        return value.to_string();
    }
    let key = |byte: u8| base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    match setting {
        "TELEGRAM_COMMON_BOT_TOKEN" => "123456789:ABCdefGHIjklMNOpqrSTUvwxYZ_-0123".to_string(),
        "NOVIJ_MASTER_KEYS" => value.replace("CHANGE_ME_BASE64_OF_32_RANDOM_BYTES", &key(1)),
        "NOVIJ_LOOKUP_KEY" => value.replace("CHANGE_ME_BASE64_OF_32_RANDOM_BYTES", &key(2)),
        _ => value
            .replace("CHANGE_ME_AT_LEAST_16_CHARS", "0123456789abcdef0123")
            .replace("CHANGE_ME", "0123456789abcdef"),
    }
}

#[test]
fn database_url_names_the_postgres_service_database_and_user() {
    let m = manifests();
    let url = &m.secret(ENV_SECRET).expect(ENV_SECRET)["DATABASE_URL"];
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let (userinfo, rest) = rest.split_once('@').expect("user and password");
    let (host_port, database) = rest.split_once('/').expect("a database");
    let (host, port) = host_port.split_once(':').expect("host:port");
    let user = userinfo.split(':').next().unwrap();

    let service = m.get("Service", host);
    let ports: Vec<&Value> = list(&service["spec"]["ports"]).iter().map(|p| &p["port"]).collect();
    assert!(ports.contains(&&Value::from(port.parse::<u64>().unwrap())), "Service {host} has no port {port}");
    let (_, pod) =
        m.pods().find(|(_, p)| selects(&service["spec"]["selector"], &p["metadata"]["labels"])).expect("pods");
    let postgres = &pod["spec"]["containers"][0];
    let env = |k: &str| env_value(postgres, k).map(|e| text(&e["value"]));
    assert_eq!(env("POSTGRES_USER"), Some(user), "DATABASE_URL's user");
    assert_eq!(env("POSTGRES_DB"), Some(database), "DATABASE_URL's database");
    let password = &env_value(postgres, "POSTGRES_PASSWORD").expect("POSTGRES_PASSWORD")["valueFrom"]["secretKeyRef"];
    assert!(m.secret(text(&password["name"])).is_some_and(|s| s.contains_key(text(&password["key"]))));
}
