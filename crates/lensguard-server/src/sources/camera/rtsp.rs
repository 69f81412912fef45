//! One RTSP session with a camera: DESCRIBE, SETUP of its video over TCP
//! (interleaved), PLAY, then the video's access units as they arrive. The
//! analysed stream must be H.264 (it is decoded); a recorded stream may be
//! H.264 or H.265 (it is stored as sent).
//!
//! Invariants: the camera's credentials are handed to the RTSP client only
//! (never in a URL, an error or `Debug` output); audio and other streams are
//! never set up; each access unit's time is the service's clock at the first
//! picture plus the stream's RTP clock since then, so a camera whose own
//! clock is wrong cannot move events in time.

use futures_util::StreamExt;
use retina::client::{
    Credentials as RtspCredentials, Demuxed, PlayOptions, Session, SessionOptions, SetupOptions,
    TcpTransportOptions, Transport,
};
use retina::codec::{CodecItem, ParametersRef};
use std::fmt;
use std::time::Duration;

/// How long connecting, DESCRIBE, SETUP and PLAY may take together.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the stream may go without a picture before it counts as down.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// `user:password` for a camera; prints as `Credentials(user, password
/// hidden)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user.
    pub user: String,
    /// The password.
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, password hidden)", self.user)
    }
}

impl Credentials {
    /// From `user:password` (the first line of a credentials file or an
    /// environment variable's value); `None` without a colon or a user.
    pub fn parse(text: &str) -> Option<Credentials> {
        let line = text.lines().next()?.trim_end_matches('\r');
        let (user, password) = line.split_once(':')?;
        (!user.is_empty()).then(|| Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }
}

/// Why a camera's stream could not be read; the message never holds its
/// credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// Nothing answered, or the connection broke: retried with backoff.
    #[error("camera unreachable: {0}")]
    Unreachable(String),
    /// The camera refused the credentials (401): fix the credentials; retried
    /// slowly.
    #[error("the camera refused the credentials")]
    Unauthorized,
    /// The stream has no H.264 video (H.265 is recorded untouched, but
    /// analysis needs an H.264 stream, usually the camera's sub-stream).
    #[error("no H.264 video in the stream (offered: {0}); analysis needs an H.264 stream")]
    NoH264(String),
    /// The camera spoke RTSP or RTP wrongly: retried with backoff.
    #[error("camera protocol error: {0}")]
    Protocol(String),
    /// No picture for [`STALL_TIMEOUT`], or opening took over
    /// [`OPEN_TIMEOUT`].
    #[error("camera stalled: no picture for {0:?}")]
    Stalled(Duration),
}

/// What a session is for, which decides the codecs it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Decoded for analysis: H.264 only, never audio.
    Analysis,
    /// Stored as sent: H.264 or H.265, and the camera's AAC audio when
    /// `audio` (a camera's `keep_audio`).
    Recording {
        /// Whether to set up the audio too.
        audio: bool,
    },
}

/// One audio frame (AAC, raw).
#[derive(Debug)]
pub struct AudioUnit {
    /// The frame.
    pub data: Vec<u8>,
    /// Audio clock ticks since the session's first audio frame.
    pub ticks: i64,
    /// The service's time for it.
    pub at: time::OffsetDateTime,
    /// The audio track (`mp4a` sample entry, sample rate) when it is new.
    pub track: Option<lensguard_video::fmp4::AudioTrack>,
}

/// What a session delivers.
#[derive(Debug)]
pub enum Item {
    /// A picture.
    Video(AccessUnit),
    /// An audio frame (recording with audio only).
    Audio(AudioUnit),
}

/// One access unit of the video (length-prefixed NAL units).
#[derive(Debug)]
pub struct AccessUnit {
    /// The NAL units.
    pub data: Vec<u8>,
    /// Seconds since the session's first picture, by the RTP clock.
    pub stream_secs: f64,
    /// RTP clock ticks since the session's first picture.
    pub ticks: i64,
    /// Whether decoding can start here (an IDR or IRAP picture).
    pub key: bool,
    /// The service's time for this picture.
    pub at: time::OffsetDateTime,
    /// The stream's `AVCDecoderConfigurationRecord` and picture size when
    /// they are new (the first access unit always has them).
    pub parameters: Option<(Vec<u8>, (u32, u32))>,
}

/// A playing session.
pub struct Stream {
    demuxed: Demuxed,
    video: usize,
    /// The video's codec.
    pub codec: lensguard_video::fmp4::Codec,
    /// The video's RTP clock rate (ticks a second).
    pub clock_rate: u32,
    /// The audio stream, when set up.
    audio: Option<usize>,
    /// Why the camera's audio is not recorded although asked for.
    pub audio_missing: Option<String>,
    first_audio_ticks: Option<i64>,
    sent_audio_track: bool,
    first_ticks: Option<i64>,
    first: Option<(time::OffsetDateTime, f64)>,
    sent_parameters: bool,
}

/// Longest reason kept from a camera's error (it may quote what the camera
/// sent: a reason ends up in the status and the audit log).
pub const MAX_REASON: usize = 300;

/// `text` on one line, control characters replaced, at most [`MAX_REASON`]
/// characters.
fn bounded(text: &str) -> String {
    let mut out = String::new();
    for c in text.split_whitespace().flat_map(|w| w.chars().chain([' '])) {
        if out.chars().count() >= MAX_REASON {
            out.push_str("...");
            return out;
        }
        out.push(if c.is_control() { '?' } else { c });
    }
    out.trim_end().to_owned()
}

fn classify(e: retina::Error) -> StreamError {
    let text = bounded(&e.to_string());
    if text.contains("401") || text.contains("Unauthorized") {
        StreamError::Unauthorized
    } else if text.contains("connect") || text.contains("Connection") || text.contains("EOF") {
        StreamError::Unreachable(text)
    } else {
        StreamError::Protocol(text)
    }
}

/// Opens `url` (no credentials in it) and starts its video playing: H.264
/// for analysis, H.264 (preferred) or H.265 for recording.
pub async fn open(
    url: &str,
    credentials: Option<&Credentials>,
    purpose: Purpose,
) -> Result<Stream, StreamError> {
    match tokio::time::timeout(OPEN_TIMEOUT, open_inner(url, credentials, purpose)).await {
        Ok(r) => r,
        Err(_) => Err(StreamError::Stalled(OPEN_TIMEOUT)),
    }
}

async fn open_inner(
    url: &str,
    credentials: Option<&Credentials>,
    purpose: Purpose,
) -> Result<Stream, StreamError> {
    use lensguard_video::fmp4::Codec;
    let url = url::Url::parse(url).map_err(|e| StreamError::Protocol(format!("URL: {e}")))?;
    let options = SessionOptions::default()
        .creds(credentials.map(|c| RtspCredentials {
            username: c.user.clone(),
            password: c.password.clone(),
        }))
        .user_agent(format!("lensguard/{}", env!("CARGO_PKG_VERSION")));
    let mut session = Session::describe(url, options).await.map_err(classify)?;
    let find = |name: &str| {
        session
            .streams()
            .iter()
            .position(|s| s.media() == "video" && s.encoding_name().eq_ignore_ascii_case(name))
    };
    let found = match (find("h264"), purpose) {
        (Some(i), _) => Some((i, Codec::H264)),
        (None, Purpose::Recording { .. }) => find("h265").map(|i| (i, Codec::H265)),
        (None, Purpose::Analysis) => None,
    };
    let Some((video, codec)) = found else {
        let offered: Vec<String> = session
            .streams()
            .iter()
            .map(|s| format!("{}/{}", s.media(), s.encoding_name()))
            .collect();
        return Err(match purpose {
            Purpose::Analysis => StreamError::NoH264(offered.join(", ")),
            Purpose::Recording { .. } => StreamError::Protocol(format!(
                "no H.264 or H.265 video to record (offered: {})",
                offered.join(", ")
            )),
        });
    };
    let clock_rate = session.streams()[video].clock_rate_hz();
    let tcp = || SetupOptions::default().transport(Transport::Tcp(TcpTransportOptions::default()));
    session.setup(video, tcp()).await.map_err(classify)?;
    let (mut audio, mut audio_missing) = (None, None);
    if purpose == (Purpose::Recording { audio: true }) {
        match find_audio(&session) {
            Some(i) => {
                session.setup(i, tcp()).await.map_err(classify)?;
                audio = Some(i);
            }
            None => audio_missing = Some("the camera offers no AAC audio".to_owned()),
        }
    }
    let demuxed = session
        .play(PlayOptions::default())
        .await
        .map_err(classify)?
        .demuxed()
        .map_err(classify)?;
    Ok(Stream {
        demuxed,
        video,
        codec,
        clock_rate,
        audio,
        audio_missing,
        first_audio_ticks: None,
        sent_audio_track: false,
        first_ticks: None,
        first: None,
        sent_parameters: false,
    })
}

/// The camera's AAC audio stream, if it offers one.
fn find_audio(session: &Session<retina::client::Described>) -> Option<usize> {
    session.streams().iter().position(|s| {
        s.media() == "audio" && s.encoding_name().eq_ignore_ascii_case("mpeg4-generic")
    })
}

impl Stream {
    /// The next access unit; `Err` ends the session (the caller reconnects).
    /// It is stalled when no access unit of the video comes within
    /// [`STALL_TIMEOUT`], whatever else (RTCP, audio, other items) arrives.
    pub async fn next(&mut self) -> Result<AccessUnit, StreamError> {
        let deadline = tokio::time::Instant::now() + STALL_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.next_item()).await {
                Err(_) => return Err(StreamError::Stalled(STALL_TIMEOUT)),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Item::Video(unit))) => return Ok(unit),
                Ok(Ok(Item::Audio(_))) => {}
            }
        }
    }

    /// The next picture or audio frame (audio only when set up); `Err`
    /// ends the session. The caller watches for stalls.
    pub async fn next_item(&mut self) -> Result<Item, StreamError> {
        loop {
            let item = match self.demuxed.next().await {
                None => return Err(StreamError::Unreachable("the stream ended".to_owned())),
                Some(Err(e)) => return Err(classify(e)),
                Some(Ok(item)) => item,
            };
            let frame = match item {
                CodecItem::VideoFrame(frame) => frame,
                CodecItem::AudioFrame(frame) if Some(frame.stream_id()) == self.audio => {
                    if let Some(unit) = self.audio_unit(frame) {
                        return Ok(Item::Audio(unit));
                    }
                    continue;
                }
                _ => continue,
            };
            if frame.stream_id() != self.video {
                continue;
            }
            let secs = frame.timestamp().elapsed_secs();
            let elapsed = frame.timestamp().elapsed();
            let first_ticks = *self.first_ticks.get_or_insert(elapsed);
            // Retina marks only IDR pictures of H.265 as random access
            // points; CRA pictures (most encoders' key pictures) are too.
            let key = frame.is_random_access_point()
                || (self.codec == lensguard_video::fmp4::Codec::H265
                    && lensguard_video::hevc::is_irap(frame.data()));
            let now = time::OffsetDateTime::now_utc();
            let (base, base_secs) = *self.first.get_or_insert((now, secs));
            let since = (secs - base_secs).max(0.0);
            let parameters = if frame.has_new_parameters() || !self.sent_parameters {
                match self.demuxed.streams()[self.video].parameters() {
                    Some(ParametersRef::Video(v)) => {
                        Some((v.extra_data().to_vec(), v.pixel_dimensions()))
                    }
                    _ => None,
                }
            } else {
                None
            };
            self.sent_parameters |= parameters.is_some();
            return Ok(Item::Video(AccessUnit {
                data: frame.into_data(),
                stream_secs: since,
                ticks: (elapsed - first_ticks).max(0),
                key,
                at: base + time::Duration::seconds_f64(since),
                parameters,
            }));
        }
    }

    /// An audio frame with its time; `None` before the first picture (its
    /// time has no base yet) or when the track cannot go into MP4.
    fn audio_unit(&mut self, frame: retina::codec::AudioFrame) -> Option<AudioUnit> {
        let (base, base_secs) = self.first?;
        let track = if self.sent_audio_track {
            None
        } else {
            let index = self.audio?;
            let Some(ParametersRef::Audio(a)) = self.demuxed.streams()[index].parameters() else {
                return None;
            };
            let Ok(entry) = a.mp4_sample_entry().build() else {
                self.audio = None;
                self.audio_missing = Some("the camera's audio cannot be stored in MP4".to_owned());
                return None;
            };
            Some(lensguard_video::fmp4::AudioTrack {
                sample_entry: entry,
                timescale: a.clock_rate(),
            })
        };
        self.sent_audio_track |= track.is_some();
        let elapsed = frame.timestamp().elapsed();
        let first = *self.first_audio_ticks.get_or_insert(elapsed);
        let since = (frame.timestamp().elapsed_secs() - base_secs).max(0.0);
        Some(AudioUnit {
            data: frame.data().to_vec(),
            ticks: (elapsed - first).max(0),
            at: base + time::Duration::seconds_f64(since),
            track,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_parse_from_the_first_line_and_never_print_the_password() {
        let c = Credentials::parse("viewer:s3cr:et\nignored").expect("valid");
        assert_eq!(
            (c.user.as_str(), c.password.as_str()),
            ("viewer", "s3cr:et")
        );
        assert!(!format!("{c:?}").contains("s3cr"));
        assert_eq!(Credentials::parse("no-colon"), None);
        assert_eq!(Credentials::parse(":password"), None);
        assert_eq!(Credentials::parse(""), None);
    }
}
