//! The multipart driver: parts sized to the link, sent while the engine's budget has room,
//! resumed range by range, drained on pause.
//!
//! [`Layout`] (`layout.rs`) is the pure part: which byte ranges exist under which part numbers, which are
//! acknowledged, which wait to be sent. The driver asks the budget for a grant, takes the
//! layout's next range (a range left by an earlier run first, else a new one of the size the
//! grant suggests), records it in the store before its first byte is sent, and uploads it.

use std::collections::HashMap;

use futures_util::stream::FuturesUnordered;

use super::*;
use crate::engine::budget::Grant;
use crate::store::PlannedPart;
use crate::tencent::xml::ListedPart;

mod layout;
pub(crate) use layout::{Layout, Span};

/// A part being sent, as a pause sees it.
struct Flying {
    stop: CancellationToken,
    sent: Arc<AtomicU64>,
    started: Instant,
    len: u64,
}

/// How soon a part must be able to finish for a pause to wait for it.
const DRAIN_KEEPS: Duration = Duration::from_secs(1);

impl Job {
    pub(super) async fn multipart(&self, live: &Live) -> Result<(), JobError> {
        // A session begun with the user's part size keeps it for its new parts.
        let fixed = self
            .item
            .options
            .part_size
            .or(Some(live.record.part_size).filter(|&size| size >= planner::MIN_PART));
        let resumed = match &live.record.upload_id {
            Some(upload_id) => match self.reconcile(live, upload_id, fixed).await? {
                Some(layout) => Some((upload_id.clone(), layout)),
                None => {
                    // Gone: a crash after COS completed the upload and before it was
                    // recorded leaves the finished object, which then needs only the commit.
                    if self
                        .finished_object(live, &live.record.media_key, &self.item.path)
                        .await?
                    {
                        self.notice(format!(
                            "{} was already complete on the server; committing it.",
                            self.name()
                        ))
                        .await;
                        self.meter
                            .acked
                            .fetch_add(self.item.size, Ordering::Relaxed);
                        return Ok(());
                    }
                    self.notice(format!(
                        "The server no longer has the unfinished upload of {}; sending it again from the start.",
                        self.name()
                    ))
                    .await;
                    None
                }
            },
            None => None,
        };
        let (upload_id, mut layout) = match resumed {
            Some(resumed) => resumed,
            None => (
                self.initiate(live, fixed).await?,
                Layout::new(self.item.size, fixed),
            ),
        };
        let resumed = layout.done_bytes();
        self.shared
            .store
            .set_item_resumed_bytes(self.item.id, resumed)?;
        if resumed > 0 {
            tracing::info!(
                item = self.item.id,
                resumed,
                "resuming from the server's parts"
            );
        }
        self.meter.add_resumed(resumed);
        let (done, total) = layout.counts();
        self.parts_state(done, total).await;
        if !self.send_parts(live, &upload_id, &mut layout).await? {
            return Err(JobError::Stopped);
        }
        self.complete(live, &upload_id, &layout).await
    }

    /// Starts a multipart upload and records its id the moment it exists, so a crash right
    /// after can resume it.
    async fn initiate(&self, live: &Live, fixed: Option<u64>) -> Result<String, JobError> {
        let key = &live.record.media_key;
        let content_type = content_type(&self.item.path);
        let id = self
            .cos_op(live, "starting the multipart upload", || {
                live.cos.initiate(key, &content_type)
            })
            .await?;
        self.shared
            .store
            .set_upload_id(self.item.id, Some(&id), fixed.unwrap_or(0))?;
        Ok(id)
    }

    /// Sends the layout's ranges while the budget has room. `Ok(false)` when a pause drained
    /// it before every part was acknowledged.
    async fn send_parts(
        &self,
        live: &Live,
        upload_id: &str,
        layout: &mut Layout,
    ) -> Result<bool, JobError> {
        let mut running = FuturesUnordered::new();
        let mut flying: HashMap<u32, Flying> = HashMap::new();
        let mut draining = false;
        let mut kept = 0usize;
        let mut dropped = 0u64;
        loop {
            let more = layout.has_more() && !draining;
            if !more && running.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                () = self.token.cancelled() => return Err(JobError::Stopped),
                () = self.drain.cancelled(), if !draining => {
                    draining = true;
                    let (keep, thrown) = self.drain_parts(&flying);
                    kept = keep;
                    dropped = thrown;
                }
                Some((number, result)) = running.next(), if !running.is_empty() => {
                    flying.remove(&number);
                    match result {
                        Ok(part) => {
                            layout.finish(part);
                            let (done, total) = layout.counts();
                            self.parts_state(done, total).await;
                        }
                        Err(JobError::Stopped) if draining => layout.give_back(number),
                        Err(err) => return Err(err),
                    }
                }
                mut grant = self.shared.budget.acquire(self.item.id), if more => {
                    let Some((span, new)) = layout.take(grant.suggested_len()) else {
                        continue;
                    };
                    grant.set_len(span.len);
                    running.push(self.start_part(live, upload_id, span, new, grant, &mut flying)?);
                }
            }
        }
        if draining {
            self.stopped_notice(layout.done_bytes(), kept, dropped)
                .await;
            return Ok(layout.complete());
        }
        Ok(true)
    }

    /// Starts sending `span` under `grant` (a `new` range is recorded first), noted in
    /// `flying` for a pause to judge; the future ends with the part's number and outcome.
    fn start_part<'a>(
        &'a self,
        live: &'a Live,
        upload_id: &'a str,
        span: Span,
        new: bool,
        grant: Grant,
        flying: &mut HashMap<u32, Flying>,
    ) -> Result<impl Future<Output = (u32, Result<PartRecord, JobError>)> + use<'a>, JobError> {
        if new {
            // Recorded before its first byte is sent: a crash leaves a range that the next
            // run sends again under the same number.
            self.shared.store.plan_part(
                self.item.id,
                PlannedPart {
                    number: span.number,
                    offset: span.offset,
                    size: span.len,
                },
            )?;
        }
        let stop = self.token.child_token();
        let slice = self.slice(&self.item.path, span.offset, span.len);
        let sent = slice.sent.clone().unwrap_or_default();
        flying.insert(
            span.number,
            Flying {
                stop: stop.clone(),
                sent,
                started: Instant::now(),
                len: span.len,
            },
        );
        Ok(async move {
            let result = tokio::select! {
                result = self.upload_part(live, upload_id, span, &slice, grant) => result,
                () = stop.cancelled() => Err(JobError::Stopped),
            };
            (span.number, result)
        })
    }

    /// Says what a pause kept: `done` bytes on the server, `kept` parts finished while
    /// stopping, `dropped` bytes on their way thrown away.
    async fn stopped_notice(&self, done: u64, kept: usize, dropped: u64) {
        self.notice(format!(
            "Stopped sending {}: {} are on the server ({kept} part(s) finished while stopping){}.",
            self.name(),
            mib(done),
            if dropped > 0 {
                format!(
                    "; {} that were on their way will be sent again",
                    mib(dropped)
                )
            } else {
                String::new()
            }
        ))
        .await;
    }

    /// A pause: parts that can finish within [`DRAIN_KEEPS`] go on, the others stop now.
    /// Returns (parts kept, bytes handed over of the parts stopped).
    fn drain_parts(&self, flying: &HashMap<u32, Flying>) -> (usize, u64) {
        let controller = self.shared.budget.controller();
        let mut kept = 0;
        let mut dropped = 0;
        for part in flying.values() {
            let sent = part.sent.load(Ordering::Relaxed).min(part.len);
            if finishes_soon(&controller, part.len, sent, part.started) {
                kept += 1;
            } else {
                dropped += sent;
                part.stop.cancel();
            }
        }
        (kept, dropped)
    }

    pub(super) async fn parts_state(&self, done: usize, total: u32) {
        let done = u32::try_from(done).unwrap_or(u32::MAX);
        let changed = self
            .last_parts
            .lock()
            .map(|mut last| {
                let changed = *last != Some((done, total));
                *last = Some((done, total));
                changed
            })
            .unwrap_or(true);
        if changed {
            self.state(ItemState::Uploading {
                parts_done: done,
                parts_total: total,
            })
            .await;
        }
    }

    async fn upload_part(
        &self,
        live: &Live,
        upload_id: &str,
        span: Span,
        slice: &FileSlice,
        grant: Grant,
    ) -> Result<PartRecord, JobError> {
        // The slice re-reads the file from its offset on every attempt. Its CRC-64 is of the
        // bytes sent (checked against the server's); a file changed meanwhile is caught by
        // its size and modification time before the upload completes.
        let key = &live.record.media_key;
        let (stored, sent) = self
            .cos_op(live, &format!("uploading part {}", span.number), || {
                watch_stall(
                    live.cos.upload_part(key, upload_id, span.number, slice),
                    slice,
                )
            })
            .await?;
        let part = PartRecord {
            number: span.number,
            offset: span.offset,
            etag: stored.etag,
            size: span.len,
            crc64: sent.crc64,
        };
        self.shared.store.put_part(self.item.id, &part)?;
        self.meter.body_done(slice, span.len);
        grant.done();
        Ok(part)
    }

    /// Completes the upload after checking the parts tile the file, and checks the object's
    /// CRC-64 against the parts'.
    async fn complete(
        &self,
        live: &Live,
        upload_id: &str,
        layout: &Layout,
    ) -> Result<(), JobError> {
        let key = &live.record.media_key;
        let parts: Vec<&PartRecord> = layout.done().collect();
        let mut end = 0;
        for (expected, part) in (1u32..).zip(&parts) {
            if part.number != expected || part.offset != end {
                end = u64::MAX;
                break;
            }
            end += part.size;
        }
        if !layout.complete() || end != self.item.size {
            return Err(JobError::Service {
                doing: "checking the parts before completing".into(),
                err: Box::new(TencentError::Integrity(format!(
                    "{} parts are recorded that do not cover the {} bytes of the file in order",
                    parts.len(),
                    self.item.size
                ))),
            });
        }
        self.check_file_unchanged()?;
        let list: Vec<(u32, String)> = parts.iter().map(|p| (p.number, p.etag.clone())).collect();
        let combined = parts
            .iter()
            .fold(None, |acc: Option<u64>, p| {
                Some(match acc {
                    None => p.crc64,
                    Some(crc) => crc64::combine(crc, p.crc64, p.size),
                })
            })
            .unwrap_or(0);
        let completed = match self
            .cos_op(live, "completing the multipart upload", || {
                live.cos.complete(key, upload_id, &list)
            })
            .await
        {
            Ok(completed) => completed.crc64,
            // A connection cut after the server completed makes the retry find no upload:
            // the object itself says whether it is complete.
            Err(JobError::Service { err, .. }) if is_no_such_upload(&err) => {
                let head = self
                    .cos_op(live, "checking the completed object", || live.cos.head(key))
                    .await?;
                if head.size != self.item.size {
                    return Err(JobError::Restart(format!(
                        "The server lost the unfinished upload of {}",
                        self.name()
                    )));
                }
                head.crc64
            }
            Err(err) => return Err(err),
        };
        match completed {
            // The object is not the file: a part kept after a crash on its size alone (see
            // reconcile) held other bytes, or the server stored what it was not sent.
            Some(crc) if crc != combined => Err(JobError::Restart(format!(
                "The object the server made of {} is not the file (its CRC-64 is {crc}, the file's {combined})",
                self.name()
            ))),
            Some(_) => Ok(()),
            None => {
                tracing::warn!(
                    item = self.item.id,
                    "the server sent no CRC-64 for the object"
                );
                Ok(())
            }
        }
    }

    /// Matches the local part records with the server's list (the server is the truth) into
    /// the layout to continue. `None` when the upload is gone.
    async fn reconcile(
        &self,
        live: &Live,
        upload_id: &str,
        fixed: Option<u64>,
    ) -> Result<Option<Layout>, JobError> {
        let key = live.record.media_key.clone();
        let listed = match self
            .cos_op(live, "listing the parts already uploaded", || {
                live.cos.list_parts(&key, upload_id)
            })
            .await
        {
            Ok(listed) => listed,
            Err(JobError::Service { err, .. }) if is_no_such_upload(&err) => return Ok(None),
            Err(err) => return Err(err),
        };
        let server: HashMap<u32, &ListedPart> = listed.iter().map(|p| (p.part_number, p)).collect();
        let (mut done, mut planned) = self.recorded_on_server(&server)?;
        if let Some(uniform) = fixed {
            planned.extend(self.uniform_gaps(uniform, &done, &planned));
        }
        let still_planned = self.keep_unrecorded(&server, planned, &mut done).await?;
        match Layout::resume(self.item.size, fixed, done, still_planned) {
            Ok(layout) => Ok(Some(layout)),
            Err(why) => Err(JobError::Restart(format!(
                "The saved parts of {} do not fit together ({why})",
                self.name()
            ))),
        }
    }

    /// The recorded parts the server lists as they were recorded (done), and the ranges to
    /// send: those planned, and those recorded that the server does not have.
    fn recorded_on_server(
        &self,
        server: &HashMap<u32, &ListedPart>,
    ) -> Result<(Vec<PartRecord>, Vec<PlannedPart>), JobError> {
        let store = &self.shared.store;
        let mut done = Vec::new();
        let mut planned = store.planned_parts(self.item.id)?;
        for part in store.parts(self.item.id)? {
            match server.get(&part.number) {
                Some(listed) if listed.size == part.size && same_etag(&part.etag, &listed.etag) => {
                    done.push(part);
                }
                // Recorded but not on the server: its range is sent again.
                _ => planned.push(PlannedPart {
                    number: part.number,
                    offset: part.offset,
                    size: part.size,
                }),
            }
        }
        Ok((done, planned))
    }

    /// A session of uniform parts from before ranges were recorded: the ranges of its
    /// missing numbers follow from the part size.
    fn uniform_gaps(
        &self,
        uniform: u64,
        done: &[PartRecord],
        planned: &[PlannedPart],
    ) -> Vec<PlannedPart> {
        let highest = done
            .iter()
            .map(|p| p.number)
            .chain(planned.iter().map(|p| p.number))
            .max();
        let mut gaps = Vec::new();
        for number in 1..highest.unwrap_or(0) {
            let known = done.iter().any(|p| p.number == number)
                || planned.iter().any(|p| p.number == number);
            let offset = u64::from(number - 1) * uniform;
            if !known && offset < self.item.size {
                gaps.push(PlannedPart {
                    number,
                    offset,
                    size: uniform.min(self.item.size - offset),
                });
            }
        }
        gaps
    }

    /// A range the server has that this run did not record as acknowledged (a crash
    /// between the answer and the database write), of the range's size: kept (added to
    /// `done` and recorded) with the CRC-64 of the file's bytes there. ListParts gives no
    /// part's CRC-64, so what the server holds is checked with the whole object's at
    /// Complete, which starts over when they differ. Returns the ranges still to send.
    async fn keep_unrecorded(
        &self,
        server: &HashMap<u32, &ListedPart>,
        planned: Vec<PlannedPart>,
        done: &mut Vec<PartRecord>,
    ) -> Result<Vec<PlannedPart>, JobError> {
        let mut still_planned = Vec::new();
        for range in planned {
            let Some(listed) = server.get(&range.number).filter(|l| l.size == range.size) else {
                still_planned.push(range);
                continue;
            };
            let path = self.item.path.clone();
            let (offset, len) = (range.offset, range.size);
            let crc = tokio::task::spawn_blocking(move || crc_range(&path, offset, len))
                .await
                .ok()
                .and_then(Result::ok);
            let Some(crc) = crc else {
                still_planned.push(range);
                continue;
            };
            let part = PartRecord {
                number: range.number,
                offset,
                etag: listed.etag.clone(),
                size: len,
                crc64: crc,
            };
            self.shared.store.put_part(self.item.id, &part)?;
            done.push(part);
        }
        Ok(still_planned)
    }

    /// Whether `key` already holds the whole of `path` (its size and CRC-64): what a crash
    /// after the server finished an object, before it was recorded, leaves.
    pub(super) async fn finished_object(
        &self,
        live: &Live,
        key: &str,
        path: &Path,
    ) -> Result<bool, JobError> {
        let head = match self
            .cos_op(live, "checking for an object already sent", || {
                live.cos.head(key)
            })
            .await
        {
            Ok(head) => head,
            Err(JobError::Service { err, .. }) if is_not_found(&err) => return Ok(false),
            Err(err) => return Err(err),
        };
        let size = std::fs::metadata(path).map(|m| m.len()).ok();
        let Some(server_crc) = head.crc64.filter(|_| Some(head.size) == size) else {
            return Ok(false);
        };
        let owned = path.to_path_buf();
        let len = head.size;
        let local = tokio::task::spawn_blocking(move || crc_range(&owned, 0, len))
            .await
            .ok()
            .and_then(Result::ok);
        Ok(local == Some(server_crc))
    }
}

/// Whether a body of `len` bytes started at `started`, `sent` of them handed over, should be
/// acknowledged within [`DRAIN_KEEPS`] at its share of the measured link: by its bytes left,
/// and by how long a body of its size takes (what was handed over may still be in buffers).
pub(super) fn finishes_soon(
    controller: &crate::engine::budget::Controller,
    len: u64,
    sent: u64,
    started: Instant,
) -> bool {
    let left = controller.time_for(len.saturating_sub(sent));
    let by_time = controller
        .time_for(len)
        .map(|whole| whole.saturating_sub(started.elapsed()));
    match (left, by_time) {
        (Some(left), Some(by_time)) => left.max(by_time) <= DRAIN_KEEPS,
        _ => false,
    }
}

/// How long a body may move no bytes before its attempt is given up and retried.
const STALL_AFTER: Duration = Duration::from_secs(30);

/// Runs `request`, failing it as a network error (which is retried) when the bytes handed to
/// its connection stop moving for [`STALL_AFTER`]: a stalled link gets a retry, not an
/// endless wait.
pub(super) async fn watch_stall<T>(
    request: impl Future<Output = Result<T, TencentError>>,
    slice: &FileSlice,
) -> Result<T, TencentError> {
    let Some(sent) = slice.sent.clone() else {
        return request.await;
    };
    tokio::pin!(request);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last = (sent.load(Ordering::Relaxed), Instant::now());
    loop {
        tokio::select! {
            result = &mut request => return result,
            _ = tick.tick() => {
                let now_sent = sent.load(Ordering::Relaxed);
                if now_sent != last.0 {
                    last = (now_sent, Instant::now());
                } else if last.1.elapsed() >= STALL_AFTER {
                    return Err(TencentError::Network {
                        service: "COS",
                        detail: format!(
                            "no bytes moved for {} s; trying again",
                            STALL_AFTER.as_secs()
                        ),
                    });
                }
            }
        }
    }
}

fn is_not_found(err: &TencentError) -> bool {
    match err {
        TencentError::Cos { status, .. } | TencentError::Http { status, .. } => *status == 404,
        _ => false,
    }
}

/// Bytes in MiB with one decimal, for notices.
pub(super) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}
