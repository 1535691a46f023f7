"""Debian's chromium as the browser tests and bench_gds drive it (Playwright's
own browser download cannot run here): the binary and its headless flags."""

CHROMIUM = "/usr/bin/chromium"
# No background traffic: on a closed network chromium's own connections are
# refused at every start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
