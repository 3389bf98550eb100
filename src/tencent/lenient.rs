//! Tolerant reading of the services' JSON answers.
//!
//! API 3.0 documents many response fields as "may return null", and every service adds fields
//! over time. The models give every field a default and ignore unknown ones; this module makes
//! `null` mean the same as an absent field, so that a `null` where a string or a number is
//! expected cannot make a whole answer unreadable. Whether a field the flow needs is there is
//! checked afterwards, by name, so the error can say which one is missing.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Removes every `null` member of every object and every `null` element of every array, at any
/// depth.
pub fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, member| !member.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => {
            items.retain(|item| !item.is_null());
            items.iter_mut().for_each(strip_nulls);
        }
        _ => {}
    }
}

/// Reads `value` as `T` with `null` taken as absent.
///
/// # Errors
/// When a field that is present has a type `T` cannot take.
pub fn from_value<T: DeserializeOwned>(mut value: Value) -> Result<T, serde_json::Error> {
    strip_nulls(&mut value);
    serde_json::from_value(value)
}

/// Parses `bytes` as JSON and reads it as `T` with `null` taken as absent.
///
/// # Errors
/// When the body is not JSON, or a present field has a type `T` cannot take.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    from_value(serde_json::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(default)]
    struct Sample {
        name: String,
        count: i64,
        inner: Option<Box<Sample>>,
        list: Vec<String>,
    }

    #[test]
    fn null_is_absent_at_every_depth() {
        let parsed: Sample = from_slice(
            br#"{"name":null,"count":null,"inner":{"name":"x","count":null,"list":[null,"a"]},"list":null,"new":1}"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            Sample {
                inner: Some(Box::new(Sample {
                    name: "x".into(),
                    list: vec!["a".into()],
                    ..Sample::default()
                })),
                ..Sample::default()
            }
        );
        assert!(from_slice::<Sample>(br#"{"count":"three"}"#).is_err());
    }
}
