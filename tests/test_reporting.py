import json
import stat

import pytest

from mossrl_hf.reporting import atomic_write_lines, environment, results_table, write_json
from tests.conftest import FIXTURES


def test_atomic_write_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "out.txt"

    def lines():
        yield "first\n"
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write_lines(target, lines())
    assert list(tmp_path.iterdir()) == []
    atomic_write_lines(target, ["a\n", "b\n"])
    assert target.read_text() == "a\nb\n"
    assert target.stat().st_mode & stat.S_IROTH, "result files are readable by others (not mkstemp's 0600)"


def test_environment_names_versions_and_hashes(tmp_path):
    info = environment({"train": str(FIXTURES / "ner_train.txt")})
    assert info["packages"]["torch"] and info["packages"]["seqeval"]
    assert len(info["data_files"]["train"]["sha256"]) == 64
    assert info["torch_threads"] >= 1
    write_json(tmp_path / "env.json", info)
    assert json.loads((tmp_path / "env.json").read_text())["python"]


def test_results_table():
    table = results_table({"test_f1": 0.5, "test_loss": 1, "other": 3}, ["test_f1", "test_loss", "missing"])
    assert table.splitlines() == ["test_f1    0.5000", "test_loss  1"]
