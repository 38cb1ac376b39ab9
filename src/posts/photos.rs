//! A posted photo made safe to keep: its type sniffed from the bytes (JPEG, PNG, GIF or
//! WebP only), decoded with the `image` crate under [`limits`] (so a file that declares
//! more pixels than [`MAX_SIDE`] or more memory than [`MAX_DECODE_BYTES`] is refused from
//! its header, before anything is allocated), turned upright by its EXIF orientation, and
//! encoded again: the new file carries no metadata at all (no EXIF, no location). Plus the
//! smaller copies of [`WIDTHS`]. Pure: no IO.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Photos one post takes.
pub const MAX_PHOTOS: usize = 4;
/// The largest photo file taken, in bytes.
pub const MAX_PHOTO_BYTES: usize = 20 * 1024 * 1024;
/// The widest or tallest photo decoded, in pixels.
pub const MAX_SIDE: u32 = 12_000;
/// The most memory one decode may take.
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// The widths of the smaller copies: a card's thumbnail, and the item page's picture.
pub const WIDTHS: [u32; 2] = [400, 1200];
/// JPEG quality of the files written again.
const JPEG_QUALITY: u8 = 85;

/// One encoded picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

/// A photo ready to store: the whole picture, encoded again, and its smaller copies
/// (one per width of [`WIDTHS`] narrower than the picture, in that order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Processed {
    pub full: Encoded,
    pub smaller: Vec<(u32, Encoded)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhotoError {
    #[error("{name} is not a photo Tributary takes (JPEG, PNG, GIF or WebP)")]
    NotAPhoto { name: String },
    #[error(
        "{name} is larger than {MAX_SIDE} × {MAX_SIDE} pixels or would take too much memory to \
         open"
    )]
    TooBig { name: String },
    #[error("{name} is larger than the {max}-byte limit for one photo")]
    TooLarge { name: String, max: usize },
    #[error("{name} could not be read as a picture: {reason}")]
    Broken { name: String, reason: String },
}

/// The decoder's limits: the largest sides and the most memory.
pub fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

/// Checks, decodes, turns and encodes the photo `bytes` (called `name` in messages).
pub fn process(bytes: &[u8], name: &str) -> Result<Processed, PhotoError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge {
            name: name.to_owned(),
            max: MAX_PHOTO_BYTES,
        });
    }
    let format = match crate::media::sniff(bytes) {
        Some("image/jpeg") => ImageFormat::Jpeg,
        Some("image/png") => ImageFormat::Png,
        Some("image/gif") => ImageFormat::Gif,
        Some("image/webp") => ImageFormat::WebP,
        _ => {
            return Err(PhotoError::NotAPhoto {
                name: name.to_owned(),
            });
        }
    };
    let broken = |err: image::ImageError| match err {
        image::ImageError::Limits(_) => PhotoError::TooBig {
            name: name.to_owned(),
        },
        other => PhotoError::Broken {
            name: name.to_owned(),
            reason: other.to_string(),
        },
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let mut decoder = reader.into_decoder().map_err(broken)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(PhotoError::TooBig {
            name: name.to_owned(),
        });
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(broken)?;
    picture.apply_orientation(orientation);
    // Pictures with transparency stay PNG; everything else is a JPEG.
    let as_png = format != ImageFormat::Jpeg && picture.color().has_alpha();
    let full = encode(&picture, as_png).map_err(broken)?;
    let mut smaller = Vec::new();
    for target in WIDTHS {
        if target >= picture.width() {
            continue;
        }
        let target_height = ((u64::from(picture.height()) * u64::from(target))
            / u64::from(picture.width()))
        .max(1) as u32;
        let resized = picture.resize_exact(target, target_height, FilterType::Triangle);
        smaller.push((target, encode(&resized, as_png).map_err(broken)?));
    }
    Ok(Processed { full, smaller })
}

/// Encodes `picture` as a PNG or a JPEG. Neither encoder writes metadata.
fn encode(picture: &DynamicImage, as_png: bool) -> Result<Encoded, image::ImageError> {
    let mut bytes = Vec::new();
    let mime = if as_png {
        picture.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)?;
        "image/png"
    } else {
        let rgb = picture.to_rgb8();
        JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY).encode_image(&rgb)?;
        "image/jpeg"
    };
    Ok(Encoded {
        bytes,
        mime,
        width: picture.width(),
        height: picture.height(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = DynamicImage::new_rgb8(width, height);
        let mut bytes = Vec::new();
        picture
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn a_wide_photo_gets_both_smaller_copies() {
        let done = process(&png(1600, 800), "a.png").unwrap();
        assert_eq!((done.full.width, done.full.height), (1600, 800));
        assert_eq!(done.full.mime, "image/jpeg");
        let sizes: Vec<(u32, u32)> = done
            .smaller
            .iter()
            .map(|(_, e)| (e.width, e.height))
            .collect();
        assert_eq!(sizes, vec![(400, 200), (1200, 600)]);
    }

    #[test]
    fn a_small_photo_is_not_made_larger() {
        let done = process(&png(300, 100), "a.png").unwrap();
        assert!(done.smaller.is_empty());
    }

    #[test]
    fn text_is_no_photo() {
        assert_eq!(
            process(b"<svg><script>alert(1)</script></svg>", "x.svg"),
            Err(PhotoError::NotAPhoto {
                name: "x.svg".into()
            })
        );
    }
}
