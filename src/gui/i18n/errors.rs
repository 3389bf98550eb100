//! Engine refusals and service errors in the UI's language: the English rule or message as
//! the engine gave it, or its Chinese by the rule's words, the service's code or the kind of
//! failure.

use super::{Lang, REFUSED_CODE, ZH};

/// Refusal rules the engine states in English, and their Chinese: matched on the words of
/// the rule, so that the file name around them does not matter.
const REFUSALS_ZH: &[(&str, &str)] = &[
    (
        "WeCom accepts only files larger than 5 bytes",
        "企业微信只接受大于 5 字节的文件",
    ),
    (
        "WeCom images must be JPG or PNG",
        "企业微信图片必须是 JPG 或 PNG",
    ),
    (
        "WeCom images must be at most 2 MB",
        "企业微信图片不能超过 2 MB",
    ),
    ("WeCom voice must be AMR", "企业微信语音必须是 AMR 格式"),
    (
        "WeCom voice must be at most 2 MB (and 60 s)",
        "企业微信语音不能超过 2 MB（且不超过 60 秒）",
    ),
    ("WeCom video must be MP4", "企业微信视频必须是 MP4"),
    (
        "WeCom video must be at most 10 MB",
        "企业微信视频不能超过 10 MB",
    ),
    (
        "WeCom files must be at most 20 MB",
        "企业微信文件不能超过 20 MB",
    ),
    (
        "WeChat Work needs its application's CorpID and secret",
        "企业微信需要应用的企业 ID 和 Secret（在应用设置中填写，或设置 WECOM_CORP_ID 和 WECOM_CORP_SECRET）",
    ),
    ("is empty (0 bytes)", "是空文件（0 字节），服务不接受空文件"),
    ("is a folder, not a file", "是文件夹，不是文件"),
    ("is not a regular file", "不是普通文件"),
    ("cannot be read", "无法读取，请确认它存在"),
    ("cannot be opened for reading", "无法打开读取，请检查权限"),
    ("is not a supported", "不是支持的文件类型"),
    ("the media name", "媒体名称不符合规则"),
    ("source context", "来源上下文超过 250 个字符"),
    ("it could not be saved in the queue", "无法保存到队列中"),
];

/// A refusal's rule in `lang`: the English rule as the engine gave it, or its Chinese. An
/// unknown rule in the Chinese UI keeps the English words after a Chinese lead-in.
#[must_use]
pub fn refusal_text(reason: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return reason.to_owned();
    }
    match REFUSALS_ZH.iter().find(|(en, _)| reason.contains(en)) {
        Some((_, zh)) => (*zh).to_owned(),
        None => format!("{}{reason}", ZH.error_prefix),
    }
}

/// An engine or service error in `lang`, with the service's code and RequestId beside it
/// (they are what support asks for, so they stay as they are).
#[must_use]
pub fn error_text(err: &crate::engine::api::UserError, lang: Lang) -> String {
    let t = lang.texts();
    let code = err.code.as_deref();
    let words = error_words(err, lang);
    let mut beside = Vec::new();
    if let Some(code) = code.filter(|c| *c != REFUSED_CODE) {
        beside.push(format!("{} {code}", t.error_code));
    }
    if let Some(request_id) = &err.request_id {
        beside.push(format!("{} {request_id}", t.request_id));
    }
    if beside.is_empty() || words.contains(beside[0].as_str()) {
        words
    } else {
        format!("{words} ({})", beside.join(t.list_separator))
    }
}

/// An engine or service error's words in `lang`, without its code and RequestId: for where
/// those are shown apart, each with its Copy button.
#[must_use]
pub fn error_words(err: &crate::engine::api::UserError, lang: Lang) -> String {
    let code = err.code.as_deref();
    match (lang, code) {
        (_, Some(REFUSED_CODE)) => refusal_text(&err.message, lang),
        (Lang::En, _) => err.message.clone(),
        (Lang::Zh, Some(code)) => match crate::engine::publish::explain_code(code)
            .map(|text| text.zh.to_owned())
            .or_else(|| code.parse::<i64>().ok().map(wecom_errcode_zh))
        {
            Some(text) => text,
            None => zh_by_kind(&err.message),
        },
        (Lang::Zh, None) => zh_by_kind(&err.message),
    }
}

/// WeChat Work's documented errcodes in Chinese.
fn wecom_errcode_zh(errcode: i64) -> String {
    match errcode {
        -1 => "企业微信繁忙，请稍后重试",
        40001 => "企业微信应用 Secret 错误",
        40004 => "该类型不接受此媒体文件格式",
        40006 => "文件大小不被接受",
        40007 => "media_id 无效或已过期（素材保留 3 天）",
        40009 => "图片过大",
        40011 => "视频过大",
        40013 => "企业 ID（CorpID）错误",
        40014 | 42001 => "access_token 无效或已过期",
        44001 => "媒体文件为空",
        45001 => "媒体文件超过服务允许的大小",
        45009 => "调用过于频繁，已达到接口频率限制",
        48002 => "此应用无权调用该接口",
        60020 => "本机 IP 不在应用的可信 IP 列表中",
        _ => "企业微信返回错误",
    }
    .to_owned()
}

/// An error of no known code in Chinese, by the kind its English words tell; the English
/// stays beside it in brackets, for support.
fn zh_by_kind(message: &str) -> String {
    const KINDS: &[(&str, &str)] = &[
        ("Could not reach", "无法连接服务，请检查网络后重试。"),
        ("No answer from", "服务在 20 秒内没有应答。"),
        (
            "Could not read the file",
            "无法读取文件，请确认它仍然存在且可读，然后重试。",
        ),
        (
            "The bytes stored on the server do not match",
            "服务器上保存的数据与文件不一致，请重试以重新上传。",
        ),
        (
            "There is no API key to test",
            "没有可测试的 API 密钥：请先输入 SecretId 和 SecretKey。",
        ),
        ("The copy could not be saved", "无法保存副本。"),
        ("answered with an error", "服务返回了错误。"),
        ("answered HTTP", "服务返回了 HTTP 错误，请稍后重试。"),
    ];
    match KINDS.iter().find(|(en, _)| message.contains(en)) {
        Some((_, zh)) => format!("{zh}（{message}）"),
        None => format!("{}{message}", ZH.error_prefix),
    }
}
