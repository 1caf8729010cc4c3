"""Dashboard speed: from picking a record to the 12-lead view drawn in a real browser, and the page's data size.

Starts ``streamlit run streamlit_app.py`` on 127.0.0.1, drives Debian's chromium with Playwright, and measures,
on a warm server (one record opened first, so imports and dataset indexes are loaded), for records it has not
opened yet:

* pick: choosing a record in the Record page's picker until its input check panel is shown;
* open: clicking "Open the 12-lead view" until plotly has drawn the 12-lead chart of that record;
* pick + open: the sum, i.e. the machine's share of "from picking a record to the 12-lead view drawn", with the
  click on the link as soon as the panel shows, and again after a 1-s pause (a reader glancing at the input
  check: the Record page builds the 12-lead view meanwhile);
* link: a fresh browser session opening ``/ECG?dataset=ptbxl&record=N`` until the chart is drawn;
* redraw: changing the gain (a fragment rerun) until the chart is redrawn;

and the websocket bytes the browser receives to show the 12-lead page of a 10-s 500 Hz record, per layout.

Usage::

    python benchmarks/dashboard_speed.py --data-dir ../shared/data --repeats 5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from harness import CHROMIUM, CHROMIUM_ARGS, REPO, pick, print_timings, running_app

# Drawn: plotly holds the figure of this record (its uirevision names it) and has put the traces on the page.
DRAWN = """([record, revision]) => {
    const gd = document.querySelector('.js-plotly-plot');
    return !!gd && !!gd.layout && String(gd.layout.uirevision).includes(record)
        && (!revision || String(gd.layout.uirevision) === revision)
        && gd.data.length >= 13 && gd.querySelectorAll('.scatterlayer .trace').length >= 13;
}"""


class Frames:
    """Counts the websocket bytes a page receives."""

    def __init__(self, page) -> None:
        self.bytes = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._add))

    def _add(self, payload) -> None:
        self.bytes += len(payload.encode() if isinstance(payload, str) else payload)


def drawn(page, record_id: str, revision: str | None = None, timeout: float = 30_000) -> None:
    page.wait_for_function(DRAWN, arg=[record_id, revision], timeout=timeout, polling="raf")


def open_view(page, ecg_id: int) -> float:
    start = time.perf_counter()
    page.get_by_role("link", name="Open the 12-lead view").click()
    drawn(page, f"/{ecg_id:05d}/")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--first-id", type=int, default=2, help="records first-id .. first-id + 4 * repeats are used")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    ids = iter(range(args.first_id, args.first_id + 4 * args.repeats + 2))
    results: dict[str, list[float]] = {
        "pick": [], "open": [], "pick + open": [], "open, 1 s after the pick": [], "pick + open, 1 s pause": [],
        "link": [], "redraw": [],
    }
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        with running_app(Path(args.data_dir), Path(tmp) / "server.log") as url:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}/Record")
                warm = next(ids)
                pick(page, warm)
                open_view(page, warm)  # warm-up: imports, the PTB-XL index, plotly.js in the browser cache
                for _ in range(args.repeats):
                    ecg_id = next(ids)
                    page.get_by_role("link", name="Record", exact=True).click()
                    t_pick = pick(page, ecg_id)
                    t_open = open_view(page, ecg_id)
                    results["pick"].append(t_pick)
                    results["open"].append(t_open)
                    results["pick + open"].append(t_pick + t_open)
                    start = time.perf_counter()
                    page.get_by_role("radio", name="20", exact=True).click()
                    drawn(page, f"/{ecg_id:05d}/", revision=f"ptbxl/{ecg_id:05d}/3x4/20/25/0/native")
                    results["redraw"].append(time.perf_counter() - start)
                    page.get_by_role("radio", name="10", exact=True).click()
                    drawn(page, f"/{ecg_id:05d}/", revision=f"ptbxl/{ecg_id:05d}/3x4/10/25/0/native")
                for _ in range(args.repeats):
                    ecg_id = next(ids)
                    page.get_by_role("link", name="Record", exact=True).click()
                    t_pick = pick(page, ecg_id)
                    page.wait_for_timeout(1000)
                    t_open = open_view(page, ecg_id)
                    results["open, 1 s after the pick"].append(t_open)
                    results["pick + open, 1 s pause"].append(t_pick + t_open)
                for _ in range(args.repeats):
                    ecg_id = next(ids)
                    fresh = browser.new_page(viewport={"width": 1400, "height": 1000})
                    start = time.perf_counter()
                    fresh.goto(f"{url}/ECG?dataset=ptbxl&record={ecg_id}")
                    drawn(fresh, f"/{ecg_id:05d}/")
                    results["link"].append(time.perf_counter() - start)
                    fresh.close()
                for layout, query in (("3x4", "layout=3x4"), ("12x1", "layout=12x1")):
                    fresh = browser.new_page(viewport={"width": 1400, "height": 1000})
                    frames = Frames(fresh)
                    fresh.goto(f"{url}/ECG?dataset=ptbxl&record={args.first_id}&{query}")
                    drawn(fresh, f"/{args.first_id:05d}/{layout}")
                    fresh.wait_for_timeout(1000)  # let the rest of the page (measurement table) arrive
                    sizes[f"12-lead page, {layout}"] = frames.bytes
                    if layout == "12x1":
                        before = frames.bytes
                        fresh.get_by_role("combobox", name="Model input (100 Hz)").click()
                        fresh.get_by_role("option", name="row under each lead").click()
                        drawn(fresh, f"/{args.first_id:05d}/12x1", revision=None)
                        fresh.wait_for_function("() => document.querySelector('.js-plotly-plot')?.data?.length >= 25")
                        fresh.wait_for_timeout(500)
                        sizes["switch to 12x1 + 100 Hz rows (fragment rerun)"] = frames.bytes - before
                    fresh.close()
                browser.close()

    print(f"PTB-XL records at 500 Hz, 10 s (ecg_id {args.first_id}-{args.first_id + 4 * args.repeats + 1}), "
          f"data root {args.data_dir}; {args.repeats} repeats, warm server, chromium {CHROMIUM}")
    print_timings("step", results)
    print("\n| page data (websocket bytes received) | MB |\n|---|---|")
    for name, size in sizes.items():
        print(f"| {name} | {size / 1e6:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
