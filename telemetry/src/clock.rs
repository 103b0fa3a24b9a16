//! Time and randomness behind small seams, so tests can pin them.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time. Inject [`FixedClock`] in tests; production uses [`SystemClock`].
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that always answers the same instant (for tests and benchmarks).
///
/// ```
/// use telemetry::clock::{Clock, FixedClock};
/// let clock = FixedClock::from_millis(1_700_000_000_123);
/// assert_eq!(telemetry::clock::epoch_millis(clock.now()), 1_700_000_000_123);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl FixedClock {
    /// A clock fixed at `ms` milliseconds after the Unix epoch.
    #[must_use]
    pub fn from_millis(ms: u64) -> Self {
        Self(UNIX_EPOCH + Duration::from_millis(ms))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// Milliseconds since the Unix epoch (0 for times before it).
#[must_use]
pub fn epoch_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Whole seconds and microseconds since the Unix epoch (both 0 for times before it): X-Ray's
/// `start_time`/`end_time` resolution ("microsecond resolution is recommended").
#[must_use]
pub fn epoch_micros_parts(t: SystemTime) -> (u64, u32) {
    t.duration_since(UNIX_EPOCH)
        .map_or((0, 0), |d| (d.as_secs(), d.subsec_micros()))
}

/// Seconds since the Unix epoch as a float, to the microsecond (X-Ray `start_time`/`end_time`): the
/// double nearest `secs.micros`, so its shortest form is those digits (`xray::export` writes them
/// without a float formatter).
#[must_use]
pub fn epoch_seconds_f64(t: SystemTime) -> f64 {
    let (secs, micros) = epoch_micros_parts(t);
    // From 2^30 to 2^32 s (2004 to 2106) this is the double nearest the decimal: the quotient's
    // rounding (≤ 2^-53) is far below how close a whole-microsecond decimal comes to a midpoint
    // between two doubles there (≥ 2^6 / (10^6 · 2^22)), and only that decimal lies within half a
    // double's spacing (≤ 2^-22) of it.
    #[allow(clippy::cast_precision_loss)]
    let secs = secs as f64;
    secs + f64::from(micros) / 1e6
}

/// RFC 3339 with milliseconds in UTC, e.g. `2026-11-21T23:58:13.123Z`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_millis(1_763_769_493_123);
/// assert_eq!(telemetry::clock::rfc3339_millis(t), "2025-11-21T23:58:13.123Z");
/// ```
#[must_use]
pub fn rfc3339_millis(t: SystemTime) -> String {
    Stamp::new(t).as_str().to_owned()
}

/// An RFC 3339 timestamp with milliseconds ([`rfc3339_millis`]) formatted on the stack: a log line
/// writes one without allocating. Only digits, `-`, `:`, `T`, `.` and `Z`: nothing a JSON string
/// escapes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp {
    bytes: [u8; STAMP_MAX],
    len: usize,
}

/// The longest timestamp: a year of 9 digits (`u64::MAX` milliseconds is year 584,556,019), then
/// `-MM-DDTHH:MM:SS.mmmZ`.
const STAMP_MAX: usize = 9 + 20;

impl Stamp {
    pub(crate) fn new(t: SystemTime) -> Self {
        let ms = epoch_millis(t);
        let secs = ms / 1000;
        let mut stamp = Self {
            bytes: [0; STAMP_MAX],
            len: 0,
        };
        // Log lines come in bursts within the same second: reuse the formatted `YYYY-MM-DDTHH:MM:SS`.
        let cached = LAST_SECOND
            .try_with(|cache| {
                let mut cache = cache.get();
                if cache.0 != secs || cache.1.len == 0 {
                    cache = (secs, format_seconds(secs));
                    LAST_SECOND.set(cache);
                }
                cache.1
            })
            .unwrap_or_else(|_| format_seconds(secs));
        stamp.push(cached.as_bytes());
        let millis = ms % 1000;
        let digit = |d: u64| b'0' + u8::try_from(d).unwrap_or(0);
        stamp.push(&[
            b'.',
            digit(millis / 100),
            digit(millis / 10 % 10),
            digit(millis % 10),
            b'Z',
        ]);
        stamp
    }

    fn push(&mut self, b: &[u8]) {
        let end = (self.len + b.len()).min(STAMP_MAX);
        let n = end - self.len;
        self.bytes[self.len..end].copy_from_slice(&b[..n]);
        self.len = end;
    }

    /// The timestamp's bytes (ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The timestamp.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII is ever pushed (digits and punctuation).
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

thread_local! {
    /// The last second formatted on this thread and its `YYYY-MM-DDTHH:MM:SS`.
    static LAST_SECOND: Cell<(u64, Stamp)> = const {
        Cell::new((0, Stamp { bytes: [0; STAMP_MAX], len: 0 }))
    };
}

fn format_seconds(secs: u64) -> Stamp {
    use std::io::Write as _;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let mut bytes = [0; STAMP_MAX];
    let room = bytes.len();
    let mut w = &mut bytes[..];
    // Fits: at most 9 + 15 bytes ([`STAMP_MAX`]); a failed write would leave the stamp short, never
    // invalid UTF-8.
    let _ = write!(
        w,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
    let len = room - w.len();
    Stamp { bytes, len }
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (y, u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

/// The per-thread source of [`random_u64`]: a secret SipHash key and a counter.
struct RandomSource {
    /// std's `RandomState`: a 128-bit SipHash-1-3 key drawn from the OS's randomness for each thread.
    key: RandomState,
    counter: Cell<u64>,
}

thread_local! {
    static RNG: RandomSource = RandomSource {
        key: RandomState::new(),
        counter: Cell::new(0),
    };
}

/// A random `u64`: SipHash-1-3 (std's `RandomState`, keyed from the OS's randomness per thread) of
/// a per-thread counter. Used for sampling decisions and for span and trace ids, which leave the
/// process (a span id goes out as `Parent=` on every traced call): an id seen must not give away
/// the ones after it. A plain generator's output does (xorshift64*'s is its state times a constant,
/// so one id predicts every later id on its thread); a keyed hash of a counter cannot be run back
/// to its key or forward without it, and costs a few nanoseconds.
#[must_use]
pub fn random_u64() -> u64 {
    let draw = |r: &RandomSource| {
        let n = r.counter.get().wrapping_add(1);
        r.counter.set(n);
        r.key.hash_one(n)
    };
    // During a thread's teardown (a value dropped after the thread local): a fresh key, used once.
    RNG.try_with(draw).unwrap_or_else(|_| {
        draw(&RandomSource {
            key: RandomState::new(),
            counter: Cell::new(0),
        })
    })
}

/// True with probability `rate` (clamped to 0..=1).
#[must_use]
pub fn sample(rate: f64) -> bool {
    if rate.is_nan() || rate <= 0.0 {
        return false;
    }
    if rate >= 1.0 {
        return true;
    }
    #[allow(clippy::cast_precision_loss)]
    let draw = (random_u64() >> 11) as f64 / (1u64 << 53) as f64;
    draw < rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_007); // 2000-02-29
        assert_eq!(rfc3339_millis(t), "2000-02-29T00:00:00.007Z");
        let t = UNIX_EPOCH + Duration::from_millis(4_102_444_799_999);
        assert_eq!(rfc3339_millis(t), "2099-12-31T23:59:59.999Z");
        let t = UNIX_EPOCH + Duration::from_millis(4_102_444_799_050);
        assert_eq!(
            rfc3339_millis(t),
            "2099-12-31T23:59:59.050Z",
            "same second from the cache"
        );
        let t = UNIX_EPOCH + Duration::from_millis(4_102_444_800_001);
        assert_eq!(
            rfc3339_millis(t),
            "2100-01-01T00:00:00.001Z",
            "next second recomputed"
        );
    }

    proptest::proptest! {
        /// The stack stamp is chrono's RFC 3339 with milliseconds and `Z`, from the epoch to the end
        /// of year 9999 (RFC 3339's last; chrono writes later years `+10000`), whichever second the
        /// thread formatted before.
        #[test]
        fn stamp_is_chronos_rfc3339(ms in 0u64..253_402_300_800_000, before in 0u64..253_402_300_800_000) {
            let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
            let _ = Stamp::new(at(before));
            let want = chrono::DateTime::<chrono::Utc>::from(at(ms))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let (first, again) = (Stamp::new(at(ms)), Stamp::new(at(ms)));
            proptest::prop_assert_eq!(first.as_str(), want.as_str());
            proptest::prop_assert_eq!(again.as_str(), want.as_str(), "from the cache");
        }
    }

    #[test]
    fn the_latest_instant_fits_the_stamp() {
        let t = UNIX_EPOCH + Duration::from_millis(u64::MAX);
        assert_eq!(rfc3339_millis(t), "584556019-04-03T14:25:51.615Z");
    }

    #[test]
    fn sample_edges() {
        assert!(!sample(0.0));
        assert!(!sample(f64::NAN));
        assert!(sample(1.0));
        let hits = (0..10_000).filter(|_| sample(0.5)).count();
        assert!((4_000..6_000).contains(&hits), "{hits}");
    }

    /// An id sent out (a span id in `Parent=`) must not give away the ones after it. With xorshift64*
    /// the output times the inverse of its multiplier is the state, and the state's xorshift step
    /// times the multiplier is the next output.
    #[test]
    fn one_output_does_not_predict_the_next() {
        const C: u64 = 0x2545_F491_4F6C_DD1D;
        // C is odd: its inverse modulo 2^64 by Newton's iteration.
        let mut c_inv: u64 = C;
        for _ in 0..6 {
            c_inv = c_inv.wrapping_mul(2u64.wrapping_sub(C.wrapping_mul(c_inv)));
        }
        assert_eq!(C.wrapping_mul(c_inv), 1);
        let xorshift_star = |mut x: u64| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(C)
        };
        let mut predicted = 0;
        for _ in 0..1000 {
            let (a, b) = (random_u64(), random_u64());
            if xorshift_star(a.wrapping_mul(c_inv)) == b {
                predicted += 1;
            }
        }
        assert_eq!(predicted, 0, "every next output followed from the one before");
    }

    #[test]
    fn random_differs() {
        assert_ne!(random_u64(), random_u64());
    }
}
