//! Supervisor-override policy: reason codes from a configured list and a lockout after too
//! many wrong PINs. The PIN hash itself is verified by the station (Argon2id); the domain only
//! decides what a verified or refused PIN means. Time is passed in.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Wrong PINs in a row before the lockout.
pub const DEFAULT_MAX_PIN_FAILURES: u32 = 5;
/// Lockout length after too many wrong PINs: 5 minutes.
pub const DEFAULT_LOCKOUT_MS: i64 = 5 * 60 * 1000;

/// The override rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverridePolicy {
    /// Allowed reason codes (e.g. `customer_agreed`, `scale_fault`).
    pub reasons: Vec<String>,
    /// Wrong PINs in a row before the lockout.
    pub max_failures: u32,
    /// Lockout length in milliseconds.
    pub lockout_ms: i64,
}

impl Default for OverridePolicy {
    fn default() -> Self {
        OverridePolicy {
            reasons: default_reasons(),
            max_failures: DEFAULT_MAX_PIN_FAILURES,
            lockout_ms: DEFAULT_LOCKOUT_MS,
        }
    }
}

/// The reason codes used when none are configured.
pub fn default_reasons() -> Vec<String> {
    [
        "customer_agreed",
        "stock_short",
        "packaging_heavier",
        "scale_fault",
        "order_center_confirmed",
        "data_error",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

impl OverridePolicy {
    /// Whether `reason` is one of the configured codes (exact match).
    pub fn reason_allowed(&self, reason: &str) -> bool {
        self.reasons.iter().any(|r| r == reason)
    }
}

/// Counts wrong PINs and locks overrides for a while after too many.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinGuard {
    failures: u32,
    locked_until: Option<DateTime<Utc>>,
}

impl PinGuard {
    /// Wrong PINs in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The end of the lockout if one is in force at `now`.
    pub fn locked_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| now < *until)
    }

    /// Records a wrong PIN; returns the lockout end if this failure started one.
    pub fn fail(&mut self, policy: &OverridePolicy, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.locked_until.is_some_and(|until| now >= until) {
            // A lockout that has run out starts a fresh count.
            self.locked_until = None;
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= policy.max_failures.max(1) {
            let until = now + Duration::milliseconds(policy.lockout_ms.max(0));
            self.locked_until = Some(until);
            return Some(until);
        }
        None
    }

    /// Records a correct PIN: the count starts again.
    pub fn succeed(&mut self) {
        self.failures = 0;
        self.locked_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::milliseconds(ms)
    }

    #[test]
    fn locks_after_five_failures_and_unlocks_after_the_lockout() {
        let p = OverridePolicy::default();
        let mut g = PinGuard::default();
        for i in 0..4 {
            assert_eq!(g.fail(&p, t(i)), None);
            assert_eq!(g.locked_until(t(i)), None);
        }
        let until = g.fail(&p, t(10)).unwrap();
        assert_eq!(until, t(10 + DEFAULT_LOCKOUT_MS));
        assert_eq!(g.locked_until(t(11)), Some(until));
        assert_eq!(g.locked_until(until), None);
        // After the lockout, the count starts again.
        assert_eq!(g.fail(&p, until), None);
        assert_eq!(g.failures(), 1);
        g.succeed();
        assert_eq!(g.failures(), 0);
    }

    #[test]
    fn reasons_match_exactly() {
        let p = OverridePolicy::default();
        assert!(p.reason_allowed("customer_agreed"));
        assert!(!p.reason_allowed("customer"));
        assert!(!p.reason_allowed(""));
    }
}
