//! A log writer that blanks registered secrets.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

fn secrets() -> &'static Mutex<Vec<String>> {
    static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Registers a secret to blank in every later log line (ignored when shorter than 6
/// characters, which would blank ordinary words).
pub fn register(secret: &str) {
    if secret.len() >= 6
        && let Ok(mut list) = secrets().lock()
        && !list.iter().any(|s| s == secret)
    {
        list.push(secret.to_owned());
    }
}

/// Replaces every registered secret in `line` with `<redacted>`.
#[must_use]
pub fn scrub(line: &str) -> String {
    let mut out = line.to_owned();
    if let Ok(list) = secrets().lock() {
        for secret in list.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "<redacted>");
            }
        }
    }
    out
}

/// Wraps a writer, scrubbing each write.
pub struct RedactingWriter<W>(W);

impl<W> RedactingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self(inner)
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn registered_secrets_are_blanked() {
        super::register("s3cretKEYvalue");
        super::register("abc"); // too short to register safely
        assert_eq!(
            super::scrub("signing with s3cretKEYvalue and abc"),
            "signing with <redacted> and abc"
        );
    }
}
