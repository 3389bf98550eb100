//! WeChat Mini Program publishing rules, without I/O: which definition to publish, which URL
//! to show, how fast to poll the review, and how to explain the service's refusals.

use std::time::Duration;

use crate::tencent::models::{DescribeTaskDetailResponse, MediaInfo};

/// Containers the service accepts for the original (definition 0).
const SOURCE_CONTAINERS: &[&str] = &["mp4", "3gp"];

/// Why no definition can be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickError {
    /// An audio file: WeChat Mini Program publishing takes video only.
    #[error("this is an audio file; only videos can be published to WeChat")]
    Audio,
    /// No MP4 output and the original is not MP4/3GP.
    #[error(
        "WeChat needs an MP4 version of this video: the original is {container} and there is no MP4 transcode yet; run a transcode task flow (for example one with an MP4 template) and publish again"
    )]
    NeedsMp4Transcode {
        /// The original's container.
        container: String,
    },
}

fn is_mp4(container: &str) -> bool {
    container.eq_ignore_ascii_case("mp4")
}

/// Picks the definition to publish when the user did not choose one: the MP4 transcode with the
/// highest bitrate (never an HLS or other output, whatever its bitrate), else the original when
/// it is MP4/3GP.
///
/// # Errors
/// [`PickError`] when the file is audio or has no publishable MP4.
pub fn pick_definition(info: &MediaInfo) -> Result<i64, PickError> {
    let basic = info.basic_info.as_ref();
    if basic.is_some_and(|b| b.category.eq_ignore_ascii_case("audio")) {
        return Err(PickError::Audio);
    }
    let transcodes = info
        .transcode_info
        .as_ref()
        .map(|t| t.transcode_set.as_slice())
        .unwrap_or_default();
    let best = transcodes
        .iter()
        .filter(|t| t.definition != 0 && is_mp4(&t.container))
        .max_by_key(|t| (t.bitrate, t.definition));
    if let Some(best) = best {
        return Ok(best.definition);
    }
    let source_container = basic
        .map(|b| b.media_type.clone())
        .filter(|c| !c.is_empty())
        .or_else(|| {
            transcodes
                .iter()
                .find(|t| t.definition == 0)
                .map(|t| t.container.clone())
        })
        .unwrap_or_default();
    if SOURCE_CONTAINERS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(&source_container))
    {
        return Ok(0);
    }
    if ["mp3", "m4a", "flac", "ogg", "wav", "aac", "amr"]
        .iter()
        .any(|c| c.eq_ignore_ascii_case(&source_container))
    {
        return Err(PickError::Audio);
    }
    Err(PickError::NeedsMp4Transcode {
        container: if source_container.is_empty() {
            "of an unknown type".to_owned()
        } else {
            source_container
        },
    })
}

/// The publishing URL of `definition`: the review URL the service reports for it, else that
/// definition's transcode URL, else the media URL.
#[must_use]
pub fn publish_url(info: &MediaInfo, definition: i64) -> Option<String> {
    let review = info
        .mini_program_review_info
        .as_ref()
        .and_then(|r| {
            r.mini_program_review_list
                .iter()
                .find(|item| item.definition == definition && !item.url.is_empty())
        })
        .map(|item| item.url.clone());
    let transcode = || {
        info.transcode_info.as_ref().and_then(|t| {
            t.transcode_set
                .iter()
                .find(|item| item.definition == definition && !item.url.is_empty())
                .map(|item| item.url.clone())
        })
    };
    let media = || {
        info.basic_info
            .as_ref()
            .map(|b| b.media_url.clone())
            .filter(|u| !u.is_empty())
    };
    review.or_else(transcode).or_else(media)
}

/// Where a review task stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// Still `WAITING` or `PROCESSING`.
    Pending,
    /// `ErrCode == 0 && PublishResult == "Pass"`.
    Passed,
    /// Finished without passing; the message says why.
    Refused {
        /// `Rejected`, `Failed`, or the error code.
        result: String,
        /// In plain words.
        message: String,
    },
}

/// Reads a `DescribeTaskDetail` answer of a publish task.
#[must_use]
pub fn review_outcome(detail: &DescribeTaskDetailResponse) -> ReviewOutcome {
    if detail.status.eq_ignore_ascii_case("ABORTED") {
        return ReviewOutcome::Refused {
            result: "Aborted".into(),
            message: "the service aborted the publishing task; publish again".into(),
        };
    }
    let Some(task) = &detail.wechat_mini_program_publish_task else {
        return ReviewOutcome::Pending;
    };
    let finished =
        task.status.eq_ignore_ascii_case("FINISH") || detail.status.eq_ignore_ascii_case("FINISH");
    if !finished {
        return ReviewOutcome::Pending;
    }
    if task.err_code == 0 && task.publish_result.eq_ignore_ascii_case("Pass") {
        return ReviewOutcome::Passed;
    }
    let result = if task.publish_result.is_empty() {
        format!("error {}", task.err_code)
    } else {
        task.publish_result.clone()
    };
    let message = match (
        task.publish_result.to_ascii_lowercase().as_str(),
        task.message.as_str(),
    ) {
        ("rejected", "") => "WeChat's review rejected the video".to_owned(),
        ("rejected", text) => format!("WeChat's review rejected the video: {text}"),
        (_, "") => format!("publishing failed ({result})"),
        (_, text) => format!("publishing failed: {text}"),
    };
    ReviewOutcome::Refused { result, message }
}

/// How long a review has run: `mm:ss` or `h:mm:ss`.
#[must_use]
pub fn format_elapsed(seconds: i64) -> String {
    let s = seconds.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// How long to wait before polling a review again, given how long it has been running.
///
/// Seconds at first (most reviews in the emulator and many real ones finish quickly), then
/// minutes: the service promises at most 4 hours, and 100 requests/second is shared by all.
#[must_use]
pub fn poll_delay(elapsed: Duration) -> Duration {
    let secs = elapsed.as_secs();
    Duration::from_secs(match secs {
        0..60 => 2,
        60..300 => 10,
        300..1800 => 30,
        1800..7200 => 120,
        _ => 300,
    })
}

/// A refusal explained in plain words, in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// English.
    pub en: &'static str,
    /// 简体中文.
    pub zh: &'static str,
}

/// Explains a VOD error code met while publishing or managing media; `None` for codes that
/// have no special explanation (show the service's message then).
#[must_use]
pub fn explain_code(code: &str) -> Option<Explanation> {
    let (en, zh) = match code {
        "FailedOperation.InvalidVodUser" => (
            "VOD is not activated for this account. Activate Video on Demand in the Tencent Cloud console, then try again.",
            "此账号尚未开通云点播（VOD）。请先在腾讯云控制台开通云点播，然后重试。",
        ),
        "FailedOperation.NoPrivileges"
        | "UnauthorizedOperation"
        | "AuthFailure.UnauthorizedOperation" => (
            "This account or key may not publish to WeChat. Complete identity verification in Console → User Center → Account Information, and make sure the key's CAM policy allows VOD.",
            "此账号或密钥无权发布到微信。请在 控制台 → 账号中心 → 账号信息 完成实名认证，并确认密钥的 CAM 策略允许访问云点播。",
        ),
        "InvalidParameterValue.FileType" => (
            "This file cannot be published to WeChat: only videos are accepted (not audio), and the published version must be MP4.",
            "此文件无法发布到微信：只接受视频（不接受音频），且发布的版本必须是 MP4。",
        ),
        "InvalidParameterValue.SourceDefinition" => (
            "There is no output for that definition. Pick another definition, or transcode the video to MP4 first.",
            "该清晰度没有对应的转码输出。请选择其他清晰度，或先将视频转码为 MP4。",
        ),
        "InvalidParameterValue.FileId" | "ResourceNotFound.FileNotExist" | "ResourceNotFound" => (
            "The file no longer exists in VOD (it may have been deleted elsewhere).",
            "该文件在云点播中已不存在（可能已在别处被删除）。",
        ),
        "FailedOperation.MediaForbidedBySystem" => (
            "The platform has blocked this media; it cannot be restored from here. Contact Tencent Cloud support.",
            "该媒体已被平台封禁，无法在此恢复。请联系腾讯云客服。",
        ),
        "AuthFailure.SecretIdNotFound" | "AuthFailure.InvalidSecretId" => (
            "The SecretId is not a valid API key. Check it (watch for spaces).",
            "SecretId 不是有效的 API 密钥。请在设置中检查（注意空格）。",
        ),
        "AuthFailure.SignatureFailure" => (
            "The SecretKey does not match the SecretId. Check the key.",
            "SecretKey 与 SecretId 不匹配。请在设置中检查密钥。",
        ),
        "RequestLimitExceeded" => (
            "The service is rate-limiting requests; VodDesk retries automatically.",
            "服务正在限制请求频率；VodDesk 会自动重试。",
        ),
        _ => return None,
    };
    Some(Explanation { en, zh })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_reads_naturally() {
        assert_eq!(format_elapsed(5), "0:05");
        assert_eq!(format_elapsed(125), "2:05");
        assert_eq!(format_elapsed(3 * 3600 + 61), "3:01:01");
        assert_eq!(format_elapsed(-3), "0:00");
    }
    use crate::tencent::models::{
        MediaBasicInfo, MediaTranscodeInfo, MediaTranscodeItem, MiniProgramReviewInfo,
        MiniProgramReviewItem, WechatMiniProgramPublishTask,
    };

    fn media(kind: &str, category: &str, outputs: &[(i64, &str, i64)]) -> MediaInfo {
        MediaInfo {
            file_id: "1".into(),
            basic_info: Some(MediaBasicInfo {
                media_type: kind.into(),
                category: category.into(),
                media_url: "http://x/f0".into(),
                ..MediaBasicInfo::default()
            }),
            transcode_info: Some(MediaTranscodeInfo {
                transcode_set: outputs
                    .iter()
                    .map(|(definition, container, bitrate)| MediaTranscodeItem {
                        definition: *definition,
                        container: (*container).into(),
                        bitrate: *bitrate,
                        url: format!("http://x/{definition}"),
                        ..MediaTranscodeItem::default()
                    })
                    .collect(),
            }),
            ..MediaInfo::default()
        }
    }

    #[test]
    fn picks_highest_bitrate_mp4_not_hls() {
        let info = media(
            "mov",
            "Video",
            &[
                (0, "mov", 9_000_000),
                (100_010, "mp4", 500_000),
                (100_030, "mp4", 2_000_000),
                (100_020, "mp4", 1_000_000),
                (100_240, "hls", 8_000_000),
            ],
        );
        assert_eq!(pick_definition(&info), Ok(100_030));
    }

    #[test]
    fn falls_back_to_mp4_or_3gp_source_else_explains() {
        assert_eq!(pick_definition(&media("mp4", "Video", &[])), Ok(0));
        assert_eq!(
            pick_definition(&media("3gp", "Video", &[(100_240, "hls", 1)])),
            Ok(0)
        );
        assert_eq!(
            pick_definition(&media("mkv", "Video", &[(100_240, "hls", 1)])),
            Err(PickError::NeedsMp4Transcode {
                container: "mkv".into()
            })
        );
        assert_eq!(
            pick_definition(&media("mp3", "Audio", &[])),
            Err(PickError::Audio)
        );
    }

    #[test]
    fn url_prefers_review_then_transcode_then_media() {
        let mut info = media("mp4", "Video", &[(0, "mp4", 1), (100_030, "mp4", 2)]);
        assert_eq!(
            publish_url(&info, 100_030).as_deref(),
            Some("http://x/100030")
        );
        assert_eq!(publish_url(&info, 7).as_deref(), Some("http://x/f0"));
        info.mini_program_review_info = Some(MiniProgramReviewInfo {
            mini_program_review_list: vec![MiniProgramReviewItem {
                definition: 100_030,
                url: "http://x/wechat/1".into(),
                review_result: "pass".into(),
            }],
        });
        assert_eq!(
            publish_url(&info, 100_030).as_deref(),
            Some("http://x/wechat/1")
        );
    }

    #[test]
    fn review_outcomes() {
        let detail =
            |status: &str, err_code, result: &str, message: &str| DescribeTaskDetailResponse {
                status: status.into(),
                wechat_mini_program_publish_task: Some(WechatMiniProgramPublishTask {
                    status: status.into(),
                    err_code,
                    publish_result: result.into(),
                    message: message.into(),
                    ..WechatMiniProgramPublishTask::default()
                }),
                ..DescribeTaskDetailResponse::default()
            };
        assert_eq!(
            review_outcome(&detail("WAITING", 0, "", "")),
            ReviewOutcome::Pending
        );
        assert_eq!(
            review_outcome(&detail("PROCESSING", 0, "", "")),
            ReviewOutcome::Pending
        );
        assert_eq!(
            review_outcome(&detail("FINISH", 0, "Pass", "")),
            ReviewOutcome::Passed
        );
        match review_outcome(&detail("FINISH", 0, "Rejected", "porn")) {
            ReviewOutcome::Refused { result, message } => {
                assert_eq!(result, "Rejected");
                assert!(message.contains("porn"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            review_outcome(&detail("FINISH", 70000, "", "internal")),
            ReviewOutcome::Refused { .. }
        ));
    }

    #[test]
    fn polling_backs_off_from_seconds_to_minutes() {
        assert_eq!(poll_delay(Duration::ZERO), Duration::from_secs(2));
        assert!(poll_delay(Duration::from_secs(600)) > poll_delay(Duration::from_secs(30)));
        assert_eq!(
            poll_delay(Duration::from_secs(4 * 3600)),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn explanations_in_both_languages() {
        let text = explain_code("FailedOperation.NoPrivileges").unwrap();
        assert!(
            text.en
                .contains("Console → User Center → Account Information")
        );
        assert!(text.zh.contains("实名认证"));
        assert!(explain_code("InvalidParameterValue.FileType").is_some());
        assert!(explain_code("FailedOperation.InvalidVodUser").is_some());
        assert!(explain_code("Something.Else").is_none());
    }
}
