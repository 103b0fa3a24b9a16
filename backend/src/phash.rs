//! Perceptual hashes of card photos: the "pHash" half of seed 001's "AuthenticityAgent Lambda
//! (Bedrock + pHash)". The authenticity agent compares the hash of a card's front photo with that of
//! a reference print of the same card (a sample in the uploads bucket); a photo of another print — a
//! fake with the genuine card's text, another card — lands far from it.
//!
//! The hash is the common 64-bit DCT pHash, as Python's `imagehash.phash` computes it (Zauner, 2010,
//! "Implementation and Benchmarking of Perceptual Image Hash Functions"):
//!
//! 1. decode a JPEG or PNG (the file's first bytes decide, never its name or content type), refusing
//!    more than [`MAX_SIDE`] pixels a side or [`MAX_PIXELS`] in all before anything is allocated;
//! 2. grayscale (`image`'s luma: Rec. 709 weights);
//! 3. shrink to 32 × 32 by averaging the source pixels each target pixel covers (aspect ratio dropped,
//!    as pHash does; area averaging is linear in the source size, where a windowed filter over a
//!    12-megapixel photo would not be);
//! 4. the 2-D DCT-II of those 32 × 32 values;
//! 5. the top-left 8 × 8 coefficients, the lowest frequencies, **DC included** (as `imagehash` does;
//!    the original pHash library drops the first row and column instead);
//! 6. one bit per coefficient, row by row, the first in the most significant bit: set when the
//!    coefficient is above the median of the 64.
//!
//! Two photos of the same print differ in a few bits (JPEG re-encoding, scaling, a little light);
//! different images in about half of the 64 ([`PerceptualHash::distance`], the Hamming distance).
//!
//! Everything here is pure and bounded: hostile bytes give an [`PhashError`], never a panic.

use image::{ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// The most pixels a side an image may have to be hashed.
pub const MAX_SIDE: u32 = 12_000;

/// The most pixels an image may have in all to be hashed (50 megapixels: above any phone camera's
/// JPEG; decoded as 8-bit RGB, 150 MB of the function's 1,024).
pub const MAX_PIXELS: u64 = 50_000_000;

/// The most the decoder may allocate at once (`image::Limits::max_alloc`): 50 megapixels of 8-bit
/// RGBA fit, a 16-bit PNG of as many does not.
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// The side of the grayscale image the DCT runs on.
const SIDE: usize = 32;
/// The side of the block of lowest frequencies the bits come from.
const LOW: usize = 8;

/// A 64-bit perceptual hash.
///
/// ```
/// use backend::phash::PerceptualHash;
/// let a = PerceptualHash::from_bits(0xF0F0_0000_0000_000F);
/// assert_eq!(a.distance(PerceptualHash::from_bits(0xF0F0_0000_0000_0000)), 4);
/// assert_eq!(a.to_string(), "f0f000000000000f");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PerceptualHash(u64);

impl PerceptualHash {
    /// The hash with these bits (coefficient (0, 0) in the most significant bit).
    #[must_use]
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    /// Its bits.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The number of bits in which the two hashes differ (0 to 64).
    #[must_use]
    pub const fn distance(self, other: Self) -> u32 {
        (self.0 ^ other.0).count_ones()
    }
}

impl std::fmt::Display for PerceptualHash {
    /// 16 lowercase hex digits, as `imagehash` prints a hash.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Why an image could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PhashError {
    /// Not a JPEG or PNG by its first bytes.
    #[error("the image is not a JPEG or a PNG")]
    UnsupportedFormat,
    /// Larger than [`MAX_SIDE`] a side or [`MAX_PIXELS`] in all (or than the decoder may allocate).
    #[error(
        "the image is {width} × {height} pixels; at most {MAX_SIDE} a side and {MAX_PIXELS} in all are hashed"
    )]
    TooLarge {
        /// Its width, from its header.
        width: u32,
        /// Its height, from its header.
        height: u32,
    },
    /// No pixels.
    #[error("the image has no pixels")]
    Empty,
    /// A JPEG or PNG that does not decode (truncated, corrupt, an unsupported variant).
    #[error("the image cannot be decoded: {0}")]
    Undecodable(#[source] image::ImageError),
}

/// The perceptual hash of a JPEG or PNG file.
///
/// ```
/// use backend::phash::{PhashError, hash_image};
/// let mut png = Vec::new();
/// image::GrayImage::from_fn(64, 64, |x, y| image::Luma([((x * 4) ^ (y * 4)) as u8]))
///     .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
/// let h = hash_image(&png)?;
/// assert_eq!(h.distance(h), 0);
/// assert!(matches!(hash_image(b"GIF89a"), Err(PhashError::UnsupportedFormat)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`PhashError`]: not a JPEG or PNG, too large, no pixels, or not decodable.
pub fn hash_image(bytes: &[u8]) -> Result<PerceptualHash, PhashError> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png)) => f,
        _ => return Err(PhashError::UnsupportedFormat),
    };
    let reader = |limits: Limits| {
        let mut r = ImageReader::with_format(Cursor::new(bytes), format);
        r.limits(limits);
        r
    };
    // The header first, without limits (it allocates no pixels): the size is checked, and named in
    // the error, before the decoder allocates anything.
    let (width, height) = reader(Limits::no_limits())
        .into_dimensions()
        .map_err(|e| undecodable(e, 0, 0))?;
    if width == 0 || height == 0 {
        return Err(PhashError::Empty);
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PhashError::TooLarge { width, height });
    }
    let gray = reader(limits())
        .decode()
        .map_err(|e| undecodable(e, width, height))?
        .into_luma8();
    let small = image::imageops::thumbnail(&gray, SIDE as u32, SIDE as u32);
    let mut pixels = [[0.0_f64; SIDE]; SIDE];
    for (x, y, p) in small.enumerate_pixels() {
        pixels[y as usize][x as usize] = f64::from(p.0[0]);
    }
    Ok(hash_pixels(&pixels))
}

/// The limits every decode runs under.
fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    l.max_alloc = Some(MAX_DECODE_BYTES);
    l
}

/// A decoder error: a limit hit is [`PhashError::TooLarge`], anything else undecodable.
fn undecodable(e: image::ImageError, width: u32, height: u32) -> PhashError {
    match e {
        image::ImageError::Limits(_) => PhashError::TooLarge { width, height },
        image::ImageError::Unsupported(_) => PhashError::UnsupportedFormat,
        e => PhashError::Undecodable(e),
    }
}

/// The hash of a 32 × 32 grayscale image (rows of pixel values): steps 4–6 of the [module
/// docs](self).
#[must_use]
pub fn hash_pixels(pixels: &[[f64; SIDE]; SIDE]) -> PerceptualHash {
    let low = low_frequencies(pixels);
    let mut sorted: Vec<f64> = low.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let half = sorted.len() / 2;
    // The median of an even count: the mean of the two middle values (numpy's, as `imagehash` uses).
    let median = f64::midpoint(sorted[half - 1], sorted[half]);
    let bits = low
        .iter()
        .flatten()
        .fold(0_u64, |bits, &c| (bits << 1) | u64::from(c > median));
    PerceptualHash(bits)
}

/// The top-left [`LOW`] × [`LOW`] coefficients of the 2-D DCT-II of `pixels`, unnormalised:
/// `X[u][v] = Σ_y Σ_x p[y][x] · cos(π u (2y + 1) / 2N) · cos(π v (2x + 1) / 2N)`. A positive scale
/// (scipy's factor 4, or an orthonormal one — which treats only DC differently, and only DC's bit
/// could change) would not move a coefficient across the median of coefficients scaled alike, so
/// none is applied. Separable: the rows first, then the columns, each only for the frequencies kept.
fn low_frequencies(pixels: &[[f64; SIDE]; SIDE]) -> [[f64; LOW]; LOW] {
    let mut cos = [[0.0_f64; SIDE]; LOW];
    for (k, row) in cos.iter_mut().enumerate() {
        for (n, c) in row.iter_mut().enumerate() {
            #[allow(clippy::cast_precision_loss)] // indices below 64
            let angle = std::f64::consts::PI * k as f64 * (2 * n + 1) as f64 / (2 * SIDE) as f64;
            *c = angle.cos();
        }
    }
    // Along each row: rows[y][v] = Σ_x p[y][x] · cos[v][x].
    let mut rows = [[0.0_f64; LOW]; SIDE];
    for (p, out) in pixels.iter().zip(rows.iter_mut()) {
        for (v, o) in out.iter_mut().enumerate() {
            *o = p.iter().zip(cos[v]).map(|(x, c)| x * c).sum();
        }
    }
    // Down each column: X[u][v] = Σ_y rows[y][v] · cos[u][y].
    let mut out = [[0.0_f64; LOW]; LOW];
    for (u, line) in out.iter_mut().enumerate() {
        for (v, o) in line.iter_mut().enumerate() {
            *o = rows.iter().zip(cos[u]).map(|(r, c)| r[v] * c).sum();
        }
    }
    out
}

/// Card-sized test pictures, shared by these tests and the authenticity agent's.
#[cfg(test)]
pub(crate) mod test_prints {
    use image::{Rgb, RgbImage};

    /// A card-sized (240 × 336) picture with structure at every scale: a bright oval "artwork" over a
    /// dark frame, a gradient, and text-like bars.
    pub(crate) fn print_a() -> RgbImage {
        RgbImage::from_fn(240, 336, |x, y| {
            let (fx, fy) = (f64::from(x), f64::from(y));
            let in_oval = ((fx - 120.0) / 90.0).powi(2) + ((fy - 120.0) / 70.0).powi(2) < 1.0;
            let bar = y > 220 && y < 300 && (y / 12) % 2 == 0 && x > 20 && x < 40 + (y % 5) * 40;
            let v = if in_oval {
                200.0 + 40.0 * (fx / 15.0).sin()
            } else if bar {
                30.0
            } else {
                90.0 + fy / 6.0
            };
            let v = v.clamp(0.0, 255.0) as u8;
            Rgb([v, v.saturating_sub(20), v / 2])
        })
    }

    /// Another card: a 3 × 4 checkerboard with a diagonal gradient, nothing like [`print_a`].
    pub(crate) fn print_b() -> RgbImage {
        RgbImage::from_fn(240, 336, |x, y| {
            let check = ((x / 80) + (y / 84)) % 2 == 0;
            let v = if check { 180 } else { 60 } + ((x + y) / 12) as u8;
            Rgb([v, v, v])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::test_prints::{print_a, print_b};
    use super::*;
    use image::{DynamicImage, GrayImage, Luma};

    fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    }

    fn hash(img: &DynamicImage, format: ImageFormat) -> PerceptualHash {
        hash_image(&encode(img, format)).unwrap()
    }

    /// The same print, re-encoded as a lossy JPEG, scaled down, brightened: a few bits apart, well
    /// under the agent's default threshold (12).
    #[test]
    fn the_same_print_stays_close() {
        let a = DynamicImage::ImageRgb8(print_a());
        let reference = hash(&a, ImageFormat::Png);
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 60)
            .encode_image(&a)
            .unwrap();
        let brighter = DynamicImage::ImageRgb8(image::imageops::colorops::brighten(&print_a(), 20));
        let variants = [
            ("jpeg q60", hash_image(&jpeg).unwrap()),
            (
                "scaled to 75 %",
                hash(
                    &a.resize_exact(180, 252, image::imageops::FilterType::Triangle),
                    ImageFormat::Png,
                ),
            ),
            (
                "scaled up 2×",
                hash(
                    &a.resize_exact(480, 672, image::imageops::FilterType::Triangle),
                    ImageFormat::Jpeg,
                ),
            ),
            ("brightened by 20", hash(&brighter, ImageFormat::Png)),
        ];
        for (what, h) in variants {
            let d = reference.distance(h);
            assert!(d <= 8, "{what}: {d} bits ({reference} vs {h})");
        }
    }

    #[test]
    fn a_different_print_is_far() {
        let a = hash(&DynamicImage::ImageRgb8(print_a()), ImageFormat::Png);
        let b = hash(&DynamicImage::ImageRgb8(print_b()), ImageFormat::Png);
        let d = a.distance(b);
        assert!(d >= 20, "{d} bits ({a} vs {b})");
        // The pattern mirrored is a different picture too.
        let mirrored = image::imageops::flip_horizontal(&print_a());
        let m = hash(&DynamicImage::ImageRgb8(mirrored), ImageFormat::Png);
        assert!(a.distance(m) >= 20, "{} bits", a.distance(m));
    }

    /// Known answers, so the algorithm cannot change silently: two 32 × 32 grayscale patterns
    /// through the whole pipeline from a PNG (at 32 × 32 the shrinking step is the identity).
    #[test]
    fn known_answers() {
        let diagonal = GrayImage::from_fn(32, 32, |x, y| {
            Luma([((x * 7 + y * 13) % 256) as u8 ^ (y * 5) as u8])
        });
        let h = hash(&DynamicImage::ImageLuma8(diagonal), ImageFormat::Png);
        assert_eq!(h.to_string(), "9dc194b5276e036e", "{h}");
        let blob = GrayImage::from_fn(32, 32, |x, y| {
            let (dx, dy) = (i64::from(x) - 10, i64::from(y) - 20);
            Luma([if dx * dx + 2 * dy * dy < 90 {
                230
            } else {
                20 + (x + y) as u8
            }])
        });
        let h = hash(&DynamicImage::ImageLuma8(blob), ImageFormat::Png);
        assert_eq!(h.to_string(), "c03f37c826263b3b", "{h}");
    }

    /// The separable, low-frequency-only DCT equals the top-left of the textbook 2-D DCT-II computed
    /// in full, and the bits follow the median rule.
    #[test]
    fn the_dct_is_the_textbook_one() {
        let mut pixels = [[0.0; SIDE]; SIDE];
        for (y, row) in pixels.iter_mut().enumerate() {
            for (x, p) in row.iter_mut().enumerate() {
                *p = ((x * 31 + y * y * 7) % 256) as f64;
            }
        }
        let n = SIDE as f64;
        let full = |u: usize, v: usize| {
            let mut s = 0.0;
            for (y, row) in pixels.iter().enumerate() {
                for (x, p) in row.iter().enumerate() {
                    s += p
                        * (std::f64::consts::PI * u as f64 * (2 * y + 1) as f64 / (2.0 * n)).cos()
                        * (std::f64::consts::PI * v as f64 * (2 * x + 1) as f64 / (2.0 * n)).cos();
                }
            }
            s
        };
        let low = low_frequencies(&pixels);
        let mut expected = Vec::new();
        for (u, line) in low.iter().enumerate() {
            for (v, c) in line.iter().enumerate() {
                let f = full(u, v);
                assert!((c - f).abs() < 1e-6 * f.abs().max(1.0), "({u}, {v}): {c} vs {f}");
                expected.push(f);
            }
        }
        let mut sorted = expected.clone();
        sorted.sort_by(f64::total_cmp);
        let median = (sorted[31] + sorted[32]) / 2.0;
        let bits = expected
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > median)
            .fold(0_u64, |b, (i, _)| b | 1 << (63 - i));
        assert_eq!(hash_pixels(&pixels).bits(), bits);
        // Half the bits are set, less any ties at the median.
        assert!(bits.count_ones() <= 32);
    }

    /// The 32 × 32 pipeline step is the identity on a 32 × 32 image: a known-answer on pixels equals
    /// the one on the file.
    #[test]
    fn hashing_pixels_equals_hashing_the_file_at_32() {
        let img = GrayImage::from_fn(32, 32, |x, y| Luma([((x * x + 3 * y) % 251) as u8]));
        let mut pixels = [[0.0; SIDE]; SIDE];
        for (x, y, p) in img.enumerate_pixels() {
            pixels[y as usize][x as usize] = f64::from(p.0[0]);
        }
        assert_eq!(
            hash_pixels(&pixels),
            hash(&DynamicImage::ImageLuma8(img), ImageFormat::Png)
        );
    }

    /// A PNG whose header claims 20,000 × 20,000 (and a 12,000 × 5,000 one: 60 MP) is refused from
    /// its header, before any pixel is allocated.
    #[test]
    fn oversized_images_are_refused_before_decoding() {
        let png = |w: u32, h: u32| {
            let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
            let mut ihdr = b"IHDR".to_vec();
            ihdr.extend_from_slice(&w.to_be_bytes());
            ihdr.extend_from_slice(&h.to_be_bytes());
            ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
            b.extend_from_slice(&ihdr[4..]);
            b.extend_from_slice(&crc32(&ihdr).to_be_bytes());
            // An empty IDAT: the decoder reads the header chunks up to the first one.
            b.extend_from_slice(b"\0\0\0\0IDAT");
            b.extend_from_slice(&crc32(b"IDAT").to_be_bytes());
            b
        };
        for (w, h) in [(20_000, 20_000), (12_000, 5_000), (12_001, 10)] {
            let e = hash_image(&png(w, h)).unwrap_err();
            assert!(
                matches!(e, PhashError::TooLarge { width, height } if (width, height) == (w, h)),
                "{w} × {h}: {e:?}"
            );
            assert!(e.to_string().contains(&format!("{w} × {h}")), "{e}");
        }
        assert!(matches!(
            hash_image(&png(0, 10)),
            Err(PhashError::Empty | PhashError::Undecodable(_))
        ));
    }

    /// CRC-32 (ISO-HDLC), as PNG chunks carry it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFF_u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn other_formats_and_broken_files_are_errors() {
        let png = encode(&DynamicImage::ImageRgb8(print_a()), ImageFormat::Png);
        let jpeg = encode(&DynamicImage::ImageRgb8(print_a()), ImageFormat::Jpeg);
        for (what, bytes) in [
            ("empty", Vec::new()),
            ("heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec()),
            ("gif", b"GIF89a\x01\0\x01\0".to_vec()),
            ("truncated png", png[..png.len() / 2].to_vec()),
            ("png header only", png[..33].to_vec()),
            ("jpeg soi only", vec![0xFF, 0xD8, 0xFF]),
            ("truncated jpeg", jpeg[..200].to_vec()),
        ] {
            assert!(hash_image(&bytes).is_err(), "{what}");
        }
    }

    proptest::proptest! {
        /// Whatever the bytes — random, or a real PNG or JPEG with some bytes overwritten — hashing
        /// answers a hash or an error, never a panic.
        #[test]
        fn any_bytes_are_an_error_or_a_hash_never_a_panic(
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            start in 0_u8..3,
            edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()), 0..8),
        ) {
            let mut bytes = match start {
                0 => b"\x89PNG\r\n\x1a\n".to_vec(),
                1 => vec![0xFF, 0xD8, 0xFF],
                _ => Vec::new(),
            };
            bytes.extend(noise);
            let _ = hash_image(&bytes);
            let small = GrayImage::from_fn(24, 20, |x, y| Luma([(x * 9 + y * 4) as u8]));
            for format in [ImageFormat::Png, ImageFormat::Jpeg] {
                let mut file = encode(&DynamicImage::ImageLuma8(small.clone()), format);
                for (at, b) in &edits {
                    let i = at.index(file.len());
                    file[i] = *b;
                }
                let _ = hash_image(&file);
            }
        }
    }
}
