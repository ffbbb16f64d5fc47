//! Inline SVG charts, drawn by hand: the report must open from a mail attachment or an
//! artifact store with no network and no JavaScript, so no charting library or font
//! is fetched. Every chart has a `<title>` (its accessible name) and a legend; numbers
//! are rounded so the SVG stays small and its text stable between runs.

use std::fmt::Write;

use adaptd_optimizer::recommend::CostParts;
use adaptd_optimizer::recommend::frontier::FrontierPoint;

use crate::model::HourPoint;
use crate::text::{ms, usd0};

/// Colours shared with the page's CSS legend swatches.
pub const NOW: &str = "#8a94a6";
/// See [`NOW`].
pub const RECOMMENDED: &str = "#0f766e";
/// See [`NOW`].
pub const OBSERVED: &str = "#d97706";
/// See [`NOW`].
pub const SLO: &str = "#dc2626";
const TRAFFIC: &str = "#bfdbfe";
const TRAFFIC_P99: &str = "#1d4ed8";
const GRID: &str = "#e5e7eb";

/// Escapes text for XML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number with at most one decimal, as SVG coordinates want it.
fn n(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// A round upper bound and the ticks up to it (1, 2, 2.5 or 5 × 10^k steps).
fn ticks(max: f64, count: usize) -> (f64, Vec<f64>) {
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
fn tick_label(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", n(v / 1000.0))
    } else {
        n(v)
    }
}

/// The plot area inside a chart of `width × height`.
#[derive(Clone, Copy)]
struct Area {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Area {
    fn new(width: f64, height: f64, right_axis: bool) -> Self {
        Self {
            x0: 52.0,
            x1: width - if right_axis { 48.0 } else { 16.0 },
            y0: 46.0,
            y1: height - 34.0,
        }
    }

    fn y(&self, v: f64, top: f64) -> f64 {
        self.y1 - (v / top).clamp(0.0, 1.2) * (self.y1 - self.y0)
    }
}

fn open(out: &mut String, width: f64, height: f64, title: &str) {
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
fn y_axis(out: &mut String, a: &Area, top: f64, ticks: &[f64], label: &str, right: bool) {
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
fn hour_axis(out: &mut String, a: &Area, zone: &str) {
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
fn legend(out: &mut String, x: f64, y: f64, kind: &str, colour: &str, text: &str) -> f64 {
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
fn step_path(values: &[f64], a: &Area, top: f64) -> String {
    let band = (a.x1 - a.x0) / 24.0;
    let mut d = String::new();
    for (h, v) in values.iter().enumerate() {
        let y = n(a.y(*v, top));
        let (xa, xb) = (n(a.x0 + band * h as f64), n(a.x0 + band * (h + 1) as f64));
        let _ = write!(d, "{}{xa} {y} L{xb} {y} ", if h == 0 { "M" } else { "L" });
    }
    d.trim_end().to_owned()
}

/// Traffic by hour (mean bars, p99 ticks) with the provisioned-concurrency or task
/// schedule in place and recommended overlaid on a right axis.
pub fn traffic(
    hours: &[HourPoint],
    zone: &str,
    level_now: &str,
    level_rec: &str,
    title: &str,
) -> String {
    let (w, h) = (960.0, 250.0);
    let levels = hours
        .iter()
        .any(|p| p.current_level > 0 || p.recommended_level > 0);
    let a = Area::new(w, h, levels);
    let mut out = String::new();
    open(&mut out, w, h, title);
    let peak = hours
        .iter()
        .map(|p| p.p99_invocations_per_minute.max(p.invocations_per_minute))
        .fold(0.0, f64::max);
    let (top, ts) = ticks(peak, 4);
    y_axis(&mut out, &a, top, &ts, "invocations / min", false);
    let band = (a.x1 - a.x0) / 24.0;
    for p in hours.iter().filter(|p| p.hour < 24) {
        let x = a.x0 + band * p.hour as f64 + band * 0.15;
        let y = a.y(p.invocations_per_minute, top);
        let _ = write!(
            out,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{TRAFFIC}"><title>{:02}h: {} / min mean, {} p99</title></rect>"#,
            n(x),
            n(y),
            n(band * 0.7),
            n(a.y1 - y),
            p.hour,
            n(p.invocations_per_minute),
            n(p.p99_invocations_per_minute)
        );
        let yp = n(a.y(p.p99_invocations_per_minute, top));
        let _ = write!(
            out,
            r#"<line x1="{}" x2="{}" y1="{yp}" y2="{yp}" stroke="{TRAFFIC_P99}" stroke-width="2"/>"#,
            n(x),
            n(x + band * 0.7)
        );
    }
    hour_axis(&mut out, &a, zone);
    let mut lx = a.x0;
    lx = legend(&mut out, lx, 16.0, "bar", TRAFFIC, "mean");
    lx = legend(&mut out, lx, 16.0, "line", TRAFFIC_P99, "p99 minute");
    if levels {
        let now: Vec<f64> = hours.iter().map(|p| f64::from(p.current_level)).collect();
        let rec: Vec<f64> = hours
            .iter()
            .map(|p| f64::from(p.recommended_level))
            .collect();
        let (ltop, lts) = ticks(now.iter().chain(&rec).fold(0.0, |m, v| m.max(*v)), 4);
        y_axis(&mut out, &a, ltop, &lts, "level", true);
        let _ = write!(
            out,
            r#"<path d="{}" fill="none" stroke="{NOW}" stroke-width="2.5" stroke-dasharray="5 4"/>"#,
            step_path(&now, &a, ltop)
        );
        let _ = write!(
            out,
            r#"<path d="{}" fill="none" stroke="{RECOMMENDED}" stroke-width="2.5"/>"#,
            step_path(&rec, &a, ltop)
        );
        lx = legend(&mut out, lx, 16.0, "dash", NOW, level_now);
        legend(&mut out, lx, 16.0, "line", RECOMMENDED, level_rec);
    } else {
        legend(
            &mut out,
            lx,
            16.0,
            "line",
            "#ffffff",
            "no provisioned capacity now or recommended",
        );
    }
    out.push_str("</svg>");
    out
}

/// A polyline through the hours that have a value; gaps break the line.
fn line_path(values: &[Option<f64>], a: &Area, top: f64) -> String {
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

/// Predicted p99 (in place and recommended) against observed p99 execution time, per
/// hour, with the SLO target.
pub fn latency(hours: &[HourPoint], zone: &str, slo_p99_ms: Option<f64>, title: &str) -> String {
    let (w, h) = (960.0, 250.0);
    let a = Area::new(w, h, false);
    let mut out = String::new();
    open(&mut out, w, h, title);
    let now: Vec<Option<f64>> = hours
        .iter()
        .map(|p| Some(p.predicted_p99_ms_current))
        .collect();
    let rec: Vec<Option<f64>> = hours
        .iter()
        .map(|p| Some(p.predicted_p99_ms_recommended))
        .collect();
    let seen: Vec<Option<f64>> = hours.iter().map(|p| p.observed_p99_ms).collect();
    let peak = now
        .iter()
        .chain(&rec)
        .chain(&seen)
        .flatten()
        .copied()
        .chain(slo_p99_ms)
        .fold(0.0, f64::max);
    let (top, ts) = ticks(peak * 1.05, 4);
    y_axis(&mut out, &a, top, &ts, "p99 latency (ms)", false);
    hour_axis(&mut out, &a, zone);
    if let Some(t) = slo_p99_ms {
        let y = n(a.y(t, top));
        let _ = write!(
            out,
            r#"<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="{SLO}" stroke-width="1.5" stroke-dasharray="6 4"/>"#,
            n(a.x0),
            n(a.x1)
        );
    }
    for (values, colour, dash) in [
        (&now, NOW, r#" stroke-dasharray="5 4""#),
        (&rec, RECOMMENDED, ""),
        (&seen, OBSERVED, ""),
    ] {
        let _ = write!(
            out,
            r#"<path d="{}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>"#,
            line_path(values, &a, top)
        );
    }
    let band = (a.x1 - a.x0) / 24.0;
    for (hh, v) in seen.iter().enumerate() {
        if let Some(v) = v {
            let _ = write!(
                out,
                r#"<circle cx="{}" cy="{}" r="2.5" fill="{OBSERVED}"/>"#,
                n(a.x0 + band * (hh as f64 + 0.5)),
                n(a.y(*v, top))
            );
        }
    }
    let mut lx = a.x0;
    lx = legend(&mut out, lx, 16.0, "dash", NOW, "predicted now");
    lx = legend(
        &mut out,
        lx,
        16.0,
        "line",
        RECOMMENDED,
        "predicted recommended",
    );
    lx = legend(&mut out, lx, 16.0, "line", OBSERVED, "observed (execution)");
    if slo_p99_ms.is_some() {
        legend(&mut out, lx, 16.0, "dash", SLO, "SLO target");
    }
    out.push_str("</svg>");
    out
}

/// The parts of a monthly cost, with their colours, in stacking order.
pub fn cost_parts(c: &CostParts) -> [(&'static str, &'static str, f64); 6] {
    [
        ("requests", "#94a3b8", c.requests_usd_per_month),
        ("duration", "#0ea5e9", c.duration_usd_per_month),
        ("init", "#f59e0b", c.init_usd_per_month),
        ("provisioned", "#8b5cf6", c.provisioned_usd_per_month),
        ("tasks", "#10b981", c.tasks_usd_per_month),
        ("load balancer", "#475569", c.load_balancer_usd_per_month),
    ]
}

/// Two stacked horizontal bars, cost in place and recommended, by part.
pub fn cost(now: &CostParts, rec: &CostParts, title: &str) -> String {
    let (w, h) = (960.0, 132.0);
    let (x0, x1) = (110.0, w - 90.0);
    let mut out = String::new();
    open(&mut out, w, h, title);
    let total = |c: &CostParts| cost_parts(c).iter().map(|p| p.2).sum::<f64>();
    let (top, _) = ticks(total(now).max(total(rec)), 4);
    let mut used = [false; 6];
    for (row, (label, c)) in [("now", now), ("recommended", rec)].iter().enumerate() {
        let y = 34.0 + row as f64 * 34.0;
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end" class="tick">{label}</text>"#,
            n(x0 - 8.0),
            n(y + 15.0)
        );
        let mut x = x0;
        for (i, (name, colour, v)) in cost_parts(c).iter().enumerate() {
            if *v <= 0.0 {
                continue;
            }
            used[i] = true;
            let width = v / top * (x1 - x0);
            let _ = write!(
                out,
                r#"<rect x="{}" y="{}" width="{}" height="22" fill="{colour}"><title>{name}: {}/month</title></rect>"#,
                n(x),
                n(y),
                n(width.max(0.5)),
                usd0(*v)
            );
            x += width;
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" class="value">{}/mo</text>"#,
            n(x + 6.0),
            n(y + 15.0),
            usd0(total(c))
        );
    }
    let mut lx = x0;
    for (i, (name, colour, _)) in cost_parts(now).iter().enumerate() {
        if used[i] {
            lx = legend(&mut out, lx, 118.0, "bar", colour, name);
        }
    }
    out.push_str("</svg>");
    out
}

/// The cost–latency frontier (cost against worst-hour p99), with the deployment in
/// place and the recommendation marked, and the SLO target.
pub fn frontier(
    points: &[FrontierPoint],
    now: Option<(f64, f64)>,
    rec: Option<(f64, f64)>,
    slo_p99_ms: Option<f64>,
    title: &str,
) -> String {
    let (w, h) = (960.0, 270.0);
    let mut a = Area::new(w, h, false);
    a.x0 = 64.0;
    let mut out = String::new();
    open(&mut out, w, h, title);
    let xs = points
        .iter()
        .map(|p| p.worst_hour_p99_ms)
        .chain(now.map(|p| p.1))
        .chain(rec.map(|p| p.1))
        .chain(slo_p99_ms);
    let ys = points
        .iter()
        .map(|p| p.usd_per_month)
        .chain(now.map(|p| p.0))
        .chain(rec.map(|p| p.0));
    let (xtop, xts) = ticks(xs.fold(0.0, f64::max) * 1.05, 5);
    let (ytop, yts) = ticks(ys.fold(0.0, f64::max) * 1.05, 4);
    let px = |v: f64| a.x0 + (v / xtop).clamp(0.0, 1.0) * (a.x1 - a.x0);
    y_axis(&mut out, &a, ytop, &yts, "USD / month", false);
    for t in &xts {
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
            n(px(*t)),
            n(a.y1 + 16.0),
            tick_label(*t)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" text-anchor="end" class="axis">worst-hour p99 (ms)</text>"#,
        n(a.x1),
        n(a.y1 + 30.0)
    );
    if let Some(t) = slo_p99_ms {
        let x = n(px(t));
        let _ = write!(
            out,
            r#"<line x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="{SLO}" stroke-width="1.5" stroke-dasharray="6 4"/>"#,
            n(a.y0),
            n(a.y1)
        );
    }
    // Cheapest (slowest) first: a staircase down to the right.
    let mut d = String::new();
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            d,
            "{}{} {} ",
            if i == 0 { "M" } else { "L" },
            n(px(p.worst_hour_p99_ms)),
            n(a.y(p.usd_per_month, ytop))
        );
    }
    let _ = write!(
        out,
        r##"<path d="{}" fill="none" stroke="#6366f1" stroke-width="2"/>"##,
        d.trim_end()
    );
    for p in points {
        let _ = write!(
            out,
            r##"<circle cx="{}" cy="{}" r="3.5" fill="#6366f1"><title>{}: {}/month, p99 {}</title></circle>"##,
            n(px(p.worst_hour_p99_ms)),
            n(a.y(p.usd_per_month, ytop)),
            esc(&p.description),
            usd0(p.usd_per_month),
            ms(p.worst_hour_p99_ms)
        );
    }
    if let Some((c, l)) = now {
        let (x, y) = (px(l), a.y(c, ytop));
        let _ = write!(
            out,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{NOW}" transform="rotate(45 {} {})"/>"#,
            n(x - 5.0),
            n(y - 5.0),
            n(x),
            n(y)
        );
    }
    if let Some((c, l)) = rec {
        let _ = write!(
            out,
            r#"<circle cx="{}" cy="{}" r="7" fill="none" stroke="{RECOMMENDED}" stroke-width="3"/>"#,
            n(px(l)),
            n(a.y(c, ytop))
        );
    }
    let mut lx = a.x0;
    lx = legend(
        &mut out,
        lx,
        16.0,
        "line",
        "#6366f1",
        "frontier (cheapest at each p99)",
    );
    lx = legend(&mut out, lx, 16.0, "dot", NOW, "now");
    lx = legend(&mut out, lx, 16.0, "dot", RECOMMENDED, "recommended");
    if slo_p99_ms.is_some() {
        legend(&mut out, lx, 16.0, "dash", SLO, "SLO target");
    }
    out.push_str("</svg>");
    out
}

/// Monthly cost in place and recommended for the components with the largest savings,
/// as paired horizontal bars.
pub fn fleet_costs(rows: &[(String, f64, f64)], title: &str) -> String {
    let w = 960.0;
    let row_h = 30.0;
    let h = 40.0 + row_h * rows.len() as f64 + 10.0;
    let (x0, x1) = (150.0, w - 80.0);
    let mut out = String::new();
    open(&mut out, w, h, title);
    let (top, _) = ticks(rows.iter().map(|r| r.1.max(r.2)).fold(0.0, f64::max), 4);
    for (i, (name, now, rec)) in rows.iter().enumerate() {
        let y = 30.0 + row_h * i as f64;
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end" class="tick">{}</text>"#,
            n(x0 - 8.0),
            n(y + 15.0),
            esc(name)
        );
        for (j, (v, colour)) in [(*now, NOW), (*rec, RECOMMENDED)].iter().enumerate() {
            let yy = y + 3.0 + j as f64 * 12.0;
            let width = (v / top * (x1 - x0)).max(0.5);
            let _ = write!(
                out,
                r#"<rect x="{}" y="{}" width="{}" height="10" fill="{colour}"/>"#,
                n(x0),
                n(yy),
                n(width)
            );
            let _ = write!(
                out,
                r#"<text x="{}" y="{}" class="value">{}</text>"#,
                n(x0 + width + 5.0),
                n(yy + 9.0),
                usd0(*v)
            );
        }
    }
    let lx = legend(&mut out, x0, 16.0, "bar", NOW, "now, per month");
    legend(&mut out, lx, 16.0, "bar", RECOMMENDED, "recommended");
    out.push_str("</svg>");
    out
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
    fn hour_axes_name_the_zone_of_their_hours() {
        let hours: Vec<HourPoint> = (0..24)
            .map(|hour| HourPoint {
                hour,
                invocations_per_minute: 1.0,
                p99_invocations_per_minute: 2.0,
                current_level: 0,
                recommended_level: 1,
                predicted_p99_ms_current: 100.0,
                predicted_p99_ms_recommended: 90.0,
                observed_p99_ms: None,
            })
            .collect();
        let t = traffic(&hours, "Europe/Berlin", "now", "recommended", "t");
        assert!(t.contains("hour of day (Europe/Berlin)"), "{t}");
        let l = latency(&hours, "America/New_York", None, "l");
        assert!(l.contains("hour of day (America/New_York)"), "{l}");
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
