//! A start-time pacer: at most `n` calls per second, spaced evenly (CloudWatch's `PutMetricAlarm`,
//! `PutCompositeAlarm` and `DeleteAlarms` quotas are 3 TPS each).
//!
//! It uses `tokio::time`, so a runtime started with a paused clock (`start_paused`) runs a thousand
//! paced writes instantly while measuring the time they would have taken — that is how the benchmark
//! checks the 3-TPS floor without waiting 333 s.

use std::time::Duration;

use tokio::time::Instant;

/// Spaces calls `1/rate` seconds apart, measured from the start of the previous call.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Option<Instant>,
}

impl Pacer {
    /// A pacer for `per_second` calls per second (values ≤ 0 mean unpaced).
    ///
    /// ```
    /// let p = governance::publish::pacer::Pacer::per_second(3.0);
    /// assert_eq!(p.interval(), std::time::Duration::from_nanos(333_333_333));
    /// ```
    #[must_use]
    pub fn per_second(per_second: f64) -> Self {
        let interval = if per_second > 0.0 && per_second.is_finite() {
            Duration::from_nanos((1e9 / per_second) as u64)
        } else {
            Duration::ZERO
        };
        Self { interval, next: None }
    }

    /// The spacing between calls.
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits until the next call may start, and books the slot after it.
    pub async fn ready(&mut self) {
        let now = Instant::now();
        let start = match self.next {
            Some(t) if t > now => {
                tokio::time::sleep_until(t).await;
                t
            }
            _ => now,
        };
        self.next = Some(start + self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn three_per_second_takes_a_third_of_a_second_per_call_after_the_first() {
        let mut p = Pacer::per_second(3.0);
        let t0 = Instant::now();
        for _ in 0..10 {
            p.ready().await;
        }
        let elapsed = t0.elapsed();
        // 9 intervals after the first call.
        assert!(elapsed >= Duration::from_millis(2_999), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(3_010), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn slow_calls_are_not_delayed_further() {
        let mut p = Pacer::per_second(3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            p.ready().await;
            tokio::time::sleep(Duration::from_millis(500)).await; // the call itself
        }
        assert!(t0.elapsed() < Duration::from_millis(1_510), "{:?}", t0.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn zero_rate_is_unpaced() {
        let mut p = Pacer::per_second(0.0);
        let t0 = Instant::now();
        for _ in 0..100 {
            p.ready().await;
        }
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }
}
