//! COS XML bodies, parsed leniently and written the way the service writes them.
//!
//! Lenient means: leading whitespace (Complete keeps the connection alive with spaces before
//! the result), a default namespace on the root, `Encoding-type`/`Encoding-Type`,
//! `UploadId`/`UploadID`, and unknown elements are all accepted; so are empty (`<Size/>`) and
//! absent elements, which read as their default. Whether an element the flow needs is there is
//! checked by name afterwards (`missing_field`), so that the error says which.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A COS XML body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not well-formed, or not the expected document.
    #[error("COS answered with XML this client cannot read ({0})")]
    Malformed(String),
    /// The body was the service's `<Error>` document.
    #[error("{0}")]
    Service(CosError),
}

/// The `<Error>` document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Error")]
pub struct CosError {
    /// e.g. `NoSuchUpload`, `SignatureDoesNotMatch`.
    #[serde(rename = "Code", default)]
    pub code: String,
    /// Human-readable text.
    #[serde(rename = "Message", default)]
    pub message: String,
    /// The resource the request named.
    #[serde(rename = "Resource", default)]
    pub resource: String,
    /// The request id for support.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The trace id for support.
    #[serde(rename = "TraceId", default, skip_serializing_if = "String::is_empty")]
    pub trace_id: String,
}

impl std::fmt::Display for CosError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "COS {}: {}", self.code, self.message)?;
        if !self.request_id.is_empty() {
            write!(f, " (RequestId {})", self.request_id)?;
        }
        Ok(())
    }
}

/// Reads a number or a flag that may be an empty element (`<MaxParts/>`): empty is the
/// default. Text around the value is ignored.
fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return Ok(T::default());
    }
    text.parse().map_err(serde::de::Error::custom)
}

/// An optional text element: empty reads as absent.
fn empty_is_none<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?.filter(|text| !text.trim().is_empty()))
}

/// [`lenient`] for an optional number: empty or absent is `None`.
fn lenient_option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// The first of `fields` (name, value) whose value is empty.
fn first_empty<'a>(
    fields: impl IntoIterator<Item = (&'static str, &'a str)>,
) -> Option<&'static str> {
    fields
        .into_iter()
        .find(|(_, value)| value.trim().is_empty())
        .map(|(name, _)| name)
}

/// `InitiateMultipartUploadResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "InitiateMultipartUploadResult")]
pub struct InitiateResult {
    /// The bucket.
    #[serde(rename = "Bucket", default)]
    pub bucket: String,
    /// The object key.
    #[serde(rename = "Key", default)]
    pub key: String,
    /// The new upload id.
    #[serde(rename = "UploadId", alias = "UploadID", default)]
    pub upload_id: String,
}

impl InitiateResult {
    /// The element the upload needs that the answer left out or empty.
    #[must_use]
    pub fn missing_field(&self) -> Option<&'static str> {
        first_empty([("UploadId", self.upload_id.as_str())])
    }
}

/// One `<Part>` of a `ListPartsResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedPart {
    /// 1..=10000.
    #[serde(rename = "PartNumber", default, deserialize_with = "lenient")]
    pub part_number: u32,
    /// ISO 8601.
    #[serde(rename = "LastModified", default)]
    pub last_modified: String,
    /// The quoted MD5 hex of the part.
    #[serde(rename = "ETag", default)]
    pub etag: String,
    /// Bytes.
    #[serde(rename = "Size", default, deserialize_with = "lenient")]
    pub size: u64,
}

/// `ListPartsResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "ListPartsResult")]
pub struct ListPartsResult {
    /// The bucket.
    #[serde(rename = "Bucket", default)]
    pub bucket: String,
    /// `url` when keys are percent-encoded.
    #[serde(
        rename = "Encoding-type",
        alias = "Encoding-Type",
        alias = "EncodingType",
        default,
        deserialize_with = "empty_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub encoding_type: Option<String>,
    /// The object key.
    #[serde(rename = "Key", default)]
    pub key: String,
    /// The upload id.
    #[serde(rename = "UploadId", alias = "UploadID", default)]
    pub upload_id: String,
    /// Where this page starts.
    #[serde(rename = "PartNumberMarker", default, deserialize_with = "lenient")]
    pub part_number_marker: u32,
    /// Where the next page starts, when truncated.
    #[serde(
        rename = "NextPartNumberMarker",
        default,
        deserialize_with = "lenient_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_part_number_marker: Option<u32>,
    /// The page size asked for.
    #[serde(rename = "MaxParts", default, deserialize_with = "lenient")]
    pub max_parts: u32,
    /// Whether more pages follow.
    #[serde(rename = "IsTruncated", default, deserialize_with = "lenient")]
    pub is_truncated: bool,
    /// The parts on this page.
    #[serde(rename = "Part", default)]
    pub parts: Vec<ListedPart>,
}

impl ListPartsResult {
    /// The element a resume needs that a listed part left out or empty: a part without its
    /// number, ETag or size cannot be checked against the file, so it cannot be trusted.
    #[must_use]
    pub fn missing_field(&self) -> Option<&'static str> {
        self.parts.iter().find_map(|part| {
            (part.part_number == 0)
                .then_some("Part.PartNumber")
                .or_else(|| first_empty([("Part.ETag", part.etag.as_str())]))
                .or_else(|| (part.size == 0).then_some("Part.Size"))
        })
    }
}

/// `CompleteMultipartUploadResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "CompleteMultipartUploadResult")]
pub struct CompleteResult {
    /// `bucket.cos.region.myqcloud.com/key`.
    #[serde(rename = "Location", default)]
    pub location: String,
    /// The bucket.
    #[serde(rename = "Bucket", default)]
    pub bucket: String,
    /// The object key.
    #[serde(rename = "Key", default)]
    pub key: String,
    /// `"<hex>-<parts>"`; not the MD5 of the object.
    #[serde(rename = "ETag", default)]
    pub etag: String,
}

/// One `<Upload>` of a `ListMultipartUploadsResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedUpload {
    /// The object key.
    #[serde(rename = "Key", default)]
    pub key: String,
    /// The upload id.
    #[serde(rename = "UploadId", alias = "UploadID", default)]
    pub upload_id: String,
    /// e.g. `STANDARD`.
    #[serde(rename = "StorageClass", default)]
    pub storage_class: String,
    /// ISO 8601.
    #[serde(rename = "Initiated", default)]
    pub initiated: String,
}

/// `ListMultipartUploadsResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "ListMultipartUploadsResult")]
pub struct ListUploadsResult {
    /// The bucket.
    #[serde(rename = "Bucket", default)]
    pub bucket: String,
    /// `url` when keys are percent-encoded.
    #[serde(
        rename = "Encoding-Type",
        alias = "Encoding-type",
        alias = "EncodingType",
        default,
        deserialize_with = "empty_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub encoding_type: Option<String>,
    /// The prefix asked for.
    #[serde(rename = "Prefix", default)]
    pub prefix: String,
    /// The page size asked for.
    #[serde(rename = "MaxUploads", default, deserialize_with = "lenient")]
    pub max_uploads: u32,
    /// Whether more pages follow.
    #[serde(rename = "IsTruncated", default, deserialize_with = "lenient")]
    pub is_truncated: bool,
    /// Next page's key marker.
    #[serde(rename = "NextKeyMarker", default)]
    pub next_key_marker: String,
    /// Next page's upload-id marker.
    #[serde(rename = "NextUploadIdMarker", default)]
    pub next_upload_id_marker: String,
    /// The uploads on this page.
    #[serde(rename = "Upload", default)]
    pub uploads: Vec<ListedUpload>,
}

impl ListUploadsResult {
    /// The element an abort needs that a listed upload left out or empty.
    #[must_use]
    pub fn missing_field(&self) -> Option<&'static str> {
        self.uploads.iter().find_map(|upload| {
            first_empty([
                ("Upload.Key", upload.key.as_str()),
                ("Upload.UploadId", upload.upload_id.as_str()),
            ])
        })
    }
}

/// The name of the root element, without namespace prefix.
#[must_use]
pub fn root_element(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                let name = e.local_name();
                return Some(name.as_ref().to_owned());
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Parses a COS document; an `<Error>` root becomes [`XmlError::Service`].
///
/// # Errors
/// When the body is the service's error document or cannot be read as `T`.
pub fn parse<T: DeserializeOwned>(xml: &str) -> Result<T, XmlError> {
    let xml = xml.trim_start_matches('\u{feff}').trim();
    if root_element(xml).as_deref() == Some("Error") {
        let error: CosError =
            quick_xml::de::from_str(xml).map_err(|err| XmlError::Malformed(err.to_string()))?;
        return Err(XmlError::Service(error));
    }
    quick_xml::de::from_str(xml).map_err(|err| XmlError::Malformed(err.to_string()))
}

/// Parses the body of a CompleteMultipartUpload that answered 200.
///
/// The service answers 200 at once and only reports the outcome at the end of the body, so an
/// `<Error>` there, or a result without an ETag, is a failure (cos-python-sdk-v5 does the same).
///
/// # Errors
/// As [`parse`], and when the result has no ETag.
pub fn parse_complete(xml: &str) -> Result<CompleteResult, XmlError> {
    let result: CompleteResult = parse(xml)?;
    if result.etag.trim().is_empty() {
        return Err(XmlError::Malformed(
            "CompleteMultipartUpload answered 200 without an ETag".to_owned(),
        ));
    }
    Ok(result)
}

/// Escapes text for an XML element.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// The CompleteMultipartUpload request body, byte for byte as cos-python-sdk-v5 writes it.
/// `parts` are `(number, etag as received)`, in ascending order.
#[must_use]
pub fn complete_body(parts: &[(u32, String)]) -> String {
    let mut body =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><CompleteMultipartUpload>");
    for (number, etag) in parts {
        body.push_str(&format!(
            "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
            escape(etag)
        ));
    }
    body.push_str("</CompleteMultipartUpload>");
    body
}

/// One `<Part>` of a CompleteMultipartUpload request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CompletePart {
    /// The part number.
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    /// The ETag the client got for it.
    #[serde(rename = "ETag", default)]
    pub etag: String,
}

/// The CompleteMultipartUpload request, as the server reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "CompleteMultipartUpload")]
pub struct CompleteRequest {
    /// The parts, in the order sent.
    #[serde(rename = "Part", default)]
    pub parts: Vec<CompletePart>,
}

/// Serialises a document with the XML declaration COS puts first.
///
/// # Errors
/// Only when `value` cannot be represented as XML, which the types of this module always can.
pub fn to_document<T: Serialize>(value: &T) -> Result<String, XmlError> {
    let body =
        quick_xml::se::to_string(value).map_err(|err| XmlError::Malformed(err.to_string()))?;
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_list_parts() {
        let xml = r#"<ListPartsResult>
  <Bucket>test-1253846586</Bucket><Encoding-type/><Key>test/hello.txt</Key>
  <UploadId>149795194893578fd83aceef3a88f708f81f00e879fda5ea8a80bf15aba52746d42d512387</UploadId>
  <Owner><ID>1253846586</ID><DisplayName>1253846586</DisplayName></Owner>
  <PartNumberMarker>0</PartNumberMarker>
  <Initiator><ID>qcs::cam::uin/100000760461:uin/100000760461</ID><DisplayName>100000760461</DisplayName></Initiator>
  <Part><PartNumber>1</PartNumber><LastModified>2017-06-20T09:45:49.000Z</LastModified>
        <ETag>&quot;fae3dba15f4d9b2d76cbaed5de3a08e3&quot;</ETag><Size>6291456</Size></Part>
  <Part><PartNumber>2</PartNumber><LastModified>2017-06-20T09:45:50.000Z</LastModified>
        <ETag>&quot;c81982550f2f965118d486176d9541d4&quot;</ETag><Size>6391456</Size></Part>
  <StorageClass>Standard</StorageClass><MaxParts>1000</MaxParts>
  <IsTruncated>false</IsTruncated>
</ListPartsResult>"#;
        let parsed: ListPartsResult = parse(xml).unwrap();
        assert_eq!(parsed.parts.len(), 2);
        assert_eq!(parsed.parts[0].etag, "\"fae3dba15f4d9b2d76cbaed5de3a08e3\"");
        assert_eq!(parsed.parts[1].size, 6_391_456);
        assert!(!parsed.is_truncated);
        let round: ListPartsResult = parse(&to_document(&parsed).unwrap()).unwrap();
        assert_eq!(round, parsed);
    }

    #[test]
    fn namespaces_and_spellings() {
        let xml = r#"<?xml version="1.0"?><InitiateMultipartUploadResult xmlns="http://www.qcloud.com/document/product/436/7751"><Bucket>b-1</Bucket><Key>k</Key><UploadID>u1</UploadID></InitiateMultipartUploadResult>"#;
        let parsed: InitiateResult = parse(xml).unwrap();
        assert_eq!(parsed.upload_id, "u1");
        let xml = "<ListMultipartUploadsResult><Bucket>b</Bucket><Encoding-Type>url</Encoding-Type><KeyMarker/><UploadIdMarker/><NextKeyMarker/><NextUploadIdMarker/><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated><Prefix>a%20b</Prefix><Upload><Key>a%20b</Key><UploadId>x</UploadId><StorageClass>STANDARD</StorageClass><Initiator><ID>1</ID></Initiator><Owner><ID>1</ID></Owner><Initiated>2020</Initiated></Upload></ListMultipartUploadsResult>";
        let parsed: ListUploadsResult = parse(xml).unwrap();
        assert_eq!(parsed.encoding_type.as_deref(), Some("url"));
        assert_eq!(parsed.uploads[0].key, "a%20b");
    }

    #[test]
    fn complete_error_after_200_and_whitespace() {
        let xml = "   \n   <Error><Code>InvalidPart</Code><Message>one or more parts could not be found</Message><Resource>r</Resource><RequestId>NjA=</RequestId></Error>";
        match parse_complete(xml) {
            Err(XmlError::Service(err)) => {
                assert_eq!(err.code, "InvalidPart");
                assert_eq!(err.request_id, "NjA=");
            }
            other => panic!("{other:?}"),
        }
        let ok = "  <CompleteMultipartUploadResult><Location>l</Location><Bucket>b</Bucket><Key>k</Key><ETag>&quot;594f98b11c6901c0f0683de1085a6d0e-4&quot;</ETag></CompleteMultipartUploadResult>";
        assert_eq!(
            parse_complete(ok).unwrap().etag,
            "\"594f98b11c6901c0f0683de1085a6d0e-4\""
        );
        assert!(parse_complete("<CompleteMultipartUploadResult/>").is_err());
        assert!(matches!(
            parse::<CompleteResult>("<<<"),
            Err(XmlError::Malformed(_))
        ));
    }

    #[test]
    fn complete_body_matches_sdk_bytes() {
        let body = complete_body(&[
            (1, "\"e2fc714c4727ee9395f324cd2e7f331f\"".to_owned()),
            (2, "\"ab56b4d92b40713acc5af89985d4b786\"".to_owned()),
        ]);
        assert_eq!(
            body,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e2fc714c4727ee9395f324cd2e7f331f&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;ab56b4d92b40713acc5af89985d4b786&quot;</ETag></Part></CompleteMultipartUpload>"
        );
        let parsed: CompleteRequest = parse(&body).unwrap();
        assert_eq!(parsed.parts[1].part_number, 2);
        assert_eq!(parsed.parts[1].etag, "\"ab56b4d92b40713acc5af89985d4b786\"");
    }
}
