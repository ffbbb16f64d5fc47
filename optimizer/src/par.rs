//! Fork-join over the machine's cores with plain scoped threads: the work is a few
//! thousand independent items per call, so chunking once per call is all it needs.

use crate::item::Scratch;

pub(crate) fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
}

/// Runs `f` over `jobs` on all cores, one scratch per thread.
pub(crate) fn par_map<T: Send, R: Send>(
    jobs: Vec<T>,
    scratches: &mut [Scratch],
    f: &(dyn Fn(T, &mut Scratch) -> R + Sync),
) -> Vec<R> {
    let n = scratches.len().max(1);
    if jobs.len() < 64 || n == 1 {
        let sc = &mut scratches[0];
        return jobs.into_iter().map(|j| f(j, sc)).collect();
    }
    let per = jobs.len().div_ceil(n);
    let mut chunks: Vec<Vec<T>> = Vec::with_capacity(n);
    let mut it = jobs.into_iter();
    for _ in 0..n {
        chunks.push(it.by_ref().take(per).collect());
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .zip(scratches.iter_mut())
            .map(|(chunk, sc)| {
                s.spawn(move || chunk.into_iter().map(|j| f(j, sc)).collect::<Vec<R>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
