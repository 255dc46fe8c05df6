//! A token bucket: at most `burst` messages at once, refilled at `per_minute`.

use crate::packet::Timestamp;

/// A per-channel rate limit. Time comes from the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    burst: f64,
    per_sec: f64,
    tokens: f64,
    last: Option<Timestamp>,
    /// Messages refused so far.
    pub refused: u64,
}

impl RateLimit {
    /// `per_minute` messages a minute on average, bursts of up to `burst`.
    /// `per_minute == 0` means unlimited.
    pub fn new(per_minute: u32, burst: u32) -> RateLimit {
        RateLimit {
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_minute) / 60.0,
            tokens: f64::from(burst.max(1)),
            last: None,
            refused: 0,
        }
    }

    /// No limit.
    pub fn unlimited() -> RateLimit {
        RateLimit::new(0, 1)
    }

    /// Takes a token if one is available at `now`.
    pub fn allow(&mut self, now: Timestamp) -> bool {
        if self.per_sec == 0.0 {
            return true;
        }
        if let Some(last) = self.last {
            let dt = (now.0.saturating_sub(last.0)).max(0) as f64 / 1e6;
            self.tokens = (self.tokens + dt * self.per_sec).min(self.burst);
        }
        self.last = Some(self.last.map_or(now, |l| l.max(now)));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.refused += 1;
            false
        }
    }
}
