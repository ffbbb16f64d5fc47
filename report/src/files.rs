//! The files of a report and the index of many, as names and contents: the caller
//! writes them. Names are stable (`report.html`, never a timestamped name) so that links
//! and bookmarks to "this week's report" keep working, and each report directory has a
//! `manifest.json` from which the index of all periods is rebuilt.

use std::fmt::Write;

use adaptd_config::ReportFormat;
use serde::{Deserialize, Serialize};

use crate::chart::esc;
use crate::model::{PeriodInfo, Report};
use crate::text::{human_range, usd0};
use crate::{ReportError, csv, html, markdown};

/// Name of the manifest in every report directory.
pub const MANIFEST: &str = "manifest.json";

/// One file of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedFile {
    /// File name inside the report directory.
    pub name: &'static str,
    /// Its contents.
    pub contents: String,
}

/// The file names a format is written to.
pub fn file_names(format: ReportFormat) -> &'static [&'static str] {
    match format {
        ReportFormat::Html => &["report.html"],
        ReportFormat::Markdown => &["report.md"],
        ReportFormat::Json => &["report.json"],
        ReportFormat::Csv => &["components.csv", "changes.csv"],
    }
}

/// What an index needs to know about a report, without reading the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The report's schema version.
    pub schema_version: u32,
    /// Its title.
    pub title: String,
    /// Its period.
    pub period: PeriodInfo,
    /// When it was made.
    pub generated_at: String,
    /// Headline: savings available.
    pub available_savings_usd_per_month: f64,
    /// Headline: savings realised.
    pub realised_savings_usd_per_month: f64,
    /// Headline: SLO risks.
    pub slo_risks: usize,
    /// Headline: data-quality warnings.
    pub data_quality_warnings: usize,
    /// The files written, in format order.
    pub files: Vec<String>,
}

/// Every file of `report` in `formats` (each once, in the order given), then the
/// manifest.
pub fn render_files(
    report: &Report,
    formats: &[ReportFormat],
) -> Result<Vec<RenderedFile>, ReportError> {
    let mut out = Vec::new();
    let mut done: Vec<ReportFormat> = Vec::new();
    for &f in formats {
        if done.contains(&f) {
            continue;
        }
        done.push(f);
        match f {
            ReportFormat::Html => out.push(RenderedFile {
                name: "report.html",
                contents: html::render(report),
            }),
            ReportFormat::Markdown => out.push(RenderedFile {
                name: "report.md",
                contents: markdown::render(report),
            }),
            ReportFormat::Json => out.push(RenderedFile {
                name: "report.json",
                contents: serde_json::to_string_pretty(report)? + "\n",
            }),
            ReportFormat::Csv => {
                out.push(RenderedFile {
                    name: "components.csv",
                    contents: csv::components(report),
                });
                out.push(RenderedFile {
                    name: "changes.csv",
                    contents: csv::changes(report),
                });
            }
        }
    }
    let s = &report.summary;
    let manifest = Manifest {
        schema_version: report.schema_version,
        title: report.title.clone(),
        period: report.period.clone(),
        generated_at: report.generated_at.clone(),
        available_savings_usd_per_month: s.available_savings_usd_per_month,
        realised_savings_usd_per_month: s.realised_savings_usd_per_month,
        slo_risks: s.slo_risks,
        data_quality_warnings: s.data_quality_warnings,
        files: out.iter().map(|f| f.name.to_owned()).collect(),
    };
    out.push(RenderedFile {
        name: MANIFEST,
        contents: serde_json::to_string_pretty(&manifest)? + "\n",
    });
    Ok(out)
}

/// The index page of a reports directory: one row per period, newest first, linking to
/// each period's `report.html` (or its first file when HTML was not written).
pub fn render_index(manifests: &[Manifest]) -> String {
    let mut sorted: Vec<&Manifest> = manifests.iter().collect();
    sorted.sort_by(|a, b| b.period.id.cmp(&a.period.id));
    let mut o = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>adaptd reports</title>\
         <style>body{font:15px/1.5 system-ui,\"DejaVu Sans\",sans-serif;max-width:960px;margin:30px auto;padding:0 20px;color:#111827}\
         table{border-collapse:collapse;width:100%}th,td{padding:7px 10px;border-bottom:1px solid #e5e7eb;text-align:left}\
         td.n,th.n{text-align:right}</style></head><body><h1>adaptd reports</h1>",
    );
    if sorted.is_empty() {
        o.push_str("<p>No reports yet.</p>");
    } else {
        o.push_str(
            "<table><tr><th>Period</th><th class=\"n\">Available / mo</th><th class=\"n\">Realised / mo</th>\
             <th class=\"n\">SLO risks</th><th class=\"n\">Data warnings</th><th>Files</th></tr>",
        );
        for m in sorted {
            let id = esc(&m.period.id);
            let main = m
                .files
                .iter()
                .find(|f| *f == "report.html")
                .or(m.files.first());
            let files: Vec<String> = m
                .files
                .iter()
                .map(|f| format!("<a href=\"{id}/{f}\">{f}</a>", f = esc(f)))
                .collect();
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                match main {
                    Some(f) => format!(
                        "<a href=\"{id}/{}\">{}</a>",
                        esc(f),
                        human_range(m.period.start_minute, m.period.end_minute)
                    ),
                    None => human_range(m.period.start_minute, m.period.end_minute),
                },
                usd0(m.available_savings_usd_per_month),
                usd0(m.realised_savings_usd_per_month),
                m.slo_risks,
                m.data_quality_warnings,
                files.join(" · ")
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</body></html>\n");
    o
}
