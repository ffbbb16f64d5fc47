//! The selection model: one precomputed column per unit, subject to rows (the
//! restricted master, and group base selection).

use good_lp::{Expression, variable};

use super::model::{MilpError, Model, RunConfig};

/// One precomputed option of a unit in the selection model.
#[derive(Debug, Clone)]
pub(crate) struct SelectCol {
    pub cost: f64,
    /// `(row, amount)`, rows indexed into the `rows` given to [`select`].
    pub usage: Vec<(usize, f64)>,
}

#[derive(Debug, Clone)]
pub(crate) struct SelectRow {
    pub capacity: f64,
    /// Index into the `switches` given to [`select`].
    pub lifted_by: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct SelectSwitch {
    pub cost: f64,
    pub fixed: Option<bool>,
}

#[derive(Debug, Clone)]
pub(crate) struct Selection {
    pub pick: Vec<usize>,
    pub switches: Vec<bool>,
    pub objective: f64,
    pub bound: f64,
    /// Per row, the price (relaxed models only).
    pub row_prices: Vec<f64>,
}

/// Picks one column per unit (columns with infinite cost are not allowed) at least cost
/// subject to the rows. Units with a single allowed column become constants.
pub(crate) fn select(
    units: &[Vec<SelectCol>],
    rows: &[SelectRow],
    switches: &[SelectSwitch],
    cfg: &RunConfig,
    initial: Option<(&[usize], &[bool])>,
    relax: bool,
) -> Result<Selection, MilpError> {
    let mut m = Model::new(relax);
    let mut exprs = vec![Expression::default(); rows.len()];
    let mut caps: Vec<f64> = rows.iter().map(|r| r.capacity).collect();
    let mut row_max = vec![0.0; rows.len()];
    let mut cols: Vec<Vec<(usize, usize)>> = Vec::with_capacity(units.len());
    for unit in units {
        let allowed: Vec<usize> = (0..unit.len())
            .filter(|&k| unit[k].cost.is_finite())
            .collect();
        let mut here = Vec::new();
        let mut umax = vec![0.0f64; rows.len()];
        match allowed.as_slice() {
            [] => return Err(MilpError::Infeasible),
            &[k] => {
                m.constant += unit[k].cost;
                for &(r, u) in &unit[k].usage {
                    caps[r] -= u;
                }
            }
            _ => {
                let mut one = Expression::default();
                for &k in &allowed {
                    let (v, col) = m.binary(unit[k].cost);
                    one.add_mul(1.0, v);
                    let mut colmax = vec![0.0f64; rows.len()];
                    for &(r, u) in &unit[k].usage {
                        exprs[r].add_mul(u, v);
                        colmax[r] += u;
                    }
                    for (a, b) in umax.iter_mut().zip(colmax) {
                        *a = a.max(b);
                    }
                    here.push((k, col));
                }
                m.constrain(one.eq(1.0));
            }
        }
        for (a, b) in row_max.iter_mut().zip(umax) {
            *a += b;
        }
        cols.push(here);
    }
    let mut svars = Vec::with_capacity(switches.len());
    for sw in switches {
        let (v, col) = match sw.fixed {
            Some(on) => {
                let b = if on { 1.0 } else { 0.0 };
                m.continuous_def(variable().min(b).max(b), sw.cost)
            }
            None => m.binary(sw.cost),
        };
        svars.push((v, col));
    }
    let mut row_cons = vec![None; rows.len()];
    for (r, row) in rows.iter().enumerate() {
        let lift = row.lifted_by.map(|s| svars[s].0);
        let big_m = (row_max[r] - caps[r]).max(0.0);
        if row_max[r] == 0.0 {
            if caps[r] < -1e-9 && row.lifted_by.is_none() {
                return Err(MilpError::Infeasible);
            }
            if caps[r] >= -1e-9 {
                continue;
            }
        }
        let mut expr = std::mem::take(&mut exprs[r]);
        if let Some(y) = lift {
            let need = if row_max[r] == 0.0 { -caps[r] } else { big_m };
            expr.add_mul(-need, y);
        }
        row_cons[r] = Some(m.constrain(expr.leq(caps[r])));
    }
    let init = initial.map(|(pick, on)| {
        let mut v = vec![0.0; m.n];
        for (u, here) in cols.iter().enumerate() {
            for &(k, col) in here {
                if pick[u] == k {
                    v[col] = 1.0;
                }
            }
        }
        for (s, &(_, col)) in svars.iter().enumerate() {
            v[col] = if on[s] { 1.0 } else { 0.0 };
        }
        v
    });
    let run = m.run(cfg, init)?;
    let pick = units
        .iter()
        .zip(&cols)
        .map(|(unit, here)| {
            if here.is_empty() {
                (0..unit.len())
                    .find(|&k| unit[k].cost.is_finite())
                    .unwrap_or(0)
            } else {
                here.iter()
                    .max_by(|a, b| run.cols[a.1].total_cmp(&run.cols[b.1]))
                    .map_or(0, |&(k, _)| k)
            }
        })
        .collect();
    let switches = svars.iter().map(|&(_, col)| run.cols[col] > 0.5).collect();
    let row_prices = row_cons
        .iter()
        .map(|k| match (relax, k) {
            (true, Some(k)) => run.row_duals.get(*k).map_or(0.0, |d| (-d).max(0.0)),
            _ => 0.0,
        })
        .collect();
    Ok(Selection {
        pick,
        switches,
        objective: run.objective,
        bound: run.bound,
        row_prices,
    })
}
