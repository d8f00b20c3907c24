"""Writes the README's screenshots of the Telegram sandbox page.

    sandbox_screenshots.py --sandbox http://127.0.0.1:PORT --token TOKEN --bot USERNAME --out docs/img

Acts out a small scenario against a bare sandbox whose bot is TOKEN (a user
connects with a deep link, gets an alert card, presses Ack; media, an album
of uploaded charts, formatting, a group, a webhook with a failed delivery
and a limit violation),
then photographs the page with Debian's Chromium (env CHROMIUM) through
Playwright at desktop and phone sizes. Run by `just screenshots`.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import time
import urllib.request

from playwright.sync_api import expect, sync_playwright

# The browser tests' launcher, so both use Chromium the same way.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "browser"))
sys.dont_write_bytecode = True
import chromium  # noqa: E402
import pngs  # noqa: E402


class Sandbox:
    def __init__(self, base, token):
        self.base = base.rstrip("/")
        self.token = token

    def _request(self, url, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            return json.load(error)

    def control(self, path, body=None):
        return self._request(f"{self.base}/sandbox{path}", body)

    def bot(self, method, params):
        answer = self._request(f"{self.base}/bot{self.token}/{method}", params)
        return answer.get("result", answer)

    def upload(self, method, fields, files):
        """A call with a multipart body: `fields` as text (JSON for objects), `files` as {part: (name, bytes)}."""
        boundary = "screenshots-" + os.urandom(8).hex()
        body = b""
        for name, value in fields.items():
            text = value if isinstance(value, str) else json.dumps(value)
            body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n'.encode()
        for part, (file_name, data) in files.items():
            body += (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{part}"; filename="{file_name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode() + data + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            f"{self.base}/bot{self.token}/{method}", data=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)["result"]

    def paced(self, method, params):
        """A call within Telegram's one message a second to a private chat."""
        time.sleep(1.05)
        return self.bot(method, params)


class Hook(http.server.BaseHTTPRequestHandler):
    """A webhook that fails its second request, so the log shows a retry."""

    count = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        Hook.count += 1
        self.send_response(500 if Hook.count == 2 else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


def scenario(sb, bot):
    sb.bot(
        "setMyCommands",
        {
            "commands": [
                {"command": "start", "description": "Connect this chat"},
                {"command": "status", "description": "Open incidents"},
                {"command": "stop", "description": "Stop notifications"},
            ]
        },
    )
    ann = sb.control("/users", {"first_name": "Ann", "last_name": "Lee", "username": "ann_oncall"})["user_id"]
    bob = sb.control("/users", {"first_name": "Bob"})["user_id"]
    sb.control(f"/users/{ann}/start", {"bot_username": bot, "payload": "c_7f3a9e"})
    sb.bot(
        "sendMessage",
        {
            "chat_id": ann,
            "parse_mode": "HTML",
            "text": "<b>Connected</b> to <i>Acme Monitoring</i>.\nYou will get alerts for <code>oncall:1</code> here. "
            "Send /stop to unsubscribe.",
        },
    )
    # Real pictures, uploaded as a bot uploads its charts, so the page shows them.
    time.sleep(1.05)
    sb.upload(
        "sendMediaGroup",
        {
            "chat_id": ann,
            "media": [
                {"type": "photo", "media": "attach://disk", "caption": "Disk usage, last 6 h"},
                {"type": "photo", "media": "attach://iops"},
            ],
        },
        {
            "disk": ("disk.png", pngs.area_chart(640, 400, pngs.wave(24, 0.6, 0.18, 0.0), (51, 144, 236))),
            "iops": ("iops.png", pngs.area_chart(640, 400, pngs.wave(24, 0.4, 0.22, 1.7), (229, 115, 60))),
        },
    )
    sb.paced(
        "sendDocument",
        {"chat_id": ann, "document": "https://reports.example/db-1-incident.pdf", "caption": "Incident report"},
    )
    sb.paced(
        "sendMessage",
        {
            "chat_id": ann,
            "parse_mode": "MarkdownV2",
            "text": "*Resolved* after 14 min\\. Root cause: ||a forgotten debug log||\n```sh\ndu -sh /var/log/*\n```"
            "\n[Postmortem](https://wiki.example/pm/42)",
        },
    )
    card = sb.paced(
        "sendMessage",
        {
            "chat_id": ann,
            "parse_mode": "HTML",
            "text": "<b>CRITICAL · Disk full on db-1</b>\n/var is at 97%\n\n<b>Host:</b> db-1\n<b>Since:</b> 14:02 UTC",
            "reply_markup": {
                "inline_keyboard": [
                    [{"text": "Ack", "callback_data": "alr_1:0"}, {"text": "Resolve", "callback_data": "alr_1:1"}],
                    [{"text": "Runbook", "url": "https://runbooks.example/disk"}],
                ]
            },
        },
    )
    pressed = sb.control(
        f"/users/{ann}/callbacks",
        {"bot_username": bot, "chat_id": ann, "message_id": card["message_id"], "callback_data": "alr_1:0"},
    )
    sb.bot("answerCallbackQuery", {"callback_query_id": pressed["callback_query_id"], "text": "✓ Ack: sent"})
    sb.paced(
        "editMessageText",
        {
            "chat_id": ann,
            "message_id": card["message_id"],
            "parse_mode": "HTML",
            "text": "<b>ACKNOWLEDGED · Disk full on db-1</b>\n/var is at 97%\n\n<b>Host:</b> db-1\n"
            "<i>taken by the on-call (Ann)</i>",
            "reply_markup": {
                "inline_keyboard": [
                    [{"text": "Resolve", "callback_data": "alr_1:1"}],
                    [{"text": "Runbook", "url": "https://runbooks.example/disk"}],
                ]
            },
        },
    )
    sb.control(
        f"/users/{ann}/messages",
        {"bot_username": bot, "text": "Looking at it now", "reply_to_message_id": card["message_id"]},
    )
    group = sb.control("/groups", {"title": "Ops team", "members": [ann, bob]})["chat_id"]
    sb.control(f"/groups/{group}/bots", {"bot_username": bot, "from_user_id": ann, "start_payload": "g_51c2"})
    sb.bot("sendMessage", {"chat_id": group, "text": "This group now gets alerts for ops:team"})
    sb.control(f"/groups/{group}/messages", {"from_user_id": bob, "text": "Nice, thanks!"})
    sb.control(f"/users/{bob}/start", {"bot_username": bot})
    sb.bot("sendMessage", {"chat_id": bob, "text": "Hello Bob!"})
    sb.bot("sendMessage", {"chat_id": bob, "text": "Too fast"})  # refused: one a second per chat
    return ann, card["message_id"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--bot", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sb = Sandbox(args.sandbox, args.token)

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    ann, card = scenario(sb, args.bot)

    with sync_playwright() as p:
        browser = chromium.launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
        page.goto(f"{sb.base}/#/bot/{args.bot}/chat/{ann}")
        expect(page.locator(".live.on")).to_have_count(1)
        # Resolve pressed on the page; the bot answers, the toast shows.
        page.locator(f'[data-message-id="{card}"] .kb-button', has_text="Resolve").click()
        query = None
        for _ in range(200):
            pending = sb.control(f"/bots/{args.bot}/updates")
            query = next((u["callback_query"]["id"] for u in reversed(pending) if "callback_query" in u and u["callback_query"]["data"] == "alr_1:1"), None)
            if query:
                break
            time.sleep(0.05)
        sb.bot("answerCallbackQuery", {"callback_query_id": query, "text": "Resolving: the check runs again"})
        expect(page.locator(".toast")).to_be_visible()
        page.mouse.move(1100, 300)
        page.screenshot(path=os.path.join(args.out, "sandbox-chat.png"), animations="disabled")
        sb.bot("setWebhook", {"url": f"http://127.0.0.1:{hook.server_address[1]}/hook"})

        page.goto(f"{sb.base}/#/bot/{args.bot}")
        expect(page.locator("tr.violation")).to_have_count(1)
        expect(page.locator("td", has_text="retry 1")).to_have_count(1)
        page.screenshot(path=os.path.join(args.out, "sandbox-bot.png"), animations="disabled")

        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        phone.goto(f"{sb.base}/#/bot/{args.bot}/chat/{ann}")
        expect(phone.locator(".row", has_text="Looking at it now")).to_be_visible()
        # The phone shows the album of uploaded charts, as the pictures themselves.
        album = phone.locator(".bubble.album").first
        album.evaluate("(el) => el.scrollIntoView({block: 'start'})")
        phone.wait_for_function("() => [...document.querySelectorAll('.album img.real-photo')].every((i) => i.complete && i.naturalWidth > 0)")
        expect(album.locator("img.real-photo")).to_have_count(2)
        phone.screenshot(path=os.path.join(args.out, "sandbox-phone.png"), animations="disabled")
        browser.close()
    hook.shutdown()
    print(f"wrote {args.out}/sandbox-chat.png, sandbox-bot.png, sandbox-phone.png")


if __name__ == "__main__":
    main()
