//! Streamed JSON: one element of a large array at a time, so an `outbox.json` or a
//! `tweets.js` of hundreds of megabytes is never held whole (serde_json's `Deserializer`
//! over a reader, with a visitor that hands each element over as it is read).

use std::io::{self, BufRead, BufReader, Read};

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::ArchiveError;

/// Calls `each` with every element of the array at `key` of the top-level object (or of
/// the top-level array, for `None`), in order. An element that does not deserialize as
/// `T` is handed over as its error (the reader skips it with a reason); a syntax error
/// of the file as a whole, or the array missing, is `ArchiveError::Malformed`, and an
/// error `each` returns stops the walk and is returned.
pub fn for_each<T, R>(
    reader: R,
    file: &str,
    key: Option<&str>,
    each: &mut dyn FnMut(Result<T, serde_json::Error>) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError>
where
    T: DeserializeOwned,
    R: Read,
{
    let mut stopped = None;
    let mut found = key.is_none();
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, reader));
    let result = {
        let seed = ArraySeed::<T> {
            each,
            stopped: &mut stopped,
            _t: std::marker::PhantomData,
        };
        match key {
            None => de::Deserializer::deserialize_seq(&mut de, seed),
            Some(key) => de::Deserializer::deserialize_map(
                &mut de,
                KeyVisitor {
                    key,
                    seed: Some(seed),
                    found: &mut found,
                },
            ),
        }
    };
    if let Some(err) = stopped {
        return Err(err);
    }
    let malformed = |message: String| ArchiveError::Malformed {
        file: file.to_owned(),
        message,
    };
    result.map_err(|err| malformed(err.to_string()))?;
    de.end().map_err(|err| malformed(err.to_string()))?;
    if !found {
        return Err(malformed(format!(
            "it has no \"{}\" list",
            key.unwrap_or_default()
        )));
    }
    Ok(())
}

struct ArraySeed<'a, T> {
    each: &'a mut dyn FnMut(Result<T, serde_json::Error>) -> Result<(), ArchiveError>,
    stopped: &'a mut Option<ArchiveError>,
    _t: std::marker::PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for ArraySeed<'_, T> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for ArraySeed<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<serde_json::Value>()? {
            let item = serde_json::from_value::<T>(value);
            if let Err(err) = (self.each)(item) {
                *self.stopped = Some(err);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

struct KeyVisitor<'a, 'b, T> {
    key: &'a str,
    seed: Option<ArraySeed<'b, T>>,
    found: &'a mut bool,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for KeyVisitor<'_, '_, T> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == self.key
                && let Some(seed) = self.seed.take()
            {
                map.next_value_seed(seed)?;
                *self.found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The reader past a JavaScript assignment's `=` (Twitter's `window.YTD.tweets.part0 = [`),
/// so what follows reads as JSON. A file without one is an error.
pub fn after_assignment<R: Read>(reader: R) -> io::Result<impl Read> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut skipped = Vec::new();
    reader.read_until(b'=', &mut skipped)?;
    if skipped.last() != Some(&b'=') || skipped.len() > 4096 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it does not start with a `window.YTD… =` assignment",
        ));
    }
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Row {
        id: u32,
    }

    fn collect(json: &str, key: Option<&str>) -> Result<Vec<Result<u32, String>>, ArchiveError> {
        let mut out = Vec::new();
        for_each::<Row, _>(json.as_bytes(), "f.json", key, &mut |row| {
            out.push(row.map(|r| r.id).map_err(|e| e.to_string()));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn elements_of_a_keyed_array_come_one_by_one_and_bad_ones_as_errors() {
        let rows = collect(
            r#"{"@context": {"a": [1]}, "orderedItems": [{"id": 1}, {"id": "x"}, {"id": 3}], "z": 1}"#,
            Some("orderedItems"),
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], Ok(1));
        assert!(rows[1].is_err());
        assert_eq!(rows[2], Ok(3));
    }

    #[test]
    fn a_missing_list_or_broken_file_is_malformed() {
        assert!(matches!(
            collect(r#"{"x": []}"#, Some("orderedItems")),
            Err(ArchiveError::Malformed { .. })
        ));
        assert!(matches!(
            collect(r#"[{"id": 1}, {"id""#, None),
            Err(ArchiveError::Malformed { .. })
        ));
    }

    #[test]
    fn the_consumer_can_stop() {
        let mut n = 0;
        let result = for_each::<Row, _>(&b"[{\"id\":1},{\"id\":2}]"[..], "f", None, &mut |_| {
            n += 1;
            Err(ArchiveError::Stopped)
        });
        assert!(matches!(result, Err(ArchiveError::Stopped)));
        assert_eq!(n, 1);
    }

    #[test]
    fn a_twitter_assignment_is_skipped() {
        let js = "window.YTD.tweets.part0 = [{\"id\": 7}]";
        let mut out = Vec::new();
        for_each::<Row, _>(
            after_assignment(js.as_bytes()).unwrap(),
            "t.js",
            None,
            &mut |r| {
                out.push(r.unwrap().id);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(out, [7]);
        assert!(after_assignment(&b"[1,2]"[..]).is_err());
    }
}
