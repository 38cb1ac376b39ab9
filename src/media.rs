//! The media store: files (images, audio, video) kept content-addressed in a folder beside
//! the database, `{dir}/{hash[0..2]}/{hash}`, where `hash` is the SHA-256 of the bytes in
//! lowercase hex. A file's type is sniffed from its bytes against an allow-list, never
//! taken from its name; everything else is refused. Caps per file and per user. SQL goes
//! through `store::media`; no HTTP here (`web::pages::media` serves the files).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::config::MediaConfig;
use crate::model::UserId;
use crate::store::media::{Claim, MediaRow};
use crate::store::{Store, StoreError};

/// How many leading bytes are kept for sniffing (the signatures sit in the first few).
const SNIFF_BYTES: usize = 8192;
/// The size of one read while streaming a file in.
const CHUNK_BYTES: usize = 64 * 1024;
/// The folder inside the store where files are written before they are named.
const TMP_DIR: &str = "tmp";

/// What the store says of a stored file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaRef {
    /// SHA-256 of the bytes, 64 lowercase hex digits; the file's URL is `/media/{hash}`.
    pub hash: String,
    /// The type sniffed from the bytes, one of [`ALLOWED_TYPES`].
    pub mime: &'static str,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("not found")]
    NotFound,
    #[error("{name}: larger than the {max}-byte limit for one file (media.max_file_bytes)")]
    TooLarge { name: String, max: u64 },
    #[error(
        "{name}: {size} bytes would take this user past the {max}-byte limit \
         (media.max_user_bytes; {used} bytes used)"
    )]
    OverUserCap {
        name: String,
        size: u64,
        used: u64,
        max: u64,
    },
    #[error(
        "{name}: {found} is not stored: only images (JPEG, PNG, GIF, WebP, AVIF, ICO), audio \
         (MP3, Ogg, M4A/AAC, FLAC, WAV) and video (MP4, WebM) are"
    )]
    Refused { name: String, found: String },
    #[error("media store: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The types files are stored and served with, as sniffed by [`sniff`].
pub const ALLOWED_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/x-icon",
    "video/mp4",
    "video/webm",
    "audio/mpeg",
    "audio/ogg",
    "audio/mp4",
    "audio/aac",
    "audio/flac",
    "audio/wav",
];

/// The media store. Cheap to clone.
#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    store: Store,
    max_file_bytes: u64,
    max_user_bytes: u64,
    n_temp: AtomicU64,
}

impl MediaStore {
    /// The store in `config.dir_for(db)`, recording files in `store`. The folder is made
    /// on the first put.
    pub fn new(store: Store, config: &MediaConfig) -> MediaStore {
        let dir = config.dir_for(store.path());
        MediaStore {
            inner: Arc::new(Inner {
                dir,
                store,
                max_file_bytes: config.max_file_bytes,
                max_user_bytes: config.max_user_bytes,
                n_temp: AtomicU64::new(0),
            }),
        }
    }

    /// The folder the files live in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Stores the bytes `reader` gives for `user` (the same bytes are kept once), streamed
    /// to disk while hashed, never held whole in memory. `declared_name` is only for
    /// messages: the type comes from the bytes.
    pub async fn put(
        &self,
        user: UserId,
        reader: impl Read + Send + 'static,
        declared_name: &str,
    ) -> Result<MediaRef, MediaError> {
        let this = self.clone();
        let name = declared_name.to_owned();
        tokio::task::spawn_blocking(move || this.put_blocking(user, reader, &name))
            .await
            .map_err(|err| MediaError::Io(std::io::Error::other(err.to_string())))?
    }

    /// [`MediaStore::put`] for callers already off the async runtime.
    pub fn put_blocking(
        &self,
        user: UserId,
        reader: impl Read,
        declared_name: &str,
    ) -> Result<MediaRef, MediaError> {
        self.put_with(user, reader, declared_name, true)
    }

    /// [`MediaStore::put_blocking`] without the file's own fsync: the caller makes a batch
    /// of files durable with one [`MediaStore::sync`] before it commits rows naming them
    /// (an archive import stores thousands of files; one fsync each was most of its time).
    /// Where `syncfs` is not available the file is synced here as usual.
    pub fn put_blocking_deferred(
        &self,
        user: UserId,
        reader: impl Read,
        declared_name: &str,
    ) -> Result<MediaRef, MediaError> {
        self.put_with(user, reader, declared_name, !cfg!(target_os = "linux"))
    }

    /// Makes every file written so far durable: `syncfs(2)` on the filesystem of the
    /// media folder (Linux); elsewhere files were synced when written.
    pub fn sync(&self) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            let dir = std::fs::File::open(&self.inner.dir)?;
            rustix::fs::syncfs(&dir)?;
        }
        Ok(())
    }

    fn put_with(
        &self,
        user: UserId,
        reader: impl Read,
        declared_name: &str,
        durable: bool,
    ) -> Result<MediaRef, MediaError> {
        let tmp_dir = self.inner.dir.join(TMP_DIR);
        std::fs::create_dir_all(&tmp_dir)?;
        let tmp = tmp_dir.join(format!(
            "put-{}-{}",
            std::process::id(),
            self.inner.n_temp.fetch_add(1, Ordering::Relaxed)
        ));
        let result = self.put_via(user, reader, declared_name, &tmp, durable);
        // Gone already when the file was named; removed here on every refusal.
        let _ = std::fs::remove_file(&tmp);
        result
    }

    fn put_via(
        &self,
        user: UserId,
        mut reader: impl Read,
        declared_name: &str,
        tmp: &Path,
        durable: bool,
    ) -> Result<MediaRef, MediaError> {
        let name = || declared_name.to_owned();
        let mut file = std::fs::File::create(tmp)?;
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        let mut size: u64 = 0;
        let mut buf = vec![0u8; CHUNK_BYTES];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err.into()),
            };
            size += n as u64;
            if size > self.inner.max_file_bytes {
                return Err(MediaError::TooLarge {
                    name: name(),
                    max: self.inner.max_file_bytes,
                });
            }
            let chunk = &buf[..n];
            if head.len() < SNIFF_BYTES {
                let take = chunk.len().min(SNIFF_BYTES - head.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(chunk);
            file.write_all(chunk)?;
        }
        let mime = sniff(&head).ok_or_else(|| MediaError::Refused {
            name: name(),
            found: describe(&head),
        })?;
        if durable {
            file.sync_all()?;
        }
        drop(file);
        let hash = hex::encode(hasher.finalize());
        let path = self
            .path_of(&hash)
            .expect("a SHA-256 in hex is a valid media hash");
        if !path.exists() {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(tmp, &path)?;
        }
        let row = MediaRow {
            hash: hash.clone(),
            mime: mime.to_owned(),
            size,
        };
        let max = self.inner.max_user_bytes;
        let claimed = self
            .inner
            .store
            .write_blocking(|tx| crate::store::media::claim(tx, user, &row, max, Utc::now()))?;
        if let Claim::OverCap { used } = claimed {
            // Nobody else owns these bytes: they leave the disk again.
            let hash_for_check = hash.clone();
            let kept = self
                .inner
                .store
                .read_blocking(move |conn| crate::store::media::exists(conn, &hash_for_check))?;
            if !kept {
                let _ = std::fs::remove_file(&path);
            }
            return Err(MediaError::OverUserCap {
                name: name(),
                size,
                used,
                max,
            });
        }
        tracing::debug!(user_id = %user, hash = %hash, mime, size, "media stored");
        Ok(MediaRef { hash, mime, size })
    }

    /// A stored file's row and its open file, for serving. `NotFound` for anything that
    /// is not 64 lowercase hex digits, so no name can reach outside the folder.
    pub async fn open(&self, hash: &str) -> Result<(MediaRow, tokio::fs::File), MediaError> {
        let path = self.path_of(hash).ok_or(MediaError::NotFound)?;
        let key = hash.to_owned();
        let row = match self
            .inner
            .store
            .read(move |conn| crate::store::media::get(conn, &key))
            .await
        {
            Ok(row) => row,
            Err(StoreError::NotFound) => return Err(MediaError::NotFound),
            Err(err) => return Err(err.into()),
        };
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok((row, file)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(hash = %hash, path = %path.display(), "media file missing from the store");
                Err(MediaError::NotFound)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Where the file of `hash` lives, or `None` when `hash` is not a media hash.
    pub fn path_of(&self, hash: &str) -> Option<PathBuf> {
        is_hash(hash).then(|| self.inner.dir.join(&hash[..2]).join(hash))
    }

    /// The bytes `user`'s files take together.
    pub async fn user_bytes(&self, user: UserId) -> Result<u64, MediaError> {
        Ok(self
            .inner
            .store
            .read(move |conn| crate::store::media::user_bytes(conn, user))
            .await?)
    }
}

/// Whether `text` is a media hash: exactly 64 lowercase hex digits.
pub fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The allow-listed type of a file from its first bytes, or `None` when it is anything
/// else (SVG, HTML, PDF, text, unknown). Names never count: an HTML file called `x.png`
/// has no PNG signature. A PNG signature followed by HTML is a PNG: it is served as
/// `image/png` with `nosniff` and a sandbox, so a browser never reads it as a page.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let found = infer::get(head)?;
    let mime = match found.mime_type() {
        "image/jpeg" => "image/jpeg",
        "image/png" => "image/png",
        "image/gif" => "image/gif",
        "image/webp" => "image/webp",
        "image/avif" => "image/avif",
        // A site's favicon (ICO holds BMP or PNG pictures; browsers draw both).
        "image/vnd.microsoft.icon" => "image/x-icon",
        "video/mp4" => "video/mp4",
        "video/webm" => "video/webm",
        "audio/mpeg" => "audio/mpeg",
        // Opus in an Ogg container: browsers play it as Ogg.
        "audio/ogg" | "audio/opus" => "audio/ogg",
        "audio/m4a" => "audio/mp4",
        "audio/aac" => "audio/aac",
        "audio/x-flac" => "audio/flac",
        "audio/x-wav" => "audio/wav",
        _ => return None,
    };
    debug_assert!(ALLOWED_TYPES.contains(&mime));
    Some(mime)
}

/// What a refused file looks like, in words, for the error.
fn describe(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(&head[..head.len().min(512)]).to_ascii_lowercase();
    if text.contains("<svg") {
        "an SVG image".into()
    } else if text.contains("<html") || text.contains("<!doctype") || text.contains("<script") {
        "an HTML document".into()
    } else if head.starts_with(b"%PDF") {
        "a PDF document".into()
    } else if let Some(found) = infer::get(head) {
        format!("a file of type {}", found.mime_type())
    } else if head.is_empty() {
        "an empty file".into()
    } else {
        "a file of unknown type".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 transparent PNG.
    pub const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    #[track_caller]
    fn check(bytes: &[u8], expected: Option<&str>) {
        assert_eq!(sniff(bytes), expected);
    }

    #[test]
    fn png_is_png() {
        check(PNG_1X1, Some("image/png"))
    }
    #[test]
    fn jpeg_is_jpeg() {
        check(
            b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01",
            Some("image/jpeg"),
        )
    }
    #[test]
    fn gif_is_gif() {
        check(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", Some("image/gif"))
    }
    #[test]
    fn webp_is_webp() {
        check(
            b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00",
            Some("image/webp"),
        )
    }
    #[test]
    fn mp3_with_id3_is_mpeg() {
        check(
            b"ID3\x04\x00\x00\x00\x00\x00\x00\xFF\xFB\x90\x00",
            Some("audio/mpeg"),
        )
    }
    #[test]
    fn mp3_frame_is_mpeg() {
        check(b"\xFF\xFB\x90\x64\x00\x00\x00\x00", Some("audio/mpeg"))
    }
    #[test]
    fn ogg_is_ogg() {
        check(
            b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00",
            Some("audio/ogg"),
        )
    }
    #[test]
    fn flac_is_flac() {
        check(b"fLaC\x00\x00\x00\x22", Some("audio/flac"))
    }
    #[test]
    fn wav_is_wav() {
        check(
            b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00",
            Some("audio/wav"),
        )
    }
    #[test]
    fn mp4_is_mp4() {
        check(
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
            Some("video/mp4"),
        )
    }
    #[test]
    fn m4a_is_audio_mp4() {
        check(
            b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42",
            Some("audio/mp4"),
        )
    }
    #[test]
    fn svg_with_script_is_refused() {
        check(
            br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#,
            None,
        )
    }
    #[test]
    fn html_is_refused() {
        check(
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            None,
        )
    }
    #[test]
    fn pdf_is_refused() {
        check(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", None)
    }
    #[test]
    fn zip_is_refused() {
        check(b"PK\x03\x04\x14\x00\x00\x00\x08\x00", None)
    }
    #[test]
    fn empty_is_refused() {
        check(b"", None)
    }
    #[test]
    fn png_header_then_html_is_png() {
        let mut bytes = PNG_1X1[..16].to_vec();
        bytes.extend_from_slice(b"<html><script>alert(1)</script></html>");
        check(&bytes, Some("image/png"))
    }

    #[test]
    fn hashes_are_64_lowercase_hex() {
        assert!(is_hash(&"ab".repeat(32)));
        assert!(!is_hash(&"AB".repeat(32)));
        assert!(!is_hash(&"ab".repeat(31)));
        assert!(!is_hash("../../etc/passwd"));
        assert!(!is_hash(&format!("{}/x", "a".repeat(62))));
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        media: MediaStore,
        ana: UserId,
        bob: UserId,
    }

    fn fixture(max_file_bytes: u64, max_user_bytes: u64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("tributary.db"), 1).unwrap();
        let [ana, bob] = ["ana", "bob"].map(|name| {
            store
                .write_blocking(|tx| {
                    let user = crate::store::users::NewUser {
                        name,
                        display_name: "",
                        password_hash: "x",
                        is_admin: false,
                    };
                    crate::store::users::create(tx, &user, Utc::now())
                })
                .unwrap()
        });
        let config = MediaConfig {
            dir: String::new(),
            max_file_bytes,
            max_user_bytes,
        };
        Fixture {
            media: MediaStore::new(store, &config),
            _dir: dir,
            ana,
            bob,
        }
    }

    fn files_in(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(files_in(&path));
            } else {
                found.push(path);
            }
        }
        found
    }

    fn png_of(n_extra: usize) -> Vec<u8> {
        let mut bytes = PNG_1X1.to_vec();
        bytes.resize(PNG_1X1.len() + n_extra, 0);
        bytes
    }

    #[test]
    fn same_bytes_are_stored_once() {
        let f = fixture(1 << 20, 1 << 20);
        let first = f.media.put_blocking(f.ana, PNG_1X1, "a.png").unwrap();
        let again = f.media.put_blocking(f.ana, PNG_1X1, "b.png").unwrap();
        let other = f.media.put_blocking(f.bob, PNG_1X1, "c.png").unwrap();
        assert_eq!(first, again);
        assert_eq!(first, other);
        assert_eq!(first.mime, "image/png");
        assert_eq!(first.size, PNG_1X1.len() as u64);
        assert_eq!(first.hash, hex::encode(Sha256::digest(PNG_1X1)));
        let path = f.media.path_of(&first.hash).unwrap();
        assert_eq!(path, f.media.dir().join(&first.hash[..2]).join(&first.hash));
        assert_eq!(std::fs::read(&path).unwrap(), PNG_1X1);
        assert_eq!(
            files_in(f.media.dir()),
            vec![path],
            "one file, no temp left"
        );
    }

    #[test]
    fn svg_with_script_is_refused_at_put() {
        let f = fixture(1 << 20, 1 << 20);
        let svg: &[u8] =
            br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        let err = f.media.put_blocking(f.ana, svg, "x.svg").unwrap_err();
        assert!(matches!(err, MediaError::Refused { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("x.svg: an SVG image is not stored"),
            "{err}"
        );
        assert!(files_in(f.media.dir()).is_empty());
    }

    #[test]
    fn html_named_png_is_refused_at_put() {
        let f = fixture(1 << 20, 1 << 20);
        let html: &[u8] = b"<html><body><script>alert(1)</script></body></html>";
        let err = f.media.put_blocking(f.ana, html, "photo.png").unwrap_err();
        assert!(
            err.to_string()
                .contains("photo.png: an HTML document is not stored"),
            "{err}"
        );
        assert!(files_in(f.media.dir()).is_empty());
    }

    #[test]
    fn file_over_the_cap_is_refused() {
        let f = fixture(100, 1 << 20);
        assert!(
            f.media
                .put_blocking(f.ana, &png_of(100 - PNG_1X1.len())[..], "ok.png")
                .is_ok()
        );
        let err = f
            .media
            .put_blocking(f.ana, &png_of(101 - PNG_1X1.len())[..], "big.png")
            .unwrap_err();
        assert!(
            matches!(err, MediaError::TooLarge { max: 100, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("big.png"), "{err}");
        assert_eq!(files_in(f.media.dir()).len(), 1, "the big file is not kept");
    }

    #[test]
    fn user_cap_counts_each_users_files() {
        let f = fixture(1 << 20, 300);
        let (small, other, big) = (png_of(10), png_of(11), png_of(200));
        f.media.put_blocking(f.ana, &small[..], "1.png").unwrap();
        f.media.put_blocking(f.ana, &other[..], "2.png").unwrap();
        let used = (small.len() + other.len()) as u64;
        // The same bytes again cost nothing.
        f.media
            .put_blocking(f.ana, &small[..], "1 again.png")
            .unwrap();
        let err = f.media.put_blocking(f.ana, &big[..], "3.png").unwrap_err();
        match err {
            MediaError::OverUserCap { used: u, max, .. } => assert_eq!((u, max), (used, 300)),
            other => panic!("expected OverUserCap, got {other}"),
        }
        assert_eq!(
            files_in(f.media.dir()).len(),
            2,
            "the refused file is not kept"
        );
        // Bob has his own allowance, and a file Ana owns stays when Bob is refused it.
        f.media.put_blocking(f.bob, &big[..], "3.png").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(f.media.user_bytes(f.ana)).unwrap(), used);
        assert_eq!(
            rt.block_on(f.media.user_bytes(f.bob)).unwrap(),
            big.len() as u64
        );
        let err = f
            .media
            .put_blocking(f.bob, &small[..], "1.png")
            .unwrap_err();
        assert!(matches!(err, MediaError::OverUserCap { .. }), "{err}");
        let small_hash = hex::encode(Sha256::digest(&small));
        assert!(f.media.path_of(&small_hash).unwrap().exists());
    }
}
