"""A real browser (Debian chromium driven by Playwright) uses the app: upload, estimate, transport plan.

Screenshots go to $SOTDEMO_SCREENSHOTS (default: the test's tmp folder) for a person to look at.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here drives a browser on a running app

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "e4_vibrato.wav"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (CI installs it: apt-get install -y chromium)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _page_with_example(browser, app_url):
    """A new page on the app with the example clip in the audio box, and the list its page errors go to."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url)
    page.wait_for_selector("#estimate-btn", timeout=30000)
    page.locator("#audio-in input[type=file]").set_input_files(str(EXAMPLE))
    page.wait_for_selector("#audio-in audio, #audio-in .waveform-container, #audio-in wave", state="attached", timeout=30000)
    return page, errors


def test_upload_estimate_and_move_the_transport_slider(browser, app_url, tmp_path):
    shots = Path(os.environ.get("SOTDEMO_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page, errors = _page_with_example(browser, app_url)
    page.click("#estimate-btn")
    for plot in ("pitch-plot", "amp-plot", "spec-plot"):
        page.wait_for_selector(f"#{plot} .js-plotly-plot .main-svg", timeout=60000)
    assert "e4_vibrato.wav" in page.inner_text("#summary")
    page.screenshot(path=str(shots / "estimate.png"), full_page=True)

    page.get_by_role("tab", name="Transport plan").click()
    page.wait_for_selector("#plan-plot .js-plotly-plot .main-svg", timeout=60000)
    info = page.locator("#transport-info")
    before = info.inner_text()
    frame = 20 if not before.startswith("frame 20 ") else 40  # the tab opens on some frame; move away from it
    number = page.locator("#frame-slider input[type=number]")
    number.fill(str(frame))
    number.press("Enter")
    page.wait_for_function("(f) => document.querySelector('#transport-info').innerText.startsWith(f)", arg=f"frame {frame} at", timeout=30000)
    assert f"frame {frame} at {frame * 0.016:.3f} s" in info.inner_text()
    slider = page.locator("#frame-slider input[type=range]")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    page.wait_for_function("(f) => document.querySelector('#transport-info').innerText.startsWith(f)", arg=f"frame {frame + 5} at",
                           timeout=30000)
    page.screenshot(path=str(shots / "transport.png"), full_page=True)

    # the voicing thresholds reach the estimate: nothing is voiced at a harmonicity above 1
    page.get_by_role("tab", name="Estimate").click()
    page.get_by_role("button", name="Voicing thresholds").click()
    threshold = page.locator("#min-harmonicity input[type=number]")
    threshold.fill("1.01")
    threshold.press("Enter")
    page.click("#estimate-btn")
    page.wait_for_function("() => document.querySelector('#summary').innerText.includes('no voiced frame')", timeout=60000)
    assert "0 % voiced" in page.inner_text("#summary")
    page.screenshot(path=str(shots / "voicing.png"), full_page=True)
    assert errors == []


def test_a_video_in_the_file_box_is_estimated_before_the_audio_box(browser, app_url, tmp_path):
    """The audio box takes only audio types; a phone video goes in the file box, which wins while it holds a file."""
    import numpy as np
    from test_audio import encode_av, faded_tone

    video = tmp_path / "phone video.mp4"
    encode_av(video, np.repeat(faded_tone(44100, 1.5)[:, None], 2, axis=1), 44100, "aac", video=True)
    page, errors = _page_with_example(browser, app_url)
    page.locator("#file-in input[type=file]").set_input_files(str(video))
    page.wait_for_selector("#file-in .file-preview, #file-in table", state="attached", timeout=60000)
    page.click("#estimate-btn")
    page.wait_for_function("() => document.querySelector('#summary').innerText.includes('phone video.mp4')", timeout=60000)
    assert re.search(r"1\.5\d s analysed", page.inner_text("#summary"))  # the video's sound track (AAC adds ~20 ms)
    assert errors == []
