"""Dashboard load: several browser sessions walk record -> diagnosis -> attention -> PDF report at the same time
against one server; none may error, and the server's memory is reported.

Starts ``streamlit run streamlit_app.py`` on 127.0.0.1 with the weights of ``--weights-dir``, opens one session
first (imports, indexes, the model: the memory a warm server holds), then starts ``--sessions`` browser contexts of
one headless chromium at once. Each picks its own PTB-XL record on the Record page, opens the Diagnosis page (class
table and probability chart drawn), the Attention page (sheet with both bands drawn), asks for the attribution of
the most probable class (integrated gradients, the heaviest computation), opens the Report page, downloads the PDF
and checks that it is one (``%PDF`` ... ``%%EOF``). Errors: a Playwright timeout, a Streamlit exception box
on a page, a PDF that is not one, or a traceback in the server's log.

Memory: the server process's resident set (``VmRSS`` of /proc/PID/status) sampled every 0.2 s, and its peak
(``VmHWM``). Usage::

    python benchmarks/dashboard_load.py --data-dir ../shared/data --weights-dir weights --sessions 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path

from harness import CHROMIUM, CHROMIUM_ARGS, REPO, start_app

DIAGNOSIS_DRAWN = """() => document.querySelectorAll('[data-testid=stDataFrame]').length === 1
    && [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd.data
        && gd.data.map(t => t.name).join() === 'fused,HR,LR,threshold')"""
ATTENTION_DRAWN = """(revision) => [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd.data && gd.layout
    && String(gd.layout.uirevision).includes(revision)
    && gd.data.filter(t => t.type === 'heatmap').length === 2
    && gd.querySelectorAll('.heatmaplayer image').length >= 2)"""
ATTRIBUTION_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd.data
    && gd.data.some(t => t.type === 'heatmap' && t.name === 'attribution'))"""
TIMEOUT_MS = 180_000


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class MemorySampler(threading.Thread):
    """Samples a process's resident memory every ``interval`` seconds until stopped."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.samples = pid, interval, []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append(memory_mb(self.pid))
            time.sleep(self.interval)

    def stop(self) -> list[float]:
        self._stop_event.set()
        self.join()
        return self.samples


async def session(browser, url: str, ecg_id: int, out: Path) -> dict:
    """One reader's walk; returns step times and the error, if any."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = await context.new_page()
    times: dict[str, float] = {}
    error = None
    start = time.perf_counter()
    try:
        await page.goto(f"{url}/Record")
        picker = page.get_by_role("combobox", name="Record (ecg_id)")
        await picker.wait_for(timeout=TIMEOUT_MS)
        await picker.click()
        await page.keyboard.type(f"{ecg_id} ·")
        t = time.perf_counter()
        await page.keyboard.press("Enter")
        await page.get_by_text(f"PTB-XL ecg_id {ecg_id} ·").first.wait_for(timeout=TIMEOUT_MS)
        times["pick"] = time.perf_counter() - t
        for name, check, arg in (("Diagnosis", DIAGNOSIS_DRAWN, None),
                                 ("Attention", ATTENTION_DRAWN, f"ptbxl/{ecg_id:05d}/")):
            t = time.perf_counter()
            await page.get_by_role("link", name=name, exact=True).click()
            await page.wait_for_function(check, arg=arg, timeout=TIMEOUT_MS)
            times[name.lower()] = time.perf_counter() - t
            if await page.locator("[data-testid=stException]").count():
                raise RuntimeError(f"{name} page shows an exception")
        t = time.perf_counter()  # the attribution of the most probable class (integrated gradients, on request)
        await page.get_by_role("combobox", name="Class").click()
        await page.keyboard.press("ArrowDown")  # the first option: the most probable class
        await page.keyboard.press("Enter")
        await page.wait_for_function(ATTRIBUTION_DRAWN, timeout=TIMEOUT_MS)
        times["attribution"] = time.perf_counter() - t
        t = time.perf_counter()
        await page.get_by_role("link", name="Report", exact=True).click()
        button = page.get_by_role("button", name="Download the PDF report")
        await button.wait_for(timeout=TIMEOUT_MS)
        async with page.expect_download(timeout=TIMEOUT_MS) as info:
            await button.click()
        download = await info.value
        path = out / f"report_{ecg_id}.pdf"
        await download.save_as(path)
        pdf = path.read_bytes()
        if not (pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")):
            raise RuntimeError("the download is not a PDF")
        times["report + PDF download"] = time.perf_counter() - t
        times["pdf_bytes"] = len(pdf)
    except Exception as err:  # noqa: BLE001 - every failure of a session is reported, none stops the others
        error = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    times["whole walk"] = time.perf_counter() - start
    await context.close()
    return {"record": ecg_id, "times": times, "error": error}


async def run_sessions(url: str, ids: list[int], out: Path, warm_id: int) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        warm = await session(browser, url, warm_id, out)
        if warm["error"]:
            raise RuntimeError(f"warm-up failed: {warm['error']}")
        results = await asyncio.gather(*(session(browser, url, i, out) for i in ids))
        await browser.close()
    return list(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--weights-dir", default=str(REPO / "weights"))
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--first-id", type=int, default=120)
    parser.add_argument("--log", help="keep the server's log in this file")
    args = parser.parse_args(argv)

    ids = list(range(args.first_id + 1, args.first_id + 1 + args.sessions))
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        process, url = start_app(Path(args.data_dir), log, Path(args.weights_dir))
        try:
            idle = memory_mb(process.pid)
            sampler = MemorySampler(process.pid)
            sampler.start()
            start = time.perf_counter()
            results = asyncio.run(run_sessions(url, ids, Path(tmp), args.first_id))
            wall = time.perf_counter() - start
            samples = sampler.stop()
            peak = memory_mb(process.pid, "VmHWM")
            after = memory_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=10)
        server_log = log.read_text()
        if args.log:
            Path(args.log).write_text(server_log)

    tracebacks = server_log.count("Traceback")
    errors = [r for r in results if r["error"]]
    print(f"{args.sessions} sessions at once (PTB-XL ecg_id {ids[0]}-{ids[-1]}, 500 Hz, 10 s) after one warm-up "
          f"session (ecg_id {args.first_id}); weights {args.weights_dir}; chromium headless, one context per session")
    print(f"\nsessions with an error: {len(errors)} of {len(results)}; tracebacks in the server log: {tracebacks}")
    for r in errors:
        print(f"- record {r['record']}: {r['error']}")
    if tracebacks:
        first = server_log.index("Traceback")
        print("\nfirst traceback of the server log:\n" + server_log[first : first + 3000])
    steps = ["pick", "diagnosis", "attention", "attribution", "report + PDF download", "whole walk"]
    print("\n| step (5 at once) | median s | max s |\n|---|---|---|")
    for step in steps:
        values = [r["times"][step] for r in results if step in r["times"]]
        if values:
            print(f"| {step} | {statistics.median(values):.2f} | {max(values):.2f} |")
    print(f"\nwall time of the concurrent part: {wall:.1f} s")
    print("\n| server memory (resident) | MB |\n|---|---|")
    print(f"| just started | {idle:.0f} |")
    print(f"| during the run: median of samples | {statistics.median(samples):.0f} |")
    print(f"| peak (VmHWM, whole life of the server) | {peak:.0f} |")
    print(f"| after the run | {after:.0f} |")
    return 1 if errors or tracebacks else 0


if __name__ == "__main__":
    raise SystemExit(main())
