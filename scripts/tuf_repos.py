"""Builds TUF repositories of model bundles with python-tuf (an independent
implementation of The Update Framework), good ones and hostile ones, for
lensguard's model update tests.

    python scripts/tuf_repos.py OUT [--bundle DIR]

OUT/root.json is the root a site trusts first (version 1). Each scenario is
a directory OUT/NN-name/ holding a whole repository as removable media
would carry it (metadata/ and targets/), meant to be imported in the order
of OUT/plan.json: {"scenarios": [{"dir", "accept", "why"}]}. "why" is a
word the refusal must contain. Every scenario after the first two is built
against what the site accepted before it: a hostile one must leave the site
as it was, so the next is built on the same state.

Roles: root 2 of 3 keys, targets 2 of 2, snapshot 1, timestamp 1, all
ed25519; consistent snapshots off (metadata by plain name, `N.root.json`
for the root chain). A bundle release is its files and its manifest
(`bundle.json`) under `<name>/<version>/`, and `bundles/<name>.json`, a copy
of the current release's manifest.

With --bundle DIR (a publisher's bundle directory: bundle.json without
"files", and the files it names) every release is that bundle under
another version, so good releases pass their known-answer test; without
it, a stand-in whose known-answer test cannot pass. Files over 1 MiB are
written once under OUT/blobs/ and linked, so eighteen repositories of a
real model stay small; a scenario that alters a file replaces the link.
"""

import copy
import hashlib
import json
import os
import shutil
import sys
from datetime import datetime, timedelta, timezone

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

OUT = sys.argv[1]
SOURCE = sys.argv[sys.argv.index("--bundle") + 1] if "--bundle" in sys.argv else None
NOW = datetime.now(timezone.utc).replace(microsecond=0)
SOON = NOW + timedelta(days=30)
PAST = NOW - timedelta(days=30)
PRETTY = JSONSerializer(compact=False)


def key():
    return CryptoSigner.generate_ed25519()


KEYS = {
    "root": [key(), key(), key()],
    "targets": [key(), key()],
    "snapshot": [key()],
    "timestamp": [key()],
}


class Repo:
    """One repository state: metadata objects, the root chain, the files."""

    def __init__(self):
        root = Root(expires=SOON, consistent_snapshot=False)
        for role, signers in KEYS.items():
            for s in signers:
                root.add_key(s.public_key, role)
        root.roles["root"].threshold = 2
        root.roles["targets"].threshold = 2
        self.roots = [self.signed(Metadata(root), KEYS["root"][:2])]
        self.targets = Metadata(Targets(expires=SOON))
        self.snapshot = Metadata(Snapshot(expires=SOON))
        self.timestamp = Metadata(Timestamp(expires=SOON))
        self.files = {}
        self.signers = copy.copy(KEYS)

    @staticmethod
    def signed(md, signers):
        md.signatures.clear()
        for s in signers:
            md.sign(s, append=True)
        return md

    def add_bundle(self, name, version, files):
        """Publishes bundle `name` at `version`: `files` is (template, {name: bytes})."""
        template, contents = files
        manifest = dict(template, name=name, version=version, files={})
        for fname, data in contents.items():
            path = f"{name}/{version}/{fname}"
            self.files[path] = data
            self.targets.signed.targets[path] = TargetFile.from_data(path, data)
            manifest["files"][fname] = {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}
        data = json.dumps(manifest, sort_keys=True).encode()
        for path in (f"{name}/{version}/bundle.json", f"bundles/{name}.json"):
            self.files[path] = data
            self.targets.signed.targets[path] = TargetFile.from_data(path, data)

    def release(self, targets_signers=None, snapshot_targets_version=None, timestamp_snapshot_version=None):
        """New targets, snapshot and timestamp versions, signed."""
        self.targets.signed.version += 1
        self.signed(self.targets, targets_signers or self.signers["targets"])
        self.snapshot.signed.version += 1
        self.snapshot.signed.meta["targets.json"] = MetaFile(snapshot_targets_version or self.targets.signed.version)
        self.signed(self.snapshot, self.signers["snapshot"])
        self.timestamp.signed.version += 1
        self.timestamp.signed.snapshot_meta = MetaFile(timestamp_snapshot_version or self.snapshot.signed.version)
        self.signed(self.timestamp, self.signers["timestamp"])

    def rotate_targets_key(self, old_index, new_signer):
        """A new root version that replaces a targets key, signed by the old
        and the new root keys (they are the same here)."""
        root = copy.deepcopy(self.roots[-1])
        old = self.signers["targets"][old_index]
        root.signed.revoke_key(old.public_key.keyid, "targets")
        root.signed.add_key(new_signer.public_key, "targets")
        root.signed.version += 1
        self.roots.append(self.signed(root, KEYS["root"][:2]))
        self.signers = copy.copy(self.signers)
        self.signers["targets"] = [s for i, s in enumerate(self.signers["targets"]) if i != old_index] + [new_signer]

    def write(self, name, roots=None, tamper=None):
        """Writes this state as OUT/name/{metadata,targets}; `tamper(dir)`
        may then change what was written."""
        base = os.path.join(OUT, name)
        shutil.rmtree(base, ignore_errors=True)
        meta = os.path.join(base, "metadata")
        os.makedirs(meta)
        for r in roots if roots is not None else self.roots:
            r.to_file(os.path.join(meta, f"{r.signed.version}.root.json"), PRETTY)
        self.roots[-1].to_file(os.path.join(meta, "root.json"), PRETTY)
        self.targets.to_file(os.path.join(meta, "targets.json"), PRETTY)
        self.snapshot.to_file(os.path.join(meta, "snapshot.json"), PRETTY)
        self.timestamp.to_file(os.path.join(meta, "timestamp.json"), PRETTY)
        for path, data in self.files.items():
            full = os.path.join(base, "targets", path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            if len(data) > 1 << 20:
                os.symlink(blob(data), full)
            else:
                with open(full, "wb") as f:
                    f.write(data)
        if tamper:
            tamper(base)
        return name


def blob(data):
    """The path of a shared copy of `data` under OUT/blobs."""
    path = os.path.join(os.path.abspath(OUT), "blobs", hashlib.sha256(data).hexdigest())
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return path


def rewrite(path, change):
    """Replaces the file (or link) at `path` with change(its bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    with open(path, "wb") as f:
        f.write(change(data))


def source():
    """The bundle every release is: its manifest template and files."""
    if SOURCE:
        with open(os.path.join(SOURCE, "bundle.json")) as f:
            template = json.load(f)
        names = [template["model"], template["card"], template["known_answer"]["input"]]
        contents = {}
        for n in names:
            with open(os.path.join(SOURCE, n), "rb") as f:
                contents[n] = f.read()
        return template, contents
    template = {
        "format": "centerface", "model": "model.onnx", "card": "card.md",
        "requires": {"lensguard": "0.1.0"},
        "known_answer": {"input": "input.png", "threshold": 0.5, "min_iou": 0.5, "expected": []},
    }
    return template, {"model.onnx": b"lensguard stand-in model\n" * 64, "card.md": b"# stand-in\n",
                      "input.png": b"not an image"}


SOURCE_BUNDLE = None


def model(version):
    global SOURCE_BUNDLE
    if SOURCE_BUNDLE is None:
        SOURCE_BUNDLE = source()
    return SOURCE_BUNDLE


def main():
    os.makedirs(OUT, exist_ok=True)
    plan = []

    def add(name, accept, why, state, **kw):
        plan.append({"dir": state.write(f"{len(plan):02d}-{name}", **kw), "accept": accept, "why": why})

    repo = Repo()
    repo.roots[0].to_file(os.path.join(OUT, "root.json"), PRETTY)
    repo.add_bundle("faces", "1", model(1))
    repo.release()
    v1 = copy.deepcopy(repo)
    add("good-v1", True, "", repo)
    repo.add_bundle("faces", "2", model(2))
    repo.release()
    v2 = copy.deepcopy(repo)
    add("good-v2", True, "", repo)

    # Rollback: the site has v2.
    add("rollback-timestamp", False, "timestamp", v1)
    r = copy.deepcopy(v2)
    r.timestamp.signed.version += 1
    r.timestamp.signed.snapshot_meta = MetaFile(1)
    r.snapshot = copy.deepcopy(v1.snapshot)
    Repo.signed(r.timestamp, r.signers["timestamp"])
    add("rollback-snapshot", False, "snapshot", r)
    r = copy.deepcopy(v2)
    r.targets = copy.deepcopy(v1.targets)
    r.snapshot.signed.version += 1
    r.snapshot.signed.meta["targets.json"] = MetaFile(1)
    Repo.signed(r.snapshot, r.signers["snapshot"])
    r.timestamp.signed.version += 1
    r.timestamp.signed.snapshot_meta = MetaFile(r.snapshot.signed.version)
    Repo.signed(r.timestamp, r.signers["timestamp"])
    add("rollback-targets", False, "targets", r)

    # Freeze: expired metadata (the timestamp far past the import window).
    def expired(role):
        r = copy.deepcopy(v2)
        r.add_bundle("faces", "3", model(3))
        getattr(r, role).signed.expires = PAST
        r.release()
        return r

    add("freeze-timestamp", False, "expired", expired("timestamp"))
    add("freeze-snapshot", False, "expired", expired("snapshot"))
    add("freeze-targets", False, "expired", expired("targets"))

    # Mix and match: a snapshot naming targets v3 with the old targets v2.
    r = copy.deepcopy(v2)
    r.add_bundle("faces", "3", model(3))
    r.release()
    r.targets = copy.deepcopy(v2.targets)
    add("mix-and-match", False, "targets", r)

    # Targets whose bytes differ from what targets.json says.
    good3 = copy.deepcopy(v2)
    good3.add_bundle("faces", "3", model(3))
    good3.release()

    model_file = model(3)[0]["model"]

    def flip(base):
        def change(data):
            data = bytearray(data)
            data[10] ^= 1
            return bytes(data)

        rewrite(os.path.join(base, "targets", "faces", "3", model_file), change)

    add("target-hash", False, "hash", good3, tamper=flip)

    def longer(base):
        rewrite(os.path.join(base, "targets", "faces", "3", model_file), lambda d: d + b"x" * 100)

    add("target-length", False, "size", good3, tamper=longer)

    def endless_timestamp(base):
        path = os.path.join(base, "metadata", "timestamp.json")
        data = json.load(open(path))
        data["signed"]["padding"] = "x" * (4 << 20)
        json.dump(data, open(path, "w"))

    add("endless-timestamp", False, "size", good3, tamper=endless_timestamp)

    def endless_target(base):
        rewrite(os.path.join(base, "targets", "faces", "3", model_file), lambda d: d + b"\0" * (64 << 20))

    add("endless-target", False, "size", good3, tamper=endless_target)

    # Signatures: one of the two targets keys; one key twice.
    r = copy.deepcopy(v2)
    r.add_bundle("faces", "3", model(3))
    r.release(targets_signers=r.signers["targets"][:1])
    add("below-threshold", False, "threshold", r)
    r = copy.deepcopy(v2)
    r.add_bundle("faces", "3", model(3))
    r.release()
    Repo.signed(r.targets, [r.signers["targets"][0]])

    def sign_twice(base):
        path = os.path.join(base, "metadata", "targets.json")
        data = json.load(open(path))
        data["signatures"] = data["signatures"] * 2
        json.dump(data, open(path, "w"))

    add("one-key-twice", False, "key", r, tamper=sign_twice)

    # A root chain with a gap: 1 then 3, and metadata signed for root 3.
    r = copy.deepcopy(v2)
    r.rotate_targets_key(0, key())
    r.rotate_targets_key(0, key())
    r.add_bundle("faces", "3", model(3))
    r.release()
    add("root-gap", False, "signature", r, roots=[r.roots[0], r.roots[2]])

    # A targets key revoked by root 2, still signing.
    r = copy.deepcopy(v2)
    revoked = r.signers["targets"][0]
    r.rotate_targets_key(0, key())
    r.add_bundle("faces", "3", model(3))
    r.release(targets_signers=[revoked, r.signers["targets"][0]])
    add("revoked-key", False, "threshold", r)

    # The good update after the rotation, its timestamp expired a day ago
    # (within the import window): accepted, and the import says so.
    r = copy.deepcopy(v2)
    r.rotate_targets_key(0, key())
    r.add_bundle("faces", "3", model(3))
    r.timestamp.signed.expires = NOW - timedelta(days=1)
    r.release()
    add("good-v3-stale-timestamp", True, "", r)

    json.dump({"scenarios": plan}, open(os.path.join(OUT, "plan.json"), "w"), indent=1)


main()
