//! The media types and the documented limits of each, checked before anything is sent.

use std::path::Path;

use super::WeComError;
use crate::model::WeComMediaType;

impl WeComMediaType {
    /// The `type` query value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Voice => "voice",
            Self::Video => "video",
            Self::File => "file",
        }
    }

    /// The type a file goes as when none is chosen: images, voice and video as themselves
    /// where they are within that type's limits, everything else (a larger MP4 too) as a file.
    #[must_use]
    pub fn for_file(name: &str, size: u64) -> Self {
        [Self::Image, Self::Voice, Self::Video]
            .into_iter()
            .find(|kind| check_limits(*kind, name, size).is_ok())
            .unwrap_or(Self::File)
    }

    /// Parses `image|voice|video|file`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "image" => Some(Self::Image),
            "voice" => Some(Self::Voice),
            "video" => Some(Self::Video),
            "file" => Some(Self::File),
            _ => None,
        }
    }
}

/// Checks the documented limits for `kind` on a file of `size` bytes named `name`.
///
/// # Errors
/// [`WeComError::Limit`] naming the rule broken.
pub fn check_limits(kind: WeComMediaType, name: &str, size: u64) -> Result<(), WeComError> {
    const MB: u64 = 1024 * 1024;
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let limit = |rule: &str| {
        Err(WeComError::Limit {
            rule: rule.to_owned(),
            path: name.to_owned(),
        })
    };
    if size <= 5 {
        return limit("WeCom accepts only files larger than 5 bytes");
    }
    match kind {
        WeComMediaType::Image if !matches!(ext.as_str(), "jpg" | "jpeg" | "png") => {
            limit("WeCom images must be JPG or PNG")
        }
        WeComMediaType::Image if size > 2 * MB => limit("WeCom images must be at most 2 MB"),
        WeComMediaType::Voice if ext != "amr" => limit("WeCom voice must be AMR"),
        WeComMediaType::Voice if size > 2 * MB => {
            limit("WeCom voice must be at most 2 MB (and 60 s)")
        }
        WeComMediaType::Video if ext != "mp4" => limit("WeCom video must be MP4"),
        WeComMediaType::Video if size > 10 * MB => limit("WeCom video must be at most 10 MB"),
        WeComMediaType::File if size > 20 * MB => limit("WeCom files must be at most 20 MB"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_rule() {
        let mb = 1024 * 1024;
        assert!(check_limits(WeComMediaType::Video, "a.mp4", 10 * mb).is_ok());
        let err = check_limits(WeComMediaType::Video, "a.mp4", 10 * mb + 1).unwrap_err();
        assert!(err.to_string().contains("10 MB"), "{err}");
        assert!(check_limits(WeComMediaType::Video, "a.mov", 100).is_err());
        assert!(check_limits(WeComMediaType::Voice, "a.amr", 100).is_ok());
        assert!(check_limits(WeComMediaType::Voice, "a.mp3", 100).is_err());
        assert!(check_limits(WeComMediaType::Image, "a.PNG", 100).is_ok());
        assert!(check_limits(WeComMediaType::Image, "a.gif", 100).is_err());
        assert!(check_limits(WeComMediaType::File, "a.bin", 5).is_err());
        assert!(check_limits(WeComMediaType::File, "a.bin", 20 * mb + 1).is_err());
    }
}
