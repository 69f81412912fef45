#!/usr/bin/env python3
"""Helpers of scripts/bench-console (standard library only).

  seed DB ROWS REPORT      insert ROWS inspections like REPORT (service stopped)
  ids DB                   print 1,000 inspection ids
  measure URL KEY USER PASSWORD SECRET REQUESTS OUT
                           time the console's pages against the API's JSON
"""

import base64
import hashlib
import hmac
import http.client
import json
import re
import sqlite3
import ssl
import statistics
import struct
import sys
import time
import urllib.parse
import uuid


def seed(db, rows, report):
    report = json.loads(report)
    con = sqlite3.connect(db)
    now = int(time.time())
    verdicts = ["pass", "retry", "fail"]
    batch = []
    for i in range(rows):
        r = dict(report)
        r["id"] = str(uuid.uuid4())
        r["verdict"] = verdicts[i % 3]
        text = json.dumps(r, separators=(",", ":"))
        created = now - 13 * 86400 + (i * 13 * 86400) // rows
        batch.append((r["id"], created, "key:bench", r["verdict"], text, f"van-{i % 50}",
                      now + 30 * 86400, hashlib.sha256(text.encode()).hexdigest(), "bench@1"))
    con.executemany(
        "INSERT INTO inspections (id, created_at, actor, verdict, report, device_id, expires_at,"
        " content_sha256, policy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
    con.commit()
    print(f"{con.execute('SELECT COUNT(*) FROM inspections').fetchone()[0]} inspections", file=sys.stderr)


def ids(db):
    con = sqlite3.connect(db)
    for (i,) in con.execute("SELECT id FROM inspections ORDER BY created_at DESC LIMIT 1000"):
        print(i)


def totp(secret):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time() // 30)), hashlib.sha1).digest()
    o = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


class Client:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.origin = url
        self.conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, value = v.split(";")[0].split("=", 1)
                self.cookies[name] = value
        return r.status, data


def sign_in(client, user, password, secret):
    status, page = client.request("GET", "/console/sign-in")
    token = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
    form = urllib.parse.urlencode({"username": user, "password": password, "totp": totp(secret),
                                   "csrf": token, "next": "/console/"})
    status, _ = client.request("POST", "/console/sign-in", form, {
        "Content-Type": "application/x-www-form-urlencoded", "Origin": client.origin,
        "Sec-Fetch-Site": "same-origin"})
    assert status == 303 and "__Host-lensguard-session" in client.cookies, status


def measure(url, key, user, password, secret, requests, out):
    browser = Client(url)
    sign_in(browser, user, password, secret)
    api = Client(url)
    bearer = {"Authorization": f"Bearer {key}"}
    pages = {
        "inspections page (HTML)": (browser, "/console/inspections", {}),
        "inspections (API JSON, limit 50)": (api, "/v1/inspections?limit=50", bearer),
        "audit page (HTML)": (browser, "/console/audit", {}),
        "audit entries (API JSON, limit 50)": (api, "/v1/audit/entries?limit=50", bearer),
    }
    times = {name: [] for name in pages}
    sizes = {}
    for _ in range(10):  # warm-up
        for client, path, h in pages.values():
            client.request("GET", path, headers=h)
    for _ in range(requests):
        for name, (client, path, h) in pages.items():
            t = time.perf_counter()
            status, body = client.request("GET", path, headers=h)
            times[name].append((time.perf_counter() - t) * 1000)
            assert status == 200, (name, status, body[:200])
            sizes[name] = len(body)
    result = {}
    for name, ts in times.items():
        ts.sort()
        result[name] = {"p50_ms": round(statistics.median(ts), 2),
                        "p99_ms": round(ts[int(len(ts) * 0.99) - 1], 2), "bytes": sizes[name]}
    ratio = lambda a, b, k: round(result[a][k] / result[b][k], 2)
    result["ratio inspections HTML/JSON p50"] = ratio("inspections page (HTML)", "inspections (API JSON, limit 50)", "p50_ms")
    result["ratio inspections HTML/JSON p99"] = ratio("inspections page (HTML)", "inspections (API JSON, limit 50)", "p99_ms")
    result["ratio audit HTML/JSON p50"] = ratio("audit page (HTML)", "audit entries (API JSON, limit 50)", "p50_ms")
    result["ratio audit HTML/JSON p99"] = ratio("audit page (HTML)", "audit entries (API JSON, limit 50)", "p99_ms")
    for name, r in result.items():
        if isinstance(r, dict):
            print(f"{name:38} p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  {r['bytes']:7d} bytes")
        else:
            print(f"{name:38} {r}x (target: within 1.5x)")
    with open(out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "seed":
        seed(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "ids":
        ids(sys.argv[2])
    elif cmd == "measure":
        measure(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]), sys.argv[8])
