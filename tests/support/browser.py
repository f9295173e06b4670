"""Debian's Chromium driven by Playwright (never a downloaded browser: `make test` installs
the chromium package), quiet: no network of its own, no GPU, no first-run pages."""

from playwright.async_api import Browser, Playwright

CHROMIUM = "/usr/bin/chromium"


async def chromium(pw: Playwright) -> Browser:
    return await pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    )  # fmt: skip
