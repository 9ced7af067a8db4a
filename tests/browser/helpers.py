"""Helpers for browser tests."""

from __future__ import annotations

from pathlib import Path

from scripts.processes import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def screenshot(page, name: str) -> Path:
    """A full-page PNG of `page` in test-artifacts/, to look at after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
