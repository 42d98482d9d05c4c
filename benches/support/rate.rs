//! What the one-core benchmarks (`verify`, `ofd`) share: how often a call runs in a round, and
//! the median of the rounds.

use std::time::{Duration, Instant};

/// Calls of `f` per second over one `round`, with `batch` calls between looks at the clock.
pub fn rate(round: Duration, batch: u64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < round {
        for _ in 0..batch {
            f();
        }
        n += batch;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The median of `v` (of an even count, the upper middle one).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
