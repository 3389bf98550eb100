//! Stored objects and files served back with Range support, and short plain-text answers.

use std::io::SeekFrom;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::*;

/// A parsed `Range: bytes=…` header against an object of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeSpec {
    /// No (usable) Range header: the whole object.
    Whole,
    /// Inclusive byte range.
    Part(u64, u64),
    /// Not satisfiable: 416.
    Unsatisfiable,
}

/// Parses a single-range `Range` header; multi-range requests get the whole object, as many
/// servers do.
pub(crate) fn parse_range(headers: &HeaderMap, size: u64) -> RangeSpec {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return RangeSpec::Whole;
    };
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeSpec::Whole;
    };
    if spec.contains(',') {
        return RangeSpec::Whole;
    }
    let Some((start, end)) = spec.split_once('-') else {
        return RangeSpec::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        // Suffix range: the last N bytes.
        let Ok(n) = end.parse::<u64>() else {
            return RangeSpec::Whole;
        };
        if n == 0 || size == 0 {
            return RangeSpec::Unsatisfiable;
        }
        return RangeSpec::Part(size.saturating_sub(n), size - 1);
    }
    let Ok(start) = start.parse::<u64>() else {
        return RangeSpec::Whole;
    };
    if start >= size {
        return RangeSpec::Unsatisfiable;
    }
    let end = if end.is_empty() {
        size - 1
    } else {
        match end.parse::<u64>() {
            Ok(end) if end >= start => end.min(size - 1),
            _ => return RangeSpec::Whole,
        }
    };
    RangeSpec::Part(start, end)
}

/// Serves `path` (of `size` bytes) honouring Range; `extra` headers go on every answer.
pub(crate) async fn serve_file(
    path: &Path,
    size: u64,
    request: &HeaderMap,
    content_type: &str,
    extra: &[(header::HeaderName, String)],
    head_only: bool,
) -> Response {
    let range = parse_range(request, size);
    let mut builder = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(value) {
            builder = builder.header(name.clone(), value);
        }
    }
    let (status, start, len) = match range {
        RangeSpec::Whole => (StatusCode::OK, 0, size),
        RangeSpec::Part(start, end) => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeSpec::Unsatisfiable => {
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .header(header::CONTENT_LENGTH, "0")
                .body(Body::empty())
                .unwrap_or_default();
        }
    };
    builder = builder
        .status(status)
        .header(header::CONTENT_LENGTH, len.to_string());
    if head_only {
        return builder.body(Body::empty()).unwrap_or_default();
    }
    let Ok(segments) = segments(path) else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file");
    };
    let pieces = pieces(&segments, start, len);
    let stream = futures_util::stream::iter(pieces)
        .then(|(path, offset, len)| async move {
            let mut file = tokio::fs::File::open(&path).await?;
            if offset > 0 {
                file.seek(SeekFrom::Start(offset)).await?;
            }
            Ok::<_, std::io::Error>(tokio_util::io::ReaderStream::with_capacity(
                file.take(len),
                64 * 1024,
            ))
        })
        .map(|opened| match opened {
            Ok(stream) => stream.left_stream(),
            Err(err) => futures_util::stream::once(std::future::ready(Err(err))).right_stream(),
        })
        .flatten();
    builder.body(Body::from_stream(stream)).unwrap_or_default()
}

/// The pieces of `segments` that hold bytes `start..start + len`: (file, offset, length).
fn pieces(segments: &[(PathBuf, u64)], start: u64, len: u64) -> Vec<(PathBuf, u64, u64)> {
    let end = start.saturating_add(len);
    let mut at = 0u64;
    let mut out = Vec::new();
    for (path, size) in segments {
        let (from, to) = (at.max(start), (at + size).min(end));
        if from < to {
            out.push((path.clone(), from - at, to - from));
        }
        at += size;
    }
    out
}

/// A short plain-text answer.
pub(crate) fn plain(status: StatusCode, text: &str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(text.to_owned()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_exactly_the_range_across_segments() {
        let segments: Vec<(PathBuf, u64)> = [("a", 10), ("b", 5), ("c", 0), ("d", 7)]
            .iter()
            .map(|(name, size)| (PathBuf::from(name), *size))
            .collect();
        let p = |start, len| -> Vec<(String, u64, u64)> {
            pieces(&segments, start, len)
                .into_iter()
                .map(|(path, offset, len)| (path.display().to_string(), offset, len))
                .collect()
        };
        assert_eq!(
            p(0, 22),
            vec![("a".into(), 0, 10), ("b".into(), 0, 5), ("d".into(), 0, 7)]
        );
        assert_eq!(p(9, 2), vec![("a".into(), 9, 1), ("b".into(), 0, 1)]);
        assert_eq!(p(12, 3), vec![("b".into(), 2, 3)]);
        assert_eq!(p(15, 7), vec![("d".into(), 0, 7)]);
        assert_eq!(p(21, 1), vec![("d".into(), 6, 1)]);
        assert!(p(22, 0).is_empty());
    }
}
