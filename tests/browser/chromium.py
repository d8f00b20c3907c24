"""Debian's Chromium for Playwright, launched one way for the browser tests
and the screenshots: env CHROMIUM, else /usr/bin/chromium (installed by
scripts/bootstrap.sh; Playwright never downloads a browser).
"""

import os

# Headless in a container: no sandboxing (no user namespaces), no GPU, and
# nothing that calls out to Google's services while a page is tested.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright):
    """A headless Chromium browser of `playwright` (a started sync_playwright())."""
    return playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM") or "/usr/bin/chromium", args=ARGS)
