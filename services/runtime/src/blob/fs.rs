//! The local-filesystem blob store: one file per key under a root directory, written atomically
//! (temporary file in the same directory, fsync, rename) so a reader never sees half a blob.
//! Raw captures hold live cookies and tokens: files are created 0600 and the directories this
//! store creates 0700, so no other user of the machine can read them.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use rand::Rng;

use super::{validate_key, BlobError, BlobStore};

/// Stores each blob as the file `<root>/<key>`.
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// A store rooted at `root`; [`BlobStore::check`] reports whether it exists and is writable.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, BlobError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

#[async_trait::async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = self.path_of(key)?;
        let size = bytes.len();
        run_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|err| io_error("write", key, err))?;
        tracing::debug!(key, size, "stored blob");
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        let path = self.path_of(key)?;
        match tokio::fs::read(&path).await {
            Ok(data) => Ok(Bytes::from(data)),
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::IsADirectory
                ) =>
            {
                Err(BlobError::NotFound {
                    key: key.to_owned(),
                })
            }
            Err(err) => Err(io_error("read", key, err)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(io_error("delete", key, err)),
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        let root = self.root.clone();
        run_blocking(move || {
            if !std::fs::metadata(&root)?.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    "not a directory",
                ));
            }
            let probe = root.join(temporary_name(".readyz-probe"));
            std::fs::File::create_new(&probe)?;
            std::fs::remove_file(&probe)
        })
        .await
        .map_err(|err| {
            let message = format!("blob directory {}: {err}", self.root.display());
            match err.kind() {
                io::ErrorKind::PermissionDenied
                | io::ErrorKind::ReadOnlyFilesystem
                | io::ErrorKind::NotADirectory => BlobError::Refused(message),
                _ => BlobError::Unavailable(message),
            }
        })
    }
}

/// Writes `data` to `path` through a uniquely named sibling file, so a crash or a concurrent
/// reader never observes a partial blob.
fn write_atomically(path: &Path, data: &[u8]) -> io::Result<()> {
    let (Some(dir), Some(file_name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a blob path needs a parent directory and a file name",
        ));
    };
    create_private_dir_all(dir)?;
    let temporary = dir.join(temporary_name(&format!(
        ".{}.tmp",
        file_name.to_string_lossy()
    )));
    let written = (|| {
        let mut file = create_private_file(&temporary)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(err) = written {
        // Best effort: the write already failed and its error is the one worth reporting.
        let _ = std::fs::remove_file(&temporary);
        return Err(err);
    }
    // Makes the rename itself durable; opening a directory for fsync is a Unix facility.
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Creates `dir` and any missing parents, each owner-only (0700); existing ones are left as
/// they are (the operator may have chosen the root's mode).
pub(super) fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A new file only its owner can read and write (0600) from the moment it exists.
fn create_private_file(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn temporary_name(stem: &str) -> String {
    format!("{stem}-{:016x}", rand::thread_rng().gen::<u64>())
}

async fn run_blocking<T, F>(job: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|join| io::Error::other(format!("blocking task failed: {join}")))?
}

fn io_error(operation: &str, key: &str, err: io::Error) -> BlobError {
    let message = format!("{operation} {key:?}: {err}");
    match err.kind() {
        io::ErrorKind::PermissionDenied
        | io::ErrorKind::ReadOnlyFilesystem
        | io::ErrorKind::InvalidInput
        | io::ErrorKind::IsADirectory
        | io::ErrorKind::NotADirectory => BlobError::Refused(message),
        _ => BlobError::Unavailable(message),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const KEY: &str = "captures/3f1c2b8e-1d2a-4c55-8e0f-5a6b7c8d9e0f.json.gz";

    fn store() -> (tempfile::TempDir, FsBlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path().to_path_buf());
        (dir, store)
    }

    #[tokio::test]
    async fn round_trips_creating_parent_directories() {
        let (dir, store) = store();
        store.put(KEY, Bytes::from_static(b"hello")).await.unwrap();
        assert!(dir.path().join("captures").is_dir());
        assert_eq!(store.get(KEY).await.unwrap(), Bytes::from_static(b"hello"));

        store
            .put(KEY, Bytes::from_static(b"replaced"))
            .await
            .unwrap();
        assert_eq!(
            store.get(KEY).await.unwrap(),
            Bytes::from_static(b"replaced")
        );
    }

    #[tokio::test]
    async fn missing_blob_is_not_found_and_delete_is_idempotent() {
        let (_dir, store) = store();
        let err = store.get(KEY).await.unwrap_err();
        assert!(
            matches!(err, BlobError::NotFound { ref key } if key == KEY),
            "{err}"
        );

        store.put(KEY, Bytes::from_static(b"x")).await.unwrap();
        store.delete(KEY).await.unwrap();
        store.delete(KEY).await.unwrap();
        assert!(matches!(
            store.get(KEY).await,
            Err(BlobError::NotFound { .. })
        ));
        assert!(matches!(
            store.get("captures").await,
            Err(BlobError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn refuses_keys_outside_the_root() {
        let (_dir, store) = store();
        for key in ["../escape", "/etc/passwd", ""] {
            assert!(matches!(
                store.put(key, Bytes::new()).await,
                Err(BlobError::Refused(_))
            ));
            assert!(matches!(store.get(key).await, Err(BlobError::Refused(_))));
            assert!(matches!(
                store.delete(key).await,
                Err(BlobError::Refused(_))
            ));
        }
    }

    #[tokio::test]
    async fn writes_leave_no_temporary_files() {
        let (dir, store) = store();
        store
            .put(KEY, Bytes::from(vec![7u8; 1 << 20]))
            .await
            .unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path().join("captures"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        store.check().await.unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn readers_never_see_a_partial_blob() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        let small = Bytes::from(vec![b'a'; 64 * 1024]);
        let large = Bytes::from(vec![b'b'; 4 * 1024 * 1024]);
        store.put(KEY, small.clone()).await.unwrap();

        let writer = {
            let (store, small, large) = (store.clone(), small.clone(), large.clone());
            tokio::spawn(async move {
                for round in 0..20 {
                    let data = if round % 2 == 0 { &large } else { &small };
                    store.put(KEY, data.clone()).await.unwrap();
                }
            })
        };
        while !writer.is_finished() {
            let read = store.get(KEY).await.unwrap();
            assert!(read == small || read == large, "saw {} bytes", read.len());
        }
        writer.await.unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn blobs_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("blobs");
        let store = crate::blob::open_blob_store(&format!("file://{}", root.display()))
            .await
            .unwrap();
        store.put(KEY, Bytes::from_static(b"raw")).await.unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700, "the root");
        assert_eq!(mode(&root.join("captures")), 0o700, "a key's directory");
        assert_eq!(mode(&root.join(KEY)), 0o600, "the blob");
        // A replaced blob is a new file: still 0600.
        store.put(KEY, Bytes::from_static(b"again")).await.unwrap();
        assert_eq!(mode(&root.join(KEY)), 0o600, "the replaced blob");
    }

    #[tokio::test]
    async fn check_reports_a_missing_root() {
        let (dir, _) = store();
        let store = FsBlobStore::new(dir.path().join("absent"));
        let err = store.check().await.unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains("absent"), "{err}");
    }

    #[tokio::test]
    async fn check_refuses_a_file_as_root() {
        let (dir, _) = store();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = FsBlobStore::new(file).check().await.unwrap_err();
        assert!(matches!(err, BlobError::Refused(_)), "{err}");
    }
}
