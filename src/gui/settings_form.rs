//! The settings dialog's form: the saved [`Settings`] as typed text, and the checks that turn
//! it back into settings.

use crate::engine::api::UploadFlow;
use crate::settings::{Lang, Settings};

/// A settings field the form can flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Region.
    Region,
    /// Sub-application id.
    SubAppId,
    /// VOD endpoint.
    VodEndpoint,
    /// COS endpoint.
    CosEndpoint,
    /// Client-upload endpoint.
    UgcEndpoint,
    /// WeCom endpoint.
    WecomEndpoint,
    /// Signature service.
    SignatureUrl,
    /// Class id.
    ClassId,
    /// Expiry.
    ExpireTime,
    /// Files at once.
    ParallelFiles,
    /// Parts at once.
    ParallelParts,
    /// Part size.
    PartSize,
    /// Bandwidth limit.
    Bandwidth,
    /// The API key pair.
    ApiKey,
    /// The WeChat Work application (CorpID and secret).
    WeCom,
}

/// The settings dialog's text fields, as typed (numbers are text so a half-typed value is not
/// lost); [`SettingsForm::validate`] turns them into [`Settings`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // One field per settings field, named alike.
pub struct SettingsForm {
    pub region: String,
    pub sub_app_id: String,
    pub vod_endpoint: String,
    pub cos_endpoint: String,
    pub ugc_endpoint: String,
    pub wecom_endpoint: String,
    pub wecom_corp_id: String,
    /// A new WeChat Work secret; empty keeps the saved one.
    pub wecom_secret: String,
    pub signature_url: String,
    /// A new token for the signature service; empty keeps the saved one.
    pub signature_token: String,
    pub flow: UploadFlow,
    pub procedure: String,
    pub class_id: String,
    pub expire_time: String,
    pub parallel_files: String,
    pub parallel_parts: String,
    pub part_size_mib: String,
    pub bandwidth_kib: String,
    pub language: Lang,
    /// A new SecretId; empty keeps the saved key.
    pub secret_id: String,
    /// A new SecretKey; empty keeps the saved key.
    pub secret_key: String,
}

fn opt_to_string<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

impl SettingsForm {
    /// A form showing `settings`.
    #[must_use]
    pub fn from_settings(settings: &Settings, lang: Lang) -> Self {
        Self {
            region: settings.region.clone(),
            sub_app_id: opt_to_string(settings.sub_app_id),
            vod_endpoint: settings.vod_endpoint.clone(),
            cos_endpoint: settings.cos_endpoint.clone(),
            ugc_endpoint: settings.ugc_endpoint.clone(),
            wecom_endpoint: settings.wecom_endpoint.clone(),
            wecom_corp_id: settings.wecom_corp_id.clone(),
            wecom_secret: String::new(),
            signature_url: settings.signature_url.clone(),
            signature_token: String::new(),
            flow: settings.flow,
            procedure: settings.procedure.clone(),
            class_id: opt_to_string(settings.class_id),
            expire_time: settings.expire_time.clone(),
            // 0 is automatic: the field stays empty and its hint says so.
            parallel_files: match settings.parallel_files {
                0 => String::new(),
                n => n.to_string(),
            },
            parallel_parts: settings.parallel_parts.to_string(),
            part_size_mib: opt_to_string(settings.part_size_mib),
            bandwidth_kib: opt_to_string(settings.bandwidth_kib),
            language: settings.language.unwrap_or(lang),
            secret_id: String::new(),
            secret_key: String::new(),
        }
    }

    /// The settings this form describes, or every problem with a message.
    ///
    /// # Errors
    /// One entry per field that is not valid, in form order.
    pub fn validate(&self) -> Result<Settings, Vec<(Field, String)>> {
        let mut errors = Vec::new();
        let region = self.region.trim();
        self.check_region(&mut errors);
        let sub_app_id =
            optional_number::<u64>(&self.sub_app_id, Field::SubAppId, &mut errors, 1, u64::MAX);
        self.check_endpoints(&mut errors);
        let class_id =
            optional_number::<i64>(&self.class_id, Field::ClassId, &mut errors, 0, i64::MAX);
        let expire = self.expire_time.trim();
        if !expire.is_empty() && chrono::DateTime::parse_from_rfc3339(expire).is_err() {
            errors.push((
                Field::ExpireTime,
                "use RFC 3339, e.g. 2030-01-01T00:00:00+08:00, or leave empty".into(),
            ));
        }
        // Empty or 0: automatic (as many as fill the link's budget).
        let parallel_files = optional_number::<usize>(
            &self.parallel_files,
            Field::ParallelFiles,
            &mut errors,
            0,
            crate::engine::api::MAX_AUTO_FILES,
        );
        let parallel_parts = required_number::<usize>(
            &self.parallel_parts,
            Field::ParallelParts,
            &mut errors,
            1,
            crate::engine::api::MAX_PARALLEL_PARTS,
        );
        // COS parts are 1 MiB to 5 GiB.
        let part_size_mib = optional_number::<u64>(
            &self.part_size_mib,
            Field::PartSize,
            &mut errors,
            1,
            5 * 1024,
        );
        let bandwidth_kib = optional_number::<u64>(
            &self.bandwidth_kib,
            Field::Bandwidth,
            &mut errors,
            16,
            u64::MAX / 1024,
        );
        self.check_secrets(&mut errors);
        let corp_id = self.wecom_corp_id.trim();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Settings {
            region: region.to_owned(),
            sub_app_id,
            vod_endpoint: self.vod_endpoint.trim().to_owned(),
            cos_endpoint: self.cos_endpoint.trim().to_owned(),
            ugc_endpoint: self.ugc_endpoint.trim().to_owned(),
            wecom_endpoint: self.wecom_endpoint.trim().to_owned(),
            wecom_corp_id: corp_id.to_owned(),
            signature_url: self.signature_url.trim().to_owned(),
            flow: self.flow,
            procedure: self.procedure.trim().to_owned(),
            class_id,
            expire_time: expire.to_owned(),
            parallel_files: parallel_files.unwrap_or(0),
            parallel_parts: parallel_parts.unwrap_or(1),
            part_size_mib,
            bandwidth_kib,
            language: Some(self.language),
        })
    }

    /// A region looks like `ap-guangzhou`.
    fn check_region(&self, errors: &mut Vec<(Field, String)>) {
        let region = self.region.trim();
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            errors.push((
                Field::Region,
                "a region looks like ap-guangzhou (lower-case letters, digits and dashes)".into(),
            ));
        }
    }

    /// Every address given is one VodDesk may send signed requests to.
    fn check_endpoints(&self, errors: &mut Vec<(Field, String)>) {
        for (value, field) in [
            (&self.vod_endpoint, Field::VodEndpoint),
            (&self.cos_endpoint, Field::CosEndpoint),
            (&self.ugc_endpoint, Field::UgcEndpoint),
            (&self.wecom_endpoint, Field::WecomEndpoint),
            (&self.signature_url, Field::SignatureUrl),
        ] {
            let value = value.trim();
            if let Some(problem) = Some(value)
                .filter(|v| !v.is_empty())
                .and_then(crate::tencent::vod::endpoint_problem)
            {
                errors.push((field, problem));
            }
        }
    }

    /// The API key is typed whole (both halves) and looks like one; a WeChat Work secret
    /// comes with its CorpID.
    fn check_secrets(&self, errors: &mut Vec<(Field, String)>) {
        let id = self.secret_id.trim();
        let key = self.secret_key.trim();
        if id.is_empty() != key.is_empty() {
            errors.push((
                Field::ApiKey,
                "enter both SecretId and SecretKey, or neither to keep the saved key".into(),
            ));
        } else if !id.is_empty()
            && (id.len() < 8
                || key.len() < 8
                || id.contains(char::is_whitespace)
                || key.contains(char::is_whitespace))
        {
            errors.push((
                Field::ApiKey,
                "this does not look like an API key (SecretId usually starts with AKID)".into(),
            ));
        }
        let corp_id = self.wecom_corp_id.trim();
        if corp_id.is_empty() && !self.wecom_secret.trim().is_empty() {
            errors.push((
                Field::WeCom,
                "enter the CorpID the secret belongs to".into(),
            ));
        } else if corp_id.contains(char::is_whitespace) {
            errors.push((Field::WeCom, "a CorpID has no spaces".into()));
        }
    }

    /// The new WeChat Work secret typed into the form, if any.
    #[must_use]
    pub fn new_wecom_secret(&self) -> Option<String> {
        Some(self.wecom_secret.trim().to_owned()).filter(|secret| !secret.is_empty())
    }

    /// The new signature service token typed into the form, if any.
    #[must_use]
    pub fn new_signature_token(&self) -> Option<String> {
        Some(self.signature_token.trim().to_owned()).filter(|token| !token.is_empty())
    }

    /// The new API key typed into the form, when both halves were.
    #[must_use]
    pub fn new_key(&self) -> Option<(String, String)> {
        let id = self.secret_id.trim();
        let key = self.secret_key.trim();
        (!id.is_empty() && !key.is_empty()).then(|| (id.to_owned(), key.to_owned()))
    }
}

fn optional_number<T>(
    text: &str,
    field: Field,
    errors: &mut Vec<(Field, String)>,
    min: T,
    max: T,
) -> Option<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<T>() {
        Ok(value) if value >= min && value <= max => Some(value),
        _ => {
            errors.push((field, range_message(min, max)));
            None
        }
    }
}

fn required_number<T>(
    text: &str,
    field: Field,
    errors: &mut Vec<(Field, String)>,
    min: T,
    max: T,
) -> Option<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    if text.trim().is_empty() {
        errors.push((field, range_message(min, max)));
        return None;
    }
    optional_number(text, field, errors, min, max)
}

fn range_message<T: std::fmt::Display>(min: T, max: T) -> String {
    let max = max.to_string();
    if max.len() > 6 {
        format!("enter a whole number of at least {min}")
    } else {
        format!("enter a whole number from {min} to {max}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        let form = SettingsForm::from_settings(&Settings::default(), Lang::En);
        assert!(form.validate().is_ok());
        let bad = SettingsForm {
            region: "Guangzhou!".into(),
            parallel_files: "999".into(),
            vod_endpoint: "ftp://x".into(),
            expire_time: "tomorrow".into(),
            secret_id: "AKIDxxxxxxxx".into(),
            ..form
        };
        let fields: Vec<Field> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                Field::Region,
                Field::VodEndpoint,
                Field::ExpireTime,
                Field::ParallelFiles,
                Field::ApiKey
            ]
        );
    }
}
