"""Opening a Snakemake HTML report in headless Chromium (Debian's package, driven by Playwright).

Used by the workflow test on the report of its tiny run. Chromium is started without a sandbox
(CI runs as root), a GPU or background networking (the machine has no network; without these
flags Chromium keeps trying to reach Google's hosts). Screenshots go to the folder the test
gives (under pytest's temporary folder), and their paths are printed, so a reader can look at them.

What a reader must be able to do is checked in the window a researcher uses (1400 x 1000):
``reachable`` (the shown page or figure starts inside the window, not above or left of it, and
its end can be scrolled to), ``frame_layout`` (an HTML result: no sideways scrolling, every table
with rows), ``BROKEN_IMAGES_SCRIPT`` (every image of the report decodes).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

VIEWPORT = {"width": 1400, "height": 1000}
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
            page = browser.new_page(viewport=VIEWPORT)
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


def screenshot(page, folder: Path, name: str) -> Path:
    """The window as a reader sees it, as ``folder/name.png``; the path is printed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


# Snakemake's main panel (the part right of the menu that shows the landing text or a result):
# where the shown content starts and whether its end can be scrolled into the window.
REACHABLE_SCRIPT = """
() => {
  const panel = document.querySelector("#app div.h-screen.overflow-auto.justify-center");
  const content = panel.firstElementChild;
  panel.scrollTop = 0;
  panel.scrollLeft = 0;
  const box = panel.getBoundingClientRect(), start = content.getBoundingClientRect();
  panel.scrollTop = panel.scrollHeight;
  const end = content.getBoundingClientRect(), after = panel.getBoundingClientRect();
  panel.scrollTop = 0;
  return {
    above: box.top - start.top,
    left_of: box.left - start.left,
    below_at_end: end.bottom - after.bottom,
    height: start.height,
  };
}
"""


def reachable(page) -> dict[str, float]:
    """The shown content's overhangs in pixels (above and left of the panel at the start, below
    it when scrolled to the end): all <= 0 when a reader can reach every part of it."""
    return page.evaluate(REACHABLE_SCRIPT)


def assert_reachable(page, what: str) -> None:
    overhang = reachable(page)
    assert overhang["height"] > 0, f"{what}: nothing shown"
    assert overhang["above"] <= 1 and overhang["left_of"] <= 1, (
        f"{what}: cut off at the top or left {overhang}"
    )
    assert overhang["below_at_end"] <= 1, f"{what}: its end cannot be scrolled to {overhang}"


FRAME_LAYOUT_SCRIPT = """
() => {
  const page = document.scrollingElement;
  return {
    sideways: page.scrollWidth - page.clientWidth,
    tables: Array.from(document.querySelectorAll("table")).map(
      (table) => ({rows: table.tBodies.length ? table.tBodies[0].rows.length : 0,
                   height: table.getBoundingClientRect().height})),
  };
}
"""


def assert_frame_layout(frame, what: str) -> int:
    """An HTML result: no sideways scrolling, at least one table, every table with visible rows;
    returns the number of tables."""
    frame.locator("body").wait_for()
    layout = frame.evaluate(FRAME_LAYOUT_SCRIPT)
    assert layout["sideways"] <= 0, f"{what}: needs {layout['sideways']} px of sideways scrolling"
    assert layout["tables"], f"{what}: no table"
    assert all(t["rows"] > 0 and t["height"] > 0 for t in layout["tables"]), f"{what}: {layout['tables']}"
    return len(layout["tables"])
