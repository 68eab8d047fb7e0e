"""The demo report rendered by a real headless Chromium: a screenshot with content, and no page overflow.

CI sets ``FINBOT_BT_REQUIRE_BROWSER=1`` (and installs Debian's ``chromium``), so
there a missing browser fails the test; elsewhere it skips, saying why.
``FINBOT_BT_CHROMIUM`` may name the browser binary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from finbot_bt.runner.demo import run_demo, write_demo_report

PROBE = """<script>
window.addEventListener("load", function () {
  var page = document.documentElement;
  var wraps = Array.prototype.map.call(document.querySelectorAll(".table-wrap"),
                                       function (w) { return [w.scrollWidth, w.clientWidth]; });
  var images = Array.prototype.map.call(document.images, function (i) { return i.getBoundingClientRect().right; });
  var probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({scrollWidth: page.scrollWidth, innerWidth: window.innerWidth,
                                      wraps: wraps, imageRights: images});
  document.body.appendChild(probe);
});
</script>
"""


def _chromium() -> str:
    found = os.environ.get("FINBOT_BT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("FINBOT_BT_REQUIRE_BROWSER") == "1":
        pytest.fail("FINBOT_BT_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium); CI sets FINBOT_BT_REQUIRE_BROWSER=1")


def _browse(html: Path, profile: Path, width: int, *args: str) -> subprocess.CompletedProcess[str]:
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={width},2000", *args,
               html.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    default, realistic = run_demo()
    return Path(write_demo_report(default, realistic, tmp_path_factory.mktemp("report")).html)


def _measure(report: Path, profile: Path, width: int) -> dict[str, object]:
    probe = report.with_name(f"probe-{width}.html")
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _browse(probe, profile, width, "--dump-dom").stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found is not None, dom[-2000:]
    measured: dict[str, object] = json.loads(found.group(1).replace("&quot;", '"'))
    return measured


def test_report_when_shot_in_chromium_then_screenshot_written_and_not_blank(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _browse(report, tmp_path / "profile", 1280, f"--screenshot={shot}")
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    not_white = float((pixels.min(axis=1) < 240).mean())
    assert not_white > 0.05, f"only {not_white:.1%} of the screenshot is drawn"
    assert len(np.unique(pixels, axis=0)) > 200  # text, tables and coloured figures, not a flat page


@pytest.mark.parametrize("width", [1280, 700], ids=["desktop", "narrow"])
def test_report_when_laid_out_then_page_no_wider_than_window(report: Path, tmp_path: Path, width: int) -> None:
    measured = _measure(report, tmp_path / "profile", width)
    inner = measured["innerWidth"]
    assert isinstance(inner, int) and inner == width
    assert measured["scrollWidth"] == inner, measured  # nothing sticks out sideways
    rights = measured["imageRights"]
    assert isinstance(rights, list) and len(rights) == 6 and max(rights) <= inner
    wraps = measured["wraps"]
    assert isinstance(wraps, list) and len(wraps) == 4  # summary, orders, fills, rejections
    if width == 700:  # the orders and fills tables are wider than that: they scroll in their own box
        assert any(scroll > client for scroll, client in wraps), wraps
