//! Deterministic synthetic fleets of Lambda functions, shaped like the problems the
//! daemon builds, for benchmarks, tests and demos. Seeded with a tiny SplitMix64 so the
//! same seed gives the same problem on every platform and without any dependency.

use crate::problem::{Alt, AltUsage, Base, Item, Problem, Row, RowId, Slot, Switch, SwitchId};

/// SplitMix64: tiny, fast, statistically fine for generating test data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose whole future is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// What kind of fleet to generate.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    /// Number of functions.
    pub items: usize,
    /// Same seed, same fleet.
    pub seed: u64,
    /// Share of functions with a cold-start budget.
    pub budget_share: f64,
    /// Account concurrency limit: reserved concurrency plus this share of the peak
    /// hourly provisioned concurrency the functions would choose with no limit (below 1
    /// makes business hours bind); `None` for a limit that never binds.
    pub account_pressure: Option<f64>,
    /// Databases shared by a few functions each, with an RDS Proxy switch each.
    pub databases: usize,
}

impl FleetSpec {
    /// The bench's defaults: 60 % of functions with a budget, an account limit that
    /// binds in business hours, eight shared databases.
    pub fn new(items: usize, seed: u64) -> Self {
        Self {
            items,
            seed,
            budget_share: 0.6,
            account_pressure: Some(0.7),
            databases: 8,
        }
    }
}

const HOURS: usize = 24;
/// Provisioned concurrency price, USD per GB-second, times the seconds of one hour on
/// every day of a month: one environment of 1 GB during one hour each day.
const PC_HOUR_MONTH_PER_GB: f64 = 0.000_004_166_7 * 3600.0 * 30.0;
const ON_DEMAND_PER_GB_S: f64 = 0.000_016_666_7;

/// Relative daily traffic: quiet nights, busy business hours.
fn hour_shape(h: usize) -> f64 {
    match h {
        8..=18 => 1.0,
        6 | 7 | 19 | 20 => 0.55,
        _ => 0.15,
    }
}

/// Generates a fleet. With `account_pressure`, the per-hour account rows' capacity is
/// set from the levels the functions choose alone, so that the busiest hours bind.
pub fn lambda_fleet(spec: &FleetSpec) -> Problem {
    let mut rng = SplitMix64::new(spec.seed);
    let mut rows: Vec<Row> = (0..HOURS)
        .map(|h| Row {
            name: format!("account prod, hour {h:02}"),
            capacity: 0.0,
            lifted_by: None,
        })
        .collect();
    let mut switches = Vec::new();
    let mut db_members: Vec<Vec<usize>> = Vec::new();
    for d in 0..spec.databases {
        let s = switches.len();
        switches.push(Switch {
            name: format!("RDS Proxy for db-{d}"),
            cost: rng.range(30.0, 120.0),
            fixed: None,
        });
        rows.push(Row {
            name: format!("db-{d} connections"),
            capacity: 0.0,
            lifted_by: Some(SwitchId(s)),
        });
        let n = 3 + rng.below(4) as usize;
        db_members.push(
            (0..n)
                .map(|_| rng.below(spec.items.max(1) as u64) as usize)
                .collect(),
        );
    }
    let mut items = Vec::with_capacity(spec.items);
    for i in 0..spec.items {
        items.push(function(&mut rng, i, spec.budget_share));
    }
    // Database rows: each member's bases hold peak connections; capacity a bit below
    // what the members would use on their cheapest base.
    for (d, members) in db_members.iter().enumerate() {
        let row = RowId(HOURS + d);
        let mut typical = 0.0;
        for &i in members {
            let item = &mut items[i];
            let mut conns = Vec::new();
            for base in &mut item.bases {
                let c = (base.cost / 20.0).sqrt().ceil() + 2.0;
                base.usage.push((row, c));
                conns.push(c);
            }
            conns.sort_by(f64::total_cmp);
            typical += conns[conns.len() / 2];
        }
        rows[HOURS + d].capacity = (0.9 * typical).floor();
    }
    let mut problem = Problem {
        items,
        rows,
        switches,
    };
    let capacity = match spec.account_pressure {
        Some(p) => {
            let mut usage = [0.0f64; HOURS];
            let mut reserved = 0.0;
            let opts = crate::SolveOptions::default();
            for item in &problem.items {
                if let Ok((c, _)) = crate::solve_item(item, &opts) {
                    let base = &item.bases[c.base];
                    for (h, &l) in c.levels.iter().enumerate() {
                        usage[h] += f64::from(base.levels[l]);
                    }
                    for &(r, u) in &base.usage {
                        if r.0 < HOURS {
                            usage[r.0] += u;
                        }
                        if r.0 == 0 {
                            reserved += u;
                        }
                    }
                }
            }
            // Reserved concurrency cannot move: press on the provisioned part only.
            let peak = usage.iter().copied().fold(0.0, f64::max);
            (reserved + p * (peak - reserved)).floor()
        }
        None => f64::MAX / 4.0,
    };
    for row in problem.rows.iter_mut().take(HOURS) {
        row.capacity = capacity;
    }
    problem
}

fn function(rng: &mut SplitMix64, i: usize, budget_share: f64) -> Item {
    // Peak requests per second, long-tailed.
    let peak_rps = (rng.range(-1.0, 4.0) * std::f64::consts::LN_10)
        .exp()
        .min(3000.0)
        / 10.0;
    let duration_1gb = rng.range(0.05, 1.5);
    let max_level = rng.below(16) as u32;
    let nbases = 4 + rng.below(3) as usize;
    let memories: [f64; 6] = [512.0, 1024.0, 1769.0, 2048.0, 3008.0, 4096.0];
    let first = rng.below((memories.len() - nbases.div_ceil(2) + 1) as u64) as usize;
    let has_budget = rng.unit() < budget_share;
    let tightness = rng.range(0.15, 1.1);
    let reserved = if rng.unit() < 0.03 {
        (rng.below(8) + 2) as f64
    } else {
        0.0
    };
    let guard_hour = (rng.unit() < 0.1).then(|| rng.below(HOURS as u64) as usize);
    let mut bases = Vec::with_capacity(nbases);
    for b in 0..nbases {
        let mem = memories[(first + b / 2).min(memories.len() - 1)];
        let arm = b % 2 == 1;
        let gb = mem / 1024.0;
        let speed = (1.0 / gb).powf(0.6) * if arm { 1.1 } else { 1.0 };
        let duration = duration_1gb * speed;
        let price = if arm { 0.8 } else { 1.0 };
        let mut monthly = 0.0;
        let mut slots = Vec::with_capacity(HOURS);
        let mut cold_total = 0.0;
        let init = 0.2 + 0.6 / gb.sqrt();
        for h in 0..HOURS {
            let rps = peak_rps * hour_shape(h);
            let invocations = rps * 3600.0 * 30.0;
            monthly += invocations * duration * gb * ON_DEMAND_PER_GB_S * price;
            let conc = (rps * duration).max(0.05);
            let cold0 = invocations * 0.002 * init;
            let mut alternatives = Vec::with_capacity(max_level as usize + 1);
            let mut potential = Vec::with_capacity(max_level as usize + 1);
            for l in 0..=max_level {
                let lf = f64::from(l);
                let decay = (-lf / conc.max(0.5)).exp();
                potential.push(conc * 30.0 * init * decay);
                let allowed = guard_hour.is_none_or(|g| g != h || l <= max_level / 2);
                alternatives.push(allowed.then(|| Alt {
                    cost: lf * gb * PC_HOUR_MONTH_PER_GB * price,
                    risk: cold0 * decay,
                    usage: if l > 0 {
                        smallvec::smallvec![(RowId(h), lf)]
                    } else {
                        AltUsage::new()
                    },
                }));
            }
            cold_total += cold0;
            slots.push(Slot {
                alternatives,
                potential,
            });
        }
        let usage = if reserved > 0.0 {
            (0..HOURS).map(|h| (RowId(h), reserved)).collect()
        } else {
            Vec::new()
        };
        let mut base = Base {
            label: format!("{mem} MB {}", if arm { "arm64" } else { "x86_64" }),
            cost: monthly + invocations_cost(peak_rps),
            usage,
            levels: (0..=max_level).collect(),
            slots,
            cyclic: true,
            risk_budget: None,
        };
        if has_budget {
            // Between the risk of the highest allowed levels (always reachable) and the
            // risk with no provisioned concurrency at all.
            let top: Vec<usize> = base
                .slots
                .iter()
                .map(|s| {
                    s.alternatives
                        .iter()
                        .rposition(Option::is_some)
                        .unwrap_or(0)
                })
                .collect();
            let floor: f64 = (0..HOURS)
                .map(|h| {
                    base.slots[h].alternatives[top[h]]
                        .as_ref()
                        .map_or(0.0, |a| a.risk)
                        + base.transition_risk(h, &top)
                })
                .sum();
            base.risk_budget = Some(floor + (cold_total - floor).max(0.0) * tightness);
        }
        bases.push(base);
    }
    Item {
        name: format!("fn-{i:05}"),
        bases,
    }
}

fn invocations_cost(peak_rps: f64) -> f64 {
    let monthly: f64 = (0..HOURS)
        .map(|h| peak_rps * hour_shape(h) * 3600.0 * 30.0)
        .sum();
    monthly * 0.2 / 1e6
}
