//! The budget's tests: the pacer, the controller on made-up links, part sizes and the order
//! waiters are served in.

use super::*;

const MIB: u64 = 1 << 20;

#[tokio::test]
async fn the_pacer_spaces_calls_to_its_rate() {
    let pacer = Pacer::per_second(100);
    let t0 = Instant::now();
    for _ in 0..21 {
        pacer.wait().await;
    }
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(200), "{took:?}");
}

/// A made-up link for the controller: `rate` bytes per second in all, each connection at
/// most `per_conn`, plus `rtt` per body. Runs bodies until `until` and returns the
/// controller.
fn simulate(rate: f64, per_conn: f64, rtt: Duration, secs: f64, cap: usize) -> Controller {
    let mut c = Controller::new(cap);
    let t0 = Instant::now();
    let mut now = t0;
    // (ticket, bytes left to send, when the answer is back once all is sent)
    let mut flying: Vec<(Ticket, f64, Option<Instant>)> = Vec::new();
    let step = Duration::from_millis(5);
    while now.duration_since(t0).as_secs_f64() < secs {
        while c.can_start() {
            let len = c.part_len();
            let ticket = c.start(now, len);
            flying.push((ticket, len as f64, None));
        }
        let sending = flying.iter().filter(|f| f.2.is_none()).count().max(1) as f64;
        let share = (rate / sending).min(per_conn) * step.as_secs_f64();
        let mut i = 0;
        while i < flying.len() {
            let (ticket, left, answer) = &mut flying[i];
            match answer {
                None => {
                    *left -= share;
                    if *left <= 0.0 {
                        *answer = Some(now + rtt);
                    }
                    i += 1;
                }
                Some(at) if *at <= now => {
                    let ticket = *ticket;
                    flying.swap_remove(i);
                    c.finish(now, ticket);
                }
                Some(_) => i += 1,
            }
        }
        now += step;
    }
    c
}

#[test]
fn a_full_link_keeps_one_to_two_seconds_in_flight() {
    // 50 Mbit/s, one connection can carry it all (512 KiB window at 40 ms).
    let rate = 50e6 / 8.0;
    let c = simulate(rate, 12.5e6, Duration::from_millis(40), 30.0, 32);
    let est = c.rate().unwrap();
    assert!(est > rate * 0.8 && est < rate * 1.3, "rate {est}");
    let in_flight_s = (c.part_len() * c.slots() as u64) as f64 / rate;
    assert!(
        (0.7..=2.2).contains(&in_flight_s),
        "{in_flight_s} s in flight ({} slots of {} MiB)",
        c.slots(),
        c.part_len() / MIB
    );
    // More slots than one connection needs fill the round trips between parts; parts
    // shrink as slots grow, so what is in flight stays the same (checked above).
    assert!(
        c.slots() <= 12,
        "{} slots on a link one connection fills",
        c.slots()
    );
}

#[test]
fn window_bound_connections_get_more_slots() {
    // 400 Mbit/s, each connection at most 3 MiB/s (small window, long round trip).
    let rate = 400e6 / 8.0;
    let c = simulate(rate, 3.0 * MIB as f64, Duration::from_millis(80), 40.0, 32);
    assert!(c.slots() >= 12, "only {} slots", c.slots());
    assert!(c.rate().unwrap() > rate * 0.6, "rate {}", c.rate().unwrap());
}

#[test]
fn the_cap_bounds_the_slots() {
    let c = simulate(
        400e6 / 8.0,
        1.0 * MIB as f64,
        Duration::from_millis(40),
        20.0,
        4,
    );
    assert_eq!(c.slots(), 4);
}

#[test]
fn errors_halve_the_slots_and_end_slow_start() {
    let mut c = Controller::new(32);
    c.slots = 16;
    c.note_error();
    assert_eq!(c.slots(), 8);
    assert!(!c.startup);
}

#[test]
fn a_collapsed_link_shrinks_parts_within_seconds() {
    let rate = 400e6 / 8.0;
    let mut c = simulate(rate, 100e6, Duration::from_millis(40), 20.0, 32);
    let before = c.part_len();
    let t0 = Instant::now() + Duration::from_secs(100);
    // Bodies in flight that barely move: a tenth of the rate.
    let _held = c.start(t0, before);
    let mut wire = 0u64;
    for tick in 0..=12 {
        let now = t0 + Duration::from_millis(250 * tick);
        c.observe_wire(now, wire);
        wire += (rate / 10.0 / 4.0) as u64;
    }
    assert!(
        c.part_len() * 4 <= before,
        "part {} MiB, was {} MiB",
        c.part_len() / MIB,
        before / MIB
    );
}

#[test]
fn parts_are_whole_mib_within_bounds() {
    let mut c = Controller::new(8);
    assert_eq!(c.part_len(), START_PART);
    let t0 = Instant::now();
    let ticket = c.start(t0, 10 * MIB);
    c.finish(t0 + Duration::from_millis(1), ticket);
    assert_eq!(c.part_len(), MAX_AUTO_PART);
    // Between the bounds, a part is rounded down to whole MiB: 11 MiB in a second is
    // 13.2 MiB in flight, over 2 or 4 slots.
    let mut c = Controller::new(8);
    let ticket = c.start(t0, 11 * MIB);
    c.finish(t0 + Duration::from_secs(1), ticket);
    let len = c.part_len();
    assert!(MIN_PART < len && len < MAX_AUTO_PART, "{len}");
    assert_eq!(len % MIB, 0, "{len}");
}

#[tokio::test]
async fn the_oldest_item_is_served_first() {
    let budget = Budget::new(1);
    let first = budget.acquire(5).await;
    let b2 = Arc::clone(&budget);
    let later = tokio::spawn(async move { b2.acquire(9).await.suggested_len() });
    tokio::task::yield_now().await;
    let b3 = Arc::clone(&budget);
    let older = tokio::spawn(async move {
        let grant = b3.acquire(1).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        grant.suggested_len()
    });
    tokio::task::yield_now().await;
    drop(first);
    // The slot goes to item 1 although item 9 asked first.
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(!later.is_finished());
    older.await.unwrap();
    later.await.unwrap();
    assert_eq!(budget.controller().in_flight(), 0);
}
