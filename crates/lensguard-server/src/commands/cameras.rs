//! `lensguard cameras`: connects to each camera of a service configuration
//! for a few seconds, as the service would (same RTSP client, decoder,
//! credentials and limits), and says what it saw. Nothing is stored and
//! nothing is audited: no data directory is opened. With `--analyse` it
//! runs the service's analysis too and reports the CPU time it took.

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
            camera::Reader::for_camera(
                c,
                credentials,
                lensguard_core::Limits::default().max_camera_pixels,
            ),
        ));
    }
    let objects = if args.analyse && !args.motion_only {
        let dir = args
            .models
            .clone()
            .unwrap_or_else(crate::detection::default_models_dir);
        match crate::detection::load_all(&dir, true) {
            (detectors, _, Ok(o)) => Some((o, Arc::new(detectors))),
            (_, _, Err(why)) => {
                eprintln!("lensguard: cannot analyse: {why}");
                return Ok(ExitCode::from(2));
            }
        }
    } else {
        None
    };
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
    let (cpu_before, wall) = (cpu_seconds(), std::time::Instant::now());
    let seen = runtime.block_on(watch_all(
        readers,
        objects,
        Duration::from_secs(args.seconds),
    ));
    let (cpu, wall) = (cpu_seconds() - cpu_before, wall.elapsed().as_secs_f64());
    let mut all_up = true;
    let mut out = std::io::stdout().lock();
    for (name, s) in &seen {
        all_up &= state(s).0 == "up";
        let text = if args.json {
            json_line(name, s).to_string()
        } else {
            line(name, s)
        };
        writeln!(out, "{text}").context("cannot write to standard output")?;
    }
    if args.analyse {
        let runs: u64 = seen.iter().map(|(_, s)| s.detections).sum();
        let text = if args.json {
            serde_json::json!({"cpu_seconds": cpu, "wall_seconds": wall, "cameras": seen.len(), "detector_runs": runs})
                .to_string()
        } else {
            format!(
                "analysis: {cpu:.2} CPU s in {wall:.1} s ({:.1}% of one core) for {} camera(s); {:.1} detector runs a second",
                100.0 * cpu / wall,
                seen.len(),
                runs as f64 / wall
            )
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
    objects: Option<(
        Arc<lensguard_vision::models::ObjectDetector>,
        Arc<lensguard_vision::derive::Detectors>,
    )>,
    how_long: Duration,
) -> Vec<(String, Status)> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut running = Vec::new();
    for (c, reader) in readers {
        let status = Arc::new(Mutex::new(Status::default()));
        // Motion only unless asked: the question is what the camera sends.
        let mut analysis = camera::analysis::Analysis::new(
            &c,
            objects.as_ref().map(|(o, _)| Arc::clone(o)),
            objects.as_ref().map(|(_, d)| Arc::clone(d)),
            Arc::clone(&status),
            Default::default(),
        );
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
    // Stopping the watch leaves the state as it was: up means pictures were
    // still arriving at the end; one that failed after some is down.
    match &s.state {
        State::Up => ("up", None),
        State::Down(why) => ("down", Some(why.as_str())),
        State::Connecting => ("no pictures", None),
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

/// This process's CPU time so far (user and system), from /proc/self/stat
/// (clock ticks of 1/100 s); 0 where it cannot be read.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces), from field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}
