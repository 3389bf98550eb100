//! Sizes, speeds, times, states and counts in words, for the table, the status bar and the
//! window title.

use std::time::Duration;

use super::{Row, Totals};
use crate::engine::api::{Destination, ItemState, PublishState, StallReason, WeComMediaType};
use crate::gui::files::FileKind;
use crate::gui::i18n::Texts;

/// `1.5 MiB`: binary units, one decimal above bytes.
#[must_use]
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `2.0 MiB/s`, or an empty string when not moving.
#[must_use]
pub fn format_speed(bytes_per_second: f64) -> String {
    if bytes_per_second < 1.0 || !bytes_per_second.is_finite() {
        return String::new();
    }
    format!("{}/s", format_bytes(bytes_per_second as u64))
}

/// `1:02:03`, `4:05`, or empty when unknown.
#[must_use]
pub fn format_eta(eta: Option<Duration>) -> String {
    let Some(eta) = eta else {
        return String::new();
    };
    let secs = eta.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The state in words, with the stall reason when there is one.
#[must_use]
pub fn state_text(row: &Row, t: &Texts) -> String {
    let base = match &row.snap.state {
        ItemState::Queued => t.state_queued,
        ItemState::Applying => t.state_applying,
        ItemState::Uploading { .. } => t.state_uploading,
        ItemState::Committing => t.state_committing,
        ItemState::Done { .. } => t.state_done,
        ItemState::Paused => t.state_paused,
        ItemState::Failed(_) => t.state_failed,
        ItemState::Cancelled => t.state_cancelled,
    };
    if row.is_refused() {
        return t.state_refused.to_owned();
    }
    if !row.is_running() {
        return base.to_owned();
    }
    match &row.snap.progress.stalled {
        None => base.to_owned(),
        Some(StallReason::Offline) => format!("{base} ({})", t.stalled_offline),
        Some(StallReason::Retrying { attempt, .. }) => {
            format!("{base} ({} #{attempt})", t.stalled_retrying)
        }
        Some(StallReason::WaitingForCredentials) => format!("{base} ({})", t.stalled_credentials),
        Some(StallReason::RateLimited) => format!("{base} ({})", t.stalled_rate_limited),
    }
}

/// The file type in words.
#[must_use]
pub fn kind_text(row: &Row, t: &Texts) -> &'static str {
    match (row.snap.destination, row.kind) {
        (Destination::WeCom(WeComMediaType::Image), _) => t.kind_wecom_image,
        (Destination::WeCom(WeComMediaType::Voice), _) => t.kind_wecom_voice,
        (Destination::WeCom(WeComMediaType::Video), _) => t.kind_wecom_video,
        (Destination::WeCom(WeComMediaType::File), _) => t.kind_wecom_file,
        (_, FileKind::Other) => t.kind_other,
        (_, FileKind::Video) => t.kind_video,
        (_, FileKind::Audio) => t.kind_audio,
        (_, FileKind::Cover) => t.kind_image,
    }
}

/// The publication state in words.
#[must_use]
pub fn publish_text(publish: &PublishState, t: &Texts) -> &'static str {
    match publish {
        PublishState::NotPublished => t.publish_not_published,
        PublishState::UnderReview { .. } => t.publish_under_review,
        PublishState::Published { .. } => t.publish_published,
        PublishState::Rejected(_) => t.publish_rejected,
        PublishState::Suspended { .. } => t.publish_suspended,
        PublishState::Deleted => t.publish_deleted,
    }
}

/// The counts that are not zero, in words: "1 uploading, 3 queued, 1 paused".
#[must_use]
pub fn counts_text(totals: &Totals, t: &Texts) -> String {
    [
        (totals.active, t.active),
        (totals.queued, t.queued),
        (totals.paused, t.paused),
        (totals.failed, t.failed),
        (totals.cancelled, t.cancelled),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, word)| format!("{n} {word}"))
    .collect::<Vec<_>>()
    .join(t.list_separator)
}

/// The window title: the app name, plus overall progress while something moves or waits
/// for a slot, with what is moving counted apart from what waits.
#[must_use]
pub fn window_title(totals: &Totals, t: &Texts) -> String {
    match totals.fraction() {
        Some(fraction) if totals.active > 0 || totals.queued > 0 => {
            let counts = [
                (totals.active, t.active),
                (totals.queued, t.queued),
                (totals.paused, t.paused),
            ]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, word)| format!("{n} {word}"))
            .collect::<Vec<_>>()
            .join(t.list_separator);
            format!(
                "{} — {:.0}% ({counts})",
                t.app_name,
                f64::from(fraction) * 100.0,
            )
        }
        _ => t.app_name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(format_speed(0.0), "");
        assert_eq!(format_speed(2.0 * 1024.0 * 1024.0), "2.0 MiB/s");
        assert_eq!(format_eta(Some(Duration::from_secs(3723))), "1:02:03");
        assert_eq!(format_eta(Some(Duration::from_secs(65))), "1:05");
        assert_eq!(format_eta(None), "");
    }
}
