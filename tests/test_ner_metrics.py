import pytest

from mossrl_hf.data.conll import read_conll
from mossrl_hf.metrics.ner_metrics import conll_prediction_lines, ner_metrics, ner_report_text
from tests.conftest import write

# Gold: PER(0-1), LOC(3), ORG(6-7) in sentence 1; MISC(0), LOC(3) in sentence 2: 5 entities.
GOLD_FILE = """-DOCSTART- -X- O

Ann NNP B-PER
Lee NNP I-PER
in IN O
Rome NNP B-LOC
with IN O
the DT O
Acme NNP B-ORG
Corp NNP I-ORG

Dutch JJ B-MISC
fans NNS O
in IN O
Oslo NNP B-LOC
"""
# Predicted: PER right, LOC right, ORG cut short (wrong), MISC missed, LOC right, plus one spurious PER
# that starts with I- (an entity in the conlleval-compatible mode, not in strict IOB2).
PREDICTED = [
    ["B-PER", "I-PER", "O", "B-LOC", "O", "O", "B-ORG", "O"],
    ["O", "I-PER", "O", "B-LOC"],
]


def test_metrics_match_hand_counts(tmp_path):
    gold = read_conll(write(tmp_path / "gold.txt", GOLD_FILE)).tags
    metrics = ner_metrics(gold, PREDICTED, "IOB2")
    # Default mode: 5 predicted entities (PER, LOC, ORG-short, I-PER, LOC), 3 correct of 5 gold.
    assert metrics["precision"] == pytest.approx(3 / 5)
    assert metrics["recall"] == pytest.approx(3 / 5)
    assert metrics["f1"] == pytest.approx(0.6)
    # Strict IOB2: the I-PER is not an entity, so 4 predicted, 3 correct.
    assert metrics["strict_precision"] == pytest.approx(3 / 4)
    assert metrics["strict_recall"] == pytest.approx(3 / 5)
    assert metrics["strict_f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert metrics["LOC_f1"] == pytest.approx(1.0)
    assert metrics["LOC_number"] == 2
    assert metrics["ORG_recall"] == 0.0
    assert metrics["PER_precision"] == pytest.approx(0.5)
    assert metrics["accuracy"] == pytest.approx(9 / 12)


def test_length_mismatch_is_refused():
    with pytest.raises(ValueError, match="sentence 0"):
        ner_metrics([["O", "B-PER"]], [["O"]], "IOB2")


def test_report_and_conll_lines():
    gold = [["B-PER", "O"], ["B-LOC"]]
    predicted = [["B-PER", "O"], ["O"]]
    report = ner_report_text(gold, predicted, "IOB2")
    assert "PER" in report and "LOC" in report and "strict mode (IOB2)" in report
    lines = conll_prediction_lines([["Ann", "ran"], ["Oslo"]], gold, predicted)
    assert lines == ["Ann B-PER B-PER\n", "ran O O\n", "\n", "Oslo B-LOC O\n", "\n"]
