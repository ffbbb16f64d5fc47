//! Inline SVG charts, drawn by hand: the report must open from a mail attachment or an
//! artifact store with no network and no JavaScript, so no charting library or font
//! is fetched. Every chart has a `<title>` (its accessible name) and a legend; numbers
//! are rounded so the SVG stays small and its text stable between runs.

use std::fmt::Write;

use adaptd_optimizer::recommend::CostParts;
use adaptd_optimizer::recommend::frontier::FrontierPoint;

use crate::model::HourPoint;
use crate::text::{ms, usd0};

mod frame;

use self::frame::{
    Area, hour_axis, legend, line_path, n, open, step_path, tick_label, ticks, y_axis,
};

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
}
