import pytest

from mossrl_hf.data import tagging


def test_split_tag_accepts_dashes_in_the_type():
    assert tagging.split_tag("B-creative-work") == ("B", "creative-work")
    assert tagging.split_tag("O") == ("O", "")
    for bad in ("PER", "X-PER", "B-", "o"):
        with pytest.raises(ValueError):
            tagging.split_tag(bad)


@pytest.mark.parametrize(
    ("sentences", "expected"),
    [
        ([["B-PER", "I-PER", "O", "B-LOC"]], tagging.IOB2),
        ([["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]], tagging.IOB1),
        ([["S-PER", "O", "B-LOC", "E-LOC"]], tagging.BIOES),
        ([["O", "O"]], tagging.IOB2),
        ([["I-PER", "O"], ["B-LOC", "O"]], None),  # IOB1 opening and IOB2 opening in one file
        ([["S-PER", "O"], ["B-LOC", "O"]], None),  # BIOES with a lone B-
        ([["S-PER"], ["I-LOC", "O"]], None),
    ],
)
def test_detect_scheme(sentences, expected):
    assert tagging.detect_scheme(sentences) == expected


def test_iob1_to_iob2():
    tags = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"]
    assert tagging.to_iob2(tags, tagging.IOB1) == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG"]


def test_bioes_to_iob2():
    tags = ["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "B-ORG", "E-ORG"]
    assert tagging.to_iob2(tags, tagging.BIOES) == ["B-PER", "B-LOC", "I-LOC", "I-LOC", "O", "B-ORG", "I-ORG"]


def test_continuation_and_label_order():
    assert tagging.continuation_tag("B-PER") == "I-PER"
    assert tagging.continuation_tag("I-PER") == "I-PER"
    assert tagging.continuation_tag("O") == "O"
    assert tagging.sort_labels(["I-PER", "B-LOC", "O", "B-PER"]) == ["O", "B-LOC", "B-PER", "I-PER"]
