//! A camera's live view read for a few seconds with curl.

use crate::common::{Server, text, tool_available};
use std::path::Path;
use std::process::Command;

/// The camera's live view for a few seconds with curl: each part a JPEG
/// with the masked corner black; the view is audited.
pub fn live_view_is_redacted(server: &Server, token: &str, dir: &Path) {
    if !tool_available("curl", "scripts/install-test-deps") {
        return;
    }
    let file = dir.join("live.mjpeg");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "4", "--cacert"])
        .arg(server.data_dir.join("tls/cert.pem"))
        .args(["-H", &format!("Authorization: Bearer {token}"), "-o"])
        .arg(&file)
        .arg(format!(
            "https://localhost:{}/v1/cameras/door-1/live",
            server.port()
        ))
        .output()
        .expect("curl runs");
    // 28: stopped by --max-time, as intended (the view goes on).
    assert_eq!(out.status.code(), Some(28), "{}", text(&out.stderr));
    let bytes = std::fs::read(&file).unwrap();
    let mut pictures = 0;
    let mut at = 0;
    while let Some(start) = find(&bytes[at..], b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[at..at + start]).into_owned();
        let Some(len) = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse::<usize>().ok())
        else {
            break;
        };
        assert!(head.contains("--lensguard-live-picture"), "{head}");
        let body_at = at + start + 4;
        let Some(jpeg) = bytes.get(body_at..body_at + len) else {
            break; // the part curl was reading when it stopped
        };
        let picture =
            lensguard_vision::decode::decode_rgb(jpeg, &lensguard_core::Limits::default())
                .expect("a JPEG")
                .frame;
        let corner = crate::pictures::masked_corner(&picture);
        assert!(
            corner < 24,
            "live picture {pictures}: the masked corner shows ({corner})"
        );
        pictures += 1;
        at = body_at + len;
    }
    assert!(pictures >= 2, "{pictures} live pictures in 4 s");
    assert!(
        crate::common::audit_entries(&server.data_dir)
            .iter()
            .any(|e| e["action"] == "cameras.live"),
        "the live view is audited"
    );
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
