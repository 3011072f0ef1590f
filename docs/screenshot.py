"""Make docs/report-employee.png: an employee report opened in Debian's Chromium with the network
blocked and no CJK system font, the drill-down of 潜在客户及时跟进率 clicked.

    make report
    .venv/bin/python docs/screenshot.py output/2026-10/employees/E00002.html docs/report-employee.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import browser  # noqa: E402


def main(src: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp, browser(Path(tmp)) as s:
        s.page.set_viewport_size({"width": 1100, "height": 1000})
        s.open(src)
        s.page.wait_for_timeout(300)
        links = s.page.locator(".perfkit-drilldown:visible > .perfkit-links button")
        names = [links.nth(i).inner_text() for i in range(links.count())]
        links.nth(next((i for i, n in enumerate(names) if "跟进率" in n), 0)).click()
        s.page.wait_for_timeout(400)
        box = s.page.locator(".jp-Notebook").first.bounding_box()
        s.page.screenshot(path=str(out), full_page=True, clip={
            "x": box["x"], "y": box["y"], "width": min(box["width"], 1100), "height": 1230})
        if s.blocked or s.errors:
            raise SystemExit(f"the page fetched {s.blocked} or raised {s.errors}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
