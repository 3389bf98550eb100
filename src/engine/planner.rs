//! The part planner: how a file is cut into parts. Pure, so its edge cases are unit-tested.
//!
//! COS multipart rules: at most 10,000 parts, every part but the last at least 1 MiB (and at
//! most 5 GiB). Files up to [`PUT_OBJECT_MAX`] go in one PutObject instead: one request is
//! faster than three for a small file, and such a file gains nothing from resuming.

/// 1 MiB, the smallest part COS accepts (except the last).
pub const MIN_PART: u64 = 1 << 20;
/// 5 GiB, the largest part (and the largest PutObject).
pub const MAX_PART: u64 = 5 << 30;
/// The most parts one upload may have.
pub const MAX_PARTS: u64 = 10_000;
/// The part size chosen when none is given, before it is raised to fit 10,000 parts: large
/// enough that request overhead is small on fast links, small enough that a pause or crash
/// loses little.
pub const DEFAULT_PART: u64 = 8 << 20;
/// Files up to this size go in one PutObject.
pub const PUT_OBJECT_MAX: u64 = 8 << 20;

/// How a file is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// One PutObject.
    Single {
        /// Bytes.
        size: u64,
    },
    /// A multipart upload.
    Multipart(PartPlan),
}

/// The parts of a multipart upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    /// File size.
    pub size: u64,
    /// Every part's size but the last's.
    pub part_size: u64,
    /// Number of parts.
    pub count: u32,
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The requested part size is below 1 MiB or above 5 GiB.
    #[error("part size {0} bytes is outside what COS accepts (1 MiB to 5 GiB)")]
    PartSize(u64),
    /// The requested part size gives more than 10,000 parts.
    #[error(
        "part size {part_size} bytes would cut this {size}-byte file into more than 10,000 parts; use at least {min} bytes"
    )]
    TooManyParts {
        /// File size.
        size: u64,
        /// Requested part size.
        part_size: u64,
        /// The smallest part size that fits.
        min: u64,
    },
    /// Larger than COS can store in one object.
    #[error("the file is {0} bytes; COS stores at most 10,000 parts of 5 GiB")]
    TooLarge(u64),
}

impl PartPlan {
    /// The byte range `(offset, len)` of part `number` (1-based).
    #[must_use]
    pub fn range(&self, number: u32) -> (u64, u64) {
        let offset = u64::from(number.saturating_sub(1)) * self.part_size;
        let len = self.part_size.min(self.size.saturating_sub(offset));
        (offset, len)
    }
}

/// Plans parts for a file of `size` bytes; `requested` is the user's part size.
///
/// # Errors
/// When the requested part size breaks the COS rules, or the file is too large.
pub fn plan_parts(size: u64, requested: Option<u64>) -> Result<PartPlan, PlanError> {
    if size > MAX_PART * MAX_PARTS {
        return Err(PlanError::TooLarge(size));
    }
    let min_fit = size.div_ceil(MAX_PARTS).max(MIN_PART);
    let part_size = match requested {
        Some(part) if !(MIN_PART..=MAX_PART).contains(&part) => {
            return Err(PlanError::PartSize(part));
        }
        Some(part) if part < min_fit => {
            return Err(PlanError::TooManyParts {
                size,
                part_size: part,
                min: min_fit,
            });
        }
        Some(part) => part,
        None => {
            // Whole MiB, as the SDKs choose, at least the default.
            let mut part = DEFAULT_PART;
            while size.div_ceil(part) > MAX_PARTS {
                part = part.saturating_mul(2);
            }
            part.min(MAX_PART).max(min_fit)
        }
    };
    let count = u32::try_from(size.div_ceil(part_size)).unwrap_or(u32::MAX);
    Ok(PartPlan {
        size,
        part_size,
        count,
    })
}

/// Chooses PutObject or multipart for a file.
///
/// # Errors
/// As [`plan_parts`].
pub fn plan(size: u64, requested: Option<u64>) -> Result<Plan, PlanError> {
    if size <= PUT_OBJECT_MAX {
        if let Some(part) = requested
            && !(MIN_PART..=MAX_PART).contains(&part)
        {
            return Err(PlanError::PartSize(part));
        }
        return Ok(Plan::Single { size });
    }
    plan_parts(size, requested).map(Plan::Multipart)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn check_cover(plan: &PartPlan) {
        let mut total = 0;
        for n in 1..=plan.count {
            let (offset, len) = plan.range(n);
            assert_eq!(offset, total);
            assert!(len > 0);
            if n < plan.count {
                assert!(len >= MIN_PART);
            }
            total += len;
        }
        assert_eq!(total, plan.size);
        assert!(u64::from(plan.count) <= MAX_PARTS);
    }

    #[test]
    fn zero_bytes() {
        let plan = plan_parts(0, None).unwrap();
        assert_eq!(plan.count, 0);
        check_cover(&plan);
        assert_eq!(super::plan(0, None).unwrap(), Plan::Single { size: 0 });
    }

    #[test]
    fn exact_multiples() {
        let plan = plan_parts(40 * MIB, Some(MIB)).unwrap();
        assert_eq!(plan.count, 40);
        assert_eq!(plan.range(40), (39 * MIB, MIB));
        check_cover(&plan);
        let plan = plan_parts(40 * MIB + 1, Some(MIB)).unwrap();
        assert_eq!(plan.count, 41);
        assert_eq!(plan.range(41), (40 * MIB, 1));
        check_cover(&plan);
        let plan = plan_parts(64 * MIB, None).unwrap();
        assert_eq!((plan.part_size, plan.count), (DEFAULT_PART, 8));
    }

    #[test]
    fn ten_thousand_part_boundary() {
        // Exactly 10,000 parts of 1 MiB fit.
        let plan = plan_parts(MAX_PARTS * MIB, Some(MIB)).unwrap();
        assert_eq!(plan.count, 10_000);
        check_cover(&plan);
        // One byte more does not, with 1 MiB parts.
        let err = plan_parts(MAX_PARTS * MIB + 1, Some(MIB)).unwrap_err();
        assert!(matches!(err, PlanError::TooManyParts { min, .. } if min == MIB + 1));
        // Automatic: a 100 GiB file gets a doubled part size and stays within the limit.
        let plan = plan_parts(100 << 30, None).unwrap();
        assert_eq!(plan.part_size, 16 * MIB);
        check_cover(&plan);
        let size = MAX_PARTS * DEFAULT_PART;
        let plan = plan_parts(size, None).unwrap();
        assert_eq!((plan.part_size, plan.count), (DEFAULT_PART, 10_000));
        let plan = plan_parts(size + 1, None).unwrap();
        assert_eq!(plan.part_size, 2 * DEFAULT_PART);
        check_cover(&plan);
    }

    #[test]
    fn limits() {
        assert_eq!(
            plan_parts(10, Some(MIB - 1)),
            Err(PlanError::PartSize(MIB - 1))
        );
        assert!(matches!(
            plan_parts(MAX_PART * MAX_PARTS + 1, None),
            Err(PlanError::TooLarge(_))
        ));
        let plan = plan_parts(MAX_PART * MAX_PARTS, None).unwrap();
        assert_eq!(plan.count, 10_000);
        assert_eq!(
            super::plan(PUT_OBJECT_MAX, None).unwrap(),
            Plan::Single {
                size: PUT_OBJECT_MAX
            }
        );
        assert!(matches!(
            super::plan(PUT_OBJECT_MAX + 1, None).unwrap(),
            Plan::Multipart(_)
        ));
    }
}
