"""The batch report: the HTML is well formed and escaped, its PNG plots exist and have sizes, and
(where headless Chromium is installed, as in CI) the page renders to a non-blank screenshot."""

from __future__ import annotations

import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from autograder.batch.gradebook import FAILED, GRADED, NOT_GRADABLE, PENDING, Row, csv_text
from autograder.batch.inputs import Entry, Submitter
from autograder.batch.report import PLOTS, PartInfo, ReportContext, write_report

PARTS = [PartInfo("kl_divergence", 8.0), PartInfo("policy_kl", 10.0), PartInfo("npg_direction", 8.0)]
EVIL = "<script>alert('x')</script>"


def summary(kl: float, policy: float, npg: float, mistakes: list[str], seconds: float) -> dict:
    parts = [["kl_divergence", kl, 8.0], ["policy_kl", policy, 10.0], ["npg_direction", npg, 8.0]]
    return {"score": kl + policy + npg, "max_score": 26.0, "parts": parts, "checks": 10, "checks_passed": 5,
            "mistakes": mistakes, "seconds": seconds, "isolation": "bwrap", "error": None}


def rows() -> list[Row]:
    return [
        Row(Entry("101", "x", [Submitter("Ada", "1", "ada@x.edu"), Submitter("Bob", "2", "bob@x.edu")]), GRADED,
            summary(8.0, 10.0, 8.0, [], 0.41)),
        Row(Entry("102", "x", [Submitter(EVIL, "=HYPERLINK(1)", "c@x.edu")]), GRADED,
            summary(2.0, 0.0, 8.0, ["mu0_state_weights", "reversed_kl"], 1.9)),
        Row(Entry("103", "x", [Submitter("Dan")]), GRADED, summary(0.0, 5.0, 0.0, ["reversed_kl"], 0.8)),
        Row(Entry("104", "x", [Submitter("Eve")]), NOT_GRADABLE, error="no .py files <found>"),
        Row(Entry("105", "x", []), FAILED, error="the grader's worker process was killed by SIGKILL"),
        Row(Entry("106", "x", [Submitter("Fay")]), PENDING, error="not graded yet"),
    ]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []
        self.tables = 0

    VOID = {"meta", "img", "br", "link"}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
            assert attrs.get("alt"), "every plot has alt text"
        if tag == "a":
            self.links.append(attrs["href"])
        if tag == "table":
            self.tables += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def report(tmp_path: Path) -> Path:
    context = ReportContext("Batch report", "class.zip", "gradescope export", "bwrap", notes=["a <note>"])
    return write_report(tmp_path, rows(), PARTS, context)


def test_report_html_is_well_formed_and_escaped(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert html.startswith("<!DOCTYPE html>")
    assert EVIL not in html and "&lt;script&gt;" in html  # a student's name is text, not markup
    assert "a <note>" not in html and "no .py files &lt;found&gt;" in html
    text = " ".join(parser.text)
    for expected in ("6 (7 students)", "reversed KL", "Needs attention", "pending", "not gradable", "failed"):
        assert expected in text, expected
    assert sorted(parser.images) == sorted(f"report/{name}" for name in PLOTS)
    assert "results/101.json" in parser.links
    assert parser.tables >= 4


def test_report_plots_are_pngs_of_sensible_size(report: Path) -> None:
    for name in PLOTS:
        width, height = png_size(report.parent / "report" / name)
        assert 500 <= width <= 1200 and 100 <= height <= 1200, (name, width, height)
    assert not list((report.parent / "report").glob(".*.tmp"))


def test_report_with_nothing_graded_still_has_every_plot(tmp_path: Path) -> None:
    context = ReportContext("Batch report", "class", "folder", "none")
    path = write_report(tmp_path, [Row(Entry("1", "x"), PENDING)], PARTS, context)
    for name in PLOTS:
        png_size(tmp_path / "report" / name)
    assert "Pending" in path.read_text()


def test_gradebook_csv_rows_and_formula_guard() -> None:
    text = csv_text(rows(), [p.name for p in PARTS])
    lines = text.splitlines()
    assert lines[0] == ("submission_id,input_name,name,sid,email,total,raw_total,late_hours,late_penalty,"
                        "kl_divergence,policy_kl,npg_direction,"
                        "status,error,mistakes,seconds")
    assert len(lines) == 1 + 7  # the group submission 101 gives two rows
    assert lines[1].startswith("101,,Ada,1,ada@x.edu,26,26,,,8,10,8,graded")
    assert lines[2].startswith("101,,Bob,2,bob@x.edu,26,26,,,8,10,8,graded")
    assert ",'=HYPERLINK(1)," in lines[3] and "mu0_state_weights;reversed_kl" in lines[3]
    assert lines[5].startswith("104,,Eve,,,0,0,,,0,0,0,not gradable,no .py files <found>")
    assert lines[6].startswith("105,,,,,,,,,,,,failed,")  # no grade: empty, not 0
    assert lines[7].startswith("106,,Fay,,,,,,,,,,pending,")


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,2400",
           f"--screenshot={shot}", report.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, cwd=tmp_path, check=False)
    assert shot.exists(), "chromium wrote no screenshot"
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2400)
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 100, "the page rendered blank"
    # The score histogram's blue bars (#4c72b0) made it onto the page: the images loaded offline.
    pixels = np.asarray(image, dtype=int)
    blue = np.all(np.abs(pixels - np.array([0x4C, 0x72, 0xB0])) < 24, axis=-1)
    assert blue.sum() > 500
