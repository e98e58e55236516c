"""Hostile-input corpus: malformed and odd audio files through `sotdemo.audio.load` and the `/estimate` API.

    python bench/fuzz.py                 # corpus through audio.load and through a fresh app -> results/fuzz.md
    python bench/fuzz.py --no-api        # audio.load only (seconds)

Each case is a file (name + bytes) and what must come of it: a specific error message (a regular
expression) or a result, possibly with a warning. Through the API every case must give the same
message, the answer must hold no traceback and no server path, the server must stay up (a valid
clip after each case is answered) and leave no temporary file of its own behind. The corpus is
also what `tests/test_hardening.py` feeds through `audio.load` (all of it) and the API (a sample).
"""

from __future__ import annotations

import argparse
import io
import re
import struct
import sys
import time
import wave
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
SR = 16000

NOT_AUDIO = r"not a readable audio file"
CACHE_TTL_S = 5  # the server's cache time-to-live in this benchmark (the app's default is 1 h)
LONG_NAME = "a" * 120 + "_very_long_name_" + "b" * 100 + ".wav"  # 240 bytes; most file systems stop at 255


@dataclass
class Case:
    name: str  # the file's name, as uploaded
    data: bytes
    expect: str  # regular expression the error message (or, if `ok`, one warning; "" = none) must match
    ok: bool = False  # True: the file must be analysed
    what: str = ""


def tone(seconds: float = 1.0, rate: int = SR, f0: float = 220.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6) if k * f0 < rate / 2)
    x = (0.5 * x / np.abs(x).max()).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1) if channels > 1 else x


def encode(x: np.ndarray, rate: int = SR, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, x, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def wav_header(rate: int, channels: int, bits: int = 16, data_bytes: int = 0, riff_bytes: int | None = None,
               format_tag: int = 1) -> bytes:
    """A canonical 44-byte RIFF/WAVE header whose fields may lie (that is the point)."""
    block = channels * bits // 8
    riff = 36 + data_bytes if riff_bytes is None else riff_bytes
    return (b"RIFF" + struct.pack("<I", riff & 0xFFFFFFFF) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, format_tag, channels, rate & 0xFFFFFFFF, (rate * block) & 0xFFFFFFFF,
                                    block & 0xFFFF, bits)
            + b"data" + struct.pack("<I", data_bytes & 0xFFFFFFFF))


def pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("song.wav", encode(tone(0.2)))
    return buffer.getvalue()


def _wave_module(rate: int, channels: int, frames: np.ndarray) -> bytes:
    """A valid WAV written by the standard library's `wave` (not libsndfile), for odd layouts."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm16(frames))
    return buffer.getvalue()


def corpus() -> list[Case]:
    """The hostile corpus (deterministic)."""
    rng = np.random.default_rng(0)
    good = encode(tone(1.0), subtype="PCM_16")
    mp3 = encode(tone(2.0, 44100, channels=2), 44100, "MP3")
    flac = encode(tone(2.0), fmt="FLAC", subtype="PCM_16")
    ogg = encode(tone(2.0), fmt="OGG", subtype="VORBIS")
    nan = tone(1.0)
    nan[::50] = np.nan
    mid, mid_flac = len(mp3) // 2, len(flac) // 2
    cases = [
        # empty, tiny, truncated, lying headers
        Case("empty.wav", b"", r"the file is empty \(0 bytes\)", what="0 bytes"),
        Case("one_byte.wav", b"R", NOT_AUDIO, what="1 byte"),
        Case("riff_only.wav", b"RIFF\x00\x00\x00\x00WAVE", NOT_AUDIO, what="RIFF magic, no chunks"),
        Case("header_only.wav", wav_header(SR, 1, data_bytes=0), r"the file contains no samples|" + NOT_AUDIO,
             what="44-byte header, no data"),
        Case("one_sample.wav", wav_header(SR, 1, data_bytes=2) + pcm16(np.array([0.5])), r"1 sample \(0\.062 ms\) is too short",
             what="a single sample"),
        Case("ten_ms.wav", encode(tone(0.01)), r"160 samples \(10 ms\) is too short; at least 50 ms", what="10 ms"),
        Case("truncated_half.wav", good[: 44 + 16000], "", ok=True, what="header says 1 s, 0.5 s present"),
        Case("truncated_mid_sample.wav", good[: 44 + 16001], "", ok=True, what="cut inside a 16-bit sample"),
        Case("huge_declared_data.wav", wav_header(SR, 1, data_bytes=0xFFFFFFF0) + pcm16(tone(1.0)), "", ok=True,
             what="data chunk declares 4 GB, 1 s present"),
        Case("riff_size_lie.wav", wav_header(SR, 1, data_bytes=32000, riff_bytes=8) + pcm16(tone(1.0)), "", ok=True,
             what="RIFF size says 8 bytes"),
        Case("zero_channels.wav", wav_header(SR, 0, data_bytes=32000) + pcm16(tone(1.0)), NOT_AUDIO, what="0 channels"),
        Case("zero_rate.wav", wav_header(0, 1, data_bytes=32000) + pcm16(tone(1.0)), NOT_AUDIO + r"|sample rate 0 Hz is outside",
             what="0 Hz"),
        Case("rate_1hz.wav", wav_header(1, 1, data_bytes=32000) + pcm16(tone(1.0)), r"sample rate 1 Hz is outside 1000-192000 Hz",
             what="1 Hz"),
        Case("rate_384k.wav", encode(tone(0.5, 384000), 384000, subtype="PCM_16"), r"sample rate 384000 Hz is outside 1000-192000 Hz",
             what="384 kHz"),
        Case("rate_4ghz.wav", wav_header(0xFFFFFFFF, 1, data_bytes=32000) + pcm16(tone(1.0)),
             NOT_AUDIO + r"|sample rate -?\d+ Hz is outside", what="rate field 2^32-1"),
        Case("channels_64.wav", encode(tone(0.5, channels=64), subtype="PCM_16"), r"64 channels is more than the 16 supported",
             what="64 channels"),
        Case("channels_65535.wav", wav_header(SR, 65535, data_bytes=1000) + bytes(1000),
             NOT_AUDIO + r"|65535 channels is more than the 16 supported", what="65535 channels declared"),
        Case("bits_7.wav", wav_header(SR, 1, bits=7, data_bytes=16000) + bytes(16000), "clipped or at full scale", ok=True,
             what="7 bits per sample (read as unsigned 8-bit: all zero bytes = -1)"),
        Case("format_tag_0x1234.wav", wav_header(SR, 1, data_bytes=32000, format_tag=0x1234) + pcm16(tone(1.0)), NOT_AUDIO,
             what="unknown WAVE format tag"),
        # numbers that are not audio
        Case("all_nan.wav", encode(np.full(SR, np.nan, np.float32), subtype="FLOAT"), r"100 % of the samples are NaN or infinite",
             what="float WAV of NaN"),
        Case("all_inf.wav", encode(np.full(SR, np.inf, np.float32), subtype="FLOAT"), r"100 % of the samples are NaN or infinite",
             what="float WAV of +inf"),
        Case("some_nan.wav", encode(nan, subtype="FLOAT"), r"2 % NaN/infinite samples were set to 0", ok=True, what="2 % NaN"),
        Case("huge_floats.wav", encode(tone(1.0) * np.float32(1e30), subtype="FLOAT"), r"samples reach ±5e\+29, beyond full scale",
             ok=True, what="float samples of 1e30"),
        Case("subnormal.wav", encode(tone(1.0).astype(np.float64) * 1e-310, subtype="DOUBLE"), "", ok=True,
             what="subnormal doubles (silence)"),
        Case("silence.wav", encode(np.zeros(SR, np.float32), subtype="PCM_16"), "", ok=True, what="digital silence"),
        # not audio at all, renamed
        Case("notes.wav", b"these are my notes, not audio\n" * 10, NOT_AUDIO, what="text renamed .wav"),
        Case("page.wav", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", NOT_AUDIO, what="HTML renamed .wav"),
        Case("archive.wav", _zip_bytes(), NOT_AUDIO, what="zip (holding a wav) renamed .wav"),
        Case("random.flac", rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(), NOT_AUDIO, what="random bytes .flac"),
        Case("fake_flac.flac", b"fLaC" + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(), NOT_AUDIO,
             what="FLAC magic + random bytes"),
        Case("notes.mp3", b"these are my notes, not audio\n" * 10, NOT_AUDIO, what="text renamed .mp3"),
        Case("id3_then_garbage.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes(),
             NOT_AUDIO, what="ID3 tag, then random bytes"),
        # damaged real formats
        Case("garbage_frames.mp3", mp3[:mid] + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes() + mp3[mid:], "", ok=True,
             what="valid mp3 with 3 kB of garbage in the middle"),
        Case("truncated.mp3", mp3[: len(mp3) // 3], r"ends early: its header declares 2 s, it holds 0\.\d+ s", ok=True, what="first third of an mp3"),
        Case("truncated.flac", flac[: len(flac) // 2], r"is damaged after 0\.\d+ s", ok=True, what="first half of a FLAC"),
        Case("bitflips_start.flac", flac[:200] + bytes(b ^ 0x5A for b in flac[200:1200]) + flac[1200:], NOT_AUDIO,
             what="1 kB of flipped bits right after the FLAC header"),
        Case("bitflips_middle.flac", flac[:mid_flac] + bytes(b ^ 0x5A for b in flac[mid_flac:mid_flac + 1000]) + flac[mid_flac + 1000:],
             r"is damaged after 0\.\d+ s \(flac decoder lost sync\)", ok=True, what="1 kB of flipped bits in the middle of a FLAC"),
        Case("truncated.ogg", ogg[: len(ogg) // 2], NOT_AUDIO + r" \(Supported file format but file is malformed\)",
             what="first half of an Ogg Vorbis (libsndfile needs its end)"),
        Case("decompression_bomb.flac", encode(np.zeros((192000 * 20, 8), np.int16), 192000, "FLAC", "PCM_16"), "", ok=True,
             what="tiny FLAC: 20 s of 8-channel 192 kHz silence (decoded as mono, first 60 s)"),
        # names
        Case(LONG_NAME, good, "", ok=True, what="240-character name"),
        Case("<img src=x onerror=alert('1')>.wav", b"not audio", r"^_?img src=x onerror=alert\(_1_\)_?\.wav: " + NOT_AUDIO,
             what="markup in the name"),
        Case("line\nbreak\ttab.wav", b"not audio", r"^line(_|%0A)break(_|%09)tab\.wav: " + NOT_AUDIO, what="control characters in the name"),
        Case("звук 声音 ünï.wav", good, "", ok=True, what="non-ASCII name"),
        Case("no_extension", good, "", ok=True, what="a WAV without extension"),
        Case("flac_named.wav", flac, "", ok=True, what="FLAC content named .wav"),
        Case("stereo_8k.wav", _wave_module(8000, 2, tone(1.0, 8000, channels=2)), "", ok=True, what="stereo 8 kHz from `wave`"),
    ]
    return cases


def write_corpus(directory: Path) -> list[tuple[Case, Path]]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for case in corpus():
        path = directory / case.name
        path.write_bytes(case.data)
        out.append((case, path))
    return out


def leaks(message: str, paths: list[str]) -> list[str]:
    """What a message must not show: tracebacks and server paths."""
    found = [word for word in ("Traceback", 'File "', "site-packages") if word in message]
    return found + [p for p in paths if p and p in message]


def judge(case: Case, error: str | None, warnings: list[str], private_paths: list[str]) -> str:
    """'' if the outcome is what the case expects, else what is wrong."""
    if error is not None:
        if case.ok:
            return f"expected a result, got error {error!r}"
        if not re.search(case.expect, error):
            return f"message {error!r} does not match {case.expect!r}"
        leaked = leaks(error, private_paths)
        return f"message shows {leaked}" if leaked else ""
    if not case.ok:
        return f"expected an error matching {case.expect!r}, got a result"
    if case.expect and not any(re.search(case.expect, w) for w in warnings):
        return f"no warning matching {case.expect!r} in {warnings}"
    leaked = [w for w in warnings if leaks(w, private_paths)]
    return f"warning shows a path: {leaked}" if leaked else ""


def through_load(path: Path) -> tuple[str | None, list[str], float]:
    from sotdemo.audio import AudioError, load

    start = time.perf_counter()
    try:
        loaded = load(path)
        return None, loaded.warnings, time.perf_counter() - start
    except AudioError as error:
        return str(error), [], time.perf_counter() - start


def through_api(client, path: Path, model: str | None = None) -> tuple[str | None, list[str], float]:
    from gradio_client import handle_file

    start = time.perf_counter()
    try:
        out = client.predict(handle_file(str(path)), model or "", api_name="/estimate")
        return None, out["warnings"], time.perf_counter() - start
    except Exception as error:  # noqa: BLE001 - the client raises AppError for gr.Error
        return str(error), [], time.perf_counter() - start


SERVER_PATHS = ["/etc/passwd", str(REPO / "app.py"), "app.py", "../../../etc/passwd", str(REPO / "checkpoints"),
                "http://127.0.0.1:1/x.wav"]
BAD_MODELS = {"../../etc/passwd": r"invalid model name", "/etc/passwd": r"invalid model name",
              "sot-2048/../../..": r"invalid model name", "x" * 10000: r"invalid model name 'x{20,60}…",
              "sot-2048/seed-1": r"unknown model 'sot-2048/seed-1'", "model.safetensors": r"unknown model"}


def api_probes(server, client, valid: Path) -> list[dict]:
    """Parameters that must not reach files: server paths as the audio file, hostile model names."""
    import httpx

    rows = []
    for path in SERVER_PATHS:  # a raw request (gradio_client would upload a local file instead)
        event = httpx.post(server.url + "gradio_api/call/estimate",
                           json={"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, ""]}, timeout=30).json()
        answer = httpx.get(server.url + "gradio_api/call/estimate/" + event["event_id"], timeout=120).text
        refused = answer.startswith("event: error") and "root:" not in answer and "import" not in answer
        rows.append({"probe": f"audio file = server path `{path}`", "answer": answer.replace("\n", " ").strip(),
                     "verdict": "" if refused else "not refused"})
        file_route = httpx.get(server.url + "gradio_api/file=" + path, timeout=30)
        rows.append({"probe": f"GET /gradio_api/file={path}", "answer": f"HTTP {file_route.status_code}",
                     "verdict": "" if file_route.status_code in (403, 404) else "served"})
    for model, expect in BAD_MODELS.items():
        error, _, _ = through_api(client, valid, model)
        verdict = "" if error and re.search(expect, error) and len(error) < 500 else f"got {str(error)[:200]!r}"
        rows.append({"probe": f"model = `{model[:40]}`" + (f" ({len(model)} characters)" if len(model) > 40 else ""),
                     "answer": (error or "a result")[:200], "verdict": verdict})
    return rows


def wait_for_uploads_deleted(server, names: list[str], timeout_s: float) -> list[str]:
    """Corpus files still in gradio's upload cache after waiting up to `timeout_s` for its TTL."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = [p for p in server.leftovers(include_uploads=True) if Path(p).name in names]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-api", action="store_true", help="only audio.load, no server")
    parser.add_argument("--out", default=str(REPO / "results" / "fuzz.md"))
    args = parser.parse_args(argv)
    import tempfile

    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from bench.appserver import AppServer

    rows, failures = [], 0
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        tmp = Path(tmp)
        cases = write_corpus(tmp / "corpus")
        server = None if args.no_api else AppServer(tmp / "server", ["--cache-ttl", str(CACHE_TTL_S)]).start()
        try:
            client = None
            if server:
                from gradio_client import Client

                client = Client(server.url, verbose=False, download_files=False)
                valid = tmp / "valid.wav"
                valid.write_bytes(encode(tone(0.5)))
            for case, path in cases:
                private = [str(tmp), tempfile.gettempdir() + "/", str(REPO)]
                error, warnings, seconds = through_load(path)
                verdict = judge(case, error, warnings, private)
                row = {"case": case, "load": error if error is not None else "; ".join(warnings) or "ok",
                       "load_s": seconds, "load_verdict": verdict}
                if client:
                    error, warnings, seconds = through_api(client, path)
                    api_verdict = judge(case, error, warnings, private + server.private_paths())
                    # the server stays up: a valid clip right after each hostile one is answered
                    alive, _, _ = through_api(client, valid)
                    if alive is not None or server.process.poll() is not None:
                        api_verdict += f" server did not answer a valid clip afterwards ({alive})"
                    row.update(api=error if error is not None else "; ".join(warnings) or "ok", api_s=seconds,
                               api_verdict=api_verdict)
                failures += bool(row["load_verdict"] or row.get("api_verdict"))
                rows.append(row)
                print(f"{'FAIL' if row['load_verdict'] or row.get('api_verdict') else 'ok  '} {case.name[:40]!r}: "
                      f"{row['load']} {row.get('api_verdict', '')} {row['load_verdict']}", flush=True)
            probes, leftovers, uploads_left = [], [], []
            if server:
                probes = api_probes(server, client, valid)
                failures += sum(bool(p["verdict"]) for p in probes)
                leftovers = server.leftovers()
                uploads_left = wait_for_uploads_deleted(server, [c.name for c, _ in cases], 6 * CACHE_TTL_S)
                failures += bool(leftovers) + bool(uploads_left)
        finally:
            if server:
                server.stop()
        if server and server.internal_errors():
            failures += 1
            print("internal errors in the server log:\n" + "\n".join(server.internal_errors()))

    write_report(args.out, rows, probes, leftovers, uploads_left, server is not None, failures)
    print(f"{len(rows)} cases, {failures} failures -> {args.out}")
    return 1 if failures else 0


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:160]


def write_report(out: str, rows: list[dict], probes: list[dict], leftovers: list[str], uploads_left: list[str], api: bool,
                 failures: int) -> None:
    errors = sum(r["load"] != "ok" and not r["case"].ok for r in rows)
    lines = [
        "# Hostile inputs through audio loading and the /estimate API",
        "",
        f"`python bench/fuzz.py` ({'with' if api else 'without'} the API). {len(rows)} files "
        f"({errors} must be refused with a specific message, {len(rows) - errors} analysed, some with a warning); "
        f"**{failures} failure{'s' * (failures != 1)}**. A failure is a message that does not match the expected one, "
        "a traceback or server path in an answer, a server that stops answering, or a temporary file left behind.",
        "",
    ]
    if api:
        lines += [f"Through the API (a fresh `python app.py --cache-ttl {CACHE_TTL_S}`, driven by gradio_client): after every "
                  "case a valid clip was sent and answered (the server stayed up). Temporary files the app left of its own: "
                  f"{len(leftovers)}" + (f" ({', '.join(leftovers[:5])})" if leftovers else "") + "; uploaded corpus files "
                  f"still in gradio's cache {6 * CACHE_TTL_S} s later: {len(uploads_left)} (the app's cache TTL deletes them; "
                  "default 1 h). gradio strips `<>` from uploaded file names and percent-encodes control characters, so "
                  "those two names reach the app changed.", ""]
    header = "| file | what | outcome through `audio.load` | ms |"
    if api:
        header += " API answer matches | API s |"
    lines += [header, "|---|---|---|---:|" + ("---|---:|" if api else "")]
    for r in rows:
        c = r["case"]
        line = f"| `{_cell(repr(c.name)[1:-1][:48])}` | {c.what} | {_cell(r['load'])}{' **' + r['load_verdict'] + '**' if r['load_verdict'] else ''} | {1000 * r['load_s']:.0f} |"
        if api:
            line += f" {'yes' if not r['api_verdict'] else '**' + _cell(r['api_verdict']) + '**'} | {r['api_s']:.2f} |"
        lines.append(line)
    if probes:
        lines += ["", "## API parameters that must not reach server files", "",
                  "gradio refuses a file path it did not receive as an upload before sotdemo runs (its log: "
                  "`InvalidPathError ... was not uploaded by a user`); the client sees an error without a message. "
                  "Model names must be names `sotdemo.model.available()` lists.", "",
                  "| probe | answer | refused as expected |", "|---|---|---|"]
        lines += [f"| {_cell(p['probe'])} | {_cell(p['answer'])} | {'yes' if not p['verdict'] else '**' + _cell(p['verdict']) + '**'} |"
                  for p in probes]
    Path(out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
