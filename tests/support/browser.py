"""Debian's Chromium driven by Playwright (never a downloaded browser: `make test` installs
the chromium package), quiet: no network of its own, no GPU, no first-run pages."""

from playwright.async_api import Browser, ConsoleMessage, Page, Playwright

CHROMIUM = "/usr/bin/chromium"


async def chromium(pw: Playwright) -> Browser:
    return await pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    )  # fmt: skip


def policy_violations(page: Page) -> list[str]:
    """The Content-Security-Policy violations Chromium reports on ``page`` from now on (in its
    console: "Refused to execute inline script because it violates ..."), as they come."""
    found: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", seen)
    return found
