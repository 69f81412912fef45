"""Single sign-on checks against a running lensguard and the test OpenID
provider (scripts/oidc_provider.mjs): one sign-in in Debian's chromium
(Playwright), then sign-ins, second factors and token attacks driven over
HTTP with requests.

    python scripts/sso_check.py PLAN.json

PLAN: {"base": lensguard URL, "provider": provider URL, "chromium": path,
"people": {name: password}}. Prints one JSON line per check and exits 1 when
any failed. What each refusal left in the audit log is checked by the Rust
test that runs this (tests/e2e/sso.rs).
"""

import base64
import hashlib
import hmac
import json
import re
import struct
import sys
import time
import urllib.parse

import requests
import urllib3

urllib3.disable_warnings()
_request = requests.Session.request
requests.Session.request = lambda self, *a, **k: _request(self, *a, **{"timeout": 20, "verify": False, **k})
PLAN = json.load(open(sys.argv[1]))
BASE = PLAN["base"]
PROVIDER = PLAN["provider"]
FAILED = []


def check(name, ok, detail=""):
    print(json.dumps({"check": name, "ok": bool(ok), "detail": str(detail)[:300]}), flush=True)
    if not ok:
        FAILED.append(name)


def session():
    s = requests.Session()
    s.verify = False
    return s


def start(s, provider="corp"):
    """Posts the provider button; returns the provider's authorization URL."""
    page = s.get(f"{BASE}/console/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = s.post(
        f"{BASE}/console/sso/{provider}",
        data={"csrf": csrf, "next": "/console/"},
        headers={"Origin": BASE},
        allow_redirects=False,
    )
    assert r.status_code == 303, (r.status_code, r.text[:200])
    return r.headers["location"]


def authenticate(s, url, who):
    """Signs `who` in at the provider; returns lensguard's callback URL."""
    r = s.get(url, allow_redirects=False)
    while r.status_code in (302, 303) and not r.headers["location"].startswith(BASE):
        r = s.get(urllib.parse.urljoin(PROVIDER, r.headers["location"]), allow_redirects=False)
    action = re.search(r'action="([^"]+)"', r.text).group(1)
    r = s.post(
        urllib.parse.urljoin(PROVIDER, action),
        data={"username": who, "password": PLAN["people"][who]},
        allow_redirects=False,
    )
    while r.status_code in (302, 303) and not r.headers["location"].startswith(BASE):
        r = s.get(urllib.parse.urljoin(PROVIDER, r.headers["location"]), allow_redirects=False)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300])
    return r.headers["location"]


def signed_in(s, r):
    return r.status_code == 200 and "__Host-lensguard-session" in s.cookies.get_dict()


def sign_in(who, provider="corp"):
    s = session()
    callback = authenticate(s, start(s, provider), who)
    return s, s.get(callback, allow_redirects=False), callback


def attack(mode):
    session().post(f"{PROVIDER}/_test/attack", json={"mode": mode}).raise_for_status()


def totp(secret_b32, at=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    step = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[o : o + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def browser_sign_in():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=PLAN["chromium"],
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_context(ignore_https_errors=True).new_page()
        page.goto(f"{BASE}/console/sign-in")
        page.click("button[data-provider=corp]")
        page.wait_for_url(f"{PROVIDER}/interaction/**", timeout=15000)
        page.fill("#username", "ada")
        page.fill("#password", PLAN["people"]["ada"])
        page.click("#provider-sign-in")
        try:
            page.wait_for_url(f"{BASE}/console/", timeout=15000)
        except Exception:
            print(page.url, page.inner_text("body")[:800], file=sys.stderr)
            raise
        text = page.inner_text("body")
        check("browser: ada signed in through the provider", "ada" in text, page.url)
        check("browser: ada holds the admin role (users section)", page.locator("a[href='/console/users']").count() > 0)
        page.goto(f"{BASE}/console/account")
        account = page.inner_text("body")
        check("browser: the account page names the provider and subject", "corp" in account and "sub-ada" in account, account[:300])
        browser.close()


def main():
    browser_sign_in()

    s, r, callback = sign_in("carol")
    check("carol (staff → viewer) signs in without a second factor", signed_in(s, r), r.status_code)
    me = s.get(f"{BASE}/console/account")
    check("carol's console session works", me.status_code == 200 and "carol" in me.text, me.status_code)
    token = s.cookies.get("__Host-lensguard-session")
    api = session().get(f"{BASE}/v1/sessions", headers={"Authorization": f"Bearer {token}"})
    mine = [x for x in api.json().get("sessions", []) if x.get("current")] if api.status_code == 200 else []
    check(
        "the API lists carol's session with its provider and subject",
        len(mine) == 1 and mine[0]["provider"] == "corp" and mine[0]["subject"] == "sub-carol",
        api.text[:300],
    )
    again = session().get(callback, allow_redirects=False)
    check("a used code and state are refused", again.status_code == 401, again.status_code)

    s, r, _ = sign_in("bob")
    check("bob (admin, password only at the provider) is refused: no second factor asserted", r.status_code == 401 and not signed_in(s, r), r.status_code)

    s, r, _ = sign_in("erin")
    check("erin (no mapped group) is refused", r.status_code == 401, r.status_code)

    # TOTP step-up after the provider (provider corp-totp).
    s, r, _ = sign_in("dave", "corp-totp")
    check("dave is sent to the step-up", r.status_code == 200 and "/console/sso/step-up" in r.text, r.status_code)
    form = s.get(f"{BASE}/console/sso/step-up")
    secret = re.search(r'class="secret">([A-Z2-7]+)<', form.text)
    check("the step-up shows a first-time enrolment", secret is not None, form.status_code)
    reloaded = re.search(r'class="secret">([A-Z2-7]+)<', s.get(f"{BASE}/console/sso/step-up").text)
    check("a reload shows the same secret", reloaded is not None and reloaded.group(1) == secret.group(1))
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    wrong = s.post(f"{BASE}/console/sso/step-up", data={"csrf": csrf, "totp": "000000"}, headers={"Origin": BASE}, allow_redirects=False)
    check("a wrong step-up code is refused", wrong.status_code == 401, wrong.status_code)
    right = s.post(f"{BASE}/console/sso/step-up", data={"csrf": csrf, "totp": totp(secret.group(1))}, headers={"Origin": BASE}, allow_redirects=False)
    check("the right step-up code opens the session", signed_in(s, right), right.status_code)
    s2, r2, _ = sign_in("dave", "corp-totp")
    later = s2.get(f"{BASE}/console/sso/step-up")
    check("after a code was used the secret is never shown again", r2.status_code == 200 and 'class="secret"' not in later.text and 'name="totp"' in later.text, later.status_code)

    # Mismatched state: flow B's answer delivered to browser A.
    a, b = session(), session()
    start(a)
    callback_b = authenticate(b, start(b), "carol")
    r = a.get(callback_b, allow_redirects=False)
    check("a state from another browser's sign-in is refused", r.status_code == 401 and not signed_in(a, r), r.status_code)

    # A code issued for another PKCE challenge: lensguard's verifier fails.
    s = session()
    url = start(s)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    other = base64.urlsafe_b64encode(hashlib.sha256(b"attacker-verifier-attacker-verifier-0123456789").digest()).rstrip(b"=").decode()
    query["code_challenge"] = other
    forged = urllib.parse.urlsplit(url)._replace(query=urllib.parse.urlencode(query)).geturl()
    r = s.get(authenticate(s, forged, "carol"), allow_redirects=False)
    check("a code bound to another PKCE challenge is refused", r.status_code == 401 and not signed_in(s, r), r.status_code)
    # And a code redeemed without any verifier is refused by the provider.
    s = session()
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(authenticate(s, start(s), "carol")).query)["code"][0]
    token = session().post(
        f"{PROVIDER}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": f"{BASE}/console/sso/corp/callback"},
        auth=("lensguard", PLAN["client_secret"]),
    )
    check("the provider refuses a code redeemed without the PKCE verifier", token.status_code == 400, token.text[:200])

    for mode in ["alg_none", "hs256_public", "wrong_issuer", "wrong_audience", "expired", "replay_nonce", "unknown_kid"]:
        attack(mode)
        time.sleep(1.1)  # past the key refetch interval: an unknown kid is refetched first
        s, r, _ = sign_in("carol")
        check(f"attack {mode} is refused", r.status_code == 401 and not signed_in(s, r), r.status_code)
    attack(None)

    # A key rotated at the provider: accepted after the keys are fetched again.
    session().post(f"{PROVIDER}/_test/rotate").raise_for_status()
    time.sleep(1.1)
    s, r, _ = sign_in("carol")
    check("after the provider rotates its key, sign-in works again", signed_in(s, r), r.status_code)

    sys.exit(1 if FAILED else 0)


main()
