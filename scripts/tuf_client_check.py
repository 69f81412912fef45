"""Verifies a repository that `lensguard models publish` made, with
python-tuf's client (tuf.ngclient, the reference implementation), so the
publisher is checked by a TUF implementation other than the one it uses.

    python scripts/tuf_client_check.py REPO ROOT NAME

Serves REPO (metadata/ and targets/) on 127.0.0.1 from this process,
trusts ROOT, refreshes, downloads bundles/NAME.json and every file it
names, and prints one JSON line: the role versions, the manifest, and the
SHA-256 of each downloaded file. Exits non-zero if anything fails to
verify.
"""

import functools
import hashlib
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading

from tuf.ngclient import Updater


def main():
    repo, root, name = sys.argv[1], sys.argv[2], sys.argv[3]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=repo)
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    work = tempfile.mkdtemp()
    try:
        meta = os.path.join(work, "metadata")
        os.makedirs(meta)
        with open(root, "rb") as f:
            trusted_root = f.read()
        downloads = os.path.join(work, "targets")
        os.makedirs(downloads)
        updater = Updater(
            metadata_dir=meta,
            metadata_base_url=f"{base}/metadata/",
            target_base_url=f"{base}/targets/",
            target_dir=downloads,
            bootstrap=trusted_root,
        )
        updater.refresh()

        def fetch(path):
            info = updater.get_targetinfo(path)
            if info is None:
                raise SystemExit(f"{path} is not a signed target")
            local = updater.download_target(info, os.path.join(downloads, path.replace("/", "_")))
            with open(local, "rb") as f:
                return f.read()

        manifest = json.loads(fetch(f"bundles/{name}.json"))
        digests = {}
        for file in manifest["files"]:
            data = fetch(f"{name}/{manifest['version']}/{file}")
            digests[file] = hashlib.sha256(data).hexdigest()
        # The client keeps the metadata it accepted in its metadata directory.
        versions = {}
        for role in ("root", "timestamp", "snapshot", "targets"):
            with open(os.path.join(meta, f"{role}.json")) as f:
                versions[role] = json.load(f)["signed"]["version"]
        print(json.dumps(dict(versions, manifest=manifest, sha256=digests)))
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


main()
