"""Diagnosis speed: from picking a record to its diagnosis and its attention drawn in a real browser.

Starts ``streamlit run streamlit_app.py`` on 127.0.0.1 with the weights of ``--weights-dir`` and drives Debian's
chromium with Playwright. One record goes through the whole flow first (imports, the PTB-XL index, the model,
plotly.js in the browser cache): the server is warm. Then, for records it has not opened yet:

* pick: choosing a record in the Record page's picker until its input check shows;
* diagnosis: clicking "Diagnosis" in the sidebar until the class table and the probability chart are drawn;
* attention: clicking "Attention" until the 12-lead sheet with both attention bands is drawn (the figure's
  ``uirevision`` names the record) -- the attribution below it is computed after that and not counted;
* attention direct: another new record's Attention page opened straight after the pick (it shows the model's
  positive classes above the sheet, so diagnosis and attention are drawn on one page);
* with reading pauses: a third record, 1 s spent on each page before the next click (not counted), as a reader
  would; the Record page builds the 12-lead view and the Diagnosis page the attention sheet meanwhile;

and the sums pick + diagnosis, pick + diagnosis + attention and pick + attention direct (the target: at most 1.5 s
warm). The Diagnosis page builds the attention sheet after drawing itself, so the Attention page after it only sends
it. The server's own share is printed too: the same steps with AppTest (no browser, no websocket).

Usage::

    python benchmarks/diagnosis_speed.py --data-dir ../shared/data --weights-dir weights --repeats 5
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from harness import CHROMIUM, CHROMIUM_ARGS, REPO, pick, print_timings, running_app

DIAGNOSIS_DRAWN = """(record) => [...document.querySelectorAll('h3')].some(h => h.innerText.startsWith(record))
    && document.querySelectorAll('[data-testid=stDataFrame]').length === 1
    && [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd.data
        && gd.data.map(t => t.name).join() === 'fused,HR,LR,threshold'
        && gd.querySelectorAll('.barlayer .trace').length >= 3)"""
ATTENTION_DRAWN = """(revision) => [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd.data && gd.layout
    && String(gd.layout.uirevision).includes(revision)
    && gd.data.filter(t => t.type === 'heatmap').length === 2
    && gd.querySelectorAll('.heatmaplayer image').length >= 2
    && gd.querySelectorAll('.scatterlayer .trace').length >= 13)"""


def open_page(page, name: str, check: str, arg: str) -> float:
    start = time.perf_counter()
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_function(check, arg=arg, timeout=60_000, polling="raf")
    return time.perf_counter() - start


def server_share(data_dir: Path, weights_dir: Path, ids: list[int]) -> dict[str, list[float]]:
    """The same steps with AppTest: the server's own work per page run (warm, new records)."""
    os.environ.update(MRM_DATA_DIR=str(data_dir), MRM_WEIGHTS_DIR=str(weights_dir))
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=120)
    at.query_params.update(dataset="ptbxl", record=str(ids[0]))
    at.run()
    for page in ("pages/3_Diagnosis.py", "pages/4_Attention.py"):
        at.switch_page(page).run()
    out: dict[str, list[float]] = {"Diagnosis page run (with the attention sheet built after it)": [],
                                   "Attention page run after it (sheet sent, agreement)": []}
    for ecg_id in ids[1:]:
        at.switch_page("pages/1_Record.py").run()
        at.session_state["view"] = at.session_state["view"].choose("ptbxl", str(ecg_id))
        for page, key in zip(("pages/3_Diagnosis.py", "pages/4_Attention.py"), out, strict=True):
            start = time.perf_counter()
            at.switch_page(page).run()
            out[key].append(time.perf_counter() - start)
            assert not at.exception, [e.value for e in at.exception]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--weights-dir", default=str(REPO / "weights"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--first-id", type=int, default=40, help="records first-id, first-id + 1, ... are used")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    ids = list(range(args.first_id, args.first_id + 3 * args.repeats + 1))
    results: dict[str, list[float]] = {
        "pick": [], "diagnosis": [], "attention": [], "pick + diagnosis": [], "pick + diagnosis + attention": [],
        "attention direct (after the pick)": [], "pick + attention direct": [],
        "pick + diagnosis + attention, 1 s reading pauses (not counted)": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        with running_app(Path(args.data_dir), Path(tmp) / "server.log", Path(args.weights_dir)) as url:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}/Record")
                for i in range(args.repeats + 1):
                    ecg_id = ids[0] if i == 0 else ids[3 * i - 2]
                    if i:
                        page.get_by_role("link", name="Record", exact=True).click()
                    t_pick = pick(page, ecg_id, timeout_ms=60_000)
                    t_diag = open_page(page, "Diagnosis", DIAGNOSIS_DRAWN, f"PTB-XL ecg_id {ecg_id} ·")
                    t_attn = open_page(page, "Attention", ATTENTION_DRAWN, f"ptbxl/{ecg_id:05d}/")
                    if i == 0:
                        continue  # warm-up
                    for key, value in zip(results, (t_pick, t_diag, t_attn, t_pick + t_diag, t_pick + t_diag + t_attn),
                                          strict=False):
                        results[key].append(value)
                    direct = ids[3 * i - 1]
                    page.get_by_role("link", name="Record", exact=True).click()
                    t_pick = pick(page, direct, timeout_ms=60_000)
                    t_attn = open_page(page, "Attention", ATTENTION_DRAWN, f"ptbxl/{direct:05d}/")
                    results["attention direct (after the pick)"].append(t_attn)
                    results["pick + attention direct"].append(t_pick + t_attn)
                    paused = ids[3 * i]
                    page.get_by_role("link", name="Record", exact=True).click()
                    t_pick = pick(page, paused, timeout_ms=60_000)
                    page.wait_for_timeout(1000)
                    t_diag = open_page(page, "Diagnosis", DIAGNOSIS_DRAWN, f"PTB-XL ecg_id {paused} ·")
                    page.wait_for_timeout(1000)
                    t_attn = open_page(page, "Attention", ATTENTION_DRAWN, f"ptbxl/{paused:05d}/")
                    results["pick + diagnosis + attention, 1 s reading pauses (not counted)"].append(
                        t_pick + t_diag + t_attn)
                browser.close()
    server = server_share(Path(args.data_dir), Path(args.weights_dir), [i + 100 for i in ids[: args.repeats + 1]])

    print(f"PTB-XL records at 500 Hz, 10 s (ecg_id {ids[1]}-{ids[-1]}, warm-up {ids[0]}), data root {args.data_dir}, "
          f"weights {args.weights_dir}; {args.repeats} repeats, warm server, chromium {CHROMIUM}")
    print_timings("step (browser)", results)
    print_timings("server only (AppTest, new record)", server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
