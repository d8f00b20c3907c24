//! A NATS server that requires TLS (as `deploy/nats/` configures it): a
//! process given the CA of its certificate (`NATS_TLS_CA_FILE`) connects,
//! one without it does not.

use novij_bus::Target;
use novij_testkit::NatsServer;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

/// A CA, and a certificate for 127.0.0.1 signed by it, written to `dir`.
fn certificates(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let server_key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("params");
    let server = server.signed_by(&server_key, &ca_cert, &ca_key).expect("server certificate");
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write pem");
        path
    };
    let ca_file = write("ca.pem", ca_cert.pem());
    let cert = write("server.pem", server.pem());
    let key = write("server-key.pem", server_key.serialize_pem());
    let config = format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  timeout: 2\n}}\n",
        cert.display(),
        key.display(),
        ca_file.display()
    );
    (ca_file, config)
}

#[tokio::test]
async fn with_tls_required_only_a_client_that_trusts_the_ca_connects() {
    let dir = tempfile::tempdir().expect("dir");
    let (ca_file, config) = certificates(dir.path());
    let nats = NatsServer::start_with_config(&config).await.expect("nats-server with TLS");

    let trusting = Target { tls_ca_file: Some(ca_file), ..Target::anonymous(nats.url()) };
    let client = novij_bus::connect(&trusting, "tls-test").await.expect("a client trusting the CA connects");
    client.publish("tls.check", "over TLS".into()).await.expect("publish");
    client.flush().await.expect("flush");

    let plain = async_nats::ConnectOptions::new().connect(nats.url()).await;
    assert!(plain.is_err(), "a client without the CA connected");
}
