//! A conformance suite for [`RateLimitStore`] implementations.
//!
//! The client trusts a store with a few promises: a limit holds however many callers ask at
//! once, a pause reaches every caller and ends when it says, nobody waits behind the others for
//! ever, and answers are durations from now that do not depend on whose clock is right. Any
//! store (the in-memory one, `RedisStore`, your own) can check them:
//!
//! ```no_run
//! # async fn check() {
//! use std::sync::Arc;
//! let store = Arc::new(nexotp::InMemoryStore::new());
//! let report = nexotp::buckets::conformance::run(store).await.expect("conforms");
//! println!("{report}");
//! # }
//! ```
//!
//! The suite runs on the caller's tokio runtime (it spawns tasks and sleeps), takes about three
//! seconds, and uses fresh random namespaces, so it can run against a shared server without
//! touching anybody's buckets. Time is read from the store's answers, not from how long the
//! caller's own sleeps took, so a loaded machine does not fail it; what a networked store's
//! answers may be off by (the round trip) is measured and allowed for.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::{Admission, Bucket, BucketKey, BucketLimit, RateLimitStore, ServerLimits, StoreError};

/// The cases, in the order [`run`] runs them, with what each checks.
pub const CASES: [(&str, &str); 7] = [
    (
        "limit_holds_under_64_concurrent_callers",
        "64 callers reserve at once under 20/s with a burst of 4: no window of time holds more \
         than burst + window/interval slots, and the slots are not spread wider than needed",
    ),
    (
        "pause_is_seen_by_every_caller",
        "after a 400 ms pause, 64 concurrent callers are all told to wait (with the pause's \
         length) and the pause takes no slot",
    ),
    (
        "pause_ends_on_time",
        "a 300 ms pause is still there before its end and gone after it",
    ),
    (
        "no_caller_is_starved",
        "8 callers taking 6 turns each under 50/s never wait more than two periods (a period: \
         every caller's turn once)",
    ),
    (
        "buckets_and_accounts_are_separate",
        "a pause or a busy schedule in one bucket or namespace leaves the others alone",
    ),
    (
        "clock_behaviour",
        "a pause in the past does nothing, a shorter one never shortens a longer one, the time \
         left shrinks as time passes, idle time banks at most the burst, no limit means go",
    ),
    (
        "learns_from_the_server",
        "X-RateLimit-Remaining: 0 with a reset 2 s away and a limit of 4 pauses for about 500 ms",
    ),
];

/// The cases a store passed.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Names of the passed cases (see [`CASES`]).
    pub passed: Vec<&'static str>,
    /// The longest round trip to the store seen, allowed for in the timing checks.
    pub slowest_answer: Duration,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cases passed (slowest answer {:.1} ms): {}",
            self.passed.len(),
            self.slowest_answer.as_secs_f64() * 1000.0,
            self.passed.join(", ")
        )
    }
}

/// The first case a store failed.
#[derive(Debug, thiserror::Error)]
#[error("rate-limit store conformance: {case}: {message}")]
pub struct Failure {
    /// The case (see [`CASES`]).
    pub case: &'static str,
    /// What went wrong.
    pub message: String,
}

/// Runs every case of [`CASES`] against `store`; the first failure stops the run.
pub async fn run(store: Arc<dyn RateLimitStore>) -> Result<Report, Failure> {
    let run_id = fastrand::u64(..);
    let mut report = Report::default();
    for (case, _) in CASES {
        let mut suite = Suite {
            store: Arc::clone(&store),
            namespace: format!("conformance-{run_id:016x}-{case}"),
            slowest: Duration::ZERO,
        };
        let outcome = match case {
            "limit_holds_under_64_concurrent_callers" => suite.limit_holds().await,
            "pause_is_seen_by_every_caller" => suite.pause_seen_by_all().await,
            "pause_ends_on_time" => suite.pause_ends_on_time().await,
            "no_caller_is_starved" => suite.no_starvation().await,
            "buckets_and_accounts_are_separate" => suite.separate().await,
            "clock_behaviour" => suite.clock().await,
            _ => suite.learns().await,
        };
        outcome.map_err(|message| Failure { case, message })?;
        report.slowest_answer = report.slowest_answer.max(suite.slowest);
        report.passed.push(case);
    }
    Ok(report)
}

type Check = Result<(), String>;

fn ensure(ok: bool, message: impl FnOnce() -> String) -> Check {
    if ok { Ok(()) } else { Err(message()) }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn failed(e: StoreError) -> String {
    format!("the store failed: {e}")
}

/// An answer and when it was asked for and received.
struct Timed {
    admission: Admission,
    asked: Instant,
    answered: Instant,
}

impl Timed {
    /// The earliest local instant the answer can mean (the store answered between asking and
    /// receiving).
    fn go_at(&self) -> Instant {
        self.asked + self.admission.wait()
    }
}

struct Suite {
    store: Arc<dyn RateLimitStore>,
    namespace: String,
    slowest: Duration,
}

impl Suite {
    fn key(&self, bucket: Bucket) -> BucketKey {
        BucketKey::new(self.namespace.as_str(), bucket)
    }

    fn note(&mut self, rtt: Duration) {
        self.slowest = self.slowest.max(rtt);
    }

    async fn reserve(
        &mut self,
        key: &BucketKey,
        limit: Option<BucketLimit>,
    ) -> Result<Timed, String> {
        let asked = Instant::now();
        let admission = self.store.reserve(key, limit).await.map_err(failed)?;
        let answered = Instant::now();
        self.note(answered - asked);
        Ok(Timed {
            admission,
            asked,
            answered,
        })
    }

    async fn pause(&mut self, key: &BucketKey, length: Duration) -> Check {
        let asked = Instant::now();
        self.store
            .pause_until(key, SystemTime::now() + length)
            .await
            .map_err(failed)?;
        self.note(asked.elapsed());
        Ok(())
    }

    async fn pause_left(&mut self, key: &BucketKey) -> Result<Option<super::Pause>, String> {
        let asked = Instant::now();
        let left = self.store.pause_left(key).await.map_err(failed)?;
        self.note(asked.elapsed());
        Ok(left)
    }

    /// `n` callers reserving `key` at once, each from its own task.
    async fn concurrent(
        &mut self,
        key: &BucketKey,
        limit: Option<BucketLimit>,
        n: usize,
    ) -> Result<Vec<Timed>, String> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let store = Arc::clone(&self.store);
                let key = key.clone();
                tokio::spawn(async move {
                    let asked = Instant::now();
                    let admission = store.reserve(&key, limit).await;
                    (admission, asked, Instant::now())
                })
            })
            .collect();
        let mut answers = Vec::with_capacity(n);
        for task in tasks {
            let (admission, asked, answered) =
                task.await.map_err(|e| format!("a caller panicked: {e}"))?;
            self.note(answered - asked);
            answers.push(Timed {
                admission: admission.map_err(failed)?,
                asked,
                answered,
            });
        }
        Ok(answers)
    }

    async fn limit_holds(&mut self) -> Check {
        let limit = BucketLimit::per_second(20.0).burst(4);
        let interval = limit.interval();
        let key = self.key(Bucket::Poll);
        let answers = self.concurrent(&key, Some(limit), 64).await?;
        if let Some(other) = answers
            .iter()
            .find(|a| !matches!(a.admission, Admission::Go | Admission::Reserved { .. }))
        {
            return Err(format!("an unpaused bucket answered {:?}", other.admission));
        }
        // Each answer is exact to within its round trip: allow the slowest one.
        let slack = answers
            .iter()
            .map(|a| a.answered - a.asked)
            .max()
            .unwrap_or_default();
        let mut at: Vec<Instant> = answers.iter().map(Timed::go_at).collect();
        at.sort_unstable();
        let burst = limit.burst as usize;
        for i in 0..at.len() {
            for j in (i + burst)..at.len() {
                let needed = interval.saturating_mul((j - i - burst + 1) as u32);
                let gap = at[j] - at[i];
                ensure(gap + slack >= needed, || {
                    format!(
                        "slots {i} and {j} are {} apart; the limit needs {} (slack {})",
                        ms(gap),
                        ms(needed),
                        ms(slack)
                    )
                })?;
            }
        }
        let span = at[at.len() - 1] - at[0];
        let needed = interval.saturating_mul((at.len() - burst) as u32);
        ensure(span <= needed + slack + interval, || {
            format!(
                "64 slots spread over {} where {} would do: slots were wasted",
                ms(span),
                ms(needed)
            )
        })
    }

    async fn pause_seen_by_all(&mut self) -> Check {
        let limit = BucketLimit::per_second(20.0).burst(4);
        let key = self.key(Bucket::Order);
        let length = Duration::from_millis(400);
        self.pause(&key, length).await?;
        let answers = self.concurrent(&key, Some(limit), 64).await?;
        let slack = self.slowest;
        for a in &answers {
            match a.admission {
                Admission::Paused { wait, window } => {
                    ensure(!wait.is_zero() && wait <= length, || {
                        format!("a caller was told to wait {}", ms(wait))
                    })?;
                    ensure(
                        window + slack + Duration::from_millis(100) >= length
                            && window <= length + slack,
                        || {
                            format!(
                                "the pause's window is {}, not about {}",
                                ms(window),
                                ms(length)
                            )
                        },
                    )?;
                }
                other => return Err(format!("a caller was not told about the pause: {other:?}")),
            }
        }
        let end = answers
            .iter()
            .map(Timed::go_at)
            .max()
            .unwrap_or_else(Instant::now);
        tokio::time::sleep_until(tokio::time::Instant::from_std(
            end + Duration::from_millis(20),
        ))
        .await;
        // The pause took nothing: the burst is still whole.
        for n in 0..limit.burst {
            let a = self.reserve(&key, Some(limit)).await?;
            ensure(
                a.admission.wait() <= a.answered - a.asked + Duration::from_millis(5),
                || {
                    format!(
                        "call {n} of the burst after the pause waits {:?}: the pause took slots",
                        a.admission
                    )
                },
            )?;
        }
        Ok(())
    }

    async fn pause_ends_on_time(&mut self) -> Check {
        let key = self.key(Bucket::General);
        let length = Duration::from_millis(300);
        let started = Instant::now();
        self.pause(&key, length).await?;
        let end = started + length;
        let left = self
            .pause_left(&key)
            .await?
            .ok_or("no pause right after pausing")?;
        ensure(left.left <= length, || {
            format!("{} left of a {} pause", ms(left.left), ms(length))
        })?;
        tokio::time::sleep_until(tokio::time::Instant::from_std(
            end - Duration::from_millis(150),
        ))
        .await;
        let asked = Instant::now();
        let before = self.pause_left(&key).await?;
        if asked + self.slowest + Duration::from_millis(20) < end {
            ensure(before.is_some(), || "the pause ended early".to_owned())?;
        }
        let ends_by = Instant::now() + before.map_or(Duration::ZERO, |p| p.left);
        ensure(
            ends_by <= end + self.slowest + Duration::from_millis(20),
            || format!("the pause ends {} late", ms(ends_by - end)),
        )?;
        let after = end + self.slowest + Duration::from_millis(20);
        tokio::time::sleep_until(tokio::time::Instant::from_std(after)).await;
        ensure(self.pause_left(&key).await?.is_none(), || {
            "the pause outlived its end".to_owned()
        })?;
        let a = self.reserve(&key, None).await?;
        ensure(a.admission == Admission::Go, || {
            format!("after the pause: {:?}", a.admission)
        })
    }

    async fn no_starvation(&mut self) -> Check {
        const CALLERS: u32 = 8;
        const TURNS: usize = 6;
        let limit = BucketLimit::per_second(50.0).burst(1);
        let period = limit.interval() * CALLERS;
        let key = self.key(Bucket::Poll);
        let tasks: Vec<_> = (0..CALLERS)
            .map(|_| {
                let store = Arc::clone(&self.store);
                let key = key.clone();
                tokio::spawn(async move {
                    let mut waits = Vec::with_capacity(TURNS);
                    for _ in 0..TURNS {
                        let asked = Instant::now();
                        let admission = store.reserve(&key, Some(limit)).await?;
                        let rtt = asked.elapsed();
                        waits.push((admission.wait(), rtt));
                        tokio::time::sleep(admission.wait()).await;
                    }
                    Ok::<_, StoreError>(waits)
                })
            })
            .collect();
        let mut turns = 0;
        for task in tasks {
            let waits = task
                .await
                .map_err(|e| format!("a caller panicked: {e}"))?
                .map_err(failed)?;
            for (wait, rtt) in waits {
                self.note(rtt);
                turns += 1;
                ensure(wait <= period * 2 + rtt, || {
                    format!(
                        "a caller was told to wait {}, more than two periods of {}",
                        ms(wait),
                        ms(period)
                    )
                })?;
            }
        }
        ensure(turns == CALLERS as usize * TURNS, || {
            format!("{turns} turns taken")
        })
    }

    async fn separate(&mut self) -> Check {
        let limit = BucketLimit::per_second(1.0).burst(1);
        let poll = self.key(Bucket::Poll);
        self.pause(&poll, Duration::from_secs(2)).await?;
        let order = self.key(Bucket::Order);
        self.reserve(&order, Some(limit)).await?;
        let busy = self.reserve(&order, Some(limit)).await?;
        ensure(matches!(busy.admission, Admission::Reserved { .. }), || {
            format!("a second call at 1/s: {:?}", busy.admission)
        })?;
        let general = self
            .reserve(&self.key(Bucket::General), Some(limit))
            .await?;
        ensure(general.admission == Admission::Go, || {
            format!(
                "GENERAL after POLL's pause and ORDER's schedule: {:?}",
                general.admission
            )
        })?;
        let elsewhere = format!("{}-other", self.namespace);
        for bucket in [Bucket::Poll, Bucket::Order] {
            let key = BucketKey::new(elsewhere.as_str(), bucket);
            let a = self.reserve(&key, Some(limit)).await?;
            ensure(a.admission == Admission::Go, || {
                format!("{bucket} of another namespace: {:?}", a.admission)
            })?;
        }
        Ok(())
    }

    async fn clock(&mut self) -> Check {
        let key = self.key(Bucket::General);
        // A time in the past changes nothing.
        self.store
            .pause_until(&key, SystemTime::now() - Duration::from_secs(30))
            .await
            .map_err(failed)?;
        ensure(self.pause_left(&key).await?.is_none(), || {
            "a pause in the past paused".to_owned()
        })?;
        let a = self.reserve(&key, None).await?;
        ensure(a.admission == Admission::Go, || {
            format!("no limit, no pause: {:?}", a.admission)
        })?;
        // A shorter pause never shortens a longer one; the time left shrinks.
        self.pause(&key, Duration::from_secs(2)).await?;
        self.pause(&key, Duration::from_millis(100)).await?;
        let first = self
            .pause_left(&key)
            .await?
            .ok_or("the 2 s pause is gone")?;
        ensure(first.left > Duration::from_millis(1500), || {
            format!("a shorter pause cut it to {}", ms(first.left))
        })?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let second = self
            .pause_left(&key)
            .await?
            .ok_or("the 2 s pause is gone")?;
        ensure(
            second.left + Duration::from_millis(90) <= first.left,
            || {
                format!(
                    "100 ms later the time left went from {} to {}",
                    ms(first.left),
                    ms(second.left)
                )
            },
        )?;
        // Idle time banks at most the burst.
        let limit = BucketLimit::per_second(20.0).burst(3);
        let interval = limit.interval();
        let key = self.key(Bucket::Poll);
        for _ in 0..3 {
            self.reserve(&key, Some(limit)).await?;
        }
        tokio::time::sleep(interval * 6).await;
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(self.reserve(&key, Some(limit)).await?);
        }
        // The store answered the 5th call after the 1st was asked: its slot, 2 intervals after
        // the first (3 go at once, then one per interval), is at or after `answered + wait`.
        let fifth = &answers[4];
        ensure(
            fifth.answered + fifth.admission.wait() + Duration::from_millis(1)
                >= answers[0].asked + interval * 2,
            || {
                format!(
                    "after an idle spell of 6 intervals the 5th of 5 quick calls waits {}: more than the burst of 3 was banked",
                    ms(answers[4].admission.wait())
                )
            },
        )
    }

    async fn learns(&mut self) -> Check {
        let key = self.key(Bucket::Poll);
        let now = SystemTime::now();
        let limits = ServerLimits {
            limit: Some(4.0),
            remaining: Some(0.0),
            reset: Some(now + Duration::from_secs(2)),
        };
        self.store.feed(&key, limits).await.map_err(failed)?;
        let pause = self
            .pause_left(&key)
            .await?
            .ok_or("no pause after Remaining: 0")?;
        ensure(
            pause.left <= Duration::from_millis(500)
                && pause.left + self.slowest + Duration::from_millis(100)
                    >= Duration::from_millis(500),
            || format!("paused for {} instead of about 500 ms", ms(pause.left)),
        )?;
        let some_left = ServerLimits {
            remaining: Some(3.0),
            ..limits
        };
        let other = self.key(Bucket::Order);
        self.store.feed(&other, some_left).await.map_err(failed)?;
        ensure(self.pause_left(&other).await?.is_none(), || {
            "paused with requests remaining".to_owned()
        })
    }
}
