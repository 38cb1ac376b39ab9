//! Archives for tests and the bench: a fixture folder zipped as the platform ships it,
//! and a synthetic Twitter archive of any size in the real shape, written as a stream.
//! Not part of the application: nothing outside tests and `bench/` calls it, and it
//! panics on IO errors like a test does.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

/// Zips every file under `dir` into `out`, named by its path below `dir` with `/`
/// separators, in name order.
pub fn zip_dir(dir: &Path, out: &Path) {
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files);
    files.sort();
    let mut zip = ZipWriter::new(File::create(out).expect("create the zip"));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for name in files {
        zip.start_file(name.as_str(), options)
            .expect("start a zip entry");
        let bytes = std::fs::read(dir.join(&name)).expect("read a fixture file");
        zip.write_all(&bytes).expect("write a zip entry");
    }
    zip.finish().expect("finish the zip");
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read a fixture folder") {
        let path = entry.expect("read a fixture folder").path();
        if path.is_dir() {
            collect_files(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("a path below the root");
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
}

/// The first id of `write_twitter_archive`'s tweets; tweet `i` (0 the oldest) has id
/// `GENERATED_FIRST_ID + i`.
pub const GENERATED_FIRST_ID: u64 = 1_500_000_000_000_000_000;

/// The account of `write_twitter_archive`'s archives.
pub const GENERATED_USER: &str = "bench_user";

/// Writes a Twitter archive zip of `n_tweets` tweets (the newer half in `data/tweets.js`,
/// the older in `data/tweets-part1.js`, each newest first) and `n_media` of them with a
/// small distinct PNG under `data/tweets_media/`. Tweet `i` (0 the oldest, one minute
/// apart from 2015-01-01) has:
/// - a t.co link in `entities.urls` when `i % 10 == 0`,
/// - `&amp;` in its text when `i % 7 == 0`, and a hashtag when `i % 5 == 0`,
/// - `in_reply_to_status_id_str` of tweet `i - 1` (a reply to self) when `i % 25 == 1`,
/// - a photo when `i.is_multiple_of(step)` for the first `n_media` such tweets, `step` being
///   `n_tweets / n_media` (alt text on every other photo).
///
/// Each tweet is written as it is made: memory does not grow with `n_tweets`.
pub fn write_twitter_archive(out: &Path, n_tweets: usize, n_media: usize) {
    let n_media = n_media.min(n_tweets);
    let step = n_tweets.checked_div(n_media).unwrap_or(usize::MAX).max(1);
    let has_media = |i: usize| n_media > 0 && i.is_multiple_of(step) && i / step < n_media;
    let mut zip = ZipWriter::new(File::create(out).expect("create the zip"));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));

    zip.start_file("data/manifest.js", options)
        .expect("start manifest.js");
    let half = n_tweets / 2;
    write!(
        zip,
        "window.__THAR_CONFIG = {{\n  \"userInfo\" : {{\n    \"accountId\" : \"4242\",\n    \
         \"userName\" : \"{GENERATED_USER}\",\n    \"displayName\" : \"Bench User\"\n  }},\n  \
         \"dataTypes\" : {{\n    \"tweets\" : {{\n      \"mediaDirectory\" : \"data/tweets_media\",\n      \
         \"files\" : [\n        {{ \"fileName\" : \"data/tweets.js\", \"globalName\" : \"YTD.tweets.part0\", \"count\" : \"{}\" }},\n        \
         {{ \"fileName\" : \"data/tweets-part1.js\", \"globalName\" : \"YTD.tweets.part1\", \"count\" : \"{half}\" }}\n      ]\n    }}\n  }}\n}}\n",
        n_tweets - half
    )
    .expect("write manifest.js");

    let start: DateTime<Utc> = DateTime::from_timestamp(1_420_070_400, 0).expect("a valid date");
    for (file, part, range) in [
        ("data/tweets.js", 0, half..n_tweets),
        ("data/tweets-part1.js", 1, 0..half),
    ] {
        zip.start_file(file, options).expect("start a tweets file");
        let mut w = BufWriter::with_capacity(1 << 16, &mut zip);
        write!(w, "window.YTD.tweets.part{part} = [").expect("write");
        for (n, i) in range.rev().enumerate() {
            let date = start + Duration::minutes(i as i64);
            write_tweet(&mut w, i, date, has_media(i), n > 0);
        }
        writeln!(w, "\n]").expect("write");
        w.flush().expect("flush");
    }

    for i in (0..n_tweets).filter(|&i| has_media(i)) {
        let id = GENERATED_FIRST_ID + i as u64;
        zip.start_file(format!("data/tweets_media/{id}-M{i}.png"), options)
            .expect("start a media file");
        zip.write_all(&tiny_png(&format!("tweet {i}")))
            .expect("write a media file");
    }
    zip.finish().expect("finish the zip");
}

fn write_tweet(w: &mut impl Write, i: usize, date: DateTime<Utc>, media: bool, comma: bool) {
    let id = GENERATED_FIRST_ID + i as u64;
    let created = date.format("%a %b %d %H:%M:%S +0000 %Y");
    let mut text = format!("Generated tweet number {i}, a line of text about as long as most");
    let mut urls = String::new();
    let mut hashtags = String::new();
    let mut media_json = String::new();
    if i.is_multiple_of(7) {
        text.push_str(" &amp; more");
    }
    if i.is_multiple_of(5) {
        hashtags = format!(
            "{{ \"text\" : \"tag{}\", \"indices\" : [ \"0\", \"5\" ] }}",
            i % 13
        );
        text.push_str(&format!(" #tag{}", i % 13));
    }
    if i.is_multiple_of(10) {
        let short = format!("https://t.co/l{i:09}");
        urls = format!(
            "{{ \"url\" : \"{short}\", \"expanded_url\" : \"https://example.com/articles/{i}\", \
             \"display_url\" : \"example.com/articles/{i}\", \"indices\" : [ \"0\", \"23\" ] }}"
        );
        text.push_str(&format!(" {short}"));
    }
    if media {
        let short = format!("https://t.co/m{i:09}");
        let alt = if i.is_multiple_of(2) {
            format!(", \"ext_alt_text\" : \"Picture {i}\"")
        } else {
            String::new()
        };
        media_json = format!(
            "{{ \"expanded_url\" : \"https://twitter.com/{GENERATED_USER}/status/{id}/photo/1\", \
             \"url\" : \"{short}\", \"media_url_https\" : \"https://pbs.twimg.com/media/M{i}.png\", \
             \"id_str\" : \"{}\", \"type\" : \"photo\", \"display_url\" : \"pic.twitter.com/m{i:09}\"{alt} }}",
            id + 1
        );
        text.push_str(&format!(" {short}"));
    }
    let reply = if i % 25 == 1 {
        format!(
            "\"in_reply_to_status_id_str\" : \"{}\", \"in_reply_to_user_id_str\" : \"4242\", \
             \"in_reply_to_screen_name\" : \"{GENERATED_USER}\",\n      ",
            id - 1
        )
    } else {
        String::new()
    };
    let extended = if media {
        format!(",\n      \"extended_entities\" : {{ \"media\" : [ {media_json} ] }}")
    } else {
        String::new()
    };
    write!(
        w,
        "{}\n  {{\n    \"tweet\" : {{\n      \"retweeted\" : false,\n      \
         \"source\" : \"<a href=\\\"https://mobile.twitter.com\\\" rel=\\\"nofollow\\\">Twitter Web App</a>\",\n      \
         \"entities\" : {{ \"hashtags\" : [ {hashtags} ], \"symbols\" : [ ], \"user_mentions\" : [ ], \
         \"urls\" : [ {urls} ], \"media\" : [ {media_json} ] }},\n      \
         \"favorite_count\" : \"{}\", \"id_str\" : \"{id}\", \"truncated\" : false, \"retweet_count\" : \"0\",\n      \
         {reply}\"id\" : \"{id}\", \"created_at\" : \"{created}\", \"favorited\" : false,\n      \
         \"full_text\" : \"{text}\", \"lang\" : \"en\"{extended}\n    }}\n  }}",
        if comma { "," } else { "" },
        i % 17
    )
    .expect("write a tweet");
}

/// A valid 1×1 PNG, made distinct by a `tEXt` chunk holding `label`.
fn tiny_png(label: &str) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut idat = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    idat.write_all(&[0, 200, 40, 40]).expect("write to memory");
    let idat = idat.finish().expect("write to memory");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    let mut text = b"Comment\0".to_vec();
    text.extend_from_slice(label.as_bytes());
    chunk(&mut png, b"tEXt", &text);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// The posts among a reader's entries, in order (for tests).
pub fn posts(entries: &[super::Entry]) -> Vec<&super::Post> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            super::Entry::Post(post) => Some(&**post),
            super::Entry::Skipped { .. } => None,
        })
        .collect()
}

/// Checks that every file below `dir` sniffs as the type its extension names (`png`,
/// `jpg`, `mp4`): sample media must be what they say. Returns how many were checked.
pub fn assert_media_match_names(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("read the sample folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).expect("read a sample file");
            let expected = match path.extension().and_then(|e| e.to_str()) {
                Some("png") => "image/png",
                Some("jpg") => "image/jpeg",
                Some("mp4") => "video/mp4",
                other => panic!("unexpected sample media {other:?}"),
            };
            assert_eq!(
                infer::get(&bytes).map(|t| t.mime_type()),
                Some(expected),
                "{}",
                path.display()
            );
            n += 1;
        }
    }
    n
}
