//! Lambda's choices besides memory and provisioned concurrency: reserved concurrency
//! (a decision where it protects a database or a guardrail bounds it), and whether a
//! component on another platform can run on Lambda at all.

use std::sync::Arc;

use super::Shape;
use crate::options::Context;
use crate::quantiles::QuantileSet;
use crate::spec::Deployment;

/// `base` under reserved concurrency `reserved`, from the cache when it has one.
pub(super) fn reserved_variant(
    ctx: &Context<'_>,
    base: &Shape,
    reserved: Option<u32>,
) -> Arc<Shape> {
    let build = || Some(base.with_reserved(reserved));
    let key = super::shape::shape_key(ctx, base.memory_mb, base.architecture, reserved);
    match ctx.cache {
        Some(cache) => cache
            .shape(key, build)
            .expect("with_reserved always builds"),
        None => Arc::new(base.with_reserved(reserved)),
    }
}

/// Throttle shares at which a reserved-concurrency cap is offered: each trades
/// throttles for connections and account concurrency the optimiser can price.
const RESERVED_THROTTLE_SHARES: [f64; 3] = [1e-2, 1e-3, 1e-4];

/// Whether reserved concurrency is decided for this component: it protects databases,
/// or guardrails bound it. Otherwise the deployed value is kept (a cap only adds
/// throttles and takes from the account's pool), and no variant is built.
fn decides_reserved(ctx: &Context<'_>) -> bool {
    let g = &ctx.spec.guardrails;
    !ctx.spec.databases.is_empty()
        || g.reserved_concurrency_min.is_some()
        || g.reserved_concurrency_max.is_some()
}

/// `r` within the guardrails' reserved-concurrency bounds: a maximum caps an uncapped
/// function, a minimum raises a lower reservation (an uncapped function stays uncapped
/// unless a maximum forces a value).
pub fn bounded_reserved(g: &crate::spec::Guardrails, r: Option<u32>) -> Option<u32> {
    let r = match (r, g.reserved_concurrency_max) {
        (None, Some(max)) => Some(max),
        (Some(r), Some(max)) => Some(r.min(max)),
        (r, None) => r,
    };
    match (r, g.reserved_concurrency_min) {
        (Some(r), Some(min)) => Some(r.max(min)),
        (r, _) => r,
    }
}

/// The reserved-concurrency values to offer at `shape`: the deployed one (within the
/// guardrails), and when decided, caps at the throttle shares above.
pub(super) fn reserved_options(
    ctx: &Context<'_>,
    shape: &Shape,
    deployed: Option<u32>,
) -> Vec<Option<u32>> {
    let g = &ctx.spec.guardrails;
    let mut out = vec![bounded_reserved(g, deployed)];
    if decides_reserved(ctx) {
        if g.reserved_concurrency_max.is_none() {
            out.push(None);
        }
        for share in RESERVED_THROTTLE_SHARES {
            out.push(bounded_reserved(
                g,
                Some(shape.cap_for_throttle_share(share)),
            ));
        }
    }
    let mut seen = Vec::with_capacity(out.len());
    out.retain(|r| {
        let fresh = !seen.contains(r);
        seen.push(*r);
        fresh
    });
    out
}

/// Why a component on another platform cannot run on Lambda, if it cannot: Lambda's
/// 15-minute duration, 10,240 MB memory and 6 MB payload limits.
pub(super) fn lambda_limit(ctx: &Context<'_>) -> Option<String> {
    if matches!(ctx.spec.current, Deployment::Lambda(_)) {
        return None;
    }
    let longest_ms = ctx
        .profile
        .duration_ms
        .as_ref()
        .map_or(0.0, QuantileSet::max);
    if longest_ms > 900_000.0 {
        return Some(format!(
            "its longest request ({:.0} s) exceeds Lambda's 15-minute limit",
            longest_ms / 1000.0
        ));
    }
    if let Some(used) = ctx.profile.max_memory_used_mb {
        let need = used * (1.0 + ctx.spec.model.memory_headroom.max(0.0));
        if need > 10_240.0 {
            return Some(format!("it needs {need:.0} MB, above Lambda's 10,240 MB"));
        }
    }
    if let Some(kb) = ctx.spec.model.max_payload_kb
        && kb > 6_144.0
    {
        return Some(format!(
            "its largest payload ({kb:.0} KB) exceeds Lambda's 6 MB"
        ));
    }
    None
}

/// How HTTP requests reach the function after a move from another platform.
pub(super) fn http_entry(ctx: &Context<'_>) -> Option<&'static str> {
    if matches!(ctx.spec.current, Deployment::Lambda(_)) || !crate::options::fargate::is_http(ctx) {
        return None;
    }
    let big = ctx.spec.model.max_payload_kb.is_some_and(|kb| kb > 1_024.0);
    Some(if ctx.spec.load_balancer && !big {
        "the existing ALB, the function as its target (bodies up to 1 MB)"
    } else {
        "a function URL (bodies up to 6 MB)"
    })
}
