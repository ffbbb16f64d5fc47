//! What every chart is drawn in: the SVG's frame, its plot area, axes (a value axis
//! with round ticks, the hour-of-day axis naming its zone), legend entries, and the
//! paths of hourly values.

use std::fmt::Write;

use super::{GRID, esc};

/// A number with at most one decimal, as SVG coordinates want it.
pub(super) fn n(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// A round upper bound and the ticks up to it (1, 2, 2.5 or 5 × 10^k steps).
pub(super) fn ticks(max: f64, count: usize) -> (f64, Vec<f64>) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / count.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let top = (max / step).ceil() * step;
    let ticks = (0..=((top / step).round() as usize))
        .map(|i| i as f64 * step)
        .collect();
    (top, ticks)
}

/// Short tick labels: `1.5k`, `250`, `0.5`.
pub(super) fn tick_label(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", n(v / 1000.0))
    } else {
        n(v)
    }
}

/// The plot area inside a chart of `width × height`.
#[derive(Clone, Copy)]
pub(super) struct Area {
    /// Left edge.
    pub(super) x0: f64,
    /// Right edge.
    pub(super) x1: f64,
    /// Top edge.
    pub(super) y0: f64,
    /// Bottom edge (the zero line).
    pub(super) y1: f64,
}

impl Area {
    pub(super) fn new(width: f64, height: f64, right_axis: bool) -> Self {
        Self {
            x0: 52.0,
            x1: width - if right_axis { 48.0 } else { 16.0 },
            y0: 46.0,
            y1: height - 34.0,
        }
    }

    /// The y of value `v` on an axis up to `top`.
    pub(super) fn y(&self, v: f64, top: f64) -> f64 {
        self.y1 - (v / top).clamp(0.0, 1.2) * (self.y1 - self.y0)
    }
}

pub(super) fn open(out: &mut String, width: f64, height: f64, title: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{t}"><title>{t}</title>"#,
        n(width),
        n(height),
        n(width),
        n(height),
        t = esc(title)
    );
}

/// Horizontal grid and left (or right) axis labels.
pub(super) fn y_axis(
    out: &mut String,
    a: &Area,
    top: f64,
    ticks: &[f64],
    label: &str,
    right: bool,
) {
    for &t in ticks {
        let y = a.y(t, top);
        if !right {
            let _ = write!(
                out,
                r#"<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="{GRID}"/>"#,
                n(a.x0),
                n(a.x1),
                y = n(y)
            );
        }
        let (x, anchor) = if right {
            (a.x1 + 6.0, "start")
        } else {
            (a.x0 - 6.0, "end")
        };
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="{anchor}" class="tick">{}</text>"#,
            n(x),
            n(y + 4.0),
            tick_label(t)
        );
    }
    let (x, anchor) = if right {
        (a.x1 + 44.0, "end")
    } else {
        (a.x0 - 44.0, "start")
    };
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" text-anchor="{anchor}" class="axis">{}</text>"#,
        n(x),
        n(a.y0 - 10.0),
        esc(label)
    );
}

/// Hour labels under 24 bands, local to `zone` (an IANA name), which the axis names.
pub(super) fn hour_axis(out: &mut String, a: &Area, zone: &str) {
    let band = (a.x1 - a.x0) / 24.0;
    for h in (0..24).step_by(3) {
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" class="tick">{h:02}h</text>"#,
            n(a.x0 + band * (h as f64 + 0.5)),
            n(a.y1 + 16.0)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" text-anchor="end" class="axis">hour of day ({})</text>"#,
        n(a.x1),
        n(a.y1 + 30.0),
        esc(zone)
    );
}

/// A legend entry: swatch (`line`, `dash`, `bar` or `dot`) and text, at `x`.
pub(super) fn legend(
    out: &mut String,
    x: f64,
    y: f64,
    kind: &str,
    colour: &str,
    text: &str,
) -> f64 {
    match kind {
        "bar" => {
            let _ = write!(
                out,
                r#"<rect x="{}" y="{}" width="12" height="10" fill="{colour}"/>"#,
                n(x),
                n(y - 9.0)
            );
        }
        "dot" => {
            let _ = write!(
                out,
                r#"<circle cx="{}" cy="{}" r="4" fill="{colour}"/>"#,
                n(x + 6.0),
                n(y - 4.0)
            );
        }
        _ => {
            let dash = if kind == "dash" {
                r#" stroke-dasharray="4 3""#
            } else {
                ""
            };
            let _ = write!(
                out,
                r#"<line x1="{}" x2="{}" y1="{yy}" y2="{yy}" stroke="{colour}" stroke-width="2.5"{dash}/>"#,
                n(x),
                n(x + 14.0),
                yy = n(y - 4.0)
            );
        }
    }
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" class="legend">{}</text>"#,
        n(x + 18.0),
        n(y),
        esc(text)
    );
    x + 32.0 + 7.4 * text.chars().count() as f64
}

/// A step line over 24 hour bands.
pub(super) fn step_path(values: &[f64], a: &Area, top: f64) -> String {
    let band = (a.x1 - a.x0) / 24.0;
    let mut d = String::new();
    for (h, v) in values.iter().enumerate() {
        let y = n(a.y(*v, top));
        let (xa, xb) = (n(a.x0 + band * h as f64), n(a.x0 + band * (h + 1) as f64));
        let _ = write!(d, "{}{xa} {y} L{xb} {y} ", if h == 0 { "M" } else { "L" });
    }
    d.trim_end().to_owned()
}

/// A polyline through the hours that have a value; gaps break the line.
pub(super) fn line_path(values: &[Option<f64>], a: &Area, top: f64) -> String {
    let band = (a.x1 - a.x0) / 24.0;
    let mut d = String::new();
    let mut pen_down = false;
    for (h, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(
                    d,
                    "{}{} {} ",
                    if pen_down { "L" } else { "M" },
                    n(a.x0 + band * (h as f64 + 0.5)),
                    n(a.y(*v, top))
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(ticks(87.0, 4), (100.0, vec![0.0, 25.0, 50.0, 75.0, 100.0]));
        assert_eq!(ticks(3.2, 4).0, 4.0);
        assert_eq!(ticks(0.0, 4).0, 1.0);
        assert_eq!(ticks(f64::NAN, 4).0, 1.0);
        let (top, t) = ticks(12_345.0, 4);
        assert!(top >= 12_345.0 && t.len() <= 6, "{top} {t:?}");
    }

    #[test]
    fn text_is_escaped_and_numbers_trimmed() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(n(3.0), "3");
        assert_eq!(n(2.46), "2.5");
        assert_eq!(tick_label(1500.0), "1.5k");
    }

    #[test]
    fn gaps_break_the_observed_line() {
        let a = Area::new(960.0, 250.0, false);
        let d = line_path(&[Some(1.0), None, Some(2.0), Some(3.0)], &a, 4.0);
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('L').count(), 1, "{d}");
    }
}
