//! Which components are solved together.

use std::collections::{BTreeMap, BTreeSet};

use adaptd_engine::spec::{ComponentSpec, DatabaseSpec};

/// Indices of `specs` in groups of about `size`, in spec order; components that share
/// a database without a proxy are never split.
pub(super) fn groups(
    specs: &[ComponentSpec],
    databases: &[DatabaseSpec],
    size: usize,
) -> Vec<Vec<usize>> {
    let unproxied: BTreeSet<&str> = databases
        .iter()
        .filter(|d| !d.has_proxy)
        .map(|d| d.name.as_str())
        .collect();
    // Union-find over components through their unproxied databases.
    let mut parent: Vec<usize> = (0..specs.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first_user: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, s) in specs.iter().enumerate() {
        for d in s
            .databases
            .iter()
            .filter(|d| unproxied.contains(d.as_str()))
        {
            let j = *first_user.entry(d.as_str()).or_insert(i);
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut clusters: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..specs.len() {
        let r = root(&mut parent, i);
        clusters.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    for cluster in clusters.into_values() {
        match out.last_mut() {
            Some(g) if g.len() + cluster.len() <= size => g.extend(cluster),
            _ => out.push(cluster),
        }
    }
    out
}
