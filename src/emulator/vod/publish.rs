//! WeChat publishing: `WeChatMiniProgramPublish` submits a review, `DescribeTaskDetail` follows
//! it (WAITING, PROCESSING, then FINISH with `Pass` or `Rejected`).

use super::*;

pub(super) fn publish(emu: &Emu, params: &Value) -> ActionResult {
    if !emu.admit_publishing_call() {
        return Err(err(
            "RequestLimitExceeded",
            "more than the allowed requests per second on publishing actions",
        ));
    }
    let faults = emu.faults();
    if faults.unverified_account {
        return Err(err(
            "FailedOperation.NoPrivileges",
            "the account has not completed identity verification, so it may not publish to WeChat",
        ));
    }
    let id =
        str_param(params, "FileId").ok_or_else(|| err("MissingParameter", "FileId is required"))?;
    let media = match emu.db.media(&id)? {
        None => {
            return Err(err(
                "InvalidParameterValue.FileId",
                format!("FileId {id} does not exist"),
            ));
        }
        Some(media) if media.deleted => {
            return Err(err(
                "ResourceNotFound.FileNotExist",
                format!("media {id} was deleted"),
            ));
        }
        Some(media) => media,
    };
    let definition = int_param(params, "SourceDefinition")?.unwrap_or(0);
    if category(&media.media_type) == "Audio" {
        return Err(err(
            "InvalidParameterValue.FileType",
            "audio cannot be published to WeChat Mini Program",
        ));
    }
    if definition == 0 {
        if !matches!(media.media_type.as_str(), "mp4" | "3gp") {
            return Err(err(
                "InvalidParameterValue.FileType",
                "the original is not MP4/3GP; publish an MP4 transcode instead",
            ));
        }
    } else if !has_definition(&media, definition) {
        return Err(err(
            "InvalidParameterValue.SourceDefinition",
            format!("media {id} has no output of template {definition}"),
        ));
    }
    let now = emu.now_ms();
    let delay = i64::try_from(faults.review_delay.as_millis()).unwrap_or(i64::MAX / 4);
    let task = Task {
        task_id: format!(
            "{}-wechat-mini-program-publish-{}",
            emu.app_id,
            uuid::Uuid::new_v4().simple()
        ),
        kind: "WechatMiniProgramPublish".to_owned(),
        file_id: Some(id),
        definition,
        created_ms: now,
        finish_ms: Some(now + delay),
        result: if faults.reject_publish {
            "Rejected"
        } else {
            "Pass"
        }
        .to_owned(),
        err_code: 0,
        message: String::new(),
        source_url: None,
    };
    emu.db.insert_task(&task)?;
    Ok(json!({ "TaskId": task.task_id }))
}

pub(super) fn iso_ms(ms: i64) -> String {
    iso_time(ms.div_euclid(1000))
}

pub(super) fn describe_task(emu: &Emu, params: &Value, base: &str) -> ActionResult {
    if !emu.admit_publishing_call() {
        return Err(err(
            "RequestLimitExceeded",
            "more than the allowed requests per second on publishing actions",
        ));
    }
    let id =
        str_param(params, "TaskId").ok_or_else(|| err("MissingParameter", "TaskId is required"))?;
    let task = emu.db.task(&id)?.ok_or_else(|| {
        err(
            "InvalidParameterValue.TaskId",
            format!("task {id} does not exist"),
        )
    })?;
    let now = emu.now_ms();
    let mut answer = json!({
        "TaskType": task.kind,
        "Status": null,
        "CreateTime": iso_ms(task.created_ms),
        "BeginProcessTime": null,
        "FinishTime": null,
        "ProcedureTask": null,
        "EditMediaTask": null,
        "WechatPublishTask": null,
        "WechatMiniProgramPublishTask": null,
        "PullUploadTask": null,
    });
    if task.kind == "WechatMiniProgramPublish" {
        publish_task(&mut answer, &task, now);
    } else {
        pull_task(emu, &mut answer, &task, base)?;
    }
    Ok(answer)
}

/// A publish review's state in `answer`: WAITING for the first third of the review, then
/// PROCESSING, then FINISH with its result.
fn publish_task(answer: &mut Value, task: &Task, now: i64) {
    let finish = task.finish_ms.unwrap_or(task.created_ms);
    let begin = task.created_ms + (finish - task.created_ms) / 3;
    let status = if now >= finish {
        "FINISH"
    } else if now >= begin {
        "PROCESSING"
    } else {
        "WAITING"
    };
    answer["Status"] = json!(status);
    if status != "WAITING" {
        answer["BeginProcessTime"] = json!(iso_ms(begin));
    }
    let done = status == "FINISH";
    if done {
        answer["FinishTime"] = json!(iso_ms(finish));
    }
    answer["WechatMiniProgramPublishTask"] = json!({
        "TaskId": task.task_id,
        "Status": status,
        "ErrCode": 0,
        "Message": (done && task.result == "Rejected").then_some("the content review rejected the media"),
        "FileId": task.file_id,
        "SourceDefinition": task.definition,
        "PublishResult": done.then_some(task.result.as_str()),
    });
}

/// A `PullUpload` task's state in `answer`, with the media it made once it finished.
fn pull_task(emu: &Emu, answer: &mut Value, task: &Task, base: &str) -> Result<(), ApiErr> {
    let done = task.finish_ms.is_some();
    let status = if done { "FINISH" } else { "PROCESSING" };
    answer["Status"] = json!(status);
    answer["BeginProcessTime"] = json!(iso_ms(task.created_ms));
    if let Some(finish) = task.finish_ms {
        answer["FinishTime"] = json!(iso_ms(finish));
    }
    let media = match &task.file_id {
        Some(id) if task.err_code == 0 => live_media(emu, id)?,
        _ => None,
    };
    answer["PullUploadTask"] = json!({
        "TaskId": task.task_id,
        "Status": status,
        "ErrCode": task.err_code,
        "ErrCodeExt": null,
        "Message": task.message,
        "FileId": task.file_id,
        "MediaBasicInfo": media.as_ref().map(|m| json!({
            "Name": m.name, "Type": m.media_type, "MediaUrl": media_url(base, m),
            "Category": category(&m.media_type), "Status": m.status,
            "CreateTime": iso_time(m.created),
        })),
        "MetaData": media.as_ref().map(|m| json!({ "Size": m.size, "Container": m.media_type })),
        "FileUrl": media.as_ref().map(|m| media_url(base, m)),
        "ProcedureTaskId": null,
        "ReviewAudioVideoTaskId": null,
        "SessionContext": null,
        "SessionId": null,
        "Progress": if done { 100 } else { 50 },
    });
    Ok(())
}
