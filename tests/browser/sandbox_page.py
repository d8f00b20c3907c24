"""Drives the Telegram sandbox's page in headless Chromium for tests/sandbox_page.rs.

    sandbox_page.py live     # a whole stack: connect by deep link, an alert card acked live, a violation
    sandbox_page.py layout   # a bare sandbox: formatting, no XSS, keyboard use, phone and desktop widths

Settings come from the environment: SANDBOX_URL, BOT_TOKEN, BOT_USERNAME,
and for `live` API_URL, ADMIN_KEY, PROJECT_ID, INTEGRATION_ID; CHROMIUM is
the browser (Debian's, installed by scripts/bootstrap.sh; Playwright never
downloads one). Waits are Playwright's, for facts; a failure raises, and
leaves a screenshot whose path is printed.
"""

import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request

from playwright.sync_api import expect, sync_playwright

# No __pycache__ beside the tests for the imports below.
sys.dont_write_bytecode = True
import chromium  # noqa: E402
import pngs  # noqa: E402

# A stack delivers through NATS, Postgres and a webhook: seconds, not milliseconds.
WAIT_MS = 20_000
XSS = '<img src=x onerror="window.__xss=1">'

env = os.environ.get


def request(method, url, body=None, headers=None):
    """(status, JSON body) of an HTTP call."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def sandbox(path, body=None):
    status, answer = request("GET" if body is None else "POST", f"{env('SANDBOX_URL')}/sandbox{path}", body)
    assert status < 300, f"sandbox {path}: {status} {answer}"
    return answer


def bot_api(method, params):
    return request("POST", f"{env('SANDBOX_URL')}/bot{env('BOT_TOKEN')}/{method}", params)


def project_api(method, path, body=None):
    status, answer = request(method, f"{env('API_URL')}{path}", body, {"authorization": f"Bearer {env('ADMIN_KEY')}"})
    assert status < 300, f"{method} {path}: {status} {answer}"
    return answer


def project_upload(data, name, content_type):
    """Uploads a file to the project (multipart, as a client would); its upload_id."""
    boundary = "sandbox-page-" + os.urandom(8).hex()
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="project_id"\r\n\r\n{env("PROJECT_ID")}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(
        f"{env('API_URL')}/api/v1/uploads",
        data=body,
        method="POST",
        headers={"content-type": f"multipart/form-data; boundary={boundary}", "authorization": f"Bearer {env('ADMIN_KEY')}"},
    )
    with urllib.request.urlopen(req, timeout=30) as answer:
        return json.load(answer)["upload_id"]


def step(text):
    print(f"step: {text}", flush=True)


def chat_id_of(page):
    match = re.search(r"/chat/(-?\d+)$", page.url)
    assert match, f"not a chat URL: {page.url}"
    return int(match.group(1))


def message_row(page, text):
    return page.locator("#messages .row", has_text=text)


def live(page):
    bot = env("BOT_USERNAME")
    page.goto(f"{env('SANDBOX_URL')}/")
    expect(page.locator(".live.on")).to_have_count(1)
    load_id = page.evaluate("window.__loadId")

    step("a new user pastes a connect link made through the API")
    code = project_api(
        "POST",
        "/api/v1/telegram/connect-codes",
        {"project_id": env("PROJECT_ID"), "integration_id": env("INTEGRATION_ID"), "public_user_ref": "oncall:1"},
    )
    page.get_by_role("button", name="New user").click()
    page.get_by_label("First name").fill("Ann")
    page.get_by_label("Open a chat with").select_option(bot)
    page.get_by_role("button", name="Create").click()
    expect(page.locator(".start-button")).to_be_visible()
    user = chat_id_of(page)
    page.locator("#composer").fill(code["deep_link"])
    page.locator("#composer").press("Enter")
    expect(message_row(page, "Connected").locator(".bubble")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(f'#bots [data-chat-id="{user}"]')).to_be_visible()

    step("a photo the project uploads and sends shows as the real picture")
    width, height = 48, 30
    upload_id = project_upload(pngs.gradient(width, height), "chart.png", "image/png")
    project_api(
        "POST",
        "/api/v1/send",
        {
            "project_id": env("PROJECT_ID"),
            "integration_id": env("INTEGRATION_ID"),
            "recipient_ref": "oncall:1",
            "template": "text_message",
            "template_vars": {"text": "Weekly chart"},
            "media": {"type": "photo", "upload_id": upload_id},
            "idempotency_key": "page-photo-1",
        },
    )
    photo = message_row(page, "Weekly chart").locator("img.photo")
    expect(photo).to_be_visible(timeout=WAIT_MS)
    expect(photo).to_have_attribute("src", re.compile(r"^/sandbox/files/"))
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    natural = photo.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
    assert natural == [width, height], f"the photo is not the uploaded picture: {natural}"

    step("an alert raised through the API shows as a card")
    card = {
        "project_id": env("PROJECT_ID"),
        "integration_id": env("INTEGRATION_ID"),
        "recipient_ref": "oncall:1",
        "external_id": "disk-full",
        "title": "Disk full on db-1",
        "severity": "critical",
        "status": "firing",
        "summary": "var at 97%",
        "actions": [{"id": "ack", "label": "Ack"}, {"id": "resolve", "label": "Resolve"}],
        "locale": "en",
    }
    project_api("POST", "/api/v1/alerts/upsert", card)
    card_row = message_row(page, "Disk full on db-1")
    ack = card_row.locator(".kb-button", has_text="Ack")
    expect(ack).to_be_visible(timeout=WAIT_MS)
    expect(card_row.locator(".edited")).to_have_count(0)

    step("Ack pressed on the page: the bot's answer shows as a toast")
    ack.click()
    expect(page.locator(".toast", has_text="Ack")).to_be_visible(timeout=WAIT_MS)

    step("the project acks with a result: the card changes in place")
    poll = f"/api/v1/alerts/actions/poll?project_id={env('PROJECT_ID')}&integration_id={env('INTEGRATION_ID')}&wait_seconds=10"
    actions = project_api("GET", poll)["actions"]
    assert len(actions) == 1 and actions[0]["action"] == "ack", actions
    project_api(
        "POST",
        "/api/v1/alerts/actions/ack",
        {
            "project_id": env("PROJECT_ID"),
            "integration_id": env("INTEGRATION_ID"),
            "action_ids": [actions[0]["action_id"]],
            "result": {"status": "acknowledged", "summary": "taken by the on-call"},
        },
    )
    expect(card_row).to_contain_text("taken by the on-call", timeout=WAIT_MS)
    expect(card_row.locator(".edited")).to_have_count(1)

    step("a forced limit violation shows highlighted")
    answers = [bot_api("sendMessage", {"chat_id": user, "text": f"burst {i}"})[0] for i in range(3)]
    assert 429 in answers, f"no call was refused: {answers}"
    notice = page.locator("#messages .row.notice.violation")
    expect(notice.first).to_be_visible(timeout=WAIT_MS)
    expect(notice.first).to_contain_text("429")
    background = notice.first.locator(".notice-box").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(253, 236, 234)", f"the violation is not highlighted: {background}"
    expect(page.locator(f'#bots [data-bot="{bot}"] .bot-head .violation-badge')).to_be_visible()
    page.get_by_role("link", name="Bot info").click()
    expect(page.locator("tr.violation").first).to_be_visible()
    expect(page.locator("tr.violation").first).to_contain_text("sendMessage")

    assert page.evaluate("window.__loadId") == load_id, "the page was reloaded"


def tab_to(page, selector, limit=80):
    """Presses Tab until the element matching `selector` has the focus; how many presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{limit} presses of Tab never reached {selector}")


def no_horizontal_scroll(page, where):
    widths = page.evaluate(
        """() => ({inner: window.innerWidth, doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,
                   wide: Array.from(document.querySelectorAll('.messages, .bots, .panel-body, .chat, .main'))
                     .filter(el => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
                     .map(el => el.className)})"""
    )
    assert widths["doc"] <= widths["inner"] and widths["body"] <= widths["inner"], f"{where}: scrolls sideways: {widths}"
    assert not widths["wide"], f"{where}: panes scroll sideways: {widths}"


def layout(page):
    bot = env("BOT_USERNAME")
    user = sandbox("/users", {"first_name": "Kim"})["user_id"]
    sandbox(f"/users/{user}/start", {"bot_username": bot})
    status, _ = bot_api(
        "sendMessage",
        {
            "chat_id": user,
            "parse_mode": "HTML",
            "text": '<b>bold</b> <i>italic</i> <code>inline</code> <a href="https://example.com/x">link</a> '
            "<tg-spoiler>secret</tg-spoiler>\n<pre><code class=\"language-sh\">echo block</code></pre>",
            "reply_markup": {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]},
        },
    )
    assert status == 200
    page.goto(f"{env('SANDBOX_URL')}/#/bot/{bot}/chat/{user}")
    expect(page.locator(".live.on")).to_have_count(1)

    step("formatting renders from entities")
    bubble = message_row(page, "bold").locator(".bubble")
    expect(bubble.locator("strong")).to_have_text("bold")
    expect(bubble.locator("em")).to_have_text("italic")
    expect(bubble.locator("code.inline-code")).to_have_text("inline")
    expect(bubble.locator("a")).to_have_attribute("href", "https://example.com/x")
    expect(bubble.locator(".spoiler")).to_have_text("secret")
    expect(bubble.locator("pre code")).to_have_text("echo block")

    step("text that looks like HTML shows literally, from the bot and from the user")
    status, _ = bot_api("sendMessage", {"chat_id": user, "text": XSS})
    assert status == 200
    expect(message_row(page, XSS).locator(".text")).to_have_text(XSS)

    step("Tab reaches the composer and Enter sends")
    page.locator("body").focus()
    tab_to(page, "#composer")
    page.keyboard.type(XSS)
    page.keyboard.press("Enter")
    expect(page.locator("#messages .row.out .text", has_text=XSS)).to_have_text(XSS)
    expect(page.locator("#composer")).to_have_value("")
    expect(page.locator("#composer")).to_be_focused()
    updates = sandbox(f"/bots/{bot}/updates")
    assert any(u.get("message", {}).get("text") == XSS for u in updates), updates
    assert page.locator("#messages img[src='x']").count() == 0, "markup from a message was rendered"
    assert page.evaluate("window.__xss") is None, "script from a message ran"

    step("1280x800: both panes show, side by side")
    page.set_viewport_size({"width": 1280, "height": 800})
    sidebar = page.locator(".sidebar").bounding_box()
    main = page.locator(".main").bounding_box()
    assert sidebar and main and sidebar["width"] > 200 and main["width"] > 600, (sidebar, main)
    assert sidebar["x"] + sidebar["width"] <= main["x"] + 1 and main["x"] + main["width"] <= 1281, (sidebar, main)
    expect(page.locator(f'#bots [data-chat-id="{user}"]')).to_be_visible()
    expect(page.locator("#composer")).to_be_visible()
    no_horizontal_scroll(page, "desktop chat")

    step("390 wide: no horizontal scroll, in the chat, the list and the bot panel")
    sandbox(f"/users/{user}/messages", {"bot_username": bot, "text": "x" * 300 + " https://example.com/" + "y" * 200})
    expect(page.locator("#messages .row.out", has_text="xxxxxxxxxx")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#composer")).to_be_visible()
    no_horizontal_scroll(page, "phone chat")
    page.get_by_role("button", name="Back to chats").click()
    expect(page.locator(f'#bots [data-chat-id="{user}"]')).to_be_visible()
    no_horizontal_scroll(page, "phone list")
    page.locator(f'#bots [data-bot="{bot}"] .bot-head').click()
    expect(page.locator(".bot-panel")).to_be_visible()
    no_horizontal_scroll(page, "phone bot panel")


def main():
    scenario = sys.argv[1] if len(sys.argv) > 1 else ""
    run = {"live": live, "layout": layout}.get(scenario)
    if run is None:
        sys.exit(f"usage: {sys.argv[0]} live|layout")
    expect.set_options(timeout=10_000)
    with sync_playwright() as p:
        browser = chromium.launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            run(page)
            assert not errors, f"the page threw: {errors}"
        except BaseException:
            shot = os.path.join(tempfile.gettempdir(), f"sandbox-page-{scenario}-{os.getpid()}.png")
            page.screenshot(path=shot, full_page=True)
            print(f"screenshot of the failure: {shot}; page errors: {errors}", flush=True)
            raise
        finally:
            browser.close()
    print("ok", flush=True)


if __name__ == "__main__":
    main()
