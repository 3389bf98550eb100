//! An item's upload session: apply, reopen and renew its certificate, and commit.

use super::*;

impl Job {
    pub(super) async fn open_session(&self, plan: &Plan) -> Result<Live, JobError> {
        if let Some(record) = self.shared.store.session(self.item.id)? {
            let age = self.shared.clock.now() - record.created_at;
            if record.flow != self.flow {
                self.discard_session().await;
            } else if age > RESUME_WINDOW_SECONDS {
                self.notice(format!(
                    "The resume point of {} is more than a day old, longer than the service keeps one; starting the upload over.",
                    self.name()
                ))
                .await;
                self.discard_session().await;
            } else {
                return self.reopen(record).await;
            }
        }
        let record = match self.flow {
            UploadFlow::ClientUpload => self.apply_client(plan).await?,
            UploadFlow::ServerApi => self.apply_server(plan).await?,
        };
        let credentials = record
            .certificate
            .clone()
            .or_else(|| self.shared.service.credentials.clone())
            .ok_or_else(|| JobError::User(no_credentials()))?;
        let mut stored = record.clone();
        if self.flow == UploadFlow::ClientUpload {
            // The client flow keeps no certificate at rest: it renews one on resume.
            stored.certificate = None;
        }
        self.shared.store.put_session(&stored)?;
        Ok(self.live(record, credentials, true))
    }

    pub(super) async fn reopen(&self, record: SessionRecord) -> Result<Live, JobError> {
        match self.flow {
            UploadFlow::ServerApi => {
                let Some(certificate) = record.certificate.clone() else {
                    return Err(JobError::Restart(
                        "The saved upload session has no certificate".to_owned(),
                    ));
                };
                if expired(
                    self.shared.clock.now(),
                    record.cert_issued_at,
                    record.cert_expires_at,
                ) {
                    return Err(JobError::Restart(format!(
                        "The temporary upload certificate of {} expired while it was not uploading, and the server API flow cannot renew one",
                        self.name()
                    )));
                }
                Ok(self.live(record, certificate, false))
            }
            UploadFlow::ClientUpload => {
                // A placeholder until the renewal below replaces it.
                let placeholder = Credentials::new("-", "-");
                let live = self.live(record, placeholder, false);
                match self.renew(&live).await {
                    Ok(()) => Ok(live),
                    Err(JobError::Service { err, .. }) if err.class() == ErrorClass::Fatal => {
                        Err(JobError::Restart(format!(
                            "The service no longer accepts the saved upload session of {} ({err})",
                            self.name()
                        )))
                    }
                    Err(err) => Err(err),
                }
            }
        }
    }

    pub(super) fn live(
        &self,
        record: SessionRecord,
        credentials: Credentials,
        fresh: bool,
    ) -> Live {
        let cos = CosClient::new(
            self.shared.http.clone(),
            CosTarget {
                bucket: record.bucket.clone(),
                region: record.region.clone(),
                endpoint: self.shared.service.endpoints.cos.clone(),
            },
            credentials,
            Arc::clone(&self.shared.clock),
        );
        let cert = Mutex::new((record.cert_issued_at, record.cert_expires_at));
        Live {
            record,
            cos,
            cert,
            fresh,
        }
    }

    /// Forgets the item's session, aborting its multipart upload when that is possible.
    pub(super) async fn discard_session(&self) {
        if let Err(err) = abort_session(&self.shared, &self.item).await {
            tracing::warn!(
                item = self.item.id,
                "could not abort the old upload: {}",
                err.into_user()
            );
        }
        if let Err(err) = self.shared.store.delete_session(self.item.id) {
            tracing::warn!(
                item = self.item.id,
                "could not forget the old session: {err:#}"
            );
        }
    }

    pub(super) async fn apply_client(&self, plan: &Plan) -> Result<SessionRecord, JobError> {
        let size = match plan {
            Plan::Single { size } => *size,
            Plan::Multipart(parts) => parts.size,
        };
        let cover = self.cover();
        let cover_size = cover
            .as_ref()
            .and_then(|c| std::fs::metadata(c).ok())
            .map(|m| m.len());
        let ugc = self.ugc()?;
        let media_name = media_name(&self.item.path, &self.item.options.media_name);
        let data = self
            .retrying("asking VOD for an upload session", || async {
                self.shared.apply_pace.wait().await;
                let request = ApplyRequest {
                    signature: signature(&self.shared, &self.item.options).await?,
                    video_name: Some(media_name.clone()),
                    video_type: validate::extension(&self.item.path),
                    video_size: Some(size),
                    cover_name: cover.as_ref().map(|c| stem(c)),
                    cover_type: cover.as_deref().and_then(validate::extension),
                    cover_size,
                    vod_session_key: None,
                    storage_region: self.item.options.storage_region.clone(),
                };
                ugc.apply(&request).await
            })
            .await?;
        self.shared.clock.observe_server_time(data.timestamp);
        let cert = &data.temp_certificate;
        Ok(SessionRecord {
            item_id: self.item.id,
            flow: UploadFlow::ClientUpload,
            vod_session_key: data.vod_session_key.clone(),
            bucket: data.bucket(),
            region: if data.storage_region_v5.is_empty() {
                data.storage_region.clone()
            } else {
                data.storage_region_v5.clone()
            },
            media_key: data.video.storage_path.trim_start_matches('/').to_owned(),
            cover_key: data
                .cover
                .as_ref()
                .filter(|_| cover.is_some())
                .map(|c| c.storage_path.trim_start_matches('/').to_owned()),
            cover_done: false,
            media_done: false,
            certificate: Some(
                Credentials::new(&cert.secret_id, &cert.secret_key)
                    .with_token(Some(cert.token.clone())),
            ),
            cert_issued_at: if data.timestamp > 0 {
                data.timestamp
            } else {
                self.shared.clock.now()
            },
            cert_expires_at: cert.expired_time,
            upload_id: None,
            part_size: 0,
            created_at: self.shared.clock.now(),
        })
    }

    pub(super) async fn apply_server(&self, _plan: &Plan) -> Result<SessionRecord, JobError> {
        let vod = self.vod()?;
        let options = &self.item.options;
        let request = ApplyUploadRequest {
            media_type: validate::extension(&self.item.path).unwrap_or_default(),
            sub_app_id: options.sub_app_id.or(self.shared.service.sub_app_id),
            media_name: Some(media_name(&self.item.path, &options.media_name)),
            cover_type: options.cover.as_deref().and_then(validate::extension),
            procedure: options.procedure.clone(),
            expire_time: options.expire_time.clone(),
            storage_region: options.storage_region.clone(),
            class_id: options.class_id,
            source_context: options.source_context.clone(),
            session_context: None,
        };
        let response = self
            .retrying("asking VOD for an upload session", || async {
                self.shared.apply_pace.wait().await;
                vod.call(&request).await
            })
            .await?;
        let now = self.shared.clock.now();
        let (certificate, expires) = match &response.temp_certificate {
            Some(cert) => (
                Some(
                    Credentials::new(&cert.secret_id, &cert.secret_key)
                        .with_token(Some(cert.token.clone())),
                ),
                i64::try_from(cert.expired_time).unwrap_or(i64::MAX),
            ),
            // No temporary certificate: the caller's own key signs COS requests, and it does
            // not expire.
            None => (self.shared.service.credentials.clone(), i64::MAX),
        };
        Ok(SessionRecord {
            item_id: self.item.id,
            flow: UploadFlow::ServerApi,
            vod_session_key: response.vod_session_key,
            bucket: response.storage_bucket,
            region: response.storage_region,
            media_key: response
                .media_storage_path
                .trim_start_matches('/')
                .to_owned(),
            cover_key: options
                .cover
                .as_ref()
                .filter(|_| !response.cover_storage_path.is_empty())
                .map(|_| {
                    response
                        .cover_storage_path
                        .trim_start_matches('/')
                        .to_owned()
                }),
            cover_done: false,
            media_done: false,
            certificate,
            cert_issued_at: now,
            cert_expires_at: expires,
            upload_id: None,
            part_size: 0,
            created_at: now,
        })
    }

    pub(super) fn vod(&self) -> Result<VodClient, JobError> {
        let credentials = self
            .shared
            .service
            .credentials
            .clone()
            .ok_or_else(|| JobError::User(no_credentials()))?;
        VodClient::new(
            self.shared.http.clone(),
            &self.shared.service.endpoints.vod,
            &self.shared.service.region,
            credentials,
            Arc::clone(&self.shared.clock),
        )
        .map(|client| client.with_retry(RetryPolicy::none()))
        .map_err(|err| JobError::Service {
            doing: "connecting to VOD".into(),
            err: Box::new(err),
        })
    }

    pub(super) fn ugc(&self) -> Result<UgcClient, JobError> {
        UgcClient::new(self.shared.http.clone(), &self.shared.service.endpoints.ugc)
            .map(|client| client.with_clock(Arc::clone(&self.shared.clock)))
            .map_err(|err| JobError::Service {
                doing: "connecting to the client-upload service".into(),
                err: Box::new(err),
            })
    }

    /// Renews a client-upload certificate with `ApplyUploadUGC {signature, vodSessionKey}`.
    pub(super) async fn renew(&self, live: &Live) -> Result<(), JobError> {
        let ugc = self.ugc()?;
        self.meter
            .set_stall(Some(StallReason::WaitingForCredentials));
        let data = self
            .retrying("renewing the upload credentials", || async {
                let request = ApplyRequest {
                    signature: signature(&self.shared, &self.item.options).await?,
                    vod_session_key: Some(live.record.vod_session_key.clone()),
                    ..ApplyRequest::default()
                };
                ugc.apply(&request).await
            })
            .await?;
        self.meter.set_stall(None);
        self.shared.clock.observe_server_time(data.timestamp);
        let cert = &data.temp_certificate;
        live.cos.set_credentials(
            Credentials::new(&cert.secret_id, &cert.secret_key)
                .with_token(Some(cert.token.clone())),
        );
        let issued = if data.timestamp > 0 {
            data.timestamp
        } else {
            self.shared.clock.now()
        };
        if let Ok(mut slot) = live.cert.lock() {
            *slot = (issued, cert.expired_time);
        }
        self.shared
            .store
            .set_certificate(self.item.id, None, issued, cert.expired_time)?;
        tracing::debug!(item = self.item.id, "renewed the temporary certificate");
        Ok(())
    }

    /// Makes sure the certificate will last: renews at 90 % of its life (client flow) or
    /// restarts the session when it ran out (server API flow).
    pub(super) async fn ensure_fresh(&self, live: &Live, force: bool) -> Result<(), JobError> {
        let stale = |live: &Live| {
            let (issued, expires) = live.cert.lock().map(|c| *c).unwrap_or((0, 0));
            let now = self.shared.clock.now();
            match self.flow {
                UploadFlow::ClientUpload => {
                    let lifetime = (expires - issued).max(0) as f64;
                    (now - issued) as f64 >= RENEW_AT * lifetime
                }
                UploadFlow::ServerApi => expired(now, issued, expires),
            }
        };
        if !force && !stale(live) {
            return Ok(());
        }
        match self.flow {
            UploadFlow::ClientUpload => {
                let before = live.cert.lock().map(|c| *c).unwrap_or((0, 0));
                let _guard = self.renew_lock.lock().await;
                let after = live.cert.lock().map(|c| *c).unwrap_or((0, 0));
                // Another part renewed while this one waited for the lock.
                if before != after && !stale(live) {
                    return Ok(());
                }
                self.renew(live).await
            }
            // Ran out while uploading without a stop since the session began: the upload
            // outlasts the certificate, and starting over would only end the same way.
            UploadFlow::ServerApi if live.fresh => {
                let (issued, expires) = live.cert.lock().map(|c| *c).unwrap_or((0, 0));
                let minutes = ((expires - issued).max(0) + 59) / 60;
                Err(JobError::User(plain(
                    format!(
                        "Uploading {} takes longer than the temporary certificate of the server API flow lasts (about {minutes} min), and that flow cannot renew one. Choose the client-upload flow (it renews certificates), then retry.",
                        self.name()
                    ),
                    true,
                )))
            }
            UploadFlow::ServerApi => Err(JobError::Restart(format!(
                "The temporary upload certificate of {} ran out, and the server API flow cannot renew one",
                self.name()
            ))),
        }
    }

    /// Sets a committed media's expiry (`ModifyMediaInfo`, with the API key). The upload is
    /// done either way; a failure is told, since the media would otherwise never expire.
    pub(super) async fn set_expiry(&self, file_id: &str, expiry: &str) {
        let result = async {
            let vod = self.vod()?;
            let request = ModifyMediaInfoRequest {
                file_id: file_id.to_owned(),
                sub_app_id: self
                    .item
                    .options
                    .sub_app_id
                    .or(self.shared.service.sub_app_id),
                expire_time: Some(expiry.trim().to_owned()),
            };
            self.retrying("setting the expiry time", || vod.call(&request))
                .await
        }
        .await;
        if let Err(err) = result {
            self.notice(format!(
                "{} is uploaded ({file_id}), but its expiry time {expiry} could not be set: {} Set it in the VOD console.",
                self.name(),
                err.into_user().message
            ))
            .await;
        }
    }

    pub(super) async fn commit(&self, live: &Live) -> Result<ItemState, JobError> {
        let key = live.record.vod_session_key.clone();
        match self.flow {
            UploadFlow::ClientUpload => {
                let ugc = self.ugc()?;
                let data = self
                    .retrying("committing the upload to VOD", || async {
                        self.shared.commit_pace.wait().await;
                        let signature = signature(&self.shared, &self.item.options).await?;
                        ugc.commit(&signature, &key).await
                    })
                    .await?;
                // The client-upload API has no expiry field: it is set once the media exists.
                if let Some(expiry) = &self.item.options.expire_time {
                    self.set_expiry(&data.file_id, expiry).await;
                }
                Ok(ItemState::Done {
                    file_id: data.file_id,
                    media_url: data.video.url,
                    cover_url: data.cover.map(|c| c.url).filter(|u| !u.is_empty()),
                    expires_at: None,
                })
            }
            UploadFlow::ServerApi => {
                let vod = self.vod()?;
                let request = CommitUploadRequest {
                    vod_session_key: key,
                    sub_app_id: self
                        .item
                        .options
                        .sub_app_id
                        .or(self.shared.service.sub_app_id),
                };
                let response = self
                    .retrying("committing the upload to VOD", || async {
                        self.shared.commit_pace.wait().await;
                        vod.call(&request).await
                    })
                    .await?;
                Ok(ItemState::Done {
                    file_id: response.file_id,
                    media_url: response.media_url,
                    cover_url: Some(response.cover_url).filter(|u| !u.is_empty()),
                    expires_at: None,
                })
            }
        }
    }
}
