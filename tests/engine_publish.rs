//! WeChat publishing through the engine, as the desktop app drives it: publish, a restart
//! during the review, suspend/restore, the library, deletion here and elsewhere.

use std::time::Duration;

use voddesk::emulator::Faults;
use voddesk::engine::api::{
    Command, Destination, Event, ItemOptions, LibraryAction, NewItem, PublishState,
};

use crate::support::{MIB, emulator, engine_config, events_until, finish, start, tmp_file};

async fn status_of(url: &str) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

/// Waits (10 s at most) for a publication change that `wanted` accepts.
async fn publish_becomes(
    engine: &mut voddesk::engine::EngineHandle,
    wanted: impl Fn(&PublishState) -> bool,
) {
    events_until(
        engine,
        Duration::from_secs(10),
        |e| matches!(e, Event::PublishChanged { publish, .. } if wanted(publish)),
    )
    .await;
}

fn published_url(event: &Event, item: i64) -> Option<String> {
    match event {
        Event::PublishChanged {
            id,
            publish: PublishState::Published { url, .. },
        } if *id == item => Some(url.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn publish_survives_a_restart_then_suspend_restore_delete() {
    let emu = emulator(Faults {
        review_delay: Duration::from_millis(1500),
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = tmp_file(dir.path(), "发布 clip.mp4", MIB / 2, 7);
    let config = engine_config(
        &emu.base,
        &data,
        voddesk::engine::api::UploadFlow::ClientUpload,
    );
    let mut engine = start(config.clone());
    engine
        .send(Command::Add(vec![NewItem {
            path,
            destination: Destination::Vod,
            options: ItemOptions::default(),
        }]))
        .await
        .unwrap();
    let events = events_until(&mut engine, Duration::from_secs(30), |e| {
        matches!(e, Event::Added(_))
    })
    .await;
    let id = events
        .iter()
        .find_map(|e| match e {
            Event::Added(snap) => Some(snap.id),
            _ => None,
        })
        .unwrap();
    finish(&mut engine, &[id], Duration::from_secs(60)).await;

    engine
        .send(Command::Publish {
            id,
            definition: None,
        })
        .await
        .unwrap();
    publish_becomes(&mut engine, |p| {
        matches!(p, PublishState::UnderReview { .. })
    })
    .await;
    // Stop while the review runs; a new engine on the same data picks the review up again.
    engine.shutdown().await;
    let mut engine = start(config.clone());
    let events = events_until(&mut engine, Duration::from_secs(10), |e| {
        matches!(e, Event::Loaded(_))
    })
    .await;
    let Some(Event::Loaded(snaps)) = events.last() else {
        panic!("{events:?}")
    };
    assert!(
        matches!(snaps[0].publish, PublishState::UnderReview { .. }),
        "{:?}",
        snaps[0].publish
    );
    let mut url = None;
    events_until(&mut engine, Duration::from_secs(30), |e| {
        url = published_url(e, id);
        url.is_some()
    })
    .await;
    let url = url.unwrap();
    assert!(url.contains("/wechat/"), "{url}");
    assert_eq!(status_of(&url).await, 200);

    engine
        .send(Command::Suspend { id, suspend: true })
        .await
        .unwrap();
    publish_becomes(&mut engine, |p| matches!(p, PublishState::Suspended { .. })).await;
    assert_eq!(status_of(&url).await, 403);
    engine
        .send(Command::Suspend { id, suspend: false })
        .await
        .unwrap();
    events_until(&mut engine, Duration::from_secs(10), |e| {
        published_url(e, id).is_some()
    })
    .await;
    assert_eq!(status_of(&url).await, 200);

    // The library lists the file with its publication.
    engine
        .send(Command::SearchLibrary {
            name: None,
            offset: 0,
            limit: 20,
        })
        .await
        .unwrap();
    let events = events_until(&mut engine, Duration::from_secs(10), |e| {
        matches!(e, Event::Library(_))
    })
    .await;
    let Some(Event::Library(page)) = events.last() else {
        panic!()
    };
    assert_eq!(page.total, 1);
    assert!(matches!(
        page.entries[0].publish,
        PublishState::Published { .. }
    ));
    let file_id = page.entries[0].file_id.clone();

    // Suspending from the library updates the queue item too.
    engine
        .send(Command::Library {
            file_id: file_id.clone(),
            action: LibraryAction::Suspend,
        })
        .await
        .unwrap();
    events_until(&mut engine, Duration::from_secs(10), |e| {
        matches!(e, Event::PublishChanged { id: i, publish: PublishState::Suspended { .. } } if *i == id)
    })
    .await;
    assert_eq!(status_of(&url).await, 403);

    // Deleted: the page is gone, and publishing it again is refused in words (a deletion
    // made elsewhere is `rejection_is_explained_and_refresh_sees_a_deletion_made_elsewhere`).
    engine.send(Command::DeleteMedia(id)).await.unwrap();
    publish_becomes(&mut engine, |p| matches!(p, PublishState::Deleted)).await;
    assert_eq!(status_of(&url).await, 410);
    engine
        .send(Command::Publish {
            id,
            definition: None,
        })
        .await
        .unwrap();
    let events = events_until(&mut engine, Duration::from_secs(10), |e| {
        matches!(e, Event::Notice { .. })
    })
    .await;
    let Some(Event::Notice { message, .. }) = events.last() else {
        panic!()
    };
    assert!(message.contains("deleted"), "{message}");
    engine.shutdown().await;
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn rejection_is_explained_and_refresh_sees_a_deletion_made_elsewhere() {
    let emu = emulator(Faults {
        review_delay: Duration::from_millis(300),
        reject_publish: true,
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = tmp_file(dir.path(), "clip.mp4", 200_000, 3);
    let mut engine = start(engine_config(
        &emu.base,
        &data,
        voddesk::engine::api::UploadFlow::ServerApi,
    ));
    engine
        .send(Command::Add(vec![NewItem {
            path,
            destination: Destination::Vod,
            options: ItemOptions::default(),
        }]))
        .await
        .unwrap();
    let id = 1;
    let states = finish(&mut engine, &[id], Duration::from_secs(60)).await;
    let (file_id, _, _) = crate::support::done_urls(&states[&id]);
    engine
        .send(Command::Publish {
            id,
            definition: Some(0),
        })
        .await
        .unwrap();
    let events = events_until(&mut engine, Duration::from_secs(20), |e| {
        matches!(
            e,
            Event::PublishChanged {
                publish: PublishState::Rejected(_),
                ..
            }
        )
    })
    .await;
    let Some(Event::PublishChanged {
        publish: PublishState::Rejected(err),
        ..
    }) = events.last()
    else {
        panic!()
    };
    assert!(err.message.contains("rejected"), "{err:?}");
    // Delete through the API directly, as the console would.
    let vod = voddesk::tencent::vod::VodClient::new(
        voddesk::tencent::vod::http_client().unwrap(),
        &emu.base,
        "ap-guangzhou",
        voddesk::tencent::Credentials::new(
            voddesk::emulator::DEMO_SECRET_ID,
            voddesk::emulator::DEMO_SECRET_KEY,
        ),
        std::sync::Arc::new(voddesk::tencent::clock::Clock::new()),
    )
    .unwrap();
    vod.call(&voddesk::tencent::models::DeleteMediaRequest {
        file_id,
        sub_app_id: None,
        delete_parts: None,
    })
    .await
    .unwrap();
    engine.send(Command::Refresh(id)).await.unwrap();
    publish_becomes(&mut engine, |p| matches!(p, PublishState::Deleted)).await;
    engine.shutdown().await;
    emu.handle.shutdown().await;
}
