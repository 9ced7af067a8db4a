"""Helpers for browser tests."""

from __future__ import annotations

from pathlib import Path

from scripts.processes import ROOT

ARTIFACTS = ROOT / "test-artifacts"
LAYOUT_JS = (Path(__file__).parent / "layout.js").read_text()
# The widths every screen is looked at: a desktop and a phone (390 px, a current iPhone's CSS width).
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def screenshot(page, name: str) -> Path:
    """A full-page PNG of `page` in test-artifacts/, to look at after a run."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line per rule and
    element. axe-core comes inside the axe-playwright-python wheel (pip, no network at test time)."""
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]  # no type information

    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(map(str, node['target']))}: {node['html'][:160]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
        for node in v["nodes"]
    ]


def layout_problems(page) -> list[str]:
    """What a person on a phone must never meet (tests/browser/layout.js): the page wider than the
    screen, a card or control past its edge, a figure cut off, scrolled out of sight or wrapped."""
    return page.evaluate(LAYOUT_JS)
