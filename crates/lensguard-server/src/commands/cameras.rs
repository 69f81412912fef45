//! `lensguard cameras`: connects to each camera of a service configuration
//! for a few seconds, as the service would (same RTSP client, decoder,
//! credentials and limits), and says what it saw. Nothing is stored and
//! nothing is audited: no data directory is opened.

use crate::cli::{CamerasArgs, ServeArgs};
use crate::sources::camera::{self, Picture, State, Status};
use anyhow::Context;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Runs the command.
pub fn run(args: CamerasArgs) -> anyhow::Result<ExitCode> {
    let serve = ServeArgs {
        config: Some(args.config.clone()),
        data_dir: None,
        listen: None,
        models: None,
    };
    let cfg = crate::serve::settings::resolve(&serve)?;
    if cfg.cameras.is_empty() {
        eprintln!(
            "lensguard: {} configures no camera ([[cameras]]); nothing to check",
            args.config.display()
        );
        return Ok(ExitCode::from(2));
    }
    let mut readers = Vec::new();
    for c in &cfg.cameras {
        let credentials = match &c.credentials {
            None => None,
            Some(from) => Some(crate::sources::read_credentials(&c.name, from)?),
        };
        readers.push((
            c.clone(),
            camera::Reader {
                name: c.name.clone(),
                url: c.detect_url.clone(),
                credentials,
                detect_fps: c.detect_fps,
                max_pixels: lensguard_core::Limits::default().max_camera_pixels,
            },
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if !args.json {
        eprintln!(
            "watching {} camera(s) for {} s...",
            readers.len(),
            args.seconds
        );
    }
    let seen = runtime.block_on(watch_all(readers, Duration::from_secs(args.seconds)));
    let mut all_up = true;
    let mut out = std::io::stdout().lock();
    for (name, s) in &seen {
        all_up &= s.decoded > 0;
        let text = if args.json {
            json_line(name, s).to_string()
        } else {
            line(name, s)
        };
        writeln!(out, "{text}").context("cannot write to standard output")?;
    }
    Ok(if all_up {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn watch_all(
    readers: Vec<(lensguard_core::config::cameras::Camera, camera::Reader)>,
    how_long: Duration,
) -> Vec<(String, Status)> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut running = Vec::new();
    for (c, reader) in readers {
        let status = Arc::new(Mutex::new(Status::default()));
        // Motion only: the question is what the camera sends.
        let mut analysis = camera::analysis::Analysis::new(&c, None, Arc::clone(&status));
        let task = tokio::spawn(camera::run(
            reader,
            Arc::clone(&status),
            None,
            stopped.clone(),
            move |p: Picture| {
                analysis.picture(p);
            },
        ));
        running.push((c.name, status, task));
    }
    tokio::time::sleep(how_long).await;
    let _ = stop.send(true);
    let mut out = Vec::new();
    for (name, status, task) in running {
        let _ = task.await;
        let s = status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        out.push((name, s));
    }
    out
}

fn state(s: &Status) -> (&'static str, Option<&str>) {
    match &s.state {
        // A camera that delivered pictures and was then stopped by us is up.
        _ if s.decoded > 0 => ("up", None),
        State::Down(why) => ("down", Some(why.as_str())),
        State::Connecting | State::Up => ("no pictures", None),
    }
}

fn line(name: &str, s: &Status) -> String {
    let (state, why) = state(s);
    let size = s.size.map_or("-".to_owned(), |(w, h)| format!("{w}x{h}"));
    let mut text = format!(
        "{name}: {state}; {size}; {} pictures decoded, {} damaged; motion in {} of {} sampled",
        s.decoded, s.damaged, s.moving, s.sampled
    );
    if let Some(why) = why {
        text.push_str(&format!("; {why}"));
    }
    text
}

fn json_line(name: &str, s: &Status) -> serde_json::Value {
    let (state, why) = state(s);
    serde_json::json!({
        "name": name,
        "state": state,
        "reason": why,
        "size": s.size.map(|(w, h)| [w, h]),
        "decoded": s.decoded,
        "damaged": s.damaged,
        "sampled": s.sampled,
        "moving": s.moving,
    })
}
