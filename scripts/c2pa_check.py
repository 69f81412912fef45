#!/usr/bin/env python3
"""Reads the C2PA manifest of each media file with c2pa-python (the C2PA
reference SDK's Python package, independent of lensguard's code) and prints
one line per file: `PATH STATE [failure codes]`, where STATE is Trusted,
Valid, Invalid or Error (no readable manifest).

Usage: c2pa_check.py TRUST_ANCHOR.pem FILE...

The trust anchor is the installation's evidence CA (`evidence-signing/ca.pem`
in its data directory) or the customer's; signer certificates must carry the
documentSigning extended key usage. Nothing is fetched from the network.
Exit status: 0 when every file is Trusted, 1 otherwise.
"""
import io
import json
import sys

import c2pa

DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36"


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        anchor = f.read()
    context = c2pa.Context.from_json(json.dumps({
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "trust": {"user_anchors": anchor, "trust_config": DOCUMENT_SIGNING + "\n"},
    }))
    all_trusted = True
    for path in sys.argv[2:]:
        media_type = "video/mp4" if path.endswith(".mp4") else "image/jpeg"
        with open(path, "rb") as f:
            data = f.read()
        try:
            reader = c2pa.Reader(media_type, io.BytesIO(data), context=context)
            state = str(reader.get_validation_state())
            results = reader.get_validation_results() or {}
            failures = [s.get("code", "") for s in
                        results.get("activeManifest", {}).get("failure", [])]
        except Exception as e:  # no manifest, or one that cannot be parsed
            state, failures = "Error", [str(e).splitlines()[0] if str(e) else type(e).__name__]
        all_trusted &= state == "Trusted"
        print(path, state, " ".join(failures))
    return 0 if all_trusted else 1


if __name__ == "__main__":
    sys.exit(main())
