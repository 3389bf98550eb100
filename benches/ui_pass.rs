//! Prints the median time of one UI pass (`logic` + `ui`, what eframe runs per frame, without
//! painting) with 10,000 items in the queue, two of them receiving progress every frame.
//!
//! Run: `cargo bench --bench ui_pass` (or `cargo bench --profile dev --bench ui_pass` to reuse
//! the debug build). The product target is a median under 8 ms.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use voddesk::engine::api::{
    Command, Destination, Event, ItemOptions, ItemSnapshot, ItemState, Progress, PublishState,
};
use voddesk::gui::i18n::Lang;
use voddesk::gui::link::EngineLink;
use voddesk::gui::{AppInit, BackendMode, KeyStatus, SecretStatus, VodDeskApp, fonts};
use voddesk::settings::Settings;
use voddesk::settings::credentials::CredentialStore;

const ITEMS: i64 = 10_000;
const FRAMES: usize = 300;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (commands, _commands_rx) = mpsc::channel::<Command>(256);
    let (events_tx, events) = mpsc::channel::<Event>(65_536);
    let dir = std::env::temp_dir().join("voddesk-bench");
    let mut app = VodDeskApp::new(AppInit {
        link: EngineLink::connected(
            commands,
            events,
            BackendMode::Cloud,
            voddesk::gui::backend::WeComRoute::NotSetUp,
        ),
        handle: runtime.handle().clone(),
        settings: Settings::default(),
        env_overrides: Vec::new(),
        env: |_| None,
        data_dir: dir.clone(),
        credential_store: CredentialStore::file_only(&dir),
        key_status: KeyStatus::None,
        wecom_status: SecretStatus::None,
        launch: voddesk::gui::backend::Launch {
            settings: Settings::default(),
            credentials: None,
            wecom: None,
        },
        cjk_font: true,
        system_lang: Lang::En,
        notifier: Box::new(|_: &str, _: &str| {}),
    });
    let snaps: Vec<ItemSnapshot> = (1..=ITEMS)
        .map(|id| {
            let state = match id % 5 {
                0 => ItemState::Done {
                    file_id: format!("52858907{id:08}"),
                    media_url: format!("http://example.invalid/{id}.mp4"),
                    cover_url: None,
                    expires_at: None,
                },
                1 => ItemState::Queued,
                2 => ItemState::Paused,
                3 => ItemState::Uploading {
                    parts_done: 3,
                    parts_total: 10,
                },
                _ => ItemState::Cancelled,
            };
            ItemSnapshot {
                id,
                path: PathBuf::from(format!("/videos/第{id}集 节目录像 episode {id}.mp4")),
                size: 100_000_000 + id as u64 * 1000,
                destination: Destination::Vod,
                options: ItemOptions::default(),
                state,
                progress: Progress {
                    bytes_done: 30_000_000,
                    in_flight: 0,
                    bytes_total: 100_000_000,
                    speed: 2_000_000.0,
                    eta: Some(Duration::from_secs(35)),
                    stalled: None,
                },
                publish: PublishState::NotPublished,
                created_at: 1_700_000_000 + id,
            }
        })
        .collect();
    events_tx.try_send(Event::Loaded(snaps)).unwrap();

    let ctx = egui::Context::default();
    let font = fonts::find_cjk_font();
    if font.is_none() {
        println!("warning: no CJK font found; Chinese names render as boxes");
    }
    fonts::install(&ctx, font.as_ref());
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1400.0, 900.0),
        )),
        ..egui::RawInput::default()
    };
    // Warm up: the first passes lay out and cache every glyph.
    // A real integration hands the texture changes to the renderer; here they are dropped.
    let run = |ctx: &egui::Context, app: &mut VodDeskApp| {
        let mut output = ctx.run_ui(input(), |ui| app.run_frame(ui));
        output.textures_delta.clear();
    };
    for _ in 0..10 {
        run(&ctx, &mut app);
    }
    app.select(Some(3));
    let mut times = Vec::with_capacity(FRAMES);
    let mut done = 30_000_000;
    for _ in 0..FRAMES {
        done += 200_000;
        for id in [3, 8] {
            events_tx
                .try_send(Event::Progress {
                    id,
                    progress: Progress {
                        bytes_done: done,
                        in_flight: 0,
                        bytes_total: 100_000_000,
                        speed: 2_000_000.0,
                        eta: Some(Duration::from_secs(30)),
                        stalled: None,
                    },
                })
                .unwrap();
        }
        let start = Instant::now();
        let mut output = ctx.run_ui(input(), |ui| app.run_frame(ui));
        times.push(start.elapsed());
        output.textures_delta.clear();
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "UI pass with {ITEMS} items over {FRAMES} frames: median {:.2} ms, p95 {:.2} ms, max {:.2} ms (target: median < 8 ms)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
    );
    assert_eq!(app.model().rows().len(), ITEMS as usize);
}
