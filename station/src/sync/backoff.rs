//! Retry pacing, sans-IO: exponential backoff with full jitter, `Retry-After` honoured, and a
//! sliding-window rate limiter. All times are milliseconds on a monotonic clock supplied by
//! the caller; the random source is injected so tests are deterministic.

use std::collections::VecDeque;
use std::time::Duration;

/// First backoff ceiling.
pub const DEFAULT_BASE: Duration = Duration::from_millis(500);
/// Largest backoff ceiling (a 30-day outage still probes every couple of minutes).
pub const DEFAULT_CAP: Duration = Duration::from_secs(120);

/// A small, fast PRNG (SplitMix64); good enough for jitter, seedable for tests.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// A generator from a seed.
    pub fn seeded(seed: u64) -> Jitter {
        Jitter { state: seed }
    }

    /// A generator seeded from the OS.
    pub fn from_entropy() -> Jitter {
        Jitter::seeded(rand::random())
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next_u64();
        }
        self.next_u64() % (max + 1)
    }
}

/// Exponential backoff with full jitter ("AWS full jitter"): after the n-th consecutive
/// failure the wait is uniform in `[0, min(cap, base·2ⁿ⁻¹)]`, but never shorter than the
/// server's `Retry-After`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ms: u64,
    cap_ms: u64,
    failures: u32,
    jitter: Jitter,
}

impl Backoff {
    /// A backoff with the given base and cap.
    pub fn new(base: Duration, cap: Duration, jitter: Jitter) -> Backoff {
        Backoff {
            base_ms: u64::try_from(base.as_millis()).unwrap_or(u64::MAX).max(1),
            cap_ms: u64::try_from(cap.as_millis()).unwrap_or(u64::MAX).max(1),
            failures: 0,
            jitter,
        }
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a failure; returns how long to wait before the next attempt.
    pub fn fail(&mut self, retry_after: Option<Duration>) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let exp = self.failures.saturating_sub(1).min(40);
        let ceiling = self.base_ms.saturating_mul(1u64 << exp).min(self.cap_ms);
        let wait = self.jitter.up_to(ceiling);
        let floor = retry_after.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Duration::from_millis(wait.max(floor))
    }

    /// Records a success: the next failure starts from the base again.
    pub fn succeed(&mut self) {
        self.failures = 0;
    }
}

/// Sliding-window rate limiter: at most `max` requests in any `window` (several windows may
/// apply at once, e.g. 聚水潭's 5 per second and 100 per minute).
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limits: Vec<(u64, usize)>,
    sent: VecDeque<u64>,
}

impl RateLimiter {
    /// A limiter from `(window, max requests)` pairs.
    pub fn new(limits: &[(Duration, usize)]) -> RateLimiter {
        RateLimiter {
            limits: limits
                .iter()
                .map(|(w, n)| {
                    (
                        u64::try_from(w.as_millis()).unwrap_or(u64::MAX),
                        (*n).max(1),
                    )
                })
                .collect(),
            sent: VecDeque::new(),
        }
    }

    /// Earliest time (≥ `now_ms`) at which one more request keeps every limit.
    pub fn next_allowed(&self, now_ms: u64) -> u64 {
        let mut at = now_ms;
        for &(window, max) in &self.limits {
            // Requests still inside the window that ends at `now`.
            let inside: Vec<u64> = self
                .sent
                .iter()
                .copied()
                .filter(|&t| t.saturating_add(window) > now_ms)
                .collect();
            if inside.len() >= max {
                // The oldest one that must leave the window before another may go.
                let leave = inside[inside.len() - max].saturating_add(window);
                at = at.max(leave);
            }
        }
        at
    }

    /// Records a request sent at `now_ms`.
    pub fn record(&mut self, now_ms: u64) {
        self.sent.push_back(now_ms);
        let longest = self.limits.iter().map(|l| l.0).max().unwrap_or(0);
        while let Some(&t) = self.sent.front() {
            if t.saturating_add(longest) <= now_ms {
                self.sent.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_under_the_growing_ceiling() {
        let mut b = Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(1000),
            Jitter::seeded(7),
        );
        let ceilings: [u128; 7] = [100, 200, 400, 800, 1000, 1000, 1000];
        for (i, c) in ceilings.iter().enumerate() {
            let w = b.fail(None).as_millis();
            assert!(w <= *c, "failure {}: {w} > {c}", i + 1);
        }
        assert_eq!(b.failures(), 7);
        b.succeed();
        assert!(b.fail(None).as_millis() <= 100);
    }

    #[test]
    fn jitter_spreads_over_the_whole_range() {
        // Full jitter: over many draws the waits cover both halves of [0, ceiling].
        let mut lo = 0;
        let mut hi = 0;
        for seed in 0..200 {
            let mut b = Backoff::new(
                Duration::from_millis(1000),
                Duration::from_secs(10),
                Jitter::seeded(seed),
            );
            if b.fail(None) < Duration::from_millis(500) {
                lo += 1;
            } else {
                hi += 1;
            }
        }
        assert!(lo > 50 && hi > 50, "{lo}/{hi}");
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut b = Backoff::new(
            Duration::from_millis(10),
            Duration::from_millis(20),
            Jitter::seeded(1),
        );
        assert_eq!(b.fail(Some(Duration::from_secs(5))), Duration::from_secs(5));
    }

    #[test]
    fn rate_limiter_keeps_five_per_second_and_hundred_per_minute() {
        let mut r =
            RateLimiter::new(&[(Duration::from_secs(1), 5), (Duration::from_secs(60), 100)]);
        // Send as fast as allowed for two minutes and check both windows at every send.
        let mut now = 0u64;
        let mut times = Vec::new();
        while now < 120_000 {
            now = r.next_allowed(now);
            r.record(now);
            times.push(now);
        }
        for (i, &t) in times.iter().enumerate() {
            let in_1s = times[..=i].iter().filter(|&&x| x + 1000 > t).count();
            let in_60s = times[..=i].iter().filter(|&&x| x + 60_000 > t).count();
            assert!(in_1s <= 5, "at {t}: {in_1s} in 1 s");
            assert!(in_60s <= 100, "at {t}: {in_60s} in 60 s");
        }
        // And it does not throttle more than needed: 100 in the first minute.
        assert_eq!(times.iter().filter(|&&t| t < 60_000).count(), 100);
    }
}
