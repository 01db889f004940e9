//! The S3 blob store and the Secrets Manager secrets source against a real AWS emulator: each
//! test starts its own `moto_server` on a free loopback port and stops it when it ends.
//!
//! The emulator is `RECON_TEST_MOTO_SERVER` (path to the `moto_server` executable) or
//! `moto_server` on PATH; `cargo xtask test` installs it. Without it these tests fail, never skip.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use aws_config::SdkConfig;
use aws_sdk_s3::types::ServerSideEncryption;
use bytes::Bytes;
use recon_runtime::blob::{BlobError, BlobStore, S3BlobStore};
use recon_runtime::secrets::{
    AwsSecretsSource, CachedSecretsStore, RotationMode, SecretsError, SecretsStore,
};

const MOTO_ENV: &str = "RECON_TEST_MOTO_SERVER";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A `moto_server` child process on 127.0.0.1, killed when dropped.
struct Moto {
    endpoint: String,
    child: tokio::process::Child,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Moto {
    async fn start() -> anyhow::Result<Self> {
        let executable = moto_executable()?;
        let port = free_loopback_port()?;
        let log_dir = tempfile::tempdir()?;
        let log = log_dir.path().join("moto_server.log");
        let log_file = std::fs::File::create(&log)?;
        let child = tokio::process::Command::new(&executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", executable.display()))?;
        let mut moto = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            log,
            _log_dir: log_dir,
        };
        moto.wait_until_listening(port).await?;
        Ok(moto)
    }

    async fn wait_until_listening(&mut self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "moto_server exited with {status} before listening:\n{}",
                    self.log_tail()
                );
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "moto_server did not listen on 127.0.0.1:{port} within {STARTUP_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn sdk_config(&self) -> SdkConfig {
        recon_tests::moto_sdk_config(&self.endpoint)
    }
}

impl Drop for Moto {
    /// Kills and reaps the server here rather than relying on `kill_on_drop` alone, which does not
    /// wait: a test binary that exits right after would leave a zombie behind.
    fn drop(&mut self) {
        if self.child.start_kill().is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn moto_executable() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(MOTO_ENV).filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        ensure!(
            path.is_file(),
            "{MOTO_ENV}={} is not a file; run `cargo xtask test`, which installs moto_server",
            path.display()
        );
        return Ok(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("moto_server"))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_default();
    on_path.context(
        "moto_server not found: set RECON_TEST_MOTO_SERVER to its path or put it on PATH; \
         `cargo xtask test` installs it and runs these tests",
    )
}

fn free_loopback_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// 5 MB that do not compress to nothing, so a truncated or re-chunked body would show.
fn five_megabytes() -> Bytes {
    let mut state: u32 = 0x2545_f491;
    (0..5 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect::<Vec<u8>>()
        .into()
}

#[tokio::test]
async fn s3_blob_store_round_trips_encrypted_objects() -> anyhow::Result<()> {
    let moto = Moto::start().await?;
    let config = moto.sdk_config();
    let client = recon_runtime::aws::s3_client(&config, true);
    client
        .create_bucket()
        .bucket("recon-blobs")
        .send()
        .await
        .context("creating the bucket")?;

    let store = S3BlobStore::new(
        client.clone(),
        "recon-blobs".into(),
        "env/test/".into(),
        None,
    );
    store.check().await.context("check on an existing bucket")?;

    let key = "captures/6a0f2d3c-3b0e-4b8e-9f64-1c2d3e4f5a6b.json.gz";
    let data = five_megabytes();
    store.put(key, data.clone()).await?;
    let read = store.get(key).await?;
    ensure!(
        read == data,
        "read {} bytes back, wrote {}",
        read.len(),
        data.len()
    );

    let head = client
        .head_object()
        .bucket("recon-blobs")
        .key(format!("env/test/{key}"))
        .send()
        .await
        .context("the object is stored under the prefix")?;
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(head.content_length(), Some(data.len() as i64));

    store.delete(key).await?;
    store.delete(key).await.context("deleting a missing key")?;
    match store.get(key).await {
        Err(BlobError::NotFound { key: missing }) => assert_eq!(missing, key),
        other => panic!("expected NotFound after delete, got {other:?}"),
    }
    assert!(matches!(
        store.get("scrubbed/never-written.json.gz").await,
        Err(BlobError::NotFound { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn s3_blob_store_uses_the_configured_kms_key_and_reports_a_missing_bucket(
) -> anyhow::Result<()> {
    let moto = Moto::start().await?;
    let client = recon_runtime::aws::s3_client(&moto.sdk_config(), true);
    client.create_bucket().bucket("recon-kms").send().await?;

    let kms_key_id = "arn:aws:kms:us-east-1:123456789012:key/6f0e4c1a-8d2b-4f3e-9a5c-7b1d2e3f4a5b";
    let store = S3BlobStore::new(
        client.clone(),
        "recon-kms".into(),
        String::new(),
        Some(kms_key_id.into()),
    );
    store
        .put("captures/k.json.gz", Bytes::from_static(b"{}"))
        .await?;
    let head = client
        .head_object()
        .bucket("recon-kms")
        .key("captures/k.json.gz")
        .send()
        .await?;
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(head.ssekms_key_id(), Some(kms_key_id));

    let missing = S3BlobStore::new(client, "no-such-bucket".into(), String::new(), None);
    let err = missing
        .check()
        .await
        .expect_err("check on a missing bucket");
    assert!(matches!(err, BlobError::Refused(_)), "{err}");
    assert!(!err.is_transient());
    let err = missing
        .get("captures/k.json.gz")
        .await
        .expect_err("get from a missing bucket");
    assert!(matches!(err, BlobError::Refused(_)), "{err}");
    Ok(())
}

#[tokio::test]
async fn secrets_manager_values_are_cached_until_flushed() -> anyhow::Result<()> {
    let moto = Moto::start().await?;
    let client = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    let created = client
        .create_secret()
        .name("recon/proxies")
        .secret_string(
            r#"{"DATACENTER_PROXY": "http://dc-user:dc-pass@dc.proxy.test:8080",
                "RESIDENTIAL_PROXY": "socks5h://res-user:res-pass@res.proxy.test:1080"}"#,
        )
        .send()
        .await
        .context("creating the secret")?;

    let store = CachedSecretsStore::new(
        AwsSecretsSource::new(client.clone(), "recon/proxies".into()),
        Duration::from_secs(3600),
    );
    let secrets = store.load_proxy_secrets().await?;
    assert_eq!(
        secrets.datacenter_proxy.as_deref(),
        Some("http://dc-user:dc-pass@dc.proxy.test:8080")
    );
    assert_eq!(
        secrets.residential_proxy.as_deref(),
        Some("socks5h://res-user:res-pass@res.proxy.test:1080")
    );
    assert_eq!(secrets.datacenter_rotation, RotationMode::Sticky);
    assert_eq!(secrets.residential_rotation, RotationMode::Rotating);

    // The operator rotates the proxy credentials.
    client
        .put_secret_value()
        .secret_id("recon/proxies")
        .secret_string(
            r#"{"DATACENTER_PROXY": "http://dc-user:rotated@dc.proxy.test:8080",
                "RESIDENTIAL_PROXY_ROTATION_MODE": "sticky"}"#,
        )
        .send()
        .await
        .context("rotating the secret")?;
    assert_eq!(
        store.load_proxy_secrets().await?,
        secrets,
        "served from the cache"
    );

    store.flush();
    let rotated = store.load_proxy_secrets().await?;
    assert_eq!(
        rotated.datacenter_proxy.as_deref(),
        Some("http://dc-user:rotated@dc.proxy.test:8080")
    );
    assert_eq!(rotated.residential_proxy, None);
    assert_eq!(rotated.residential_rotation, RotationMode::Sticky);

    let arn = created.arn().context("create_secret returns an ARN")?;
    let by_arn = CachedSecretsStore::new(
        AwsSecretsSource::new(client.clone(), arn.to_owned()),
        Duration::from_secs(3600),
    );
    assert_eq!(by_arn.load_proxy_secrets().await?, rotated);

    let missing = CachedSecretsStore::new(
        AwsSecretsSource::new(client, "recon/absent".into()),
        Duration::from_secs(3600),
    );
    let err = missing
        .load_proxy_secrets()
        .await
        .expect_err("missing secret");
    assert!(matches!(err, SecretsError::NotFound(_)), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_malformed_secret_is_invalid_without_leaking_it() -> anyhow::Result<()> {
    let moto = Moto::start().await?;
    let client = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    let proxy = "http://leaky-user:hunter2@dc.proxy.test:8080";
    for (name, value) in [
        (
            "recon/truncated",
            format!(r#"{{"DATACENTER_PROXY": "{proxy}""#),
        ),
        (
            "recon/bad-scheme",
            format!(r#"{{"DATACENTER_PROXY": "ftp{}"}}"#, &proxy[4..]),
        ),
    ] {
        client
            .create_secret()
            .name(name)
            .secret_string(&value)
            .send()
            .await?;
        let store = CachedSecretsStore::new(
            AwsSecretsSource::new(client.clone(), name.into()),
            Duration::from_secs(3600),
        );
        let err = store.load_proxy_secrets().await.expect_err(name);
        let message = err.to_string();
        assert!(matches!(err, SecretsError::Invalid(_)), "{name}: {message}");
        assert!(!err.is_transient());
        assert!(message.contains(name), "{message}");
        assert!(
            !message.contains("hunter2") && !message.contains("leaky-user"),
            "{name}: {message}"
        );
    }
    Ok(())
}
