//! The archive container: a zip, a tar.gz (older Mastodon exports) or one plain file (a
//! Bluesky `.car`, a FriendFeed JSON file), told apart by its first bytes, never by its
//! name.
//!
//! Everything about a hostile archive is refused when it is opened, before a record is
//! read: a name that is absolute or climbs out (`../../x`, `C:\x`, a NUL), a symlink or
//! hard link or device entry, more entries than `Limits::max_entries`, an entry that
//! declares more than `max_entry_bytes`, entries that declare more than `max_total_bytes`
//! together, and a compression ratio over `max_ratio` (a zip bomb). A zip's sizes are read
//! from its central directory; a tar.gz is unpacked into a scratch folder (inside the
//! media store's `tmp/`, removed when the `ArchiveFiles` is dropped) while counting what
//! it inflates to, so a gzip bomb stops at the cap. Reading an entry then goes through a
//! reader that fails past the size the entry declared.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

/// The caps an archive is opened under (`[import]` in the config).
#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest entry, uncompressed.
    pub max_entry_bytes: u64,
    /// All entries together, uncompressed.
    pub max_total_bytes: u64,
    /// How many entries an archive may hold.
    pub max_entries: usize,
    /// The largest ratio of uncompressed to compressed size, for entries over 1 MiB.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: 1024 * 1024 * 1024,
            max_total_bytes: 16 * 1024 * 1024 * 1024,
            max_entries: 500_000,
            max_ratio: 200,
        }
    }
}

impl From<&crate::config::ImportConfig> for Limits {
    fn from(config: &crate::config::ImportConfig) -> Limits {
        Limits {
            max_entry_bytes: config.max_entry_bytes,
            max_total_bytes: config.max_total_bytes,
            max_entries: usize::try_from(config.max_entries).unwrap_or(usize::MAX),
            max_ratio: config.max_ratio,
        }
    }
}

/// Entries smaller than this are not held to the compression ratio (a run of spaces in a
/// small JSON file compresses far better than 200:1 and is no threat).
const RATIO_FLOOR: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("the archive is damaged or cut short: {0}")]
    Damaged(String),
    #[error("the archive holds an entry named {0:?}, which points outside the archive")]
    UnsafeName(String),
    #[error("the archive holds a link or special file, {0:?}; only plain files are read")]
    NotAFile(String),
    #[error("the entry {name:?} declares {size} bytes, more than the limit of {limit}")]
    EntryTooLarge { name: String, size: u64, limit: u64 },
    #[error("the archive's entries come to more than the limit of {limit} bytes")]
    TotalTooLarge { limit: u64 },
    #[error("the archive holds more than {limit} entries")]
    TooManyEntries { limit: usize },
    #[error(
        "the entry {name:?} inflates {ratio} times its compressed size (a zip bomb?); \
         the limit is {limit}"
    )]
    Bomb {
        name: String,
        ratio: u64,
        limit: u64,
    },
    #[error("the entry {0:?} holds more bytes than it declares")]
    Overrun(String),
    #[error("the archive has no file named {0:?}")]
    Missing(String),
    #[error("cannot read the archive: {0}")]
    Io(#[from] io::Error),
}

enum Inner {
    Zip(Box<zip::ZipArchive<BufReader<File>>>, PathBuf),
    /// Unpacked into the folder, removed on drop when owned.
    Dir(PathBuf, bool),
    /// One plain file, known by `name`.
    Single(PathBuf),
}

/// The files of an opened, checked archive, by their names inside it (`/`-separated,
/// relative, no `.` or `..`).
pub struct ArchiveFiles {
    inner: Inner,
    names: Vec<String>,
    sizes: HashMap<String, u64>,
}

impl std::fmt::Debug for ArchiveFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveFiles")
            .field("names", &self.names.len())
            .finish()
    }
}

impl Drop for ArchiveFiles {
    fn drop(&mut self) {
        if let Inner::Dir(root, true) = &self.inner {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

impl ArchiveFiles {
    /// Opens `path` and checks it under `limits`. `name` is what a plain file is known by
    /// inside (its upload name, e.g. `repo.car`); `scratch` is where a tar.gz is unpacked.
    pub fn open(
        path: &Path,
        name: &str,
        limits: &Limits,
        scratch: &Path,
    ) -> Result<ArchiveFiles, FilesError> {
        let mut file = File::open(path)?;
        let mut head = [0u8; 4];
        let n = read_up_to(&mut file, &mut head)?;
        file.seek(SeekFrom::Start(0))?;
        match &head[..n] {
            [b'P', b'K', 3, 4] | [b'P', b'K', 5, 6] => open_zip(file, path, limits),
            [0x1f, 0x8b, ..] => open_tar_gz(file, limits, scratch),
            _ => {
                let size = file.metadata()?.len();
                if size > limits.max_entry_bytes {
                    return Err(FilesError::EntryTooLarge {
                        name: name.to_owned(),
                        size,
                        limit: limits.max_entry_bytes,
                    });
                }
                let name = plain_name(name);
                Ok(ArchiveFiles {
                    inner: Inner::Single(path.to_owned()),
                    names: vec![name.clone()],
                    sizes: HashMap::from([(name, size)]),
                })
            }
        }
    }

    /// A second handle on the same checked files (a reader walks one while media are
    /// copied out of the other). The first handle owns an unpacked folder: drop it last.
    pub fn reopen(&self) -> Result<ArchiveFiles, FilesError> {
        let inner = match &self.inner {
            Inner::Zip(_, path) => {
                let zip = zip::ZipArchive::new(BufReader::new(File::open(path)?))
                    .map_err(|err| FilesError::Damaged(err.to_string()))?;
                Inner::Zip(Box::new(zip), path.clone())
            }
            Inner::Dir(root, _) => Inner::Dir(root.clone(), false),
            Inner::Single(path) => Inner::Single(path.clone()),
        };
        Ok(ArchiveFiles {
            inner,
            names: self.names.clone(),
            sizes: self.sizes.clone(),
        })
    }

    /// Every file's name, in archive order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn has(&self, name: &str) -> bool {
        self.sizes.contains_key(name)
    }

    /// The first name (in archive order) for which `pred` holds.
    pub fn find(&self, pred: impl Fn(&str) -> bool) -> Option<String> {
        self.names.iter().find(|n| pred(n)).cloned()
    }

    /// A name that ends with `suffix` after a `/` (or is `suffix`): archives are often
    /// wrapped in one top folder.
    pub fn find_suffix(&self, suffix: &str) -> Option<String> {
        self.find(|n| n == suffix || n.ends_with(&format!("/{suffix}")))
    }

    /// The declared (checked) size of an entry.
    pub fn size(&self, name: &str) -> Option<u64> {
        self.sizes.get(name).copied()
    }

    /// A reader of one entry, failing past its declared size.
    pub fn open_entry(&mut self, name: &str) -> Result<Box<dyn Read + '_>, FilesError> {
        let Some(&size) = self.sizes.get(name) else {
            return Err(FilesError::Missing(name.to_owned()));
        };
        let reader: Box<dyn Read + '_> = match &mut self.inner {
            Inner::Zip(zip, _) => {
                let entry = zip
                    .by_name(name)
                    .map_err(|err| FilesError::Damaged(err.to_string()))?;
                Box::new(entry)
            }
            Inner::Dir(root, _) => Box::new(File::open(root.join(name))?),
            Inner::Single(path) => Box::new(File::open(path)?),
        };
        Ok(Box::new(Capped {
            inner: reader,
            left: size,
            name: name.to_owned(),
        }))
    }

    /// An entry's bytes, whole (for small files: a manifest, an actor document).
    pub fn read_all(&mut self, name: &str) -> Result<Vec<u8>, FilesError> {
        let mut bytes = Vec::with_capacity(self.size(name).unwrap_or(0).min(1 << 20) as usize);
        self.open_entry(name)?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// Fails once more bytes come than the entry declared (a lying header).
struct Capped<R> {
    inner: R,
    left: u64,
    name: String,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // One byte more than is left, so an overrun is seen.
        let want = buf
            .len()
            .min(usize::try_from(self.left + 1).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                FilesError::Overrun(self.name.clone()).to_string(),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The last path segment of an upload name, with nothing that could climb.
fn plain_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if base.is_empty() || base == "." || base == ".." {
        "archive".to_owned()
    } else {
        base.to_owned()
    }
}

/// The entry's name as a relative `/`-separated path, or why not. Backslashes count as
/// separators (Windows tools write them).
pub fn safe_name(raw: &str) -> Result<String, FilesError> {
    let name = safe_path(raw)?;
    if name.is_empty() {
        return Err(FilesError::UnsafeName(raw.to_owned()));
    }
    Ok(name)
}

/// Like [`safe_name`], but the archive's root (`./`, empty) passes: for folder entries.
fn safe_path(raw: &str) -> Result<String, FilesError> {
    let unsafe_name = || FilesError::UnsafeName(raw.to_owned());
    if raw.contains('\0') || raw.starts_with('/') || raw.starts_with('\\') {
        return Err(unsafe_name());
    }
    let mut parts = Vec::new();
    for part in raw.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_name()),
            p if p.len() >= 2 && p.as_bytes()[1] == b':' && parts.is_empty() => {
                // `C:` and the like: a drive, not a folder.
                return Err(unsafe_name());
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

struct Tally<'a> {
    limits: &'a Limits,
    total: u64,
    count: usize,
}

impl Tally<'_> {
    fn add(&mut self, name: &str, size: u64, compressed: Option<u64>) -> Result<(), FilesError> {
        let limits = self.limits;
        self.count += 1;
        if self.count > limits.max_entries {
            return Err(FilesError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        if size > limits.max_entry_bytes {
            return Err(FilesError::EntryTooLarge {
                name: name.to_owned(),
                size,
                limit: limits.max_entry_bytes,
            });
        }
        if let Some(compressed) = compressed
            && size > RATIO_FLOOR
        {
            let ratio = size / compressed.max(1);
            if ratio > limits.max_ratio {
                return Err(FilesError::Bomb {
                    name: name.to_owned(),
                    ratio,
                    limit: limits.max_ratio,
                });
            }
        }
        self.total = self.total.saturating_add(size);
        if self.total > limits.max_total_bytes {
            return Err(FilesError::TotalTooLarge {
                limit: limits.max_total_bytes,
            });
        }
        Ok(())
    }
}

fn open_zip(file: File, path: &Path, limits: &Limits) -> Result<ArchiveFiles, FilesError> {
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|err| FilesError::Damaged(err.to_string()))?;
    let mut tally = Tally {
        limits,
        total: 0,
        count: 0,
    };
    let mut names = Vec::new();
    let mut sizes = HashMap::new();
    for index in 0..zip.len() {
        let entry = zip
            .by_index_raw(index)
            .map_err(|err| FilesError::Damaged(err.to_string()))?;
        let raw = entry
            .name()
            .map_err(|err| FilesError::Damaged(err.to_string()))?
            .into_owned();
        if entry.is_symlink() {
            return Err(FilesError::NotAFile(raw));
        }
        if entry.is_dir() {
            safe_path(&raw)?;
            continue;
        }
        let name = safe_name(&raw)?;
        if name != raw {
            // The lookup below goes by the stored name; one that needed mending is
            // refused rather than read under another name.
            return Err(FilesError::UnsafeName(raw));
        }
        tally.add(&name, entry.size(), Some(entry.compressed_size()))?;
        sizes.insert(name.clone(), entry.size());
        names.push(name);
    }
    Ok(ArchiveFiles {
        inner: Inner::Zip(Box::new(zip), path.to_owned()),
        names,
        sizes,
    })
}

fn open_tar_gz(file: File, limits: &Limits, scratch: &Path) -> Result<ArchiveFiles, FilesError> {
    std::fs::create_dir_all(scratch)?;
    let root = scratch.join(format!("archive-{:016x}", rand::random::<u64>()));
    std::fs::create_dir(&root)?;
    // From here on, `files` removes `root` on every return.
    let mut files = ArchiveFiles {
        inner: Inner::Dir(root.clone(), true),
        names: Vec::new(),
        sizes: HashMap::new(),
    };
    let mut tally = Tally {
        limits,
        total: 0,
        count: 0,
    };
    let gz = flate2::read::GzDecoder::new(BufReader::new(file));
    let mut tar = tar::Archive::new(gz);
    let entries = tar
        .entries()
        .map_err(|err| FilesError::Damaged(err.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|err| FilesError::Damaged(err.to_string()))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            safe_path(&raw)?;
            continue;
        }
        if kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
        {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(FilesError::NotAFile(raw));
        }
        let name = safe_name(&raw)?;
        let size = entry.size();
        tally.add(&name, size, None)?;
        if files.sizes.contains_key(&name) {
            return Err(FilesError::Damaged(format!(
                "{name:?} is in the archive twice"
            )));
        }
        let target = root.join(&name);
        debug_assert!(
            target
                .components()
                .all(|c| !matches!(c, Component::ParentDir))
        );
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = File::create(&target)?;
        let copied = io::copy(&mut (&mut entry).take(size + 1), &mut out)
            .map_err(|err| FilesError::Damaged(err.to_string()))?;
        if copied != size {
            return Err(FilesError::Damaged(format!("{name:?} is cut short")));
        }
        files.sizes.insert(name.clone(), size);
        files.names.push(name);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn names_that_climb_or_are_absolute_are_refused() {
        for bad in [
            "../../x",
            "a/../../x",
            "/etc/passwd",
            "\\x",
            "a\\..\\..\\x",
            "C:\\x",
            "c:/x",
            "a\0b",
            "",
            ".",
            "./",
        ] {
            assert!(safe_name(bad).is_err(), "{bad:?} passed");
        }
        assert_eq!(safe_name("a/b.json").unwrap(), "a/b.json");
        assert_eq!(safe_name("./a//b").unwrap(), "a/b");
        assert_eq!(safe_name("a\\b").unwrap(), "a/b");
    }

    #[test]
    fn a_plain_file_is_one_entry_under_its_upload_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload");
        std::fs::write(&path, b"{\"entries\": []}").unwrap();
        let mut files =
            ArchiveFiles::open(&path, "../../feed.json", &Limits::default(), dir.path()).unwrap();
        assert_eq!(files.names(), ["feed.json"]);
        assert_eq!(files.read_all("feed.json").unwrap(), b"{\"entries\": []}");
        assert!(matches!(files.read_all("x"), Err(FilesError::Missing(_))));
    }

    #[test]
    fn a_zip_reads_and_a_bomb_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("top/outbox.json", options).unwrap();
        zip.write_all(b"{}").unwrap();
        zip.start_file("top/zeros.bin", options).unwrap();
        zip.write_all(&vec![0u8; 8 * 1024 * 1024]).unwrap();
        zip.finish().unwrap();

        let limits = Limits::default();
        let err = ArchiveFiles::open(&path, "a.zip", &limits, dir.path()).unwrap_err();
        assert!(matches!(err, FilesError::Bomb { .. }), "{err}");

        let lenient = Limits {
            max_ratio: u64::MAX,
            ..Limits::default()
        };
        let mut files = ArchiveFiles::open(&path, "a.zip", &lenient, dir.path()).unwrap();
        assert_eq!(
            files.find_suffix("outbox.json").as_deref(),
            Some("top/outbox.json")
        );
        assert_eq!(files.read_all("top/outbox.json").unwrap(), b"{}");

        let small = Limits {
            max_ratio: u64::MAX,
            max_entry_bytes: 1024,
            ..Limits::default()
        };
        let err = ArchiveFiles::open(&path, "a.zip", &small, dir.path()).unwrap_err();
        assert!(matches!(err, FilesError::EntryTooLarge { .. }), "{err}");
    }

    #[test]
    fn a_tar_gz_unpacks_into_scratch_and_is_removed_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar.gz");
        {
            let gz = flate2::write::GzEncoder::new(
                File::create(&path).unwrap(),
                flate2::Compression::fast(),
            );
            let mut tar = tar::Builder::new(gz);
            let mut header = tar::Header::new_gnu();
            header.set_size(2);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, "outbox.json", &b"[]"[..])
                .unwrap();
            tar.into_inner().unwrap().finish().unwrap();
        }
        let scratch = dir.path().join("scratch");
        let mut files =
            ArchiveFiles::open(&path, "a.tar.gz", &Limits::default(), &scratch).unwrap();
        assert_eq!(files.read_all("outbox.json").unwrap(), b"[]");
        assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 1);
        drop(files);
        assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
    }
}
