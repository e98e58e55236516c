"""A real browser (Debian chromium driven by Playwright) uses the app: upload, estimate, transport plan.

Screenshots go to $SOTDEMO_SCREENSHOTS (default: the test's tmp folder) for a person to look at.
"""

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # every test here drives a browser on a running app

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "e4_vibrato.wav"


@pytest.fixture(scope="module")
def driver():
    """One Playwright driver for the module (a second one cannot start while the first runs)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (CI installs it: apt-get install -y chromium)")
    with playwright.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(driver):
    b = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield b
    b.close()


def _open(browser, app_url: str, height: int = 900):
    """A new page on the app, and the list its page errors go to."""
    page = browser.new_page(viewport={"width": 1280, "height": height})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url)
    return page, errors


def _page_with_example(browser, app_url):
    """A new page on the app with the example clip in the audio box, and the list its page errors go to."""
    page, errors = _open(browser, app_url, 900)
    page.wait_for_selector("#estimate-btn", timeout=30000)
    # the first-load example fills the audio box (its upload input goes) when it is done: wait for it, then clear the box
    page.wait_for_function("() => (document.querySelector('#summary') || {}).innerText?.includes('melody_gaps_noise.wav')", timeout=90000)
    clear = page.locator("#audio-in button[aria-label='Clear'], #audio-in button[title='Clear']")
    if clear.count():
        clear.first.click()
    page.locator("#audio-in input[type=file]").set_input_files(str(EXAMPLE))
    page.wait_for_selector("#audio-in audio, #audio-in .waveform-container, #audio-in wave", state="attached", timeout=30000)
    return page, errors


def test_upload_estimate_and_move_the_transport_slider(browser, app_url, tmp_path):
    shots = Path(os.environ.get("SOTDEMO_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page, errors = _page_with_example(browser, app_url)
    page.click("#estimate-btn")
    page.wait_for_function("() => document.querySelector('#summary').innerText.includes('e4_vibrato.wav')", timeout=60000)
    for plot in ("pitch-plot", "amp-plot", "spec-plot"):
        page.wait_for_selector(f"#{plot} .js-plotly-plot .main-svg", timeout=60000)
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


def test_every_tab_shows_something_on_first_load(browser, app_url):
    """No tab opens empty: an example clip, a synthesized tone and the loss landscape are there before any click."""
    page, errors = _open(browser, app_url, 900)
    page.wait_for_function("() => (document.querySelector('#summary') || {}).innerText?.includes('melody_gaps_noise.wav')", timeout=90000)
    for tab, plots in (("Estimate", ["#pitch-plot", "#amp-plot", "#spec-plot"]), ("Synthesize", ["#synth-amp-plot"]),
                       ("Transport plan", ["#plan-plot"]), ("Loss landscape", ["#landscape-plot", "#race-plot"]),
                       ("Models", ["#models-plot"])):
        page.get_by_role("tab", name=tab).click()
        for plot in plots:
            page.wait_for_selector(f"{plot} .js-plotly-plot .main-svg", timeout=90000)
    info = page.locator("#transport-info").inner_text()
    assert re.search(r"frame \d+ at", info), info
    assert errors == []


def test_the_models_table_headers_fit_on_one_line(browser, app_url):
    """At 1280 px the Models tab's table keeps each column title on one line ("seeds" used to wrap) and fits the tab."""
    page, errors = _open(browser, app_url, 900)
    page.wait_for_selector("#estimate-btn", timeout=30000)
    page.get_by_role("tab", name="Models").click()
    page.wait_for_selector("#models-table th", timeout=60000)
    lines = page.evaluate("""() => [...document.querySelectorAll('#models-table th')].map(th => {
        const range = document.createRange(); range.selectNodeContents(th);
        return [th.innerText, new Set([...range.getClientRects()].map(r => Math.round(r.top))).size]; })""")
    assert lines and all(n == 1 for _, n in lines), lines
    fits = page.evaluate("""() => { const box = document.querySelector('#models-table').getBoundingClientRect();
        const table = document.querySelector('#models-table table').getBoundingClientRect(); return table.right <= box.right + 1; }""")
    assert fits  # every column inside the tab, none cut off
    assert errors == []


@pytest.fixture(scope="module")
def microphone(driver, tmp_path_factory):
    """Chromium whose fake microphone plays a 220 Hz harmonic tone written at 44.1 kHz (Chromium loops the file and
    captures at its own rate, 48 kHz here: a rate error would show as a pitch error), and the tone's f0."""
    import soundfile as sf

    rate, f0 = 44100, 220.0
    t = np.arange(2 * rate) / rate  # 440 whole periods: the loop joins without a click
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 7))
    path = tmp_path_factory.mktemp("microphone") / "tone220.wav"
    sf.write(path, 0.5 * x / np.abs(x).max(), rate, subtype="PCM_16")
    args = ARGS + ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={path}"]
    b = driver.chromium.launch(executable_path=CHROMIUM, args=args)
    yield b, f0
    b.close()


def test_live_tab_follows_a_fake_microphone(microphone, app_url, tmp_path):
    browser, f0 = microphone
    shots = Path(os.environ.get("SOTDEMO_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page, errors = _open(browser, app_url, 1500)
    page.wait_for_selector("#estimate-btn", timeout=30000)
    page.get_by_role("tab", name="Live").click()
    page.wait_for_timeout(2000)  # gradio loads its WAV recorder lazily; a click before raises 'ge is not a constructor'
    page.locator("#live-mic button.record-button").click()
    page.wait_for_function("() => (document.querySelector('#live-tuner h3') || {}).innerText?.includes('Hz')", timeout=30000)
    readings = []
    for _ in range(3):
        page.wait_for_timeout(1500)
        readings.append(float(re.search(r"([0-9.]+) Hz", page.inner_text("#live-tuner h3")).group(1)))
    assert all(abs(1200 * np.log2(hz / f0)) < 50 for hz in readings), readings
    title = "() => (document.querySelector('#live-plan .gtitle') || {}).textContent || ''"
    first = page.evaluate(title)
    assert first.startswith("Transport plan at")
    page.wait_for_function(f"(first) => ({title})() !== first", arg=first, timeout=15000)  # the plan moves on with the stream
    assert "● listening" in page.inner_text("#live-status")
    page.wait_for_selector("#live-pitch .js-plotly-plot .scatterlayer .point", timeout=10000)  # voiced frames drawn
    page.screenshot(path=str(shots / "live.png"), full_page=False)
    page.locator("#live-mic button.stop-button").click()
    page.wait_for_function("() => document.querySelector('#live-status').innerText.includes('you stopped the microphone')",
                           timeout=15000)
    page.click("#live-keep")
    page.wait_for_function("() => document.querySelector('#live-status').innerText.startsWith('Kept ')", timeout=60000)
    page.get_by_role("tab", name="Estimate").click()
    page.wait_for_function("() => document.querySelector('#summary').innerText.includes('live recording.wav')", timeout=30000)
    median = float(re.search(r"median f0 ([0-9.]+) Hz", page.inner_text("#summary")).group(1))
    assert abs(1200 * np.log2(median / f0)) < 50
    assert errors == []
