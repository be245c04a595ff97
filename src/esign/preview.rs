//! Page images of a PDF for phones. WeChat's browser and Android WebViews do not show a
//! PDF inline, so the signer reads the document as images rendered, here, from the very
//! bytes that will be signed (hayro, a pure-Rust rasterizer: no external process).

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings, render};

/// The largest scale served (2× A4 is about 1190 × 1684 px).
pub const MAX_SCALE: f32 = 3.0;

/// Page `index` (0-based) as a PNG at `scale` × 72 dpi, or `None` if the PDF cannot be
/// read or has no such page.
pub fn page_png(pdf: &[u8], index: usize, scale: f32) -> Option<Vec<u8>> {
    let scale = scale.clamp(0.5, MAX_SCALE);
    let pdf = Pdf::new(pdf.to_vec()).ok()?;
    let pages = pdf.pages();
    let page = pages.get(index)?;
    let cache = RenderCache::new();
    let pixmap = render(
        page,
        &cache,
        &InterpreterSettings::default(),
        &RenderSettings::default(),
        &PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: WHITE,
        },
    );
    pixmap.into_png().ok()
}

/// Number of pages, or `None` if the PDF cannot be read.
pub fn page_count(pdf: &[u8]) -> Option<usize> {
    Some(Pdf::new(pdf.to_vec()).ok()?.pages().len())
}
