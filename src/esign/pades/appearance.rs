//! What a signature widget shows: the signer's handwritten PNG (RGB image + alpha as an
//! `/SMask`, so the stroke sits on the page without a white box) or the commission seal
//! drawn as vectors (red double ring and star; no font needed).

use std::io::Write;

use anyhow::{anyhow, bail, ensure};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use lopdf::{Dictionary, Object, ObjectId, Stream};

const MAX_PNG_BYTES: usize = 1 << 20;
const MAX_WIDTH: u32 = 2000;
const MAX_HEIGHT: u32 = 1000;

/// A decoded, validated signature image.
#[derive(Clone, Debug)]
pub struct Appearance {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    /// One byte per pixel; `None` when the image is fully opaque.
    alpha: Option<Vec<u8>>,
}

impl Appearance {
    /// Decode and validate a PNG (≤ 1 MiB, ≤ 2000×1000 px); keeps RGB and alpha.
    pub fn from_png(png: &[u8]) -> anyhow::Result<Self> {
        ensure!(
            png.len() <= MAX_PNG_BYTES,
            "image too large ({} bytes, at most 1 MiB)",
            png.len()
        );
        ensure!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "not an image (PNG expected)"
        );
        let mut decoder = png::Decoder::new_with_limits(png, png::Limits { bytes: 32 << 20 });
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder
            .read_info()
            .map_err(|e| anyhow!("not an image: {e}"))?;
        let (width, height) = reader.info().size();
        ensure!(
            width > 0 && height > 0 && width <= MAX_WIDTH && height <= MAX_HEIGHT,
            "image is {width}×{height} px, at most {MAX_WIDTH}×{MAX_HEIGHT}"
        );
        let mut buf = vec![0u8; reader.output_buffer_size()];
        let frame = reader
            .next_frame(&mut buf)
            .map_err(|e| anyhow!("not an image: {e}"))?;
        let (color, depth) = reader.output_color_type();
        ensure!(
            depth == png::BitDepth::Eight,
            "not an image: unsupported bit depth"
        );
        let channels = color.samples();
        let pixels = (width * height) as usize;
        let line = frame.line_size;
        let mut rgb = Vec::with_capacity(pixels * 3);
        let mut alpha = Vec::with_capacity(pixels);
        for row in buf.chunks(line).take(height as usize) {
            for px in row[..width as usize * channels].chunks(channels) {
                let (c, a) = match color {
                    png::ColorType::Grayscale => ([px[0]; 3], 255),
                    png::ColorType::GrayscaleAlpha => ([px[0]; 3], px[1]),
                    png::ColorType::Rgb => ([px[0], px[1], px[2]], 255),
                    png::ColorType::Rgba => ([px[0], px[1], px[2]], px[3]),
                    png::ColorType::Indexed => bail!("not an image: palette not expanded"),
                };
                rgb.extend_from_slice(&c);
                alpha.push(a);
            }
        }
        ensure!(
            rgb.len() == pixels * 3,
            "not an image: truncated pixel data"
        );
        let alpha = alpha.iter().any(|&a| a != 255).then_some(alpha);
        Ok(Self {
            width,
            height,
            rgb,
            alpha,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The image XObject and, with transparency, its `/SMask` (to be stored as `smask_id`).
    pub(super) fn image_objects(
        &self,
        smask_id: ObjectId,
    ) -> anyhow::Result<(Stream, Option<Stream>)> {
        let mut dict = image_dict(self.width, self.height, "DeviceRGB");
        let smask = match &self.alpha {
            Some(a) => {
                dict.set("SMask", Object::Reference(smask_id));
                Some(Stream::new(
                    image_dict(self.width, self.height, "DeviceGray"),
                    deflate(a)?,
                ))
            }
            None => None,
        };
        Ok((Stream::new(dict, deflate(&self.rgb)?), smask))
    }
}

fn image_dict(width: u32, height: u32, color_space: &str) -> Dictionary {
    let mut d = Dictionary::new();
    d.set("Type", Object::Name(b"XObject".to_vec()));
    d.set("Subtype", Object::Name(b"Image".to_vec()));
    d.set("Width", i64::from(width));
    d.set("Height", i64::from(height));
    d.set("ColorSpace", Object::Name(color_space.as_bytes().to_vec()));
    d.set("BitsPerComponent", 8);
    d.set("Filter", Object::Name(b"FlateDecode".to_vec()));
    d
}

fn deflate(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(data)?;
    Ok(z.finish()?)
}

fn form(w: f32, h: f32, resources: Dictionary, content: String) -> Stream {
    let mut d = Dictionary::new();
    d.set("Type", Object::Name(b"XObject".to_vec()));
    d.set("Subtype", Object::Name(b"Form".to_vec()));
    d.set(
        "BBox",
        Object::Array(vec![0.into(), 0.into(), Object::Real(w), Object::Real(h)]),
    );
    d.set("Resources", resources);
    Stream::new(d, content.into_bytes())
}

/// A form XObject of `w`×`h` points drawing `image_id` scaled to fit, centred, aspect kept.
pub(super) fn image_form(w: f32, h: f32, img: &Appearance, image_id: ObjectId) -> Stream {
    let scale = (w / img.width as f32).min(h / img.height as f32);
    let (iw, ih) = (img.width as f32 * scale, img.height as f32 * scale);
    let (x, y) = ((w - iw) / 2.0, (h - ih) / 2.0);
    let mut xobjects = Dictionary::new();
    xobjects.set("Im0", Object::Reference(image_id));
    let mut resources = Dictionary::new();
    resources.set("XObject", xobjects);
    form(
        w,
        h,
        resources,
        format!("q {iw:.3} 0 0 {ih:.3} {x:.3} {y:.3} cm /Im0 Do Q\n"),
    )
}

/// The commission seal's mark: a red double ring with a five-pointed star, fitted in `w`×`h`.
pub(super) fn seal_form(w: f32, h: f32) -> Stream {
    let r = w.min(h) / 2.0 - 1.0;
    let (cx, cy) = (w / 2.0, h / 2.0);
    let mut c = String::from("q 0.8 0 0 RG 0.8 0 0 rg\n");
    for (radius, width) in [(r, r * 0.06), (r * 0.88, r * 0.02)] {
        c.push_str(&circle(cx, cy, radius));
        c.push_str(&format!("{width:.3} w S\n"));
    }
    let star_r = r * 0.35;
    for i in 0..5 {
        let outer = std::f32::consts::FRAC_PI_2 + i as f32 * std::f32::consts::TAU / 5.0;
        let inner = outer + std::f32::consts::PI / 5.0;
        let (ox, oy) = (cx + star_r * outer.cos(), cy + star_r * outer.sin());
        let (ix, iy) = (
            cx + star_r * 0.382 * inner.cos(),
            cy + star_r * 0.382 * inner.sin(),
        );
        let op = if i == 0 { "m" } else { "l" };
        c.push_str(&format!("{ox:.3} {oy:.3} {op} {ix:.3} {iy:.3} l\n"));
    }
    c.push_str("h f Q\n");
    form(w, h, Dictionary::new(), c)
}

/// A circle as four Bézier curves.
fn circle(cx: f32, cy: f32, r: f32) -> String {
    let k = r * 0.552_284_8;
    format!(
        "{x0:.3} {cy:.3} m {x0:.3} {a:.3} {b:.3} {y1:.3} {cx:.3} {y1:.3} c {d:.3} {y1:.3} {x1:.3} {a:.3} {x1:.3} {cy:.3} c \
         {x1:.3} {e:.3} {d:.3} {y0:.3} {cx:.3} {y0:.3} c {b:.3} {y0:.3} {x0:.3} {e:.3} {x0:.3} {cy:.3} c\n",
        x0 = cx - r,
        x1 = cx + r,
        y0 = cy - r,
        y1 = cy + r,
        a = cy + k,
        b = cx - k,
        d = cx + k,
        e = cy - k,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn png_rgba(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().unwrap();
        let data: Vec<u8> = (0..w * h)
            .flat_map(|i| [0, 0, 0, if i % 3 == 0 { 255 } else { 0 }])
            .collect();
        writer.write_image_data(&data).unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn png_is_validated() {
        let a = Appearance::from_png(&png_rgba(40, 20)).unwrap();
        assert_eq!((a.width(), a.height()), (40, 20));
        assert!(a.alpha.is_some());
        let err = Appearance::from_png(b"GIF89a....").unwrap_err().to_string();
        assert!(err.contains("not an image"), "{err}");
        let mut broken = png_rgba(40, 20);
        broken.truncate(60);
        assert!(
            Appearance::from_png(&broken)
                .unwrap_err()
                .to_string()
                .contains("not an image")
        );
        assert!(Appearance::from_png(&png_rgba(2001, 10)).is_err());
        assert!(Appearance::from_png(&vec![0u8; (1 << 20) + 1]).is_err());
    }
}
