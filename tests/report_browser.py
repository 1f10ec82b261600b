"""Opening a Snakemake HTML report in headless Chromium (Debian's package, driven by Playwright).

Used by the workflow test on the report of its tiny run. Chromium is started without a sandbox
(CI runs as root), a GPU or background networking (the machine has no network; without these
flags Chromium keeps trying to reach Google's hosts). Screenshots go to ``test-artifacts/report``
at the repository root, where a reader (or CI) can look at them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "report"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Loads every image of the report (all are embedded as data URIs) into an <img> and reports the
# ones that fail to decode or come out empty.
BROKEN_IMAGES_SCRIPT = """
async () => {
  const images = Object.entries(results).filter(([, entry]) => entry.mime_type.startsWith("image/"));
  const broken = [];
  await Promise.all(images.map(([path, entry]) => new Promise((resolve) => {
    const image = new Image();
    image.onload = () => {
      if (!(image.naturalWidth > 0 && image.naturalHeight > 0)) broken.push(path);
      resolve();
    };
    image.onerror = () => { broken.push(path); resolve(); };
    image.src = entry.data_uri;
  })));
  return {checked: images.map(([path]) => path), broken: broken};
}
"""


def chromium() -> str:
    """Chromium's path; skips the test where it is missing, unless CI requires it."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("BIODL_REQUIRE_BROWSER"):
            pytest.fail(
                "chromium is not installed but BIODL_REQUIRE_BROWSER is set (make browser installs it)"
            )
        pytest.skip("chromium is not installed (make browser installs it)")
    return path


@contextmanager
def report_page(report: Path) -> Iterator[object]:
    """A Playwright page showing ``report``; console errors are collected in ``page.errors``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.errors = []
            page.on(
                "console",
                lambda message: page.errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error: page.errors.append(str(error)))
            page.goto(report.resolve().as_uri())
            page.get_by_role("link", name="Statistics").wait_for()
            yield page
        finally:
            browser.close()


def open_menu(page, *names: str) -> None:
    """Follow the menu from its top: a category (a dataset, or Summary), then a subcategory (a model)."""
    breadcrumb = page.get_by_role("link", name="Results", exact=True)
    if breadcrumb.count():
        breadcrumb.click()
    for name in names:
        page.get_by_role("link", name=name, exact=True).click()


def show_result(page, label: str):
    """Click the eye of the result whose row shows ``label``; return the row's locator."""
    row = page.get_by_role("row").filter(has_text=label).first
    row.locator("a[iconname=eye]").click()
    return row


def shown_image(page):
    """The image result shown in the main panel, once it has loaded."""
    image = page.locator("div.p-3 > img").first
    image.wait_for()
    page.wait_for_function("image => image.complete", arg=image.element_handle())
    return image


def shown_frame(page):
    """The frame of the HTML result shown in the main panel."""
    page.locator("iframe").first.wait_for()
    return page.frames[-1]


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
