//! Stored objects on disk, a file or a directory of hard links to an upload's parts: listed,
//! read, linked and removed whichever form they have.

use super::*;

/// The files an object's bytes are in, in order, with their sizes.
///
/// A stored object is a file, or (after a multipart upload) a directory of its parts named in
/// order: completing an upload then links the parts instead of copying gigabytes.
pub(crate) fn segments(path: &Path) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        return Ok(vec![(path.to_path_buf(), meta.len())]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        out.push((entry.path(), entry.metadata()?.len()));
    }
    out.sort();
    Ok(out)
}

/// All the bytes of a stored object (a file or a directory of segments).
pub(crate) fn read_object(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    for (segment, _) in segments(path)? {
        out.extend(std::fs::read(segment)?);
    }
    Ok(out)
}

/// Removes a stored object, whichever form it has.
pub(crate) async fn remove_object(path: &Path) {
    // Best effort: a leftover costs disk, not correctness.
    if tokio::fs::remove_file(path).await.is_err() {
        let _ = tokio::fs::remove_dir_all(path).await;
    }
}

/// Makes `dest` the object made of `parts` in order: a directory of hard links to them, built
/// aside and renamed into place, so a crash never leaves half an object under its key and the
/// parts stay intact until the upload's records are gone.
pub(crate) async fn link_parts(
    tmp_dir: &Path,
    parts: &[PathBuf],
    dest: &Path,
) -> std::io::Result<()> {
    let tmp = tmp_dir.join(uuid::Uuid::new_v4().simple().to_string());
    let parts = parts.to_vec();
    let dest = dest.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let result = (|| {
            std::fs::create_dir(&tmp)?;
            for (index, part) in parts.iter().enumerate() {
                std::fs::hard_link(part, tmp.join(format!("{index:05}")))?;
            }
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&tmp, &dest)
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn linked_parts_read_back_as_one_object_and_outlive_the_parts() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = Vec::new();
        for (i, text) in ["hello ", "", "segmented ", "world"].iter().enumerate() {
            let path = dir.path().join(format!("part{i}"));
            std::fs::write(&path, text).unwrap();
            parts.push(path);
        }
        let dest = dir.path().join("objects").join("obj");
        link_parts(dir.path(), &parts, &dest).await.unwrap();
        for part in &parts {
            std::fs::remove_file(part).unwrap();
        }
        assert_eq!(read_object(&dest).unwrap(), b"hello segmented world");
        remove_object(&dest).await;
        assert!(!dest.exists());
    }
}
