#!/usr/bin/env python3
"""The consoles' browser tests: Debian's chromium driven by Playwright.

Run by the end-to-end test `console` (crates/lensguard-server/tests/e2e/console.rs),
which starts lensguard, creates a user of every role and some inspections, and
by the fleet test `hub_console` (crates/lensguard-server/tests/fleet/hub_console.rs)
with `"console": "hub"` in its plan (the hub's console: edges, flags, records,
revocation, hub users); each passes what it made as a JSON file:

    console_browser.py PLAN.json

Every check is counted; the first failure of each kind is printed, and the
exit status is 1 if any check failed. Checks:
  - every page for every role: the page opens (200) for a role holding its
    scope and is refused (403) otherwise; the navigation lists exactly the
    sections the role may open;
  - no Content-Security-Policy violation on any page (console errors and
    `securitypolicyviolation` events);
  - axe-core finds no serious or critical accessibility issue on any page;
  - the flow: sign in with TOTP (by keyboard only), find a failed inspection,
    view its original with a reason, and find that view on the audit page;
  - cameras: the camera's state, events with redacted snapshots, the footage
    around an event, a redacted clip and an original (after a reason, found
    on the audit page), the live view;
  - a cross-origin form post and a form without its token are refused, and
    change nothing;
  - a session idle past its limit goes back to sign-in;
  - pages fit a phone's width (no sideways scrolling of the page);
  - screenshots of the main pages when the plan names a folder.
"""

import base64
import hashlib
import hmac
import http.server
import json
import ssl
import struct
import sys
import threading
import time

from playwright.sync_api import sync_playwright

PLAN = json.load(open(sys.argv[1]))
BASE = PLAN["base"]
FAILURES = []
CHECKS = [0]


def check(ok, what):
    CHECKS[0] += 1
    if not ok:
        FAILURES.append(what)
        print(f"FAIL: {what}", flush=True)
    return ok


def totp(secret_b32, at=None):
    """RFC 6238 code (SHA-1, 6 digits, 30 s) for `at` (now by default)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    step = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


# Reports every CSP violation to the test, whatever the page does.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""

AXE = open(PLAN["axe"]).read()


class Watch:
    """Console errors of one browser context."""

    def __init__(self, context):
        self.errors = []
        context.on("console", self.on_console)

    def on_console(self, msg):
        if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text):
            self.errors.append(msg.text)


def new_context(browser, width=1280, height=800):
    context = browser.new_context(
        ignore_https_errors=True, viewport={"width": width, "height": height}, base_url=BASE
    )
    context.add_init_script(WATCH_CSP)
    return context, Watch(context)


def sign_in(page, user, keyboard=False):
    page.goto("/console/sign-in")
    # A code is spent once: wait for a fresh step when this user just used one.
    last = user.get("_step")
    while last is not None and int(time.time() // 30) <= last:
        time.sleep(0.5)
    if keyboard:
        # The name field has the focus on arrival; Tab goes on in reading order.
        focused = lambda: page.evaluate("document.activeElement.id")
        check(focused() == "username", f"the name field has the focus on arrival ({focused()})")
        page.keyboard.type(user["name"])
        page.keyboard.press("Tab")
        check(focused() == "password", "Tab goes to the password")
        page.keyboard.type(PLAN["password"])
        page.keyboard.press("Tab")
        check(focused() == "totp", "Tab goes to the code")
        page.keyboard.type(totp(user["secret"]))
        with page.expect_navigation():
            page.keyboard.press("Enter")
    else:
        page.fill("#username", user["name"])
        page.fill("#password", PLAN["password"])
        page.fill("#totp", totp(user["secret"]))
        with page.expect_navigation():
            page.click("main button[type=submit]")
    user["_step"] = int(time.time() // 30)
    page.wait_for_load_state()
    return check("/console/sign-in" not in page.url, f"{user['name']} signs in (at {page.url})")


def audit_page(page, watch, what):
    """CSP and accessibility checks of the page as it is now."""
    violations = page.evaluate("window.__csp || []")
    check(not violations and not watch.errors,
          f"no CSP violation on {what}: {violations} {watch.errors[:3]}")
    watch.errors.clear()
    page.evaluate(AXE)
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"
    )
    check(not found, f"axe finds no serious or critical issue on {what}: {found}")


def nav_sections(page):
    return sorted(page.eval_on_selector_all("header nav a", "els => els.map(e => e.getAttribute('href'))"))


def pages_for_every_role(browser):
    for user in PLAN["users"]:
        context, watch = new_context(browser)
        page = context.new_page()
        if not sign_in(page, user):
            context.close()
            continue
        allowed = [p for p in PLAN["pages"] if p["scope"] is None or p["scope"] in user["scopes"]]
        expected_nav = sorted(s["href"] for s in PLAN["sections"]
                              if s["scope"] is None or s["scope"] in user["scopes"])
        check(nav_sections(page) == expected_nav,
              f"{user['role']} sees the sections {expected_nav}, saw {nav_sections(page)}")
        for p in PLAN["pages"]:
            response = page.goto(p["path"])
            status = response.status if response else 0
            may = p in allowed
            what = f"{p['path']} as {user['role']}"
            if may:
                check(status == 200, f"{what} opens (got {status})")
            else:
                check(status == 403, f"{what} is refused with 403 (got {status})")
                check("Not for your role" in page.content(), f"{what} says why it is refused")
            audit_page(page, watch, what)
        if PLAN.get("camera"):
            page.goto(f"/console/cameras/{PLAN['camera']}")
            offered = page.locator("form[action$='/original']").count() > 0
            check(offered == ("evidence:read-original" in user["scopes"]),
                  f"originals are offered to {user['role']} only if the role may read them")
        context.close()


def full_flow(browser, shots):
    reviewer = PLAN["flow_user"]
    context, watch = new_context(browser)
    page = context.new_page()
    sign_in(page, reviewer, keyboard=True)
    page.goto("/console/")
    page.wait_for_selector(".uplot canvas", timeout=5000)
    check(page.locator(".uplot canvas").count() > 0, "the overview draws its chart")
    check("blurry" in page.inner_text("main"), "the overview lists the top reasons")
    audit_page(page, watch, "the overview with its chart")
    if shots:
        page.screenshot(path=f"{shots}/overview.png")
    page.goto("/console/inspections?verdict=fail")
    audit_page(page, watch, "the failed inspections")
    if shots:
        page.screenshot(path=f"{shots}/inspections.png")
    row = page.locator(f"a[href='/console/inspections/{PLAN['failed_inspection']}']").first
    check(row.count() == 1, "the failed inspection is listed under verdict=fail")
    with page.expect_navigation():
        row.click()
    check(page.locator("text=Verdict").count() > 0, "the inspection page opens")
    audit_page(page, watch, "an inspection's page")
    # A reason is required before anything is shown.
    page.fill("#reason", "   ")
    with page.expect_navigation():
        page.click("text=View original")
    check(page.locator("img[alt^='Original photo']").count() == 0, "no original without a reason")
    page.fill("#reason", "customer complaint 4471")
    with page.expect_navigation():
        page.click("text=View original")
    original = page.locator("img[alt^='Original photo']")
    check(original.count() == 1, "the original is shown after a reason")
    if original.count() == 1:
        page.wait_for_function("document.querySelector(\"img[alt^='Original photo']\").complete")
        check(original.evaluate("img => img.naturalWidth") > 0, "the original's pixels load")
    audit_page(page, watch, "an inspection's original")
    if shots:
        page.screenshot(path=f"{shots}/inspection.png", full_page=False)
    # The grant was spent: loading the original again is refused.
    again = page.request.get(original.get_attribute("src")) if original.count() else None
    check(again is not None and again.status == 403, "an original's grant works once")
    # Override the failed verdict with a reason; the review page lists it.
    page.goto(f"/console/inspections/{PLAN['failed_inspection']}")
    page.select_option("#override-verdict", "pass")
    page.fill("#override-reason", "label legible, accepted by the dock lead")
    with page.expect_navigation():
        page.click("form[action$='/override'] button")
    check("accepted by the dock lead" in page.content(), "the override is listed on the inspection")
    page.goto("/console/overrides")
    audit_page(page, watch, "the overrides page")
    check(PLAN["failed_inspection"] in page.content() and "accepted by the dock lead" in page.content(),
          "the review page lists the override")
    page.goto("/console/inspections?overridden=yes")
    check(page.locator(f"a[href='/console/inspections/{PLAN['failed_inspection']}']").count() > 0,
          "the overridden filter finds it")
    page.goto("/console/audit?action=evidence.read_original")
    audit_page(page, watch, "the audit page")
    check(PLAN["failed_inspection"] in page.content(),
          "the audit page shows the view of the original")
    if shots:
        page.screenshot(path=f"{shots}/audit.png")
    # Users: create one; their QR code and secret are shown once, and they
    # can sign in with them.
    page.goto("/console/users")
    audit_page(page, watch, "the users page")
    page.fill("#new-username", "newcomer")
    page.select_option("#new-role", "viewer")
    page.fill("#new-password", PLAN["password"])
    with page.expect_navigation():
        page.click("form[action='/console/users'] button[type=submit]")
    check(page.locator(".qr svg").count() == 1, "a new user's QR code is drawn on the page")
    audit_page(page, watch, "a new user's second factor")
    if shots:
        page.screenshot(path=f"{shots}/enrolment.png")
    secret = page.locator("code.secret").inner_text().strip()
    newcomer = {"name": "newcomer", "secret": secret}
    other, _ = new_context(browser)
    check(sign_in(other.new_page(), newcomer), "the new user signs in with the secret shown")
    other.close()
    # Keys: create, rotate and revoke; each token shown once.
    page.goto("/console/keys")
    audit_page(page, watch, "the keys page")
    page.fill("#key-name", "dock-scanner")
    page.check("input[name=scope][value='inspections:read']")
    page.fill("#key-cidrs", "10.0.0.0/8")
    with page.expect_navigation():
        page.click("form[action='/console/keys'] button[type=submit]")
    token = page.locator("code.secret").inner_text().strip()
    check(token.startswith("lg_"), f"the new key's token is shown ({token[:6]}...)")
    page.goto("/console/keys")
    check("10.0.0.0/8" in page.content(), "the key's network is listed")
    key_id = token.split("_")[1]
    with page.expect_navigation():
        page.click(f"form[action='/console/keys/{key_id}/rotate'] button")
    check(page.locator("code.secret").inner_text().strip() != token, "a rotation shows a new token")
    page.goto("/console/keys")
    page.on("dialog", lambda d: d.accept())
    with page.expect_navigation():
        page.click(f"form[action='/console/keys/{key_id}/revoke'] button")
    check("revoked" in page.content(), "the key is revoked")
    # Retention: place and lift a hold, erase a device's data with receipts.
    page.goto("/console/retention")
    audit_page(page, watch, "the retention page")
    check("original" in page.content() and "Data inventory" in page.content(), "the inventory is shown")
    page.fill("#hold-device", "van-9")
    page.fill("#hold-reason", "claim 88 under review")
    with page.expect_navigation():
        page.click("form[action='/console/retention/holds'] button")
    check("claim 88 under review" in page.content(), "the hold is listed")
    if shots:
        page.screenshot(path=f"{shots}/retention.png")
    with page.expect_navigation():
        page.click("form[action$='/lift'] button")
    page.fill("#erase-device", "van-9")
    page.fill("#erase-confirm", "van-9")
    with page.expect_navigation():
        page.click("form[action='/console/retention/erase'] button")
    check("Erased the data of van-9" in page.content() and "crypto-shred" in page.content(),
          "the erasure shows its receipts")
    audit_page(page, watch, "an erasure's receipts")
    page.goto("/console/retention")
    check("crypto-shred" in page.content(), "the retention page lists the receipts")
    # Policy: a dry run on an uploaded photo; an invalid edit is refused
    # with its errors located; a valid one is saved.
    page.goto("/console/policy")
    audit_page(page, watch, "the policy page")
    page.set_input_files("#photo", PLAN["sample_photo"])
    with page.expect_navigation():
        page.click("form[action='/console/policy/explain'] button")
    check("verdict fail" in page.inner_text("main") and "blurry" in page.content(),
          "the dry run shows the verdict and reasons")
    audit_page(page, watch, "a dry run")
    if shots:
        page.screenshot(path=f"{shots}/policy.png")
    text = page.input_value("#toml")
    page.fill("#toml", text.replace("min_sharpness = ", "min_sharpness = \"high\" #", 1))
    with page.expect_navigation():
        page.click("form[action='/console/policy'] button")
    errors = page.locator("#policy-errors").inner_text() if page.locator("#policy-errors").count() else ""
    check("Not saved" in errors and any(ch.isdigit() for ch in errors) and ":" in errors,
          f"an invalid policy is refused with located errors ({errors[:120]!r})")
    bumped = text.replace("revision = 1", "revision = 2", 1)
    page.fill("#toml", bumped)
    with page.expect_navigation():
        page.click("form[action='/console/policy'] button")
    check("revision 2 is in force" in page.content(), "a valid policy is saved")
    cameras_flow(page, watch, shots)
    # Phone width: the page itself never scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ["/console/inspections", f"/console/inspections/{PLAN['failed_inspection']}", "/console/account"]:
        page.goto(path)
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        check(wide <= 1, f"{path} fits a phone's width (overflows by {wide}px)")
    context.close()


def is_mp4(path):
    with open(path, "rb") as f:
        return f.read(8)[4:8] == b"ftyp"


def cameras_flow(page, watch, shots):
    """Cameras and events: state, the timeline with redacted snapshots, the
    footage around an event, a redacted clip, an original after a reason (and
    that view in the audit page), the live view."""
    camera = PLAN["camera"]
    page.goto("/console/cameras")
    audit_page(page, watch, "the cameras page")
    row = page.locator(f"tr:has(a[href='/console/cameras/{camera}'])")
    check(row.count() == 1 and "up" in row.inner_text(), f"the camera {camera} is listed as up")
    page.goto(f"/console/events?camera={camera}")
    audit_page(page, watch, "the events page")
    snapshot = page.locator("img[alt^='Redacted snapshot']").first
    check(snapshot.count() == 1, "the camera's events are listed with snapshots")
    if snapshot.count() == 1:
        page.wait_for_function("document.querySelector(\"img[alt^='Redacted snapshot']\").complete")
        check(snapshot.evaluate("img => img.naturalWidth") > 0, "an event's redacted snapshot loads")
    if shots:
        page.screenshot(path=f"{shots}/events.png")
    # An event whose footage the test saw stored (the newest may still be
    # in a segment being recorded).
    event_row = page.locator(f"tr:has(img[src*='/console/events/{PLAN['recorded_event']}/'])")
    recordings = event_row.locator("a[aria-label^='Recordings of the']")
    check(recordings.count() == 1, "an event links to its footage")
    if recordings.count() == 1:
        with page.expect_navigation():
            recordings.click()
    clips = page.locator("a[href$='/redacted']")
    check(clips.count() > 0, f"the footage around the event is listed (at {page.url})")
    audit_page(page, watch, "a camera's recordings")
    if shots:
        page.screenshot(path=f"{shots}/camera.png")
    if clips.count() > 0:
        with page.expect_download(timeout=60000) as got:
            clips.first.click()
        check(is_mp4(got.value.path()), "a redacted clip downloads as MP4")
    forms = page.locator("form[action$='/original']")
    if check(forms.count() > 0, "an investigator is offered the originals"):
        form = forms.first
        segment = form.get_attribute("action").split("/")[3]
        form.locator("input[name=reason]").fill("incident 5521 at the gate")
        with page.expect_download(timeout=30000) as got:
            form.locator("button").click()
        check(is_mp4(got.value.path()), "an original downloads after a stated reason")
        page.goto("/console/audit?action=footage.read_original")
        check(segment in page.content(), "the audit page shows the original's read")
    page.goto(f"/console/cameras/{camera}/live")
    audit_page(page, watch, "the live view")
    try:
        page.wait_for_function("document.querySelector('img.live').naturalWidth > 0", timeout=30000)
        live = True
    except Exception:
        live = False
    check(live, "the live view shows redacted pictures")
    if shots:
        page.screenshot(path=f"{shots}/live.png")
    page.goto("/console/account")


class Hostile(http.server.BaseHTTPRequestHandler):
    """Another origin's page that posts a form to the console."""

    form = ""

    def do_GET(self):
        body = Hostile.form.encode()
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def forged_forms(browser, form_selector):
    """A state-changing form (`form_selector` on the account page) posted
    from another origin with the right token, without a token and with
    another session's token: each refused, and nothing changes."""
    user = PLAN["forgery_user"]
    context, _ = new_context(browser)
    page = context.new_page()
    sign_in(page, user)
    page.goto("/console/account")
    action = page.locator(form_selector).first.get_attribute("action")
    token = page.locator(f"{form_selector} input[name=csrf]").first.get_attribute("value")
    # 1. The right token, from another origin of the same site (another
    # port of this host, over HTTPS: the SameSite=Strict cookie is sent), so
    # only the Origin/Sec-Fetch-Site check stands between it and the change.
    server = http.server.HTTPServer(("127.0.0.1", 0), Hostile)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(PLAN["tls_cert"], PLAN["tls_key"])
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Hostile.form = (
        f"<!doctype html><form id=f method=post action='{BASE}{action}'>"
        f"<input name=csrf value='{token}'></form><script>document.getElementById('f').submit()</script>"
    )
    page.goto(f"https://127.0.0.1:{server.server_address[1]}/")
    page.wait_for_url(f"{BASE}/**")
    check("Form refused" in page.content() and "another" in page.content(),
          f"a cross-origin form post with the right token is refused by its origin (at {page.url})")
    server.shutdown()
    response = page.goto("/console/account")
    check(response.status == 200 and "/console/sign-in" not in page.url,
          "the cross-origin post changed nothing: the session is still open")
    # 2. From the console's own origin without the token: refused.
    status = page.evaluate(
        "async (url) => (await fetch(url, {method: 'POST', headers: {'content-type':"
        " 'application/x-www-form-urlencoded'}, body: 'csrf='})).status",
        action,
    )
    check(status == 403, f"a form without its token is refused (got {status})")
    # 3. With another session's token: refused.
    status = page.evaluate(
        "async ([url, t]) => (await fetch(url, {method: 'POST', headers: {'content-type':"
        " 'application/x-www-form-urlencoded'}, body: 'csrf=' + t})).status",
        [action, "AAAA" + token[4:]],
    )
    check(status == 403, f"a form with a wrong token is refused (got {status})")
    response = page.goto("/console/account")
    check(response.status == 200 and "/console/sign-in" not in page.url,
          "the refused forms changed nothing")
    context.close()


def hub_flow(browser, shots):
    """The hub's console: edges with their flags, an edge's egress and
    checkpoints, records across edges, revocation, users."""
    admin = PLAN["flow_user"]
    context, watch = new_context(browser)
    page = context.new_page()
    sign_in(page, admin, keyboard=True)
    page.goto("/console/")
    audit_page(page, watch, "the edges page")
    alpha, yard = PLAN["edge"], PLAN["flagged_edge"]
    row = page.locator(f"tr:has(a[href='/console/edges/{alpha}'])")
    check(row.count() == 1 and "ok" in row.inner_text(), "the delivering edge is listed as ok")
    flagged = page.locator(f"tr:has(a[href='/console/edges/{yard}'])")
    check(flagged.count() == 1 and "flagged" in flagged.inner_text() and "rollback" in flagged.inner_text(),
          "the edge whose audit history went back is flagged, with why")
    if shots:
        page.screenshot(path=f"{shots}/hub-edges.png")
    page.goto(f"/console/edges/{alpha}")
    audit_page(page, watch, "an edge's page")
    egress = page.locator("table[aria-labelledby=egress-heading]")
    check(egress.count() == 1 and "submission" in egress.inner_text() and "verdict" in egress.inner_text(),
          "the edge's page says which fields left it")
    if shots:
        page.screenshot(path=f"{shots}/hub-edge.png")
    page.goto(f"/console/records?edge={alpha}")
    audit_page(page, watch, "the records page")
    rows = page.locator("tbody tr")
    check(rows.count() >= PLAN["records"], f"the edge's records are listed ({rows.count()})")
    page.goto(f"/console/records?from=nonsense")
    check("not a time" in page.content(), "a bad filter is answered with what is wrong")
    # Revocation needs the name typed again.
    page.goto(f"/console/edges/{alpha}")
    page.fill("#confirm", "not-the-name")
    with page.expect_navigation():
        page.click("form[action$='/revoke'] button")
    check("Not revoked" in page.content(), "a revocation without the right name changes nothing")
    page.goto(f"/console/edges/{alpha}")
    page.fill("#confirm", PLAN["edge_name"])
    with page.expect_navigation():
        page.click("form[action$='/revoke'] button")
    check("revoked" in page.inner_text("main"), "the edge is revoked")
    # Users: create one; their QR code and secret are shown once, and they
    # can sign in with them.
    page.goto("/console/users")
    audit_page(page, watch, "the hub's users page")
    check(page.locator("#new-devices").count() == 0, "hub users have no device scope")
    page.fill("#new-username", "newcomer")
    page.select_option("#new-role", "viewer")
    page.fill("#new-password", PLAN["password"])
    with page.expect_navigation():
        page.click("form[action='/console/users'] button[type=submit]")
    check(page.locator(".qr svg").count() == 1, "a new hub user's QR code is drawn on the page")
    audit_page(page, watch, "a new hub user's second factor")
    secret = page.locator("code.secret").inner_text().strip()
    other, _ = new_context(browser)
    newcomer_page = other.new_page()
    check(sign_in(newcomer_page, {"name": "newcomer", "secret": secret}),
          "the new hub user signs in with the secret shown")
    response = newcomer_page.goto("/console/users")
    check(response.status == 403, "a viewer is refused the users page")
    other.close()
    # A wrong code is refused.
    bad, _ = new_context(browser)
    bad_page = bad.new_page()
    bad_page.goto("/console/sign-in")
    bad_page.fill("#username", admin["name"])
    bad_page.fill("#password", PLAN["password"])
    bad_page.fill("#totp", "000000")
    with bad_page.expect_navigation():
        bad_page.click("main button[type=submit]")
    check("/console/sign-in" in bad_page.url and "Invalid credentials" in bad_page.content(),
          "a wrong code is refused")
    bad.close()
    # Sign out ends the session.
    with page.expect_navigation():
        page.click("form[action='/console/sign-out'] button")
    response = page.goto("/console/")
    check("/console/sign-in" in page.url, "after signing out, pages send to sign-in")
    context.close()


def main():
    shots = PLAN.get("screenshots")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=PLAN["chromium"],
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        # The idle session: signed in first, left alone, tried last.
        idle_user = PLAN["idle_user"]
        idle_context, _ = new_context(browser)
        idle_page = idle_context.new_page()
        sign_in(idle_page, idle_user)
        idle_since = time.time()
        if shots:
            context, _ = new_context(browser)
            page = context.new_page()
            page.goto("/console/sign-in")
            page.screenshot(path=f"{shots}/sign-in.png")
            context.close()
        if PLAN.get("console") == "hub":
            hub_flow(browser, shots)
            forged_forms(browser, "form[action='/console/sign-out']")
        else:
            full_flow(browser, shots)
            forged_forms(browser, "form[action$='/revoke']")
        pages_for_every_role(browser)
        wait = PLAN["idle_seconds"] + 2 - (time.time() - idle_since)
        if wait > 0:
            time.sleep(wait)
        idle_page.goto(PLAN.get("idle_page", "/console/inspections"))
        check("/console/sign-in" in idle_page.url and "ended=1" in idle_page.url,
              f"a session idle past its limit goes back to sign-in (at {idle_page.url})")
        check("Your session ended" in idle_page.content(), "the sign-in page says the session ended")
        browser.close()
    print(f"{CHECKS[0]} checks, {len(FAILURES)} failed")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
