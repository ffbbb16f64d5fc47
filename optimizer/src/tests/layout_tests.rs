//! How the decomposition splits rows into priced, grouped and dropped ones.

use super::{Config, ItemData, Unit, layout};
use crate::problem::{Alt, Base, Item, Problem, Row, RowId, Slot, Switch, SwitchId};

fn item(name: &str, base_rows: &[usize], level_rows: &[usize]) -> Item {
    let usage = |rows: &[usize]| rows.iter().map(|&r| (RowId(r), 1.0)).collect::<Vec<_>>();
    Item {
        name: name.into(),
        bases: vec![Base {
            label: "b".into(),
            cost: 1.0,
            usage: usage(base_rows),
            levels: vec![0, 1],
            slots: vec![Slot {
                alternatives: vec![
                    Some(Alt {
                        cost: 0.0,
                        risk: 0.0,
                        usage: Vec::new().into(),
                    }),
                    Some(Alt {
                        cost: 1.0,
                        risk: 0.0,
                        usage: usage(level_rows).into(),
                    }),
                ],
                potential: Vec::new(),
            }],
            cyclic: false,
            risk_budget: None,
        }],
    }
}

fn row(name: &str, capacity: f64, lifted_by: Option<usize>) -> Row {
    Row {
        name: name.into(),
        capacity,
        lifted_by: lifted_by.map(SwitchId),
    }
}

#[test]
fn rows_are_grouped_priced_or_dropped_by_how_they_are_used() {
    // Row 0: used by levels of all items (priced). Row 1: base usage of items 0 and
    // 1 (grouped). Row 2: lifted by a switch, used by item 2 (grouped with it).
    // Row 3: nobody can exceed it (dropped).
    let p = Problem {
        items: vec![
            item("a", &[1], &[0, 3]),
            item("b", &[1], &[0]),
            item("c", &[2], &[0]),
            item("d", &[], &[0]),
        ],
        rows: vec![
            row("hour", 2.0, None),
            row("db", 1.0, None),
            row("proxied", 0.0, Some(0)),
            row("roomy", 5.0, None),
        ],
        switches: vec![Switch {
            name: "proxy".into(),
            cost: 1.0,
            fixed: None,
        }],
    };
    let data: Vec<ItemData> = p.items.iter().map(ItemData::new).collect();
    let lay = layout(&p, &data, &Config::default()).expect("valid");
    assert_eq!(lay.global_rows, vec![0]);
    type Shape = (Vec<usize>, Vec<usize>, Vec<usize>, bool);
    let mut groups: Vec<Shape> = lay
        .units
        .iter()
        .filter_map(|u| match u {
            Unit::Group(g) => Some((
                g.items.clone(),
                g.rows.clone(),
                g.switches.clone(),
                g.by_base,
            )),
            Unit::Item(_) => None,
        })
        .collect();
    groups.sort();
    assert_eq!(
        groups,
        vec![
            (vec![0, 1], vec![1], vec![], true),
            (vec![2], vec![2], vec![0], true)
        ]
    );
    let singles: Vec<usize> = lay
        .units
        .iter()
        .filter_map(|u| match u {
            Unit::Item(i) => Some(*i),
            Unit::Group(_) => None,
        })
        .collect();
    assert_eq!(singles, vec![3]);
    // With no room for grouping, the base-usage row is priced too.
    let lay = layout(
        &p,
        &data,
        &Config {
            local_row_max_items: 0,
            group_max_items: 0,
        },
    )
    .expect("valid");
    assert_eq!(lay.global_rows, vec![0, 1]);
}
