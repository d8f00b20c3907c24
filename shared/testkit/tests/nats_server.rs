//! Tests for the throwaway nats-server: start, raw protocol, JetStream store, stop and restart.

use std::time::Duration;

use novij_testkit::{eventually, NatsServer};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

type Reader = BufReader<tokio::net::tcp::OwnedReadHalf>;

/// Connects with a raw socket and returns the server's `INFO` line plus the halves.
async fn connect_raw(port: u16) -> anyhow::Result<(String, Reader, OwnedWriteHalf)> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut info = String::new();
    tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut info)).await??;
    Ok((info, reader, write))
}

/// Sends a request with a reply subject and returns the payload of the reply `MSG`.
async fn request(
    reader: &mut Reader,
    writer: &mut OwnedWriteHalf,
    subject: &str,
    payload: &str,
) -> anyhow::Result<String> {
    let frame = format!("PUB {subject} _INBOX.t {}\r\n{payload}\r\n", payload.len());
    writer.write_all(frame.as_bytes()).await?;
    loop {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line)).await??;
        if line.starts_with("PING") {
            writer.write_all(b"PONG\r\n").await?;
            continue;
        }
        if let Some(rest) = line.strip_prefix("MSG ") {
            let len: usize = rest.split_whitespace().last().unwrap().parse()?;
            let mut body = vec![0u8; len + 2];
            reader.read_exact(&mut body).await?;
            body.truncate(len);
            return Ok(String::from_utf8(body)?);
        }
        anyhow::ensure!(!line.starts_with("-ERR"), "server error: {line}");
    }
}

async fn session(port: u16) -> anyhow::Result<(Reader, OwnedWriteHalf)> {
    let (info, mut reader, mut writer) = connect_raw(port).await?;
    anyhow::ensure!(info.starts_with("INFO "), "unexpected greeting {info}");
    writer.write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB _INBOX.t 1\r\nPING\r\n").await?;
    let mut pong = String::new();
    reader.read_line(&mut pong).await?;
    anyhow::ensure!(pong.starts_with("PONG"), "expected PONG, got {pong}");
    Ok((reader, writer))
}

#[tokio::test]
async fn start_serves_info_with_jetstream() -> anyhow::Result<()> {
    let server = NatsServer::start().await?;
    assert!(server.url().starts_with("nats://127.0.0.1:"));
    assert!(server.store_dir().is_dir());
    let (info, _, _) = connect_raw(server.port()).await?;
    assert!(info.starts_with("INFO {"), "got {info}");
    assert!(info.contains("\"jetstream\":true"), "got {info}");
    Ok(())
}

#[tokio::test]
async fn two_servers_get_distinct_ports_and_stores() -> anyhow::Result<()> {
    let a = NatsServer::start().await?;
    let b = NatsServer::start().await?;
    assert_ne!(a.url(), b.url());
    assert_ne!(a.store_dir(), b.store_dir());
    Ok(())
}

#[tokio::test]
async fn stop_and_restart_keep_port_and_store() -> anyhow::Result<()> {
    let mut server = NatsServer::start().await?;
    let url = server.url();
    let marker = "testkit-store-marker-7f3a";

    let (mut reader, mut writer) = session(server.port()).await?;
    let created = request(
        &mut reader,
        &mut writer,
        "$JS.API.STREAM.CREATE.TK",
        r#"{"name":"TK","subjects":["tk.>"],"storage":"file"}"#,
    )
    .await?;
    assert!(created.contains("\"type\":\"io.nats.jetstream.api.v1.stream_create_response\""));
    assert!(!created.contains("\"error\""), "{created}");
    let ack = request(&mut reader, &mut writer, "tk.one", marker).await?;
    assert!(ack.contains("\"seq\":1"), "{ack}");
    drop((reader, writer));

    // The raw message bytes land in the store directory.
    let store = server.store_dir().to_path_buf();
    eventually(Duration::from_secs(10), || {
        let store = store.clone();
        async move { dir_contains(&store, marker.as_bytes()).then_some(()) }
    })
    .await?;

    server.stop().await;
    assert!(TcpStream::connect(("127.0.0.1", server.port())).await.is_err());

    server.restart().await?;
    assert_eq!(server.url(), url);
    let (mut reader, mut writer) = session(server.port()).await?;
    let info = request(&mut reader, &mut writer, "$JS.API.STREAM.INFO.TK", "").await?;
    assert!(info.contains("\"messages\":1"), "stream lost on restart: {info}");
    Ok(())
}

fn dir_contains(dir: &std::path::Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            dir_contains(&path, needle)
        } else {
            std::fs::read(&path).map(|bytes| bytes.windows(needle.len()).any(|w| w == needle)).unwrap_or(false)
        }
    })
}
