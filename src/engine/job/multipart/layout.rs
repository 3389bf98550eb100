//! The layout of a multipart upload's parts: which byte ranges exist under which part
//! numbers, which are acknowledged, which wait to be sent (pure: no I/O).

use std::collections::BTreeMap;

use crate::engine::planner;
use crate::store::{PartRecord, PlannedPart};

/// A part's byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub number: u32,
    pub offset: u64,
    pub len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    /// Chosen, not being sent (left by an earlier run, or given back by a pause).
    Todo,
    /// Being sent.
    Flying,
    /// Acknowledged.
    Done(PartRecord),
}

/// The parts of one multipart upload: ranges that tile the file from 0 without gaps, in
/// number order, each in one [`Slot`] state.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    size: u64,
    /// The user's part size, when set.
    fixed: Option<u64>,
    spans: BTreeMap<u32, (Span, Slot)>,
    /// The first byte no range covers yet.
    next_offset: u64,
}

impl Layout {
    /// A layout with no parts yet.
    pub(crate) fn new(size: u64, fixed: Option<u64>) -> Self {
        Self {
            size,
            fixed,
            spans: BTreeMap::new(),
            next_offset: 0,
        }
    }

    /// The layout a resume continues: `done` parts (acknowledged) and `planned` ranges (chosen,
    /// maybe sent, not acknowledged). `Err` when they do not tile the file from 0.
    pub(crate) fn resume(
        size: u64,
        fixed: Option<u64>,
        done: Vec<PartRecord>,
        planned: Vec<PlannedPart>,
    ) -> Result<Self, String> {
        let mut layout = Self::new(size, fixed);
        for part in planned {
            let span = Span {
                number: part.number,
                offset: part.offset,
                len: part.size,
            };
            layout.spans.insert(part.number, (span, Slot::Todo));
        }
        for part in done {
            let span = Span {
                number: part.number,
                offset: part.offset,
                len: part.size,
            };
            layout.spans.insert(part.number, (span, Slot::Done(part)));
        }
        let mut end = 0;
        for (expected, (number, (span, _))) in (1u32..).zip(&layout.spans) {
            if *number != expected || span.offset != end || span.len == 0 {
                return Err(format!(
                    "part {number} covers bytes {}..{} where part {expected} from byte {end} was expected",
                    span.offset,
                    span.offset + span.len
                ));
            }
            end += span.len;
        }
        if end > size {
            return Err(format!("the parts cover {end} bytes of a {size}-byte file"));
        }
        layout.next_offset = end;
        Ok(layout)
    }

    fn next_number(&self) -> u32 {
        self.spans.keys().next_back().map_or(1, |n| n + 1)
    }

    /// Whether a range waits to be sent (left over, or not chosen yet).
    pub(crate) fn has_more(&self) -> bool {
        self.next_offset < self.size || self.spans.values().any(|(_, s)| *s == Slot::Todo)
    }

    /// Whether every byte is in an acknowledged part.
    pub(crate) fn complete(&self) -> bool {
        self.next_offset == self.size
            && self.spans.values().all(|(_, s)| matches!(s, Slot::Done(_)))
    }

    /// The next range to send, now marked in flight, and whether it is new (to be recorded).
    /// A new one is `suggested` bytes (or the user's part size), at least what still fits
    /// in 10,000 parts, and the rest of the file when less is left.
    pub(crate) fn take(&mut self, suggested: u64) -> Option<(Span, bool)> {
        if let Some((span, slot)) = self.spans.values_mut().find(|(_, s)| *s == Slot::Todo) {
            *slot = Slot::Flying;
            return Some((*span, false));
        }
        if self.next_offset >= self.size {
            return None;
        }
        let number = self.next_number();
        let remaining = self.size - self.next_offset;
        let parts_left = planner::MAX_PARTS
            .saturating_sub(u64::from(number) - 1)
            .max(1);
        let fit = remaining.div_ceil(parts_left).max(planner::MIN_PART);
        let want = self.fixed.unwrap_or(suggested).max(fit);
        let len = if want >= remaining { remaining } else { want };
        let span = Span {
            number,
            offset: self.next_offset,
            len,
        };
        self.next_offset += len;
        self.spans.insert(number, (span, Slot::Flying));
        Some((span, true))
    }

    /// The part of `number` was acknowledged.
    pub(crate) fn finish(&mut self, part: PartRecord) {
        if let Some((_, slot)) = self.spans.get_mut(&part.number) {
            *slot = Slot::Done(part);
        }
    }

    /// The part of `number` stopped without an answer: it waits to be sent again.
    pub(crate) fn give_back(&mut self, number: u32) {
        if let Some((_, slot)) = self.spans.get_mut(&number)
            && *slot == Slot::Flying
        {
            *slot = Slot::Todo;
        }
    }

    /// Acknowledged parts, by number.
    pub(crate) fn done(&self) -> impl Iterator<Item = &PartRecord> {
        self.spans.values().filter_map(|(_, s)| match s {
            Slot::Done(part) => Some(part),
            _ => None,
        })
    }

    /// Acknowledged bytes.
    pub(crate) fn done_bytes(&self) -> u64 {
        self.done().map(|p| p.size).sum()
    }

    /// (acknowledged parts, parts known so far, or the estimate of all parts).
    pub(crate) fn counts(&self) -> (usize, u32) {
        let done = self.done().count();
        let known = u32::try_from(self.spans.len()).unwrap_or(u32::MAX);
        let average = self.next_offset / u64::from(known.max(1));
        let left = match (self.size - self.next_offset, average) {
            (0, _) => 0,
            (rest, 0) => u32::from(rest > 0),
            (rest, avg) => u32::try_from(rest.div_ceil(avg)).unwrap_or(u32::MAX),
        };
        (done, known.saturating_add(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn record(span: Span) -> PartRecord {
        PartRecord {
            number: span.number,
            offset: span.offset,
            etag: format!("\"{}\"", span.number),
            size: span.len,
            crc64: 0,
        }
    }

    #[test]
    fn ranges_follow_the_suggested_size_and_end_with_the_file() {
        let mut layout = Layout::new(10 * MIB + 5, None);
        let (a, new) = layout.take(MIB).unwrap();
        assert!(new);
        assert_eq!((a.number, a.offset, a.len), (1, 0, MIB));
        let (b, _) = layout.take(4 * MIB).unwrap();
        assert_eq!((b.number, b.offset, b.len), (2, MIB, 4 * MIB));
        let (c, _) = layout.take(64 * MIB).unwrap();
        assert_eq!((c.number, c.offset, c.len), (3, 5 * MIB, 5 * MIB + 5));
        assert!(layout.take(MIB).is_none());
        assert!(!layout.complete());
        for span in [a, b, c] {
            layout.finish(record(span));
        }
        assert!(layout.complete());
        assert_eq!(layout.done_bytes(), 10 * MIB + 5);
    }

    #[test]
    fn a_stopped_part_is_sent_again_under_its_number() {
        let mut layout = Layout::new(3 * MIB, Some(MIB));
        let (a, _) = layout.take(7 * MIB).unwrap();
        assert_eq!(a.len, MIB, "the user's part size wins");
        let (b, _) = layout.take(7 * MIB).unwrap();
        layout.give_back(a.number);
        let (again, new) = layout.take(5 * MIB).unwrap();
        assert_eq!(again, a);
        assert!(!new);
        assert_eq!(b.number, 2);
    }

    #[test]
    fn a_resume_continues_after_the_recorded_ranges() {
        let done = vec![record(Span {
            number: 1,
            offset: 0,
            len: 2 * MIB,
        })];
        let planned = vec![PlannedPart {
            number: 2,
            offset: 2 * MIB,
            size: 3 * MIB,
        }];
        let mut layout = Layout::resume(9 * MIB, None, done, planned).unwrap();
        assert_eq!(layout.done_bytes(), 2 * MIB);
        let (left, new) = layout.take(MIB).unwrap();
        assert_eq!(
            (left.number, left.offset, left.len, new),
            (2, 2 * MIB, 3 * MIB, false)
        );
        let (next, new) = layout.take(MIB).unwrap();
        assert_eq!((next.number, next.offset, new), (3, 5 * MIB, true));
    }

    #[test]
    fn ranges_that_do_not_tile_the_file_are_refused() {
        let gap = vec![PlannedPart {
            number: 2,
            offset: 2 * MIB,
            size: MIB,
        }];
        assert!(Layout::resume(9 * MIB, None, Vec::new(), gap).is_err());
        let overlap = vec![
            PlannedPart {
                number: 1,
                offset: 0,
                size: 2 * MIB,
            },
            PlannedPart {
                number: 2,
                offset: MIB,
                size: MIB,
            },
        ];
        assert!(Layout::resume(9 * MIB, None, Vec::new(), overlap).is_err());
    }

    #[test]
    fn a_large_file_always_fits_in_ten_thousand_parts() {
        let size = 100_000 * MIB;
        let mut layout = Layout::new(size, None);
        let mut count = 0u64;
        while let Some((span, _)) = layout.take(MIB) {
            layout.finish(record(span));
            count += 1;
        }
        assert!(count <= planner::MAX_PARTS, "{count} parts");
        assert!(layout.complete());
    }
}
