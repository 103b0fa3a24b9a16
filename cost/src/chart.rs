//! The budget-burn chart of one budget: cumulative actual spend, the linear path to the budget, the
//! blended projection to month end (with the CE interval when present) and the 80/100/120/150 % lines.
//!
//! Drawn with `plotters`, as SVG ([`burn_chart_svg`]) or PNG ([`burn_chart_png`]), with no system
//! dependency: the SVG's text is emitted as `<text>` and laid out by the viewer; the PNG's text is
//! rasterised by `ab_glyph` from DejaVu Sans, embedded in the crate (`assets/DejaVuSans.ttf`, licence in
//! `assets/LICENSE-DejaVu.txt`), and the image is encoded by the pure-Rust `png` crate. No fontconfig,
//! no freetype. Amounts become `f64` here for drawing coordinates only.

use std::path::Path;
use std::sync::OnceLock;

use plotters::backend::{BitMapBackend, RGBPixel};
use plotters::coord::Shift;
use plotters::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::burn::{BudgetBurn, Tier};
use crate::input::DailyTotal;

/// Drawing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chart: {0}")]
pub struct ChartError(pub String);

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `assets/LICENSE-DejaVu.txt`): the font of PNG text.
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The smallest canvas the chart lays out on.
pub const MIN_SIZE: (u32, u32) = (200, 120);
/// The largest PNG canvas (its RGB buffer is `width × height × 3` bytes: 48 MiB at this size).
pub const MAX_PNG_SIZE: (u32, u32) = (4096, 4096);

/// An opaque RGB colour of the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    fn plotters(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// Cumulative actual spend (3 px wide).
pub const ACTUAL_COLOR: Rgb = Rgb(20, 20, 90);
/// The linear path `B·f` from 0 to the budget.
pub const LINEAR_COLOR: Rgb = Rgb(70, 130, 230);
/// The blended projection from now to month end (2 px wide).
pub const PROJECTION_COLOR: Rgb = Rgb(200, 0, 200);
/// The CE forecast interval band (the projection colour at 15 % over white).
pub const BAND_COLOR: Rgb = Rgb(247, 217, 247);

/// The colour of a tier's horizontal threshold line (`Ok` has none and gets the 80 % colour).
#[must_use]
pub const fn threshold_color(tier: Tier) -> Rgb {
    match tier {
        Tier::Ok | Tier::Pct80 => Rgb(230, 180, 0),
        Tier::Pct100 => Rgb(240, 110, 0),
        Tier::Pct120 => Rgb(210, 40, 40),
        Tier::Pct150 => Rgb(130, 0, 0),
    }
}

/// The file formats the chart is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    /// SVG (`.svg`): text laid out by the viewer.
    Svg,
    /// PNG (`.png`): 8-bit RGB, text drawn with the embedded font.
    Png,
}

impl ChartFormat {
    /// Every format, in the order named in messages.
    pub const ALL: [Self; 2] = [Self::Svg, Self::Png];

    /// The file extension, without the dot.
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Svg => "svg",
            Self::Png => "png",
        }
    }

    /// The format a path's extension names (case-insensitive), if any.
    ///
    /// ```
    /// use cost::chart::ChartFormat;
    /// use std::path::Path;
    /// assert_eq!(ChartFormat::from_path(Path::new("out/burn.PNG")), Some(ChartFormat::Png));
    /// assert_eq!(ChartFormat::from_path(Path::new("burn.svg")), Some(ChartFormat::Svg));
    /// assert_eq!(ChartFormat::from_path(Path::new("burn.jpg")), None);
    /// assert_eq!(ChartFormat::from_path(Path::new("burn")), None);
    /// ```
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?;
        Self::ALL
            .into_iter()
            .find(|f| f.extension().eq_ignore_ascii_case(ext))
    }
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError(e.to_string())
}

/// Registers the embedded font as plotters' `sans-serif` once per process. Both backends need it:
/// plotters measures label widths with it when laying out the chart, and the PNG draws with it.
fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ChartError("the embedded font does not parse".into()))
    }
}

fn check_size(width: u32, height: u32) -> Result<(), ChartError> {
    if width < MIN_SIZE.0 || height < MIN_SIZE.1 {
        return Err(ChartError(format!(
            "canvas {width}×{height} is too small (min {}×{})",
            MIN_SIZE.0, MIN_SIZE.1
        )));
    }
    Ok(())
}

/// Cumulative actual spend at the end of each day of the burn's month, from `daily` (days outside the
/// month are ignored; missing days add 0). Stops at the last day present.
#[must_use]
pub fn cumulative_actual(burn: &BudgetBurn, daily: &[DailyTotal]) -> Vec<(u32, Decimal)> {
    let mut days: Vec<&DailyTotal> = daily.iter().filter(|d| burn.period.contains(d.date)).collect();
    days.sort_by_key(|d| d.date);
    let Some(last) = days.last().map(|d| d.date) else {
        return Vec::new();
    };
    let mut total = Decimal::ZERO;
    let mut out = vec![(0, Decimal::ZERO)];
    for date in burn.period.start.iter_days().take_while(|d| *d <= last) {
        total += days
            .iter()
            .filter(|d| d.date == date)
            .map(|d| d.amount)
            .sum::<Decimal>();
        let day = u32::try_from((date - burn.period.start).num_days() + 1).unwrap_or(0);
        out.push((day, total));
    }
    out
}

/// Renders the burn chart of one budget as an SVG document.
///
/// # Errors
/// [`ChartError`] for a canvas under [`MIN_SIZE`], or if plotters fails to lay out the chart.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use rust_decimal::Decimal;
/// let input = cost::burn::BurnInput {
///     budget_name: "prod".into(), limit: Decimal::from(500), actual: Decimal::from(300),
///     budgets_forecast: None, daily: vec![], ce_forecast: None, time_unit: Default::default(),
/// };
/// let burn = cost::burn::budget_burn(&input, Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap()).unwrap();
/// let svg = cost::chart::burn_chart_svg(&burn, &[], 800, 400).unwrap();
/// assert!(svg.starts_with("<svg"));
/// ```
pub fn burn_chart_svg(
    burn: &BudgetBurn,
    daily: &[DailyTotal],
    width: u32,
    height: u32,
) -> Result<String, ChartError> {
    check_size(width, height)?;
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        draw(&root, burn, daily)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Renders the burn chart of one budget as a PNG image (8-bit RGB, `width × height` pixels), text
/// drawn with the embedded DejaVu Sans.
///
/// # Errors
/// [`ChartError`] for a canvas under [`MIN_SIZE`] or over [`MAX_PNG_SIZE`], or if drawing or encoding
/// fails.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use rust_decimal::Decimal;
/// let input = cost::burn::BurnInput {
///     budget_name: "prod".into(), limit: Decimal::from(500), actual: Decimal::from(300),
///     budgets_forecast: None, daily: vec![], ce_forecast: None, time_unit: Default::default(),
/// };
/// let burn = cost::burn::budget_burn(&input, Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap()).unwrap();
/// let png = cost::chart::burn_chart_png(&burn, &[], 800, 400).unwrap();
/// assert_eq!(&png[1..4], b"PNG");
/// ```
pub fn burn_chart_png(
    burn: &BudgetBurn,
    daily: &[DailyTotal],
    width: u32,
    height: u32,
) -> Result<Vec<u8>, ChartError> {
    check_size(width, height)?;
    if width > MAX_PNG_SIZE.0 || height > MAX_PNG_SIZE.1 {
        return Err(ChartError(format!(
            "canvas {width}×{height} is too large for a PNG (max {}×{})",
            MAX_PNG_SIZE.0, MAX_PNG_SIZE.1
        )));
    }
    ensure_font()?;
    // Both factors are ≤ 4096, so the product fits any usize of 32 bits or more.
    let mut rgb = vec![0_u8; width as usize * height as usize * 3];
    {
        let backend =
            BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (width, height)).map_err(err)?;
        let root = backend.into_drawing_area();
        draw(&root, burn, daily)?;
        root.present().map_err(err)?;
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(err)?;
        writer.write_image_data(&rgb).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok(png)
}

/// Renders the burn chart in `format`: the bytes of the file to write.
///
/// # Errors
/// As [`burn_chart_svg`] and [`burn_chart_png`].
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use cost::chart::ChartFormat;
/// use rust_decimal::Decimal;
/// let input = cost::burn::BurnInput {
///     budget_name: "prod".into(), limit: Decimal::from(500), actual: Decimal::from(300),
///     budgets_forecast: None, daily: vec![], ce_forecast: None, time_unit: Default::default(),
/// };
/// let burn = cost::burn::budget_burn(&input, Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap()).unwrap();
/// let svg = cost::chart::burn_chart(&burn, &[], 640, 320, ChartFormat::Svg).unwrap();
/// assert!(svg.starts_with(b"<svg"));
/// ```
pub fn burn_chart(
    burn: &BudgetBurn,
    daily: &[DailyTotal],
    width: u32,
    height: u32,
    format: ChartFormat,
) -> Result<Vec<u8>, ChartError> {
    match format {
        ChartFormat::Svg => burn_chart_svg(burn, daily, width, height).map(String::into_bytes),
        ChartFormat::Png => burn_chart_png(burn, daily, width, height),
    }
}

/// Draws the chart on any plotters backend; both formats share every coordinate and colour.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    burn: &BudgetBurn,
    daily: &[DailyTotal],
) -> Result<(), ChartError> {
    let days = f64::from(burn.period.days());
    let b = f(burn.limit);
    let now = f(burn.elapsed_fraction) * days;
    let upper = burn.projections.ce.as_ref().and_then(|c| c.upper).map_or(0.0, f);
    let y_max = [b * 1.6, f(burn.projections.blended), f(burn.actual), upper]
        .into_iter()
        .fold(0.0, f64::max)
        * 1.05;

    root.fill(&WHITE).map_err(err)?;
    let title = format!("{} — {} burn", burn.budget_name, burn.period.key());
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..days, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("day of month")
        .y_desc("USD")
        .y_label_formatter(&|v| format!("${v:.0}"))
        .draw()
        .map_err(err)?;

    for t in Tier::ALL.into_iter().skip(1) {
        let y = b * f64::from(t.threshold_pct()) / 100.0;
        let color = threshold_color(t).plotters();
        chart
            .draw_series(LineSeries::new([(0.0, y), (days, y)], color.stroke_width(1)))
            .map_err(err)?
            .label(format!("{} of budget", t.label()))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
    }
    let linear = LINEAR_COLOR.plotters();
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (days, b)], linear.stroke_width(1)))
        .map_err(err)?
        .label("linear (B·f)")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], linear));

    let start = (now, f(burn.actual));
    let projection = PROJECTION_COLOR.plotters();
    if let Some((lo, hi)) = burn.projections.ce.as_ref().and_then(|c| c.lower.zip(c.upper)) {
        let band = Polygon::new(
            vec![start, (days, f(lo)), (days, f(hi))],
            BAND_COLOR.plotters().filled(),
        );
        chart.draw_series(std::iter::once(band)).map_err(err)?;
    }
    chart
        .draw_series(LineSeries::new(
            [start, (days, f(burn.projections.blended))],
            projection.stroke_width(2),
        ))
        .map_err(err)?
        .label("projection (blended)")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], projection.stroke_width(2)));

    // Drawn last so the projection's start does not hide the end of the actual line.
    // A day's cumulative sits at the day's end; today's (partial) one sits at now, where the
    // projection starts.
    let mut actual: Vec<(f64, f64)> = cumulative_actual(burn, daily)
        .into_iter()
        .map(|(d, a)| (f64::from(d).min(now), f(a)))
        .collect();
    if actual.last().is_none_or(|(d, _)| *d < now) {
        actual.push((now, f(burn.actual)));
    }
    let actual_color = ACTUAL_COLOR.plotters();
    chart
        .draw_series(LineSeries::new(actual, actual_color.stroke_width(3)))
        .map_err(err)?
        .label("actual")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], actual_color.stroke_width(3)));

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::demo_inputs;
    use crate::report::{ReportSettings, build_report};
    use rust_decimal_macros::dec;

    fn demo() -> (BudgetBurn, Vec<DailyTotal>) {
        let inputs = demo_inputs();
        let report = build_report(
            &inputs,
            &ReportSettings::default(),
            crate::pricing::PriceTable::bundled().unwrap(),
        );
        (report.budgets[0].clone(), inputs.cost_and_usage.daily_totals())
    }

    #[test]
    fn demo_chart_has_every_series_and_threshold() {
        let (burn, daily) = demo();
        let svg = burn_chart_svg(&burn, &daily, 900, 450).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for label in [
            "collectiq-prod-monthly — 2025-06 burn",
            "80% of budget",
            "100% of budget",
            "120% of budget",
            "150% of budget",
            "linear (B·f)",
            "actual",
            "projection (blended)",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
        assert!(svg.contains("<polyline"), "line series are polylines");
        assert!(svg.contains("<polygon"), "the CE interval is a band");
        for c in [ACTUAL_COLOR, LINEAR_COLOR, PROJECTION_COLOR, BAND_COLOR]
            .into_iter()
            .chain(Tier::ALL.into_iter().skip(1).map(threshold_color))
        {
            let hex = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
            assert!(svg.contains(&hex), "{hex} missing");
        }
    }

    #[test]
    fn cumulative_actual_sums_days_of_the_month_only() {
        let (burn, daily) = demo();
        let cum = cumulative_actual(&burn, &daily);
        assert_eq!(cum[0], (0, Decimal::ZERO));
        assert_eq!(cum[1], (1, dec!(13.3667)));
        // Through June 18 (partial day included) the cumulative equals A.
        assert_eq!(cum.last().unwrap(), &(18, burn.actual));
    }

    #[test]
    fn tiny_canvas_is_an_error() {
        let (burn, _) = demo();
        assert!(burn_chart_svg(&burn, &[], 10, 10).is_err());
        assert!(burn_chart_png(&burn, &[], 10, 10).is_err());
        let too_big = burn_chart_png(&burn, &[], 5000, 300).unwrap_err();
        assert!(too_big.0.contains("max 4096×4096"), "{too_big}");
    }

    /// A decoded 8-bit RGB image.
    struct Image {
        width: u32,
        height: u32,
        rgb: Vec<u8>,
    }

    impl Image {
        fn decode(bytes: &[u8]) -> Self {
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            let mut reader = decoder.read_info().unwrap();
            let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut rgb).unwrap();
            assert_eq!(info.color_type, png::ColorType::Rgb);
            assert_eq!(info.bit_depth, png::BitDepth::Eight);
            rgb.truncate(info.buffer_size());
            Self {
                width: info.width,
                height: info.height,
                rgb,
            }
        }

        fn at(&self, x: u32, y: u32) -> Rgb {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            Rgb(self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])
        }

        fn pixels_of(&self, c: Rgb) -> Vec<(u32, u32)> {
            (0..self.height)
                .flat_map(|y| (0..self.width).map(move |x| (x, y)))
                .filter(|&(x, y)| self.at(x, y) == c)
                .collect()
        }

        /// Pixels inked with `c`: `c` itself, or `c` blended over white at ≥ 50 % coverage (plotters
        /// anti-aliases 1 px sloped lines).
        fn ink_of(&self, c: Rgb) -> Vec<(u32, u32)> {
            let ch = |v: u8| f64::from(v);
            // Coverage from the channel furthest from white, then every channel must agree.
            let (k, _) = [c.0, c.1, c.2]
                .into_iter()
                .enumerate()
                .min_by_key(|(_, v)| *v)
                .unwrap();
            (0..self.height)
                .flat_map(|y| (0..self.width).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    let p = self.at(x, y);
                    let (p, c) = ([p.0, p.1, p.2], [c.0, c.1, c.2]);
                    let b = (255.0 - ch(p[k])) / (255.0 - ch(c[k]));
                    (0.5..=1.01).contains(&b)
                        && (0..3).all(|i| {
                            let want = ch(c[i]) * b + 255.0 * (1.0 - b);
                            (ch(p[i]) - want).abs() <= 4.0
                        })
                })
                .collect()
        }

        /// Whether a pixel inked with `c` lies within `tol` pixels of `(x, y)`.
        fn near(&self, c: Rgb, (x, y): (f64, f64), tol: f64) -> bool {
            self.ink_of(c)
                .iter()
                .any(|&(px, py)| (f64::from(px) - x).abs() <= tol && (f64::from(py) - y).abs() <= tol)
        }

        /// The row holding the most pixels of `c`, and how many it holds.
        fn main_row(&self, c: Rgb) -> (u32, usize) {
            let mut counts = vec![0_usize; self.height as usize];
            for (_, y) in self.pixels_of(c) {
                counts[y as usize] += 1;
            }
            let (y, n) = counts.iter().enumerate().max_by_key(|(_, n)| **n).unwrap();
            (u32::try_from(y).unwrap(), *n)
        }
    }

    /// Decodes the demo PNG and locates every series by its colour, at the place the burn's numbers put
    /// it: the four thresholds as evenly scaled horizontal lines spanning the plot, the linear line from
    /// the origin to the 100 % line at month end, the actual line ending at (now, A), the projection
    /// ending at (month end, P) and the CE band between them.
    #[test]
    fn png_decodes_at_its_size_with_every_series_where_the_numbers_put_it() {
        let (burn, daily) = demo();
        let (w, h) = (960, 480);
        let img = Image::decode(&burn_chart_png(&burn, &daily, w, h).unwrap());
        assert_eq!((img.width, img.height), (w, h));
        assert_eq!(img.rgb.len(), 960 * 480 * 3);

        // Thresholds: one long horizontal line each, top to bottom 150, 120, 100, 80 %.
        let row = |t: Tier| {
            let (y, n) = img.main_row(threshold_color(t));
            assert!(n > 600, "{t:?}: only {n} pixels on its row");
            f64::from(y)
        };
        let (y80, y100, y120, y150) = (
            row(Tier::Pct80),
            row(Tier::Pct100),
            row(Tier::Pct120),
            row(Tier::Pct150),
        );
        assert!(y150 < y120 && y120 < y100 && y100 < y80);
        let px_per_pct = (y80 - y100) / 20.0;
        assert!(((y100 - y120) - 20.0 * px_per_pct).abs() <= 1.5);
        assert!(((y120 - y150) - 30.0 * px_per_pct).abs() <= 1.5);
        let y_of = |amount: Decimal| y100 + (100.0 - f(amount / burn.limit * dec!(100))) * px_per_pct;

        // The plot spans day 0 .. month end: the 80 % line's extent.
        let xs: Vec<f64> = img
            .pixels_of(threshold_color(Tier::Pct80))
            .into_iter()
            .filter(|&(_, y)| f64::from(y) == y80)
            .map(|(x, _)| f64::from(x))
            .collect();
        let (x0, x1) = (xs[0], xs[xs.len() - 1]);
        let days = f64::from(burn.period.days());
        let x_of = |day: f64| x0 + day / days * (x1 - x0);
        let now = f(burn.elapsed_fraction) * days;

        // Linear: through (month/2, B/2) and ending on the 100 % line at month end.
        assert!(img.near(LINEAR_COLOR, (x_of(days / 2.0), y_of(burn.limit / dec!(2))), 2.0));
        assert!(img.near(LINEAR_COLOR, (x1, y100), 2.0));

        // Actual: ends at (now, A), passes through day 9's cumulative, and never goes right of now
        // (the legend's sample is at the far left).
        let cum = cumulative_actual(&burn, &daily);
        assert!(img.near(ACTUAL_COLOR, (x_of(now), y_of(burn.actual)), 3.0));
        assert!(img.near(ACTUAL_COLOR, (x_of(9.0), y_of(cum[9].1)), 3.0));
        let actual = img.ink_of(ACTUAL_COLOR);
        assert!(actual.len() > 300, "{} actual pixels", actual.len());
        assert!(actual.iter().all(|&(x, _)| f64::from(x) <= x_of(now) + 3.0));

        // Projection: from (now, A) to (month end, P).
        let p = burn.projections.blended;
        let mid = ((now + days) / 2.0, y_of((burn.actual + p) / dec!(2)));
        assert!(img.near(PROJECTION_COLOR, (x_of(mid.0), mid.1), 3.0));
        assert!(img.near(PROJECTION_COLOR, (x1, y_of(p)), 3.0));

        // The CE interval: a band right of now, at month end between its bounds.
        let ce = burn.projections.ce.as_ref().unwrap();
        let (lo, hi) = (y_of(ce.lower.unwrap()), y_of(ce.upper.unwrap()));
        let band = img.pixels_of(BAND_COLOR);
        assert!(band.len() > 200, "{} band pixels", band.len());
        assert!(band.iter().all(|&(x, _)| f64::from(x) >= x_of(now) - 1.0));
        let at_end: Vec<f64> = band
            .iter()
            .filter(|&&(x, _)| f64::from(x) >= x1 - 3.0)
            .map(|&(_, y)| f64::from(y))
            .collect();
        assert!(!at_end.is_empty());
        assert!(at_end.iter().all(|y| *y >= hi - 2.0 && *y <= lo + 2.0));

        // Text is drawn with the embedded font: the caption row above the plot has dark glyph pixels.
        let glyph_pixels = (0..u32::try_from(y150 as i64).unwrap().min(30))
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let Rgb(r, g, b) = img.at(x, y);
                r < 100 && g < 100 && b < 100
            })
            .count();
        assert!(glyph_pixels > 100, "{glyph_pixels} caption pixels");
    }

    #[test]
    fn png_without_ce_interval_has_no_band_and_the_requested_size() {
        use chrono::{TimeZone, Utc};
        let input = crate::burn::BurnInput {
            budget_name: "dev".into(),
            time_unit: crate::burn::BudgetTimeUnit::Monthly,
            limit: dec!(50),
            actual: dec!(40),
            budgets_forecast: None,
            daily: vec![],
            ce_forecast: None,
        };
        let burn =
            crate::burn::budget_burn(&input, Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap()).unwrap();
        let img = Image::decode(&burn_chart(&burn, &[], 400, 240, ChartFormat::Png).unwrap());
        assert_eq!((img.width, img.height), (400, 240));
        assert!(img.pixels_of(BAND_COLOR).is_empty());
        for c in [ACTUAL_COLOR, LINEAR_COLOR, PROJECTION_COLOR] {
            assert!(img.ink_of(c).len() > 20, "{c:?}");
        }
    }

    #[test]
    fn svg_and_png_come_from_one_entry_point() {
        let (burn, daily) = demo();
        let svg = burn_chart(&burn, &daily, 640, 320, ChartFormat::Svg).unwrap();
        assert_eq!(svg, burn_chart_svg(&burn, &daily, 640, 320).unwrap().into_bytes());
        let png = burn_chart(&burn, &daily, 640, 320, ChartFormat::Png).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn formats_are_named_by_extension() {
        assert_eq!(
            ChartFormat::from_path(Path::new("a/b.SvG")),
            Some(ChartFormat::Svg)
        );
        assert_eq!(ChartFormat::from_path(Path::new("b.png")), Some(ChartFormat::Png));
        assert_eq!(ChartFormat::from_path(Path::new("b.jpeg")), None);
        assert_eq!(ChartFormat::from_path(Path::new(".png")), None);
        assert_eq!(ChartFormat::ALL.map(ChartFormat::extension), ["svg", "png"]);
    }
}
