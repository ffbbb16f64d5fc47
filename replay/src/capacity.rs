//! Paid capacity over time: provisioned environments of a Lambda function or tasks of a
//! Fargate service, with the lag between asking for capacity and having it, and the
//! billing of each unit from enable to disable.
//!
//! Capacity changes only at minute boundaries (schedules act on whole minutes, scaling
//! policies evaluate 1-minute datapoints), so times here are minute offsets from the
//! window start and billing is exact integer arithmetic.
//!
//! Each unit is billed from its enable (the request, not the moment it is ready) to its
//! disable, rounded up per interval ([`Rounding`]). A decrease disables the most
//! recently enabled units first (LIFO; pending units before ready ones), which is the
//! pairing that charges a short spike its own rounding and leaves long-lived units
//! alone. Intervals open at either edge of the window (units present at its start,
//! units still enabled at its end) are billed for their part inside it, unrounded,
//! because they continue outside it.

/// How an enable→disable interval is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounding {
    /// Intervals are rounded up to a multiple of this (seconds).
    pub granularity_seconds: u32,
    /// And billed at least this long (seconds).
    pub minimum_seconds: u32,
}

impl Rounding {
    /// Lambda provisioned concurrency: rounded up to the price sheet's granularity
    /// (5 minutes), at least one unit.
    pub fn provisioned(granularity_seconds: u32) -> Self {
        let g = granularity_seconds.max(1);
        Self {
            granularity_seconds: g,
            minimum_seconds: g,
        }
    }

    /// Fargate: per second, one minute minimum per task start.
    pub const FARGATE: Rounding = Rounding {
        granularity_seconds: 1,
        minimum_seconds: 60,
    };

    /// Seconds billed for an interval of `len_s` seconds.
    pub fn billed(self, len_s: i64) -> i64 {
        let g = i64::from(self.granularity_seconds);
        ((len_s + g - 1).div_euclid(g) * g).max(i64::from(self.minimum_seconds))
    }

    /// What the future excess of a unit enabled at minute `at` depends on, when every
    /// future disable comes at least `age` minutes after it: its instant modulo the
    /// granularity once the minimum can no longer bind, else the instant itself.
    fn excess_key(self, at: i64, age: i64) -> i64 {
        let g = i64::from(self.granularity_seconds);
        let settled = ((age * 60 + g - 1).div_euclid(g) * g) >= i64::from(self.minimum_seconds);
        if !settled {
            at
        } else if g % 60 == 0 {
            at.rem_euclid(g / 60)
        } else if 60 % g == 0 {
            0
        } else {
            at
        }
    }
}

/// Enabled units of one enable instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// Minute offset of the enable.
    at: i64,
    /// Present at the window start: billed unrounded.
    open: bool,
    count: u32,
}

/// The capacity ledger.
#[derive(Debug, Clone)]
pub struct Capacity {
    ready: u32,
    /// (minute ready, units), in enable order.
    pending: Vec<(i64, u32)>,
    /// Enabled units, oldest first (a stack).
    enabled: Vec<Run>,
    rounding: Rounding,
}

impl Capacity {
    /// `initial` units ready at the window start.
    pub fn new(initial: u32, rounding: Rounding) -> Self {
        Self {
            ready: initial,
            pending: Vec::new(),
            enabled: if initial > 0 {
                vec![Run {
                    at: 0,
                    open: true,
                    count: initial,
                }]
            } else {
                Vec::new()
            },
            rounding,
        }
    }

    /// Units that serve now.
    pub fn ready(&self) -> u32 {
        self.ready
    }

    /// Units asked for: ready plus pending.
    pub fn requested(&self) -> u32 {
        self.ready + self.pending.iter().map(|p| p.1).sum::<u32>()
    }

    /// Units being billed now (= requested).
    pub fn enabled(&self) -> u32 {
        self.enabled.iter().map(|r| r.count).sum()
    }

    /// Enables `n` units at minute `now`, ready at minute `ready_at`.
    pub fn enable(&mut self, n: u32, now: i64, ready_at: i64) {
        if n == 0 {
            return;
        }
        self.pending.push((ready_at, n));
        match self.enabled.last_mut() {
            Some(r) if r.at == now && !r.open => r.count += n,
            _ => self.enabled.push(Run {
                at: now,
                open: false,
                count: n,
            }),
        }
        self.promote(now);
    }

    /// Makes pending units whose time has come ready.
    pub fn promote(&mut self, now: i64) {
        let mut moved = 0;
        self.pending.retain(|&(at, n)| {
            if at <= now {
                moved += n;
                false
            } else {
                true
            }
        });
        self.ready += moved;
    }

    /// Disables `n` units at minute `now` (pending first, then ready; most recent
    /// enables first) and returns the seconds billed beyond their time inside the
    /// window (the rounding), which the caller charges to `now`'s hour.
    pub fn disable(&mut self, n: u32, now: i64) -> i64 {
        let mut left = n;
        while left > 0 {
            let Some(p) = self.pending.last_mut() else {
                break;
            };
            let take = p.1.min(left);
            p.1 -= take;
            left -= take;
            if p.1 == 0 {
                self.pending.pop();
            }
        }
        let from_ready = left.min(self.ready);
        self.ready -= from_ready;

        let mut excess = 0;
        let mut left = n;
        while left > 0 {
            let Some(r) = self.enabled.last_mut() else {
                break;
            };
            let take = r.count.min(left);
            if !r.open {
                let len = (now - r.at) * 60;
                excess += i64::from(take) * (self.rounding.billed(len) - len);
            }
            r.count -= take;
            left -= take;
            if r.count == 0 {
                self.enabled.pop();
            }
        }
        excess
    }

    /// Whether `self` and `other`, both at the start of minute `now`, will behave and
    /// bill identically from here on: same ready and pending units, and enable stacks
    /// that differ only in instants whose future rounding is the same.
    pub fn equivalent(&self, other: &Self, now: i64) -> bool {
        if self.ready != other.ready || self.pending != other.pending {
            return false;
        }
        let canon = |c: &Self| -> Vec<Run> {
            let mut out: Vec<Run> = Vec::new();
            for r in &c.enabled {
                let at = if r.open {
                    0
                } else {
                    self.rounding.excess_key(r.at, now - r.at)
                };
                match out.last_mut() {
                    Some(l) if l.at == at && l.open == r.open => l.count += r.count,
                    _ => out.push(Run { at, ..*r }),
                }
            }
            out
        };
        canon(self) == canon(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_round_up_to_five_minutes_lifo() {
        let mut c = Capacity::new(2, Rounding::provisioned(300));
        // +3 at minute 58, ready at 60.
        c.enable(3, 58, 60);
        assert_eq!((c.ready(), c.requested(), c.enabled()), (2, 5, 5));
        c.promote(59);
        assert_eq!(c.ready(), 2);
        c.promote(60);
        assert_eq!(c.ready(), 5);
        // -4 at minute 121: the three enabled at 58 (63 min → 65: 2 min extra each) and
        // one of the two open ones (unrounded).
        assert_eq!(c.disable(4, 121), 3 * 120);
        assert_eq!((c.ready(), c.enabled()), (1, 1));
        // A unit enabled and cancelled in the same minute still costs one unit.
        c.enable(1, 130, 132);
        assert_eq!(c.disable(1, 130), 300);
        assert_eq!((c.ready(), c.requested()), (1, 1));
    }

    #[test]
    fn fargate_tasks_bill_per_second_with_a_minute_minimum() {
        let r = Rounding::FARGATE;
        assert_eq!(r.billed(0), 60);
        assert_eq!(r.billed(61), 61);
        let mut c = Capacity::new(0, r);
        c.enable(2, 10, 12);
        assert_eq!(c.disable(2, 10), 120);
    }

    #[test]
    fn equivalence_looks_only_at_what_future_bills_depend_on() {
        let make = |at: i64| {
            let mut c = Capacity::new(1, Rounding::provisioned(300));
            c.enable(2, at, at + 2);
            c.promote(60);
            c
        };
        // Same instant modulo 5 minutes: same excess at any later disable.
        assert!(make(8).equivalent(&make(13), 60));
        assert!(make(8).equivalent(&make(3), 60));
        assert!(!make(8).equivalent(&make(9), 60));
        // Pending units differ: not equivalent, whatever the stacks.
        let mut p = Capacity::new(1, Rounding::provisioned(300));
        p.enable(2, 8, 10);
        assert!(!p.equivalent(&make(8), 9));
        // Different units ready never are.
        let e = Capacity::new(3, Rounding::provisioned(300));
        assert!(!make(8).equivalent(&e, 60));
        // The minimum still binds for a unit enabled this very minute.
        assert_eq!(Rounding::FARGATE.excess_key(7, 0), 7);
        assert_eq!(Rounding::FARGATE.excess_key(7, 1), 0);
    }
}
