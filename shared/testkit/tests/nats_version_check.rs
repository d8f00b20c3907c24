//! An outdated nats-server is refused with a hint to run the bootstrap.
//! (Own test binary: it changes `NATS_SERVER_BIN` for the whole process.)

use std::os::unix::fs::PermissionsExt as _;

use novij_testkit::NatsServer;

#[tokio::test]
async fn refuses_old_nats_server() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fake = dir.path().join("nats-server");
    std::fs::write(&fake, "#!/bin/sh\necho 'nats-server: v2.9.10'\n")?;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755))?;
    std::env::set_var("NATS_SERVER_BIN", &fake);

    let err = NatsServer::start().await.err().expect("an old nats-server must be refused");
    let message = format!("{err:#}");
    assert!(message.contains("2.9.10"), "{message}");
    assert!(message.contains("./dev test"), "{message}");
    assert!(message.contains("bootstrap.sh"), "{message}");

    std::env::set_var("NATS_SERVER_BIN", dir.path().join("missing"));
    let err = NatsServer::start().await.err().expect("missing binary");
    assert!(format!("{err:#}").contains("does not exist"));
    Ok(())
}
