//! The camera reader against a real RTSP server (GStreamer's, started by
//! the test on 127.0.0.1): pictures arrive decoded at the analysis rate,
//! with the service's times; refused credentials do not become a retry
//! storm; a camera that goes away is retried and comes back.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::*;
use lensguard_testkit::rtsp_server::RtspServer;
use std::time::Instant;

fn reader(url: String, credentials: Option<Credentials>) -> Reader {
    Reader {
        name: "dock-2".to_owned(),
        url,
        credentials,
        detect_fps: 5,
        max_pixels: 1920 * 1080,
    }
}

/// A camera as configured, with default settings.
fn camera() -> lensguard_core::config::cameras::Camera {
    lensguard_core::config::cameras::Camera {
        name: "dock-2".to_owned(),
        detect_url: "rtsp://127.0.0.1/unused".to_owned(),
        record_url: None,
        credentials: None,
        mode: lensguard_core::config::cameras::CameraMode::StructureOnly,
        detect_fps: 5,
        keep_audio: false,
        zones: Vec::new(),
        masks: Vec::new(),
        motion: Default::default(),
        recording: Default::default(),
    }
}

/// An audit log in a folder of its own.
fn audit_log() -> (tempfile::TempDir, Arc<AuditLog>) {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), Default::default()).unwrap();
    (dir, Arc::new(log))
}

/// The cameras' entries in the audit log in `dir`.
fn audited(dir: &tempfile::TempDir) -> Vec<String> {
    lensguard_store::audit::entries_from(dir.path(), 0, 10_000)
        .unwrap()
        .into_iter()
        .map(|e| e.json)
        .filter(|json| json.contains("\"action\":\"cameras."))
        .collect()
}

/// Runs `reader` for `secs`, returning its status and the pictures' times
/// and sizes.
async fn watch(
    reader: Reader,
    audit: Option<Arc<AuditLog>>,
    secs: f64,
) -> (Status, Vec<(time::OffsetDateTime, (u32, u32))>) {
    let status = Arc::new(Mutex::new(Status::default()));
    let (stop, stopped) = watch::channel(false);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let task = {
        let (status, seen) = (Arc::clone(&status), Arc::clone(&seen));
        tokio::spawn(run(reader, status, audit, stopped, move |p: Picture| {
            let rgb = p
                .frame
                .rgb
                .as_ref()
                .expect("sampled pictures come in colour");
            seen.lock()
                .unwrap()
                .push((p.at, (rgb.width(), rgb.height())));
        }))
    };
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    let s = status.lock().unwrap().clone();
    let v = seen.lock().unwrap().clone();
    (s, v)
}

#[tokio::test]
async fn a_live_camera_is_decoded_and_handed_on_at_the_analysis_rate() {
    let Some(server) = RtspServer::start(&["ball=ball"], 0, None) else {
        return;
    };
    let started = time::OffsetDateTime::now_utc();
    let (status, seen) = watch(reader(server.url("ball"), None), None, 4.0).await;
    assert_eq!(status.state, State::Up, "{status:?}");
    assert_eq!(status.size, Some((640, 360)));
    // 10 pictures a second for about 3 s once playing: all decoded, about
    // half handed on (5 a second).
    assert!(status.decoded >= 15, "{status:?}");
    assert!(
        status.sampled >= 8 && status.sampled * 10 <= status.decoded * 6,
        "{status:?}"
    );
    assert_eq!(status.damaged, 0, "{status:?}");
    assert!(seen.iter().all(|(_, size)| *size == (640, 360)));
    // Times: the service's clock at the first picture, then the RTP clock
    // (pictures 0.1 s apart, sampled at 5 a second: 0.2 s, or 0.3 s after
    // a late picture).
    for pair in seen.windows(2) {
        let gap = (pair[1].0 - pair[0].0).as_seconds_f64();
        assert!(
            (0.19..=0.41).contains(&gap),
            "{:?} -> {:?}",
            pair[0].0,
            pair[1].0
        );
    }
    let first = seen.first().expect("pictures").0;
    assert!(first >= started && first - started < time::Duration::seconds(4));
}

#[tokio::test]
async fn refused_credentials_are_named_and_not_retried_in_a_storm() {
    let Some(server) = RtspServer::start(&["ball=ball"], 0, Some(("viewer", "right"))) else {
        return;
    };
    let wrong = Credentials::parse("viewer:wrong");
    let (dir, audit) = audit_log();
    let (status, seen) = watch(reader(server.url("ball"), wrong), Some(audit), 3.0).await;
    assert_eq!(
        status.state,
        State::Down("the camera refused the credentials".to_owned())
    );
    assert!(!format!("{status:?}").contains("wrong"));
    assert_eq!(status.sessions, 1, "one attempt, then the longest delay");
    assert!(seen.is_empty());
    // Audited once, as refused, without the password.
    let entries = audited(&dir);
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert!(
        entries[0].contains("\"cameras.credentials_refused\""),
        "{entries:#?}"
    );
    assert!(entries[0].contains("\"source:dock-2\""), "{entries:#?}");
    assert!(!entries[0].contains("wrong"), "{entries:#?}");
    // The right ones work.
    let right = Credentials::parse("viewer:right");
    let (status, seen) = watch(reader(server.url("ball"), right), None, 3.0).await;
    assert_eq!(status.state, State::Up, "{status:?}");
    assert!(!seen.is_empty());
}

#[tokio::test]
async fn a_camera_that_goes_away_is_retried_and_comes_back() {
    let Some(server) = RtspServer::start(&["ball=ball"], 0, None) else {
        return;
    };
    let port = server.port;
    let status = Arc::new(Mutex::new(Status::default()));
    let (stop, stopped) = watch::channel(false);
    let (dir, audit) = audit_log();
    let task = tokio::spawn(run(
        reader(server.url("ball"), None),
        Arc::clone(&status),
        Some(audit),
        stopped,
        |_| {},
    ));
    let wait_for = |want: fn(&Status) -> bool, what: &str| {
        let status = Arc::clone(&status);
        let what = what.to_owned();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if want(&status.lock().unwrap()) {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "{what}: {:?}",
                    status.lock().unwrap()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for(|s| s.state == State::Up, "up").await;
    drop(server);
    wait_for(
        |s| matches!(s.state, State::Down(_)),
        "down after the server stopped",
    )
    .await;
    // Down for a while: several retries fail (after 0.25-0.5, 0.5-1 and 1-2 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        status.lock().unwrap().sessions >= 3,
        "{:?}",
        status.lock().unwrap()
    );
    let server = RtspServer::start(&["ball=ball"], port, None).expect("restarts");
    let before = status.lock().unwrap().decoded;
    wait_for(move |s| s.state == State::Up, "up again").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(status.lock().unwrap().decoded > before);
    assert!(status.lock().unwrap().sessions >= 2);
    assert_eq!(
        status.lock().unwrap().failures,
        1,
        "retries are not new failures"
    );
    stop.send(true).unwrap();
    task.await.unwrap();
    drop(server);
    // Each change of state audited once: up, down (however many retries
    // failed), up again.
    let actions: Vec<&str> = audited(&dir)
        .iter()
        .map(|e| {
            ["cameras.up", "cameras.down", "cameras.credentials_refused"]
                .into_iter()
                .find(|a| e.contains(&format!("\"{a}\"")))
                .unwrap_or("other")
        })
        .collect();
    assert_eq!(actions, ["cameras.up", "cameras.down", "cameras.up"]);
}

#[tokio::test]
async fn motion_gating_sees_the_moving_ball_and_nothing_in_a_still_picture() {
    let Some(server) = RtspServer::start(&["ball=ball", "still=still"], 0, None) else {
        return;
    };
    let mut moving = Vec::new();
    for mount in ["ball", "still"] {
        let status = Arc::new(Mutex::new(Status::default()));
        let (stop, stopped) = watch::channel(false);
        let mut analysis = analysis::Analysis::new(
            &camera(),
            None,
            None,
            Arc::clone(&status),
            Default::default(),
        );
        let gate = move |p: Picture| {
            assert!(analysis.picture(p).is_empty(), "no detector, no events");
        };
        let task = tokio::spawn(run(
            reader(server.url(mount), None),
            Arc::clone(&status),
            None,
            stopped,
            gate,
        ));
        tokio::time::sleep(Duration::from_secs(6)).await;
        stop.send(true).unwrap();
        task.await.unwrap();
        let s = status.lock().unwrap().clone();
        assert!(s.sampled >= 20 && !s.calibrating, "{mount}: {s:?}");
        moving.push(s.moving);
    }
    // The ball moves in every picture; the bars never do.
    assert!(moving[0] >= 15, "{moving:?}");
    assert_eq!(moving[1], 0, "{moving:?}");
}

#[tokio::test]
async fn an_h265_only_stream_is_refused_saying_what_analysis_needs() {
    let Some(server) = RtspServer::start(&["hevc=hevc"], 0, None) else {
        return;
    };
    let (status, seen) = watch(reader(server.url("hevc"), None), None, 2.0).await;
    let State::Down(why) = &status.state else {
        panic!("{status:?}");
    };
    assert!(why.contains("no H.264 video"), "{why}");
    assert!(
        why.to_lowercase().contains("h265"),
        "names what it offers: {why}"
    );
    assert!(seen.is_empty() && status.decoded == 0, "{status:?}");
}

/// The people and vehicle detector and the face detector, as the service
/// loads them (`None` outside CI when the models are not fetched).
fn object_detector() -> Option<(
    Arc<lensguard_vision::models::ObjectDetector>,
    Arc<lensguard_vision::derive::Detectors>,
)> {
    let dir = lensguard_testkit::fetched::models_dir();
    lensguard_testkit::fetched::fetched(dir.join(crate::detection::OBJECT_FILE))?;
    lensguard_testkit::fetched::fetched(dir.join("centerface.onnx"))?;
    let (detectors, _, objects) = crate::detection::load_all(&dir, true);
    assert!(detectors.faces.is_ok(), "the fetched face detector loads");
    Some((
        objects.expect("the fetched detector loads"),
        Arc::new(detectors),
    ))
}

/// Runs the analysis on `mount` for `secs`: the events that ended, with
/// their start and end in the stream's seconds, and the status.
async fn events_on(
    server: &RtspServer,
    mount: &str,
    (objects, faces): (
        Arc<lensguard_vision::models::ObjectDetector>,
        Arc<lensguard_vision::derive::Detectors>,
    ),
    secs: u64,
) -> (Vec<(String, f64, f64, Option<(u32, u32)>)>, Status) {
    let status = Arc::new(Mutex::new(Status::default()));
    let (stop, stopped) = watch::channel(false);
    let found = Arc::new(Mutex::new(Vec::new()));
    // Events mode: ended events carry their best picture for a snapshot.
    let events_mode = lensguard_core::config::cameras::Camera {
        mode: lensguard_core::config::cameras::CameraMode::Events,
        ..camera()
    };
    let analysis = Arc::new(Mutex::new(analysis::Analysis::new(
        &events_mode,
        Some(objects),
        Some(faces),
        Arc::clone(&status),
        Default::default(),
    )));
    // The service's time of the stream's second 0.
    let zero = Arc::new(Mutex::new(None));
    let task = {
        let (analysis, found, zero) =
            (Arc::clone(&analysis), Arc::clone(&found), Arc::clone(&zero));
        tokio::spawn(run(
            reader(server.url(mount), None),
            Arc::clone(&status),
            None,
            stopped,
            move |p: Picture| {
                let origin = p.at - time::Duration::seconds_f64(p.stream_secs);
                zero.lock().unwrap().get_or_insert(origin);
                let ended = analysis.lock().unwrap().picture(p);
                found.lock().unwrap().extend(ended);
            },
        ))
    };
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    let mut events: Vec<analysis::Ended> = std::mem::take(&mut *found.lock().unwrap());
    events.extend(analysis.lock().unwrap().finish());
    let zero = zero.lock().unwrap().expect("pictures arrived");
    let in_stream = |t: time::OffsetDateTime| (t - zero).as_seconds_f64();
    let s = status.lock().unwrap().clone();
    (
        events
            .into_iter()
            .map(|e| {
                let size = e.picture.as_ref().map(|p| (p.width(), p.height()));
                let e = e.event;
                (e.label, in_stream(e.start), in_stream(e.end), size)
            })
            .collect(),
        s,
    )
}

#[tokio::test]
async fn a_person_crossing_is_one_person_and_one_face_event_within_a_second_of_the_truth() {
    let Some(objects) = object_detector() else {
        return;
    };
    let Some(photo) = lensguard_testkit::fetched::photo("grace_hopper.jpg")
        .map(|_| lensguard_testkit::fetched::cache_dir().join("testdata/grace_hopper.jpg"))
    else {
        return;
    };
    let source = format!("walk=crossing:{}", photo.display());
    let Some(server) = RtspServer::start(&[source.as_str()], 0, None) else {
        return;
    };
    let (mut events, status) = events_on(&server, "walk", objects, 10).await;
    events.sort_by(|a, b| a.0.cmp(&b.0));
    // The script's CROSSING: Grace Hopper's portrait at 130 pixels tall
    // (111 wide) enters at 2 s from x = -130 at 160 px/s; at least half of
    // it is in the 640-wide frame from 2.47 s to 6.47 s of the stream.
    let (truth_start, truth_end) = (
        2.0 + (130.0 - 55.5) / 160.0,
        2.0 + (130.0 + 640.0 - 55.5) / 160.0,
    );
    // One person, and the face CenterFace finds in them.
    let labels: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(labels, ["face", "person"], "{events:?} {status:?}");
    let (_, face_start, face_end, _) = &events[0];
    assert!(
        (face_start - truth_start).abs() <= 1.0 && (face_end - truth_end).abs() <= 1.0,
        "face {face_start:.2}-{face_end:.2} s, truth {truth_start:.2}-{truth_end:.2} s"
    );
    let (label, start, end, picture) = &events[1];
    assert_eq!(
        *picture,
        Some((640, 360)),
        "the event keeps its best picture for a snapshot"
    );
    eprintln!(
        "person event {start:.2}-{end:.2} s of the stream, face {face_start:.2}-{face_end:.2} s; truth {truth_start:.2}-{truth_end:.2} s; {} detector runs for {} pictures",
        status.detections, status.sampled
    );
    assert_eq!(label, "person");
    assert!(
        (start - truth_start).abs() <= 1.0,
        "started at {start:.2} s, truth {truth_start:.2} s"
    );
    assert!(
        (end - truth_end).abs() <= 1.0,
        "ended at {end:.2} s, truth {truth_end:.2} s"
    );
    // Detection ran only while something moved (about 5 s of the 10).
    assert!(status.detections < status.sampled, "{status:?}");
}

#[tokio::test]
async fn changing_light_in_an_empty_scene_makes_no_event() {
    let Some(objects) = object_detector() else {
        return;
    };
    let Some(server) = RtspServer::start(&["lights=lights"], 0, None) else {
        return;
    };
    let (events, status) = events_on(&server, "lights", objects, 9).await;
    assert!(events.is_empty(), "{events:?}");
    assert!(status.sampled >= 30, "{status:?}");
    // The light changes made the detector look (while motion recalibrated),
    // so no event is a finding, not a detector that never ran.
    assert!(status.detections > 0, "{status:?}");
}

#[tokio::test]
async fn an_h265_stream_is_read_for_recording_with_key_pictures() {
    let Some(server) = RtspServer::start(&["hevc=hevc"], 0, None) else {
        return;
    };
    let mut stream = rtsp::open(
        &server.url("hevc"),
        None,
        rtsp::Purpose::Recording { audio: false },
    )
    .await
    .expect("an H.265 stream opens for recording");
    assert_eq!(stream.codec, lensguard_video::fmp4::Codec::H265);
    let mut keys = 0;
    for i in 0..25 {
        let unit = stream.next().await.expect("an access unit");
        keys += usize::from(unit.key);
        if i == 0 {
            assert!(unit.parameters.is_some());
        }
    }
    // The test server's x265 marks a key picture every 10 pictures as CRA.
    assert!(
        keys >= 3,
        "a key picture a second at 10 fps, {keys} in 2.5 s"
    );
}

/// A camera that answers every RTSP request with `describe` to DESCRIBE
/// and 200 to anything else (OPTIONS), on 127.0.0.1; its URL.
async fn lying_camera(describe: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let describe = describe.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = conn.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let request = String::from_utf8_lossy(&buf[..end]).into_owned();
                        buf.drain(..end + 4);
                        let cseq = request
                            .lines()
                            .find_map(|l| l.strip_prefix("CSeq: "))
                            .unwrap_or("1")
                            .to_owned();
                        let reply = if request.starts_with("DESCRIBE") {
                            format!(
                                "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Base: rtsp://127.0.0.1:{port}/x/\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{describe}",
                                describe.len()
                            )
                        } else {
                            format!(
                                "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: DESCRIBE, SETUP, PLAY\r\n\r\n"
                            )
                        };
                        if conn.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    format!("rtsp://127.0.0.1:{port}/x")
}

#[tokio::test]
async fn an_absurd_stream_description_is_refused_and_the_camera_is_down_not_the_service() {
    let absurd = [
        // Parameter sets that are not base64, and an attribute of 200 kB.
        format!(
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets=!!!!,????\r\na=x:{}\r\n",
            "A".repeat(200_000)
        ),
        // Not SDP at all.
        "\u{0}\u{1}garbage".repeat(1000),
        // A video stream with an absurd clock rate and no encoding.
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 /0\r\n"
            .to_owned(),
    ];
    for sdp in absurd {
        let url = lying_camera(sdp).await;
        let (status, seen) = watch(reader(url.clone(), None), None, 1.5).await;
        let State::Down(why) = &status.state else {
            panic!("{status:?}");
        };
        assert!(seen.is_empty() && status.decoded == 0, "{status:?}");
        // The reason may quote the camera: one bounded line, no control
        // characters, for the status and the audit log.
        assert!(!why.is_empty() && why.len() <= 400, "{} bytes", why.len());
        assert!(!why.chars().any(char::is_control), "{why:?}");
        // The recorder refuses it too, with a reason.
        let recorded = rtsp::open(&url, None, rtsp::Purpose::Recording { audio: true }).await;
        assert!(recorded.is_err());
    }
}
