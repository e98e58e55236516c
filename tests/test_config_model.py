"""Named configurations and checkpoints: round trips, best-seed resolution, bad names."""

import json

import pytest
import torch

from sotdemo import model as model_lib
from sotdemo.config import RunConfig, config_names, load_config

PAPER_ROWS = ["lin", "mss", "sot-2048", "sot-2048-ms512", "sot-2048-nocut", "sot-512", "sot-512-logf"]


def test_the_papers_seven_rows_are_shipped_as_data():
    assert set(PAPER_ROWS) <= set(config_names())
    rows = {name: load_config(name).loss for name in PAPER_ROWS}
    assert rows["lin"].sot_weight == 0 and rows["lin"].lin_weight == 1 and rows["lin"].log_weight == 0
    assert rows["mss"].sot_weight == 0 and rows["mss"].log_weight == 1
    assert rows["sot-2048"].sot_n_fft == 2048 and rows["sot-2048"].sot_cutoff and rows["sot-2048"].lin_weight == 0.05
    assert rows["sot-2048"].ms_scales == (2048, 1024, 512, 256, 128, 64)
    assert rows["sot-512"].sot_n_fft == 512 and not rows["sot-512"].sot_logf
    assert rows["sot-512-logf"].sot_logf
    assert not rows["sot-2048-nocut"].sot_cutoff
    assert rows["sot-2048-ms512"].ms_scales == (512,) and rows["sot-2048-ms512"].lin_weight == 0.1
    for name in PAPER_ROWS:
        cfg = load_config(name)
        assert cfg.name == name and RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_unknown_configuration_and_fields_are_named():
    with pytest.raises(ValueError, match="unknown configuration 'sot-4096'; available: lin"):
        load_config("sot-4096")
    raw = load_config("sot-2048").to_dict()
    raw["loss"]["sot_windw"] = 1024
    with pytest.raises(ValueError, match="unknown LossConfig field"):
        RunConfig.from_dict(raw)


@pytest.fixture
def checkpoint_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SOTDEMO_CHECKPOINTS", str(tmp_path))
    return tmp_path


def test_checkpoint_round_trip_and_best_seed(checkpoint_dir, monkeypatch):
    cfg = load_config("sot-2048")
    models = {}
    for seed, val_lsd in ((42, 30.0), (123, 21.5), (456, 25.0)):
        torch.manual_seed(seed)
        models[seed] = model_lib.HarmonicModel(cfg)
        model_lib.save(models[seed], checkpoint_dir / "sot-2048" / f"seed-{seed}", {"seed": seed}, {"best_val_lsd": val_lsd})
    assert not list(checkpoint_dir.glob("**/*.pt"))
    loaded = model_lib.load("sot-2048/seed-42")
    x = torch.rand(3, 285)
    models[42].eval()
    torch.testing.assert_close(loaded(x).f0_hz, models[42](x).f0_hz, rtol=0, atol=0)
    assert model_lib.resolve("sot-2048").name == "seed-123"  # lowest validation LSD
    with pytest.raises(ValueError, match=f"unknown model '{model_lib.DEFAULT_MODEL}'"):
        model_lib.resolve(None)  # the default model is not among these
    monkeypatch.setattr(model_lib, "DEFAULT_MODEL", "sot-2048")
    assert model_lib.resolve(None).name == "seed-123"  # the default model, by its configuration
    assert model_lib.available() == ["sot-2048", "sot-2048/seed-123", "sot-2048/seed-42", "sot-2048/seed-456"]


@pytest.mark.parametrize("name", ["../etc", "/etc/passwd", "sot-2048/../../x", "", "a b", "sot-2048/seed-1/x"])
def test_bad_model_names_are_refused(checkpoint_dir, name):
    with pytest.raises(ValueError, match="invalid model name"):
        model_lib.load(name)


def test_unknown_model_lists_what_exists(checkpoint_dir):
    with pytest.raises(ValueError, match="unknown model 'nope'; available: none"):
        model_lib.load("nope")


def test_paper_table_puts_ours_beside_the_papers(tmp_path):
    from sotdemo.evaluate import write_table

    results = {"sot-2048": {"seed-42": {"lsd": 20.0, "rpa": 99.0, "rca": 99.5}, "seed-123": {"lsd": 22.0, "rpa": 97.0, "rca": 99.0}}}
    text = write_table(results, tmp_path / "t.md")
    assert "| sot-2048 | 2 | 21.0 / 21.0 (1.4) | 23.5 / 24.5 (3.5) | 98.0 / 98.0 (1.4) | 75.0 / 99.7 (43.2) |" in text
    assert "| sot-2048 | 42 | 20.00 | 99.00 | 99.50 |" in text and "Deviations from the paper" in text


def test_configurations_state_only_what_differs_from_their_base_and_resolve_to_what_trained():
    """Each shipped configuration file names a base (sot-2048 is the root) and only what differs from it; resolved, it
    equals the full snapshot saved next to every checkpoint trained from it (the sweep's step budget aside)."""
    import dataclasses
    import json
    from importlib import resources

    from sotdemo.config import _raw, config_names
    from sotdemo.model import checkpoint_root

    checked = 0
    for name in config_names():
        raw = json.loads((resources.files("sotdemo") / "configs" / f"{name}.json").read_text())
        if name != "sot-2048":
            base = _raw(raw["base"])
            for section, fields in raw.items():
                if isinstance(fields, dict):
                    assert all(base.get(section, {}).get(k, object()) != v for k, v in fields.items()), (name, section)
        config = load_config(name)
        for snapshot in sorted((checkpoint_root() / name).glob("seed-*/config.json")):
            saved = {k: v for k, v in json.loads(snapshot.read_text()).items() if k in ("name", "description", "loss", "encoder", "data", "train")}
            trained = RunConfig.from_dict(saved)
            expected = dataclasses.replace(config, train=config.train.with_steps(trained.train.steps))
            if config.train.readout_temperatures:  # the run chose its readout after training (train.choose_readout)
                chosen = json.loads((snapshot.parent / "metrics.json").read_text())["readout"]["chosen"]
                assert chosen in config.train.readout_temperatures, snapshot
                expected = dataclasses.replace(expected, encoder=dataclasses.replace(expected.encoder, readout_temperature=chosen))
            assert expected == trained, snapshot
            checked += 1
    assert checked >= 60


def test_a_base_cycle_is_a_clear_error(tmp_path, monkeypatch):
    from sotdemo import config as config_module

    monkeypatch.setattr(config_module, "config_names", lambda: ["a", "b"])
    files = {"a": {"name": "a", "base": "b"}, "b": {"name": "b", "base": "a"}}

    class Folder:
        def __truediv__(self, part):
            return self if part == "configs" else type("F", (), {"read_text": lambda _s, p=part: __import__("json").dumps(files[p[:-5]])})()

    monkeypatch.setattr(config_module.resources, "files", lambda _package: Folder())
    with pytest.raises(ValueError, match="inherits from itself: a -> b -> a"):
        config_module.load_config("a")
