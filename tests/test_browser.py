"""The dashboard in a real browser: Playwright drives Debian's chromium against ``streamlit run``.

AppTest cannot draw plotly charts; this test checks that the 12-lead chart is really drawn after picking a
PTB-XL record, and that an upload is read. Screenshots land in pytest's tmp_path (``--basetemp`` to keep them).
Skipped when chromium or Playwright is absent, unless CI is set (then it fails). The last test walks part 2: record,
diagnosis, attention, and the PDF report downloaded and read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import require_browser

from mrm.app.launch import dashboard_env, running_dashboard

# The 12-lead chart is drawn when plotly has put its traces on the page: 12 leads, a rhythm strip, calibration.
DRAWN = """() => {
    const gd = document.querySelector('.js-plotly-plot');
    return gd && gd.data && gd.data.length >= 13 && gd.querySelectorAll('.scatterlayer .trace').length >= 13;
}"""


def app_running(data_dir: Path, log: Path, weights_dir: Path | None = None):
    """The dashboard on a free local port with ``data_dir`` as its data root (and ``weights_dir`` as its weights
    folder), as a context manager giving its URL."""
    return running_dashboard(log, env=dashboard_env(data_dir, weights_dir))


@pytest.fixture(scope="module")
def app_url(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    with app_running(shared_data, tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


def _lead_names(page) -> list[str]:
    return page.evaluate("""() => document.querySelector('.js-plotly-plot').data
        .filter(t => t.meta && t.meta.role).map(t => t.meta.lead + '/' + t.meta.role)""")


def test_pick_a_ptbxl_record_and_see_the_12_leads(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)
    page.get_by_text("Where to start").wait_for(timeout=30_000)
    page.get_by_text("PTB-XL", exact=True).first.wait_for()
    page.screenshot(path=tmp_path / "home.png", full_page=True)

    page.get_by_role("link", name="Record", exact=True).click()
    picker = page.get_by_role("combobox", name="Record (ecg_id)")
    picker.wait_for(timeout=30_000)
    picker.click()
    page.keyboard.type("17 ·")
    page.keyboard.press("Enter")
    page.get_by_text("PTB-XL ecg_id 17 ·").wait_for(timeout=30_000)
    page.get_by_text("Input check").first.wait_for()
    assert "dataset=ptbxl" in page.url and "record=17" in page.url
    page.screenshot(path=tmp_path / "record.png", full_page=True)

    page.get_by_role("link", name="Open the 12-lead view").click()
    page.wait_for_function(DRAWN, timeout=30_000)
    leads = _lead_names(page)
    assert sorted(name.split("/")[0] for name in leads if name.endswith("/lead")) == sorted(
        ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"])
    assert "II/rhythm" in leads
    # The sheet is drawn with SVG paths (WebGL contexts run out, streamlit#11822), with a visible size.
    box = page.locator(".js-plotly-plot").bounding_box()
    assert box["width"] > 800 and box["height"] > 500
    assert page.locator(".js-plotly-plot .scatterlayer path.js-line").count() >= 13
    assert "record=17" in page.url and "layout=3x4" in page.url
    page.screenshot(path=tmp_path / "ecg.png", full_page=True)


def test_a_link_opens_the_view_on_a_fresh_server(shared_data, browser, tmp_path):
    # The link is the server's very first request: Streamlit then runs the page without the entry script
    # unless the page hands over to st.navigation (mrm.app.ui.require_entry).
    with app_running(shared_data, tmp_path / "server.log") as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/ECG?dataset=cpsc2018&record=A0005&layout=12x1")
        page.wait_for_function("() => document.querySelector('.js-plotly-plot')?.data?.length >= 12", timeout=90_000)
        assert [n.split("/")[0] for n in _lead_names(page)] == [
            "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
        page.get_by_text("CPSC2018 A0005 ·").wait_for()
        nav = page.locator("[data-testid=stSidebarNav]").inner_text()
        assert "Home" in nav and "12-lead ECG" in nav and "streamlit app" not in nav
        assert page.get_by_label("Data folder", exact=True).input_value() == str(shared_data)
        assert "layout=12x1" in page.url and "task=" in page.url
        page.screenshot(path=tmp_path / "link.png", full_page=True)


def test_upload_a_wfdb_record(app_url, browser, shared_data, tmp_path):
    hea = shared_data / "ptb-xl" / "records500" / "00000" / "00002_hr.hea"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/Record")
    page.get_by_role("radio", name="Upload", exact=True).click()
    page.locator("input[type=file]").set_input_files([hea, hea.with_suffix(".dat")])
    page.get_by_text("Upload 00002_hr ·").wait_for(timeout=30_000)
    page.get_by_text("Input check").first.wait_for()
    assert "dataset=upload" in page.url
    page.screenshot(path=tmp_path / "upload.png", full_page=True)
    page.get_by_role("link", name="Open the 12-lead view").click()
    page.wait_for_function(DRAWN, timeout=30_000)
    page.screenshot(path=tmp_path / "upload_ecg.png", full_page=True)


# ---------------------------------------------------------------- dashboard part 2: diagnosis, attention, report


@pytest.fixture(scope="module")
def model_app_url(shared_data: Path, tiny_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose weights folder holds the tiny test network as the shipped superdiagnostic weights."""
    require_browser()
    import shutil

    weights = tmp_path_factory.mktemp("weights")
    for suffix in (".pt", ".json"):
        shutil.copy(tiny_weights.with_suffix(suffix), weights / f"mrm_superdiagnostic{suffix}")
    shutil.copy(tiny_weights.with_name(tiny_weights.stem + ".fold9.npz"), weights / "mrm_superdiagnostic.fold9.npz")
    with app_running(shared_data, tmp_path_factory.mktemp("streamlit-model") / "server.log", weights) as url:
        yield url


# The attention sheet is drawn: its two heatmap bands and 13 lead traces are on the page.
ATTENTION_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd.data
    && gd.data.filter(t => t.type === 'heatmap' && t.name.endsWith('attention')).length === 2
    && gd.data.filter(t => t.meta && t.meta.role).length === 13
    && gd.querySelectorAll('.heatmaplayer image').length >= 2)"""


def test_record_diagnosis_attention_and_the_pdf_report(model_app_url, browser, tmp_path):
    from pdf_text import check_structure, content_streams, page_texts  # tests/ is on sys.path under pytest

    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{model_app_url}/Record")
    picker = page.get_by_role("combobox", name="Record (ecg_id)")
    picker.wait_for(timeout=60_000)
    picker.click()
    page.keyboard.type("9 ·")
    page.keyboard.press("Enter")
    page.get_by_text("PTB-XL ecg_id 9 ·").wait_for(timeout=30_000)

    page.get_by_role("link", name="Diagnosis", exact=True).click()
    page.get_by_text("Model says:").wait_for(timeout=60_000)
    page.get_by_text("Ground truth").first.wait_for()
    page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd.data
        && gd.data.map(t => t.name).join() === 'fused,HR,LR,threshold')""", timeout=30_000)
    assert page.locator("[data-testid=stDataFrame]").count() == 1
    assert "task=superdiagnostic" in page.url and "record=9" in page.url
    page.screenshot(path=tmp_path / "diagnosis.png", full_page=True)

    page.get_by_role("link", name="Attention", exact=True).click()
    page.wait_for_function(ATTENTION_DRAWN, timeout=60_000)
    page.screenshot(path=tmp_path / "attention.png", full_page=True)

    page.get_by_role("link", name="Report", exact=True).click()
    button = page.get_by_role("button", name="Download the PDF report")
    button.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as download:
        button.click()
    assert download.value.suggested_filename == "mrm_ptbxl_00009_superdiagnostic.pdf"
    pdf = Path(download.value.path()).read_bytes()
    (tmp_path / "report.pdf").write_bytes(pdf)
    assert check_structure(pdf) == 3
    pages = page_texts(pdf)
    assert "MRM-ECG report: PTB-XL ecg_id 9" in " ".join(pages[0])
    assert sorted(t for t in pages[0] if t in ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5",
                                                 "V6")) == sorted(["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2",
                                                                   "V3", "V4", "V5", "V6"])
    assert max(len(s) for s in content_streams(pdf)) > 100_000  # the tracing's paths
    for code, name in (("CD", "conduction disturbance"), ("HYP", "hypertrophy"), ("MI", "myocardial infarction"),
                       ("NORM", "normal ECG"), ("STTC", "ST/T change")):
        assert code in pages[1] and name in pages[1]
    assert "threshold" in pages[1] and "research and teaching tool, not a medical device" in " ".join(pages[1])
