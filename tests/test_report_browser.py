"""The HTML report in a real browser (Debian's chromium, driven by Playwright).

Checks what a reader would meet: no console error, every section there, every
image decoded, nothing fetched but the file itself, and a page that fits a
phone's width. Screenshots land in test-artifacts/ for a human to look at.

Without /usr/bin/chromium the test is skipped, except in CI (the CI variable
set), where the browser is part of the environment and its absence fails.
"""

from pathlib import Path

import pytest

from nablanet.viz.report import SECTIONS, write_report

from .test_report import digits_report_file  # noqa: F401  (a session fixture, shared)

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def visit(browser, path, **context_options):
    """Open ``path``; return the page and what it did: requests made, console errors."""
    url = path.resolve().as_uri()
    context = browser.new_context(**context_options)
    seen = {"requests": [], "errors": []}

    def route(r):  # anything but the report itself is recorded and refused
        seen["requests"].append(r.request.url)
        r.continue_() if r.request.url == url else r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", lambda req: seen["requests"].append(req.url))
    page.on("console", lambda msg: msg.type == "error" and seen["errors"].append(msg.text))
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.goto(url, wait_until="load")
    seen["external"] = sorted({u for u in seen["requests"] if u != url and not u.startswith("data:")})
    return page, seen


def decoded_images(page):
    """(alt, naturalWidth, naturalHeight) of every image, after the browser decoded it."""
    return page.evaluate(
        """() => Promise.all([...document.images].map(img => img.decode().then(
               () => [img.alt, img.naturalWidth, img.naturalHeight],
               () => [img.alt, 0, 0])))"""
    )


def section_ids(page):
    return page.locator("section").evaluate_all("els => els.map(e => e.id)")


@pytest.fixture(scope="module")
def report(digits_report_file):  # noqa: F811
    return digits_report_file[0]


def test_report_in_chromium_on_a_laptop(browser, report):
    page, seen = visit(browser, report, **DESKTOP)
    assert seen["errors"] == []
    assert seen["external"] == []
    assert section_ids(page) == [sid for sid, _ in SECTIONS]
    for sid, title in SECTIONS:
        assert page.locator(f"#{sid} h2").inner_text() == title
    images = decoded_images(page)
    assert len(images) == 11  # 3 history plots, 3 + 3 layer histograms, confusion, misclassified
    assert all(w > 0 and h > 0 for _, w, h in images), [alt for alt, w, _ in images if not w]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report-desktop.png", full_page=True)
    page.context.close()


def test_report_fits_a_phone(browser, report):
    page, seen = visit(browser, report, **PHONE)
    assert seen["errors"] == [] and seen["external"] == []
    width = page.evaluate("() => window.innerWidth")
    assert width == 390  # the viewport meta tag is honoured: no 980 px desktop layout
    # The page itself never scrolls sideways (wide tables scroll inside their own box),
    # and no image is wider than the screen.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    widths = page.locator("img").evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert widths and max(widths) <= width
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report-phone.png", full_page=True)
    page.context.close()


def test_report_without_history_in_chromium(browser, tmp_path):
    import nablanet as nn

    path = write_report(
        tmp_path / "bare.html", net=nn.Network([4, 3, 2], seed=0, preset="nielsen"), history=None, config=None
    )
    page, seen = visit(browser, path, **DESKTOP)
    assert seen["errors"] == [] and seen["external"] == []
    assert section_ids(page) == [sid for sid, _ in SECTIONS]
    assert "not recorded" in page.locator("#curves").inner_text()
    assert all(w > 0 for _, w, _ in decoded_images(page))
    page.context.close()


def test_the_checks_catch_an_external_request_and_a_broken_image(browser, tmp_path):
    # The detector itself must work, or the tests above prove nothing.
    path = tmp_path / "bad.html"
    path.write_text(
        '<!DOCTYPE html><img alt="remote" src="http://example.invalid/x.png">'
        '<img alt="broken" src="data:image/png;base64,AAAA">'
    )
    page, seen = visit(browser, path, **DESKTOP)
    assert seen["external"] == ["http://example.invalid/x.png"]
    assert decoded_images(page) == [["remote", 0, 0], ["broken", 0, 0]]
    page.context.close()
