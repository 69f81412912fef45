//! `[[cameras]]`: IP cameras the service reads over RTSP. Each is validated
//! here without I/O (the service reads credential files and connects at
//! start).
//!
//! ```toml
//! [[cameras]]
//! name = "dock-2"                                  # 1 to 64 of A-Z a-z 0-9 . _ -
//! detect_url = "rtsp://cam-dock-2.local/sub"       # the analysed stream (H.264)
//! record_url = "rtsp://cam-dock-2.local/main"      # optional: the recorded stream
//! credentials_file = "/etc/lensguard/dock-2.secret" # "user:password" on its first line
//! # credentials_env = "DOCK_2_CREDENTIALS"         # or the same from the environment
//! mode = "events"      # "structure_only" | "events" | "continuous"
//! detect_fps = 5       # detections a second at most (1 to 30)
//! keep_audio = false   # audio is dropped unless true: then the record_url's AAC audio is kept in its recordings
//!
//! [[cameras.zones]]
//! name = "loading-bay"
//! points = [[0.1, 0.5], [0.9, 0.5], [0.9, 1.0], [0.1, 1.0]]  # fractions of width, height
//!
//! [[cameras.masks]]                                # privacy masks: hidden in everything kept
//! points = [[0.0, 0.0], [0.3, 0.0], [0.3, 0.2], [0.0, 0.2]]
//!
//! [cameras.motion]     # Frigate's improved motion detector, same defaults
//! threshold = 30       # luma change (0-255) that counts as motion
//! contour_area = 10    # smallest moving area, in pixels of the motion frame
//! frame_height = 100   # the motion frame's height
//! frame_alpha = 0.01   # how fast the background follows the scene
//! lightning_threshold = 0.8  # a change over this share of the frame recalibrates
//!
//! [cameras.recording]  # see `super::recording`
//! segment_seconds = 4
//! quota_gb = 50
//! ```
//!
//! Invariant: a camera's credentials never appear in a validated URL, a
//! problem message or `Debug` output: a URL with a user or password in it is
//! refused (without echoing it), and credentials are only named by where
//! they are read from.

use super::name_problem;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One `[[cameras]]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSection {
    /// The camera's name: its device id in events and the audit log.
    pub name: Option<String>,
    /// The analysed stream.
    pub detect_url: Option<String>,
    /// The recorded stream, when footage is kept.
    pub record_url: Option<String>,
    /// A file whose first line is `user:password`.
    pub credentials_file: Option<PathBuf>,
    /// An environment variable holding `user:password`.
    pub credentials_env: Option<String>,
    /// `structure_only`, `events` (default) or `continuous`.
    pub mode: Option<String>,
    /// Detections a second at most. Default 5.
    pub detect_fps: Option<u32>,
    /// Keep the recorded stream's AAC audio in its recordings. Default false.
    pub keep_audio: Option<bool>,
    /// Named zones events report entering.
    #[serde(default)]
    pub zones: Vec<ZoneSection>,
    /// Privacy masks.
    #[serde(default)]
    pub masks: Vec<MaskSection>,
    /// Motion detection settings.
    #[serde(default)]
    pub motion: MotionSection,
    /// Recording settings.
    #[serde(default)]
    pub recording: super::recording::RecordingSection,
}

/// A `[[cameras.zones]]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSection {
    /// The zone's name.
    pub name: Option<String>,
    /// Its corners, as fractions of the frame's width and height.
    #[serde(default)]
    pub points: Vec<[f64; 2]>,
}

/// A `[[cameras.masks]]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskSection {
    /// Its corners, as fractions of the frame's width and height.
    #[serde(default)]
    pub points: Vec<[f64; 2]>,
}

/// `[cameras.motion]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotionSection {
    /// Luma change that counts as motion (1 to 255). Default 30.
    pub threshold: Option<u8>,
    /// Smallest moving area in motion-frame pixels. Default 10.
    pub contour_area: Option<u32>,
    /// The motion frame's height (60 to 720). Default 100.
    pub frame_height: Option<u32>,
    /// Background learning rate (0.001 to 0.5). Default 0.01.
    pub frame_alpha: Option<f64>,
    /// Share of the frame whose change recalibrates instead of counting
    /// as motion (0.1 to 1.0). Default 0.8.
    pub lightning_threshold: Option<f64>,
}

/// What the service keeps of a camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraMode {
    /// Events and metadata only: no frame or snapshot is ever stored.
    StructureOnly,
    /// Sealed clips around events.
    Events,
    /// Sealed segments all the time.
    Continuous,
}

/// Where a camera's `user:password` is read from (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// The first line of this file.
    File(PathBuf),
    /// This environment variable.
    Env(String),
}

/// A polygon in fractions of the frame's width and height (0 to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon(pub Vec<[f64; 2]>);

impl Polygon {
    /// Whether the point (`x`, `y`), in fractions of the frame, is inside
    /// (even-odd rule; a point on an edge may fall either way).
    pub fn contains(&self, x: f64, y: f64) -> bool {
        let points = &self.0;
        let mut inside = false;
        let mut j = points.len().wrapping_sub(1);
        for (i, &[xi, yi]) in points.iter().enumerate() {
            let [xj, yj] = points[j];
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
        inside
    }
}

/// A named zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// Its name.
    pub name: String,
    /// Its outline.
    pub outline: Polygon,
}

/// Validated motion settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionSettings {
    /// Luma change that counts as motion.
    pub threshold: u8,
    /// Smallest moving area in motion-frame pixels.
    pub contour_area: u32,
    /// The motion frame's height.
    pub frame_height: u32,
    /// Background learning rate.
    pub frame_alpha: f64,
    /// Share of the frame whose change recalibrates.
    pub lightning_threshold: f64,
}

impl Default for MotionSettings {
    fn default() -> Self {
        MotionSettings {
            threshold: 30,
            contour_area: 10,
            frame_height: 100,
            frame_alpha: 0.01,
            lightning_threshold: 0.8,
        }
    }
}

/// A validated camera.
#[derive(Debug, Clone, PartialEq)]
pub struct Camera {
    /// Its name.
    pub name: String,
    /// The analysed stream (no credentials in it).
    pub detect_url: String,
    /// The recorded stream, if any.
    pub record_url: Option<String>,
    /// Where its credentials are read from, if it needs any.
    pub credentials: Option<CredentialSource>,
    /// What is kept.
    pub mode: CameraMode,
    /// Detections a second at most.
    pub detect_fps: u32,
    /// Whether recordings keep audio.
    pub keep_audio: bool,
    /// Named zones.
    pub zones: Vec<Zone>,
    /// Privacy masks.
    pub masks: Vec<Polygon>,
    /// Motion settings.
    pub motion: MotionSettings,
    /// Recording settings (used when `record_url` is set).
    pub recording: super::recording::RecordingSettings,
}

/// Checks an RTSP URL without echoing it (it may hold a password); the
/// problem, if any.
fn check_url(url: &str) -> Option<&'static str> {
    let rest = url
        .strip_prefix("rtsp://")
        .or_else(|| url.strip_prefix("rtsps://"));
    let Some(rest) = rest else {
        return Some("must start with rtsp:// or rtsps://");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Some(
            "holds credentials: put them in credentials_file or credentials_env, not in the URL",
        );
    }
    if authority.is_empty() || authority.starts_with(':') {
        return Some("has no host");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains spaces or control characters");
    }
    None
}

fn polygon(at: &str, points: &[[f64; 2]], problems: &mut Vec<String>) -> Option<Polygon> {
    if !(3..=64).contains(&points.len()) {
        problems.push(format!("{at}.points: a polygon needs 3 to 64 points"));
        return None;
    }
    if points
        .iter()
        .flatten()
        .any(|v| !v.is_finite() || !(0.0..=1.0).contains(v))
    {
        problems.push(format!(
            "{at}.points: each point is [x, y] in fractions of the frame, 0 to 1"
        ));
        return None;
    }
    Some(Polygon(points.to_vec()))
}

impl MotionSection {
    fn validate(&self, at: &str, problems: &mut Vec<String>) -> MotionSettings {
        let d = MotionSettings::default();
        let mut m = MotionSettings {
            threshold: self.threshold.unwrap_or(d.threshold),
            contour_area: self.contour_area.unwrap_or(d.contour_area),
            frame_height: self.frame_height.unwrap_or(d.frame_height),
            frame_alpha: self.frame_alpha.unwrap_or(d.frame_alpha),
            lightning_threshold: self.lightning_threshold.unwrap_or(d.lightning_threshold),
        };
        if m.threshold == 0 {
            problems.push(format!("{at}.threshold: 1 to 255"));
            m.threshold = d.threshold;
        }
        if !(1..=100_000).contains(&m.contour_area) {
            problems.push(format!("{at}.contour_area: 1 to 100000"));
        }
        if !(60..=720).contains(&m.frame_height) {
            problems.push(format!("{at}.frame_height: 60 to 720"));
        }
        if !(0.001..=0.5).contains(&m.frame_alpha) {
            problems.push(format!("{at}.frame_alpha: 0.001 to 0.5"));
        }
        if !(0.1..=1.0).contains(&m.lightning_threshold) {
            problems.push(format!("{at}.lightning_threshold: 0.1 to 1.0"));
        }
        m
    }
}

/// Validates every `[[cameras]]`; problems are added to `problems`.
/// `other_names` are the names other sources already use.
pub fn validate(
    cameras: &[CameraSection],
    other_names: &[String],
    problems: &mut Vec<String>,
) -> Vec<Camera> {
    let mut out: Vec<Camera> = Vec::new();
    for (i, c) in cameras.iter().enumerate() {
        let at = format!("cameras[{i}]");
        let name = c.name.clone().unwrap_or_default();
        if let Some(p) = name_problem(&at, &name) {
            problems.push(p);
        } else if out.iter().any(|o| o.name == name) || other_names.contains(&name) {
            problems.push(format!("{at}.name: {name:?} names another source too"));
        }
        let detect_url = c.detect_url.clone().unwrap_or_default();
        if c.detect_url.is_none() {
            problems.push(format!("{at}.detect_url: the analysed stream is required"));
        } else if let Some(p) = check_url(&detect_url) {
            problems.push(format!("{at}.detect_url: {p}"));
        }
        if let Some(p) = c.record_url.as_deref().and_then(check_url) {
            problems.push(format!("{at}.record_url: {p}"));
        }
        let credentials = match (&c.credentials_file, &c.credentials_env) {
            (Some(_), Some(_)) => {
                problems.push(format!(
                    "{at}: credentials_file and credentials_env are alternatives; name one"
                ));
                None
            }
            (Some(f), None) => Some(CredentialSource::File(f.clone())),
            (None, Some(v)) if v.is_empty() || v.contains('=') || v.contains('\0') => {
                problems.push(format!(
                    "{at}.credentials_env: not an environment variable name"
                ));
                None
            }
            (None, Some(v)) => Some(CredentialSource::Env(v.clone())),
            (None, None) => None,
        };
        let mode = match c.mode.as_deref().unwrap_or("events") {
            "structure_only" => CameraMode::StructureOnly,
            "events" => CameraMode::Events,
            "continuous" => CameraMode::Continuous,
            other => {
                problems.push(format!(
                    "{at}.mode: {other:?} is not structure_only, events or continuous"
                ));
                CameraMode::StructureOnly
            }
        };
        if mode == CameraMode::StructureOnly && c.record_url.is_some() {
            problems.push(format!(
                "{at}.record_url: mode = \"structure_only\" stores no frame; remove record_url or choose mode = \"events\" or \"continuous\""
            ));
        }
        if c.keep_audio == Some(true) && c.record_url.is_none() {
            problems.push(format!(
                "{at}.keep_audio: audio is kept in recordings only; set record_url, or remove keep_audio"
            ));
        }
        if mode == CameraMode::Continuous && c.record_url.is_none() {
            problems.push(format!(
                "{at}.record_url: mode = \"continuous\" records, so it needs the stream to record"
            ));
        }
        let detect_fps = c.detect_fps.unwrap_or(5);
        if !(1..=30).contains(&detect_fps) {
            problems.push(format!("{at}.detect_fps: 1 to 30"));
        }
        let mut zones = Vec::new();
        for (j, z) in c.zones.iter().enumerate() {
            let zat = format!("{at}.zones[{j}]");
            let zname = z.name.clone().unwrap_or_default();
            if let Some(p) = name_problem(&zat, &zname) {
                problems.push(p);
            } else if zones.iter().any(|o: &Zone| o.name == zname) {
                problems.push(format!("{zat}.name: {zname:?} names another zone too"));
            }
            if let Some(outline) = polygon(&zat, &z.points, problems) {
                zones.push(Zone {
                    name: zname,
                    outline,
                });
            }
        }
        let masks = c
            .masks
            .iter()
            .enumerate()
            .filter_map(|(j, m)| polygon(&format!("{at}.masks[{j}]"), &m.points, problems))
            .collect();
        let motion = c.motion.validate(&format!("{at}.motion"), problems);
        let recording = c.recording.validate(&format!("{at}.recording"), problems);
        out.push(Camera {
            name,
            detect_url,
            record_url: c.record_url.clone(),
            credentials,
            mode,
            detect_fps,
            keep_audio: c.keep_audio.unwrap_or(false),
            zones,
            masks,
            motion,
            recording,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_inside_a_zone_by_the_even_odd_rule() {
        let door = Polygon(vec![[0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]]);
        assert!(door.contains(0.25, 0.75));
        assert!(!door.contains(0.75, 0.75));
        assert!(!door.contains(0.25, 0.25));
        // A concave outline: the notch is outside.
        let u = Polygon(vec![
            [0.0, 0.0],
            [0.3, 0.0],
            [0.3, 0.6],
            [0.6, 0.6],
            [0.6, 0.0],
            [1.0, 0.0],
            [1.0, 1.0],
            [0.0, 1.0],
        ]);
        assert!(!u.contains(0.45, 0.3));
        assert!(u.contains(0.45, 0.8));
        assert!(!Polygon(Vec::new()).contains(0.5, 0.5));
    }

    fn one(toml_text: &str) -> (Vec<Camera>, Vec<String>) {
        #[derive(Deserialize)]
        struct File {
            cameras: Vec<CameraSection>,
        }
        let file: File = toml::from_str(toml_text).expect("parses");
        let mut problems = Vec::new();
        let cameras = validate(&file.cameras, &[], &mut problems);
        (cameras, problems)
    }

    #[test]
    fn the_documented_example_is_valid_with_the_documented_defaults() {
        let doc = include_str!("cameras.rs");
        let example: String = doc
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start_matches(' '))
            .filter(|l| !l.starts_with("# credentials_env"))
            .collect::<Vec<_>>()
            .join("\n");
        let (cameras, problems) = one(&example);
        assert_eq!(problems, Vec::<String>::new());
        let c = &cameras[0];
        assert_eq!(c.name, "dock-2");
        assert_eq!(c.mode, CameraMode::Events);
        assert_eq!((c.detect_fps, c.keep_audio), (5, false));
        assert_eq!(c.motion, MotionSettings::default());
        assert_eq!(
            c.recording,
            crate::config::recording::RecordingSettings::default()
        );
        assert_eq!((c.zones.len(), c.masks.len()), (1, 1));
        assert_eq!(
            c.credentials,
            Some(CredentialSource::File(
                "/etc/lensguard/dock-2.secret".into()
            ))
        );
    }

    #[test]
    fn a_url_with_credentials_is_refused_without_echoing_them() {
        let (_, problems) = one(r#"[[cameras]]
               name = "gate"
               detect_url = "rtsp://admin:hunter2@cam.local/sub""#);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("credentials_file"), "{problems:?}");
        assert!(!problems.join(" ").contains("hunter2"), "{problems:?}");
    }

    #[test]
    fn bad_settings_are_each_named() {
        let (_, problems) = one(r#"[[cameras]]
               name = "bad name!"
               detect_url = "http://cam.local/sub"
               credentials_file = "/a"
               credentials_env = "B"
               mode = "always"
               detect_fps = 0
               keep_audio = true
               [[cameras.zones]]
               name = "z"
               points = [[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]]
               [[cameras.masks]]
               points = [[0.0, 0.0], [1.0, 1.0]]
               [cameras.motion]
               frame_alpha = 0.9
               [[cameras]]
               name = "c"
               detect_url = "rtsp://cam/sub"
               mode = "continuous"
               [cameras.recording]
               segment_seconds = 0
               post_roll_seconds = 61
               quota_gb = -1
               [[cameras]]
               name = "d"
               detect_url = "rtsp://cam/sub"
               record_url = "rtsp://cam/main"
               mode = "structure_only"
               keep_audio = true"#);
        for expected in [
            "cameras[0].name",
            "cameras[0].detect_url: must start with rtsp://",
            "credentials_file and credentials_env are alternatives",
            "cameras[0].mode",
            "cameras[0].detect_fps",
            "cameras[0].zones[0].points",
            "cameras[0].masks[0].points: a polygon needs 3 to 64 points",
            "cameras[0].motion.frame_alpha",
            "cameras[1].record_url: mode = \"continuous\" records",
            "cameras[1].recording.segment_seconds: 1 to 60",
            "cameras[1].recording.post_roll_seconds: 0 to 60",
            "cameras[1].recording.quota_gb",
            "cameras[2].record_url: mode = \"structure_only\" stores no frame",
            "cameras[0].keep_audio: audio is kept in recordings only",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected} missing from {problems:#?}"
            );
        }
        assert_eq!(problems.len(), 14, "{problems:#?}");
    }
}
