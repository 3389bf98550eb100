//! A scripted WeChat Work server on 127.0.0.1:0, for what the emulator does not do on purpose:
//! a `media/get` answer cut short, a `media/upload` answer held back after the whole body was
//! read.
//!
//! Plain HTTP/1.1 over a socket, one request per connection (every answer says
//! `Connection: close`), so a test decides every byte the client sees.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// What the client sent.
#[derive(Debug, Clone)]
pub struct Request {
    /// Without the query.
    pub path: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The header `name` (lower case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first byte of the `Range: bytes=N-M` header, or 0.
    pub fn range_start(&self) -> u64 {
        self.header("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.split('-').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// How to answer.
pub enum Reply {
    /// A whole response.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A response announcing `declared` body bytes, of which only `body` is sent before the
    /// connection closes.
    Cut {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        declared: usize,
    },
    /// The reply, after a wait.
    After(Duration, Box<Reply>),
}

impl Reply {
    /// A 200 JSON answer.
    pub fn json(value: &serde_json::Value) -> Self {
        Self::Full {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// A fresh access token, as `gettoken` answers.
    pub fn token() -> Self {
        Self::json(&serde_json::json!({
            "errcode": 0, "errmsg": "ok", "access_token": "fake-token", "expires_in": 7200
        }))
    }

    /// `bytes` as the range of `total` starting at `start`, named `name` (media/get).
    pub fn media_range(name: &str, start: u64, bytes: &[u8], total: u64) -> Self {
        let end = start + bytes.len() as u64 - 1;
        Self::Full {
            status: 206,
            headers: vec![
                ("Content-Type".into(), "application/octet-stream".into()),
                (
                    "Content-Disposition".into(),
                    format!("attachment; filename=\"{name}\""),
                ),
                (
                    "Content-Range".into(),
                    format!("bytes {start}-{end}/{total}"),
                ),
            ],
            body: bytes.to_vec(),
        }
    }
}

/// A running fake; it stops when dropped.
pub struct FakeWeCom {
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeWeCom {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a fake answering every request with `handler`; call inside a runtime.
pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FakeWeCom {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handler = Arc::new(handler);
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                let _ = serve(socket, handler.as_ref()).await;
            });
        }
    });
    FakeWeCom { base, task }
}

async fn serve(
    mut socket: tokio::net::TcpStream,
    handler: &(dyn Fn(&Request) -> Reply + Send + Sync),
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let _method = first.next();
    let target = first.next().unwrap_or_default();
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: u64 = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body_len = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    while body_len < length {
        let want = usize::try_from((length - body_len).min(buf.len() as u64)).unwrap();
        let n = socket.read(&mut buf[..want]).await?;
        if n == 0 {
            return Ok(());
        }
        body_len += n as u64;
    }
    let request = Request {
        path: path.to_owned(),
        headers,
    };
    let mut reply = handler(&request);
    while let Reply::After(wait, next) = reply {
        tokio::time::sleep(wait).await;
        reply = *next;
    }
    let (status, headers, body, declared) = match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let len = body.len();
            (status, headers, body, len)
        }
        Reply::Cut {
            status,
            headers,
            body,
            declared,
        } => (status, headers, body, declared),
        Reply::After(..) => unreachable!("waited for above"),
    };
    let mut out =
        format!("HTTP/1.1 {status} X\r\nContent-Length: {declared}\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    socket.write_all(out.as_bytes()).await?;
    socket.write_all(&body).await?;
    socket.flush().await?;
    socket.shutdown().await
}
