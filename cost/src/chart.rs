//! A budget-burn chart as an SVG string: cumulative actual spend, the linear path to the budget, the
//! blended projection to month end (with the CE interval when present) and the 80/100/120/150 % lines.
//!
//! Drawn with `plotters` (SVG backend only, no font or system dependencies: text is emitted as SVG
//! `<text>` and laid out by the viewer). Amounts become `f64` here for drawing coordinates only.

use plotters::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::burn::{BudgetBurn, Tier};
use crate::input::DailyTotal;

/// Drawing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chart: {0}")]
pub struct ChartError(pub String);

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError(e.to_string())
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
/// [`ChartError`] if plotters fails to lay out the chart (e.g. a zero-sized canvas).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use rust_decimal::Decimal;
/// let input = cost::burn::BurnInput {
///     budget_name: "prod".into(), limit: Decimal::from(500), actual: Decimal::from(300),
///     budgets_forecast: None, daily: vec![], ce_forecast: None,
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
    if width < 200 || height < 120 {
        return Err(ChartError(format!(
            "canvas {width}×{height} is too small (min 200×120)"
        )));
    }
    let days = f64::from(burn.period.days());
    let b = f(burn.limit);
    let now = f(burn.elapsed_fraction) * days;
    let upper = burn.projections.ce.as_ref().and_then(|c| c.upper).map_or(0.0, f);
    let y_max = [b * 1.6, f(burn.projections.blended), f(burn.actual), upper]
        .into_iter()
        .fold(0.0, f64::max)
        * 1.05;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let title = format!("{} — {} burn", burn.budget_name, burn.period.key());
        let mut chart = ChartBuilder::on(&root)
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
            let color = match t {
                Tier::Pct80 => RGBColor(230, 180, 0),
                Tier::Pct100 => RGBColor(230, 120, 0),
                Tier::Pct120 => RGBColor(210, 40, 40),
                _ => RGBColor(140, 0, 0),
            };
            chart
                .draw_series(LineSeries::new([(0.0, y), (days, y)], color.stroke_width(1)))
                .map_err(err)?
                .label(format!("{} of budget", t.label()))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
        }
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (days, b)],
                BLUE.mix(0.5).stroke_width(1),
            ))
            .map_err(err)?
            .label("linear (B·f)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE.mix(0.5)));

        let mut actual: Vec<(f64, f64)> = cumulative_actual(burn, daily)
            .into_iter()
            .map(|(d, a)| (f64::from(d), f(a)))
            .collect();
        if actual.last().is_none_or(|(d, _)| *d < now) {
            actual.push((now, f(burn.actual)));
        }
        chart
            .draw_series(LineSeries::new(actual, BLACK.stroke_width(3)))
            .map_err(err)?
            .label("actual")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.stroke_width(3)));

        let start = (now, f(burn.actual));
        if let Some((lo, hi)) = burn.projections.ce.as_ref().and_then(|c| c.lower.zip(c.upper)) {
            let band = Polygon::new(
                vec![start, (days, f(lo)), (days, f(hi))],
                MAGENTA.mix(0.15).filled(),
            );
            chart.draw_series(std::iter::once(band)).map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                [start, (days, f(burn.projections.blended))],
                MAGENTA.stroke_width(2),
            ))
            .map_err(err)?
            .label("projection (blended)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], MAGENTA.stroke_width(2)));

        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::demo_inputs;
    use crate::report::{ReportSettings, build_report};
    use rust_decimal_macros::dec;

    #[test]
    fn demo_chart_has_every_series_and_threshold() {
        let inputs = demo_inputs();
        let report = build_report(
            &inputs,
            &ReportSettings::default(),
            crate::pricing::PriceTable::bundled().unwrap(),
        );
        let burn = &report.budgets[0];
        let daily = inputs.cost_and_usage.daily_totals();
        let svg = burn_chart_svg(burn, &daily, 900, 450).unwrap();
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
    }

    #[test]
    fn cumulative_actual_sums_days_of_the_month_only() {
        let inputs = demo_inputs();
        let report = build_report(
            &inputs,
            &ReportSettings::default(),
            crate::pricing::PriceTable::bundled().unwrap(),
        );
        let burn = &report.budgets[0];
        let cum = cumulative_actual(burn, &inputs.cost_and_usage.daily_totals());
        assert_eq!(cum[0], (0, Decimal::ZERO));
        assert_eq!(cum[1], (1, dec!(13.3667)));
        // Through June 18 (partial day included) the cumulative equals A.
        assert_eq!(cum.last().unwrap(), &(18, burn.actual));
    }

    #[test]
    fn tiny_canvas_is_an_error() {
        let report = build_report(
            &demo_inputs(),
            &ReportSettings::default(),
            crate::pricing::PriceTable::bundled().unwrap(),
        );
        assert!(burn_chart_svg(&report.budgets[0], &[], 10, 10).is_err());
    }
}
