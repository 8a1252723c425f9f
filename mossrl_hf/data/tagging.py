"""Tag schemes: IOB1, IOB2 and BIOES. Detect which one a file uses, reject mixtures, convert to IOB2.

A tag is `O` or `PREFIX-TYPE` with PREFIX one of B, I, E, S (the type may hold any characters, dashes
included: `B-creative-work`).
"""

from collections.abc import Iterable, Sequence

IOB1, IOB2, BIOES = "IOB1", "IOB2", "BIOES"
_PREFIXES = ("B", "I", "E", "S")


def split_tag(tag: str) -> tuple[str, str]:
    """`B-creative-work` -> (`B`, `creative-work`); `O` -> (`O`, ``). Raises ValueError otherwise."""
    if tag == "O":
        return "O", ""
    prefix, dash, entity_type = tag.partition("-")
    if not dash or prefix not in _PREFIXES or not entity_type:
        raise ValueError(
            f"tag {tag!r} is neither 'O' nor PREFIX-TYPE with PREFIX in B, I, E, S{_case_hint(tag)}"
        )
    return prefix, entity_type


def _case_hint(tag: str) -> str:
    """Lower-case prefixes (`b-per`, `o`) are refused, not upper-cased: the tags are the label names the
    model saves and predicts, so changing them would make outputs differ from the input files."""
    prefix, dash, entity_type = tag.partition("-")
    if tag == "o":
        return " (upper case: write 'O')"
    if dash and entity_type and prefix.upper() in _PREFIXES and prefix not in _PREFIXES:
        return f" (prefixes are upper case: write {prefix.upper() + dash + entity_type!r})"
    return ""


def scheme_evidence(tags: Sequence[str]) -> set[str]:
    """What one sentence's tags say about its scheme.

    `iob1`: an entity opened with I- (only IOB1 does that). `b_opens`: a B- after O or another type (IOB1
    never does that). `bioes`: E- or S- tags. `b_alone`: a B- not followed by I-/E- of its type (BIOES never
    does that).
    """
    evidence = set()
    previous_prefix, previous_type = "O", ""
    parsed = [split_tag(tag) for tag in tags]
    for position, (prefix, entity_type) in enumerate(parsed):
        continues = previous_prefix in ("B", "I") and previous_type == entity_type
        if prefix == "I" and not continues:
            evidence.add("iob1")
        if prefix == "B" and not continues:
            evidence.add("b_opens")
        if prefix in ("E", "S"):
            evidence.add("bioes")
        if prefix == "B":
            following = parsed[position + 1] if position + 1 < len(parsed) else ("O", "")
            if following[0] not in ("I", "E") or following[1] != entity_type:
                evidence.add("b_alone")
        previous_prefix, previous_type = prefix, entity_type
    return evidence


def scheme_from_evidence(evidence: set[str]) -> str | None:
    """The scheme that explains all the evidence, or None when the evidence contradicts itself."""
    if "bioes" in evidence:
        return None if evidence & {"iob1", "b_alone"} else BIOES
    if "iob1" in evidence:
        return None if "b_opens" in evidence else IOB1
    return IOB2


def detect_scheme(sentences: Iterable[Sequence[str]]) -> str | None:
    evidence: set[str] = set()
    for tags in sentences:
        evidence |= scheme_evidence(tags)
    return scheme_from_evidence(evidence)


def to_iob2(tags: Sequence[str], scheme: str) -> list[str]:
    """Convert one sentence from `scheme` to IOB2."""
    if scheme == IOB2:
        return list(tags)
    converted = []
    previous_prefix, previous_type = "O", ""
    for tag in tags:
        prefix, entity_type = split_tag(tag)
        if prefix == "O":
            converted.append("O")
        elif scheme == BIOES:
            converted.append(f"{'B' if prefix in ('B', 'S') else 'I'}-{entity_type}")
        else:  # IOB1: I- opens an entity unless it continues one of the same type
            continues = previous_prefix in ("B", "I") and previous_type == entity_type
            converted.append(f"{'I' if prefix == 'I' and continues else 'B'}-{entity_type}")
        previous_prefix, previous_type = prefix, entity_type
    return converted


def continuation_tag(tag: str) -> str:
    """The tag of a word's continuation sub-tokens with `--label_all_tokens`: B-X becomes I-X."""
    prefix, entity_type = split_tag(tag)
    if prefix == "B":
        return f"I-{entity_type}"
    if prefix == "S":  # a single-token entity spread over pieces: its later pieces continue it
        return f"I-{entity_type}"
    return tag


def sort_labels(labels: Iterable[str]) -> list[str]:
    """A stable, readable label order: O first, then by entity type, then B, I, E, S."""
    order = {prefix: index for index, prefix in enumerate(_PREFIXES)}

    def key(tag: str) -> tuple:
        prefix, entity_type = split_tag(tag)
        return (tag != "O", entity_type, order.get(prefix, -1))

    return sorted(set(labels), key=key)
