#!/usr/bin/env python
"""Write docs/labeler-page.png: the labeler page with demo data, in headless Chromium.

Runs the screenshot test of tests/e2e/test_label_browser.py (a live server, a labeler who has
ranked, tied, scored and flagged a demo task) with SCREENSHOT_DIR pointing at the output folder.

Usage: .venv/bin/python scripts/screenshot_labeler.py [OUTPUT_DIR]   (default: docs/)
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/e2e/test_label_browser.py::test_screenshot"


def main(argv: list[str]) -> int:
    out = Path(argv[1]).resolve() if len(argv) > 1 else ROOT / "docs"
    png = out / "labeler-page.png"
    before = png.stat().st_mtime if png.exists() else None
    env = dict(os.environ, SCREENSHOT_DIR=str(out))
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-rs", TEST], cwd=ROOT, env=env)
    if code != 0:
        return code
    if not png.exists() or png.stat().st_mtime == before:
        print("no screenshot written (is Chromium installed? see the skip reason above)", file=sys.stderr)
        return 1
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
