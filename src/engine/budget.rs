//! How much is in flight: one budget for the whole queue, sized to the measured link.
//!
//! Every body the engine sends (a part, a PutObject, a cover) first takes a [`Grant`] from the
//! engine's one [`Budget`]; the grant says how large a new part should be. The [`Controller`]
//! behind it is pure (time is an argument), so its growth and shrink are unit-tested with
//! made-up clocks:
//!
//! - **rate**: every acknowledged body is a delivery-rate sample, as in BBR: the bytes the
//!   whole engine had acknowledged while it was in flight over the time it was in flight.
//!   The estimate is the largest sample of the last [`RATE_WINDOW`].
//! - **part size**: about [`IN_FLIGHT_SECONDS`] of the link spread over the slots, so that
//!   what is in flight is one to two seconds of the link: a crash costs that much at most, a
//!   pause less, and on a fast link parts are large enough that request overheads vanish.
//! - **slots** (bodies in flight): start at [`START_SLOTS`] and double (slow start)
//!   while each growth raised the mean rate of a round of bodies by at least half of what it
//!   would ideally bring ([`GROWTH_SHARE`]); the first growth that did not pay
//!   is undone and, from then on, one more slot is tried every [`PROBE_EVERY`]. More slots
//!   pay while connections are window-bound (each carries at most window / round trip) and
//!   stop paying once the link is full. An error halves the slots.
//! - **collapse**: when the bytes handed to the connections slow to under a third of the
//!   estimate for [`COLLAPSE_AFTER`], the estimate falls to what they show, without waiting
//!   for the large parts in flight to finish.
//!
//! Waiters are served lowest priority value first (the item id), so the oldest file gets
//! every slot it can use and later files fill in behind it: one big file uploads alone,
//! dozens of small ones go side by side.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::planner::MIN_PART;

/// Bodies in flight at the start.
pub const START_SLOTS: usize = 2;
/// A new part's size before the link has been measured.
pub const START_PART: u64 = MIN_PART;
/// Seconds of the link kept in flight.
pub const IN_FLIGHT_SECONDS: f64 = 1.2;
/// The largest part chosen automatically. Larger parts save nothing on a fast link (more
/// slots fill it) and cost CPU on loopback, where the work on the bodies in flight, not the
/// link, sets the pace: a 512 MiB upload in parts of 256 MiB ran 1.73x vod-python-sdk
/// against 1.95x with 16 MiB (measured while the client still hashed MD5).
pub const MAX_AUTO_PART: u64 = 16 << 20;
/// How far back the rate estimate looks.
pub const RATE_WINDOW: Duration = Duration::from_secs(3);
/// The share of the ideal gain (every added body carrying as much as the others) that a
/// growth of the slots must bring to be kept.
pub const GROWTH_SHARE: f64 = 0.5;
/// The least gain kept, whatever the growth: below it, noise decides.
pub const GROWTH_FLOOR: f64 = 1.03;
/// How often one more slot is tried after growth stopped paying.
pub const PROBE_EVERY: Duration = Duration::from_secs(4);
/// How long the bytes handed over must lag the estimate before it falls.
pub const COLLAPSE_AFTER: Duration = Duration::from_secs(2);

/// One body in flight, as the controller counts it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ticket {
    started: Instant,
    delivered_at_start: u64,
    len: u64,
}

/// A growth of the slots being judged.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Trial {
    from: usize,
    /// The old count's throughput (see [`Round`]).
    base: f64,
    since: Instant,
    /// The bodies started under the new count, as they finish.
    after: Round,
}

/// Bodies finished, as a throughput: their bytes over the span from the first one's start to
/// the last one's end. Bodies started together and finished together count as what they
/// carried together (a per-body rate would see only the share of each).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Round {
    bytes: u64,
    bodies: usize,
    first_start: Option<Instant>,
    last_end: Option<Instant>,
}

impl Round {
    const EMPTY: Self = Self {
        bytes: 0,
        bodies: 0,
        first_start: None,
        last_end: None,
    };

    fn add(&mut self, started: Instant, ended: Instant, len: u64) {
        self.bytes += len;
        self.bodies += 1;
        self.first_start = Some(self.first_start.map_or(started, |s| s.min(started)));
        self.last_end = Some(self.last_end.map_or(ended, |e| e.max(ended)));
    }

    fn rate(&self) -> f64 {
        match (self.first_start, self.last_end) {
            (Some(start), Some(end)) => {
                let span = end
                    .saturating_duration_since(start)
                    .max(Duration::from_millis(1));
                self.bytes as f64 / span.as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// The pure part of the budget: rate, slots and part size.
#[derive(Debug, Clone)]
pub struct Controller {
    cap: usize,
    slots: usize,
    startup: bool,
    in_flight: usize,
    in_flight_bytes: u64,
    delivered: u64,
    samples: VecDeque<(Instant, f64)>,
    trial: Option<Trial>,
    hold_until: Option<Instant>,
    /// The last bodies finished (start, end, bytes), a round's worth, for [`Trial::base`].
    recent: VecDeque<(Instant, Instant, u64)>,
    /// (when, bytes handed to connections in all) of the last [`COLLAPSE_AFTER`].
    wire: VecDeque<(Instant, u64)>,
}

impl Controller {
    /// A controller allowing at most `cap` bodies in flight.
    #[must_use]
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        Self {
            cap,
            slots: START_SLOTS.min(cap),
            startup: true,
            in_flight: 0,
            in_flight_bytes: 0,
            delivered: 0,
            samples: VecDeque::new(),
            trial: None,
            hold_until: None,
            recent: VecDeque::new(),
            wire: VecDeque::new(),
        }
    }

    /// Changes the cap (the user's "parts at once").
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
        self.slots = self.slots.min(self.cap);
    }

    /// Bodies that may be in flight now.
    #[must_use]
    pub fn slots(&self) -> usize {
        self.slots.min(self.cap)
    }

    /// Bodies in flight.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Bytes granted and not yet acknowledged.
    #[must_use]
    pub fn in_flight_bytes(&self) -> u64 {
        self.in_flight_bytes
    }

    /// The measured rate, bytes per second, once something was acknowledged.
    #[must_use]
    pub fn rate(&self) -> Option<f64> {
        self.samples
            .iter()
            .map(|&(_, rate)| rate)
            .fold(None, |best: Option<f64>, rate| {
                Some(best.map_or(rate, |b| b.max(rate)))
            })
    }

    /// Whether one more body may start.
    #[must_use]
    pub fn can_start(&self) -> bool {
        self.in_flight < self.slots()
    }

    /// The size a new part should have: [`IN_FLIGHT_SECONDS`] of the link over the slots, in
    /// whole MiB.
    #[must_use]
    pub fn part_len(&self) -> u64 {
        let Some(rate) = self.rate() else {
            return START_PART;
        };
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let len = (rate * IN_FLIGHT_SECONDS / self.slots() as f64) as u64;
        (len / MIN_PART * MIN_PART).clamp(MIN_PART, MAX_AUTO_PART)
    }

    /// How long a body in flight takes to move `bytes` at its share of the link.
    #[must_use]
    pub fn time_for(&self, bytes: u64) -> Option<Duration> {
        let rate = self.rate()?;
        let share = rate / self.in_flight.max(1) as f64;
        (share > 0.0).then(|| Duration::from_secs_f64(bytes as f64 / share))
    }

    /// A body of `len` bytes starts.
    pub fn start(&mut self, now: Instant, len: u64) -> Ticket {
        self.in_flight += 1;
        self.in_flight_bytes += len;
        Ticket {
            started: now,
            delivered_at_start: self.delivered,
            len,
        }
    }

    /// The body of `ticket` turned out to be `len` bytes (the last part, a resumed range).
    pub fn resize(&mut self, ticket: &mut Ticket, len: u64) {
        self.in_flight_bytes = self.in_flight_bytes - ticket.len.min(self.in_flight_bytes) + len;
        ticket.len = len;
    }

    /// The body of `ticket` was acknowledged.
    pub fn finish(&mut self, now: Instant, ticket: Ticket) {
        self.release(ticket);
        self.delivered += ticket.len;
        let took = now
            .saturating_duration_since(ticket.started)
            .max(Duration::from_millis(1));
        let sample = (self.delivered - ticket.delivered_at_start) as f64 / took.as_secs_f64();
        self.samples.push_back((now, sample));
        while self.samples.len() > 1
            && self
                .samples
                .front()
                .is_some_and(|&(at, _)| now.saturating_duration_since(at) > RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        self.recent.push_back((ticket.started, now, ticket.len));
        while self.recent.len() > self.slots().max(2) {
            self.recent.pop_front();
        }
        self.adapt(now, ticket.started, ticket.len);
    }

    /// The body of `ticket` ended without an acknowledgement: stopped (`failed` false) or
    /// failed (the link or the service is in trouble: half the slots).
    pub fn abandon(&mut self, ticket: Ticket, failed: bool) {
        self.release(ticket);
        if failed {
            self.note_error();
        }
    }

    /// An error on the way (a retry): fewer bodies at once.
    pub fn note_error(&mut self) {
        self.slots = (self.slots / 2).max(1);
        self.startup = false;
        self.trial = None;
    }

    fn release(&mut self, ticket: Ticket) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.in_flight_bytes = self.in_flight_bytes.saturating_sub(ticket.len);
    }

    fn adapt(&mut self, now: Instant, started: Instant, len: u64) {
        if let Some(mut trial) = self.trial {
            // Only bodies started after the change show what it did, judged over a whole
            // round of them.
            if started < trial.since {
                return;
            }
            trial.after.add(started, now, len);
            if trial.after.bodies < self.slots() {
                self.trial = Some(trial);
                return;
            }
            self.trial = None;
            // Half of what the added bodies would bring if each carried as much as the others.
            let ideal = self.slots as f64 / trial.from.max(1) as f64;
            let needed = (1.0 + (ideal - 1.0) * GROWTH_SHARE).max(GROWTH_FLOOR);
            if trial.after.rate() < trial.base * needed {
                // More at once did not make it faster: the link is full (or the queue has
                // no more to send). Back to what was enough, and probe again later.
                self.slots = trial.from;
                self.startup = false;
                self.hold_until = Some(now + PROBE_EVERY);
                return;
            }
        }
        if self.slots >= self.cap || self.hold_until.is_some_and(|until| now < until) {
            return;
        }
        let mut base = Round::EMPTY;
        for &(start, end, bytes) in &self.recent {
            base.add(start, end, bytes);
        }
        let from = self.slots;
        self.slots = if self.startup {
            (from * 2).min(self.cap)
        } else {
            from + 1
        };
        self.trial = Some(Trial {
            from,
            base: base.rate(),
            since: now,
            after: Round::EMPTY,
        });
    }

    /// The bytes handed to connections in all (a counter that only grows), read every few
    /// hundred milliseconds: when they lag far behind the estimate, the link collapsed.
    pub fn observe_wire(&mut self, now: Instant, total: u64) {
        self.wire.push_back((now, total));
        while self.wire.len() > 2
            && self
                .wire
                .get(1)
                .is_some_and(|&(at, _)| now.saturating_duration_since(at) >= COLLAPSE_AFTER)
        {
            self.wire.pop_front();
        }
        let (Some(&(first_at, first)), Some(rate)) = (self.wire.front(), self.rate()) else {
            return;
        };
        let span = now.saturating_duration_since(first_at);
        if span < COLLAPSE_AFTER || self.in_flight == 0 {
            return;
        }
        let wire_rate = total.saturating_sub(first) as f64 / span.as_secs_f64();
        if wire_rate < rate / 3.0 {
            tracing::debug!(
                from = rate,
                to = wire_rate,
                "the link slowed down: shrinking the parts"
            );
            self.samples.clear();
            self.samples
                .push_back((now, wire_rate.max(MIN_PART as f64 / 10.0)));
            self.trial = None;
            self.wire.clear();
        }
    }
}

/// The engine's one budget, shared by every job.
pub struct Budget {
    inner: Mutex<Inner>,
    /// Bytes handed to connections by every body, for [`Controller::observe_wire`].
    wire: Arc<AtomicU64>,
}

struct Inner {
    controller: Controller,
    waiters: BTreeMap<(i64, u64), oneshot::Sender<Grant>>,
    next_seq: u64,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget").finish_non_exhaustive()
    }
}

impl Budget {
    /// A budget of at most `cap` bodies in flight.
    #[must_use]
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                controller: Controller::new(cap),
                waiters: BTreeMap::new(),
                next_seq: 0,
            }),
            wire: Arc::new(AtomicU64::new(0)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The controller's numbers stay usable after a panic elsewhere.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The counter every body adds its bytes to as it hands them to the connection.
    #[must_use]
    pub fn wire(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.wire)
    }

    /// A copy of the controller, to read.
    #[must_use]
    pub fn controller(&self) -> Controller {
        self.lock().controller.clone()
    }

    /// Changes the cap on bodies in flight.
    pub fn set_cap(self: &Arc<Self>, cap: usize) {
        self.lock().controller.set_cap(cap);
        self.dispatch();
    }

    /// Waits for a slot; `priority` is served lowest first (the item id).
    pub async fn acquire(self: &Arc<Self>, priority: i64) -> Grant {
        let receiver = {
            let mut inner = self.lock();
            let (sender, receiver) = oneshot::channel();
            let seq = inner.next_seq;
            inner.next_seq += 1;
            inner.waiters.insert((priority, seq), sender);
            receiver
        };
        self.dispatch();
        match receiver.await {
            Ok(grant) => grant,
            // The budget never drops a waiter without a grant while it lives, and this
            // future holds it alive: unreachable, but a free slot is the harmless answer.
            Err(_) => self.grant_now(),
        }
    }

    fn grant_now(self: &Arc<Self>) -> Grant {
        let mut inner = self.lock();
        let len = inner.controller.part_len();
        let ticket = inner.controller.start(Instant::now(), len);
        Grant {
            budget: Arc::clone(self),
            ticket: Some(ticket),
        }
    }

    /// Hands free slots to the waiters, in priority order.
    fn dispatch(self: &Arc<Self>) {
        loop {
            let (sender, grant) = {
                let mut inner = self.lock();
                if !inner.controller.can_start() {
                    return;
                }
                let Some((_, sender)) = inner.waiters.pop_first() else {
                    return;
                };
                if sender.is_closed() {
                    continue;
                }
                let len = inner.controller.part_len();
                let ticket = inner.controller.start(Instant::now(), len);
                (
                    sender,
                    Grant {
                        budget: Arc::clone(self),
                        ticket: Some(ticket),
                    },
                )
            };
            // A waiter gone meanwhile drops the grant, which gives the slot back.
            let _ = sender.send(grant);
        }
    }

    /// Reads the wire counter into the controller (the engine calls this a few times a
    /// second while it uploads).
    pub fn tick(&self) {
        let total = self.wire.load(Ordering::Relaxed);
        self.lock().controller.observe_wire(Instant::now(), total);
    }

    /// An error on the way.
    pub fn note_error(self: &Arc<Self>) {
        self.lock().controller.note_error();
    }
}

/// Leave to have one body in flight; given back when dropped.
#[derive(Debug)]
pub struct Grant {
    budget: Arc<Budget>,
    ticket: Option<Ticket>,
}

impl Grant {
    /// The size the budget suggests for a new part.
    #[must_use]
    pub fn suggested_len(&self) -> u64 {
        self.ticket.map_or(START_PART, |t| t.len)
    }

    /// The body is `len` bytes.
    pub fn set_len(&mut self, len: u64) {
        if let Some(ticket) = &mut self.ticket {
            self.budget.lock().controller.resize(ticket, len);
        }
    }

    /// How long this body should take for its remaining `bytes`, at its share of the link.
    #[must_use]
    pub fn time_for(&self, bytes: u64) -> Option<Duration> {
        self.budget.lock().controller.time_for(bytes)
    }

    /// The body was acknowledged.
    pub fn done(mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.budget.lock().controller.finish(Instant::now(), ticket);
        }
        self.budget.dispatch();
    }

    /// The body failed for good.
    pub fn failed(mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.budget.lock().controller.abandon(ticket, true);
        }
        self.budget.dispatch();
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.budget.lock().controller.abandon(ticket, false);
            self.budget.dispatch();
        }
    }
}

/// Spaces calls of one API action to the service's rate (VOD: 100 a second each for
/// ApplyUpload and CommitUpload): dozens of small files at once must not run into
/// `RequestLimitExceeded`.
#[derive(Debug)]
pub struct Pacer {
    next: tokio::sync::Mutex<Instant>,
    every: Duration,
}

/// The calls a second [`Pacer::per_second`] leaves room for below the service's limit.
pub const API_CALLS_PER_SECOND: u32 = 90;

impl Pacer {
    /// At most `rate` calls a second.
    #[must_use]
    pub fn per_second(rate: u32) -> Self {
        Self {
            next: tokio::sync::Mutex::new(Instant::now()),
            every: Duration::from_secs(1) / rate.max(1),
        }
    }

    /// Waits for this call's turn.
    pub async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.every;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests;
