"""Generate the small bundled sample datasets under ``mossrl_hf/data/sample``.

These samples are synthetic: the templates, names, reviews and answers below were written for this
project and are filled in by a seeded ``random.Random(1234)``, so every run gives byte-identical files.
No third-party data is used; standard library only.  Run: ``python scripts/make_samples.py``.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "mossrl_hf" / "data" / "sample"
rng = random.Random(1234)

# "@NAME" starts a pool; items are separated by "|"; line breaks count as spaces.
DATA = """
@FIRST Anna|Jonas|Maria|Pedro|Yuki|Amara|Lars|Sofia|Tomas|Elena|Kofi|Ingrid|Rafael|Nadia|Oskar|Leila|Marco|
Hana|David|Clara|Emil|Rosa|Felix|Zara
@LAST Fischer|Almeida|Okafor|Lindqvist|Moreau|Tanaka|Brennan|Costa|Haldane|Novak|Mwangi|Petrov|Ferreira|
Calder|Jansen|Rossetti|Kowalski|Duarte|Whitlock|Sandoval|Ekberg|Mbeki|Carvell|Ostrova|Renshaw|Valdez|Aalto|
Gallen|Hartmann|Quill|Iwata|Barros
@C Halvorsen Group|Bank of Northern Trade|Keller Motors|Trident Shipping|Marlow Foods|Corvane Systems|
Eastgate Energy|Pelican Airways|Redfield Mining|Solen Pharma|Vantor Steel|Greywater Insurance|Brightline
Telecom|Norrland Paper|Azura Textiles|Castell Bank|Orbis Electronics|Meridian Rail
@CL Ashby United|Dunmore City|Sporting Varela|Kessler Athletic|FC Lindau|Port Alden|Harwick Wanderers|
Olympia Tessen|Rotkamp 04|Marino Calcio|Redcliff Rovers|Vestby|Atletico Sarna|Union Kolberg|Castlebar
Celtic|Dynamo Orsk
@PA Civic Union|National Renewal Party|Green Future|Labour Alliance|Free Democrats|People's Front|Liberal
Forum|Farmers Party|Social Democratic League|New Centre
@AG Federal Statistics Office|Central Bank of Veyland|Maritime Safety Agency|Nordic Trade Council|Bureau of
Energy|World Health Forum|European Rail Authority|Competition Commission|National Weather Service|Atomic
Energy Board
@CI London|Sydney|Lyon|Porto|Krakow|Osaka|Nairobi|Rosario|Bergen|Calder Bay|Ghent|Port Elmsley|San Teodoro|
New Harlow|Vienna|Lagos|Montreal|Turin|Tessen|Kolberg|Brisbane|Valparaiso
@CO Germany|Brazil|Kenya|Japan|Canada|Norway|Veyland|Estoria|Portugal|Chile|Poland|Nigeria|Australia|
Austria|South Africa|New Zealand|Italy|Finland
@R Danube|Rhine|Murray|Tessel|Volta|Ebro|Orin|Tagus|Severn|Mara River
@RE New South Wales|Bavaria|Tuscany|Northern Cape|Upper Valdor|West Marsh|Lapland|Patagonia|Queensland|Rift
Valley|South Holland|Alsace
@N German|Brazilian|Kenyan|Japanese|Canadian|Norwegian|Veylish|Estorian|French|Chilean|Polish|Italian|
Australian|Finnish|Austrian|Nigerian
@E World Cup|Olympic Games|Nordic Open|Pacific Games|Harbour Cup|Grand Prix|European Championship|Summer
Festival|Coastal Marathon|Golden Lion Awards|Champions League|Alpine Rally
@LA English|Spanish|Swahili|Portuguese|Catalan|Welsh|Finnish|Dutch|Veylish|Basque|Tagalog|Flemish
@PR Nova X2|Orbis Tab|Skylark 300|Pathfinder GT|Velo One|Aster Mini|Quill Reader|Tempest|Harbour Lights|
Silent Meadow|Polar Star|Zephyr 9
@T {CL} [beat/defeated/edged] {CL} {S} - {S} in {CI} on {D} .|{P} scored twice as {CL} won {S} - {S} at home
.|{P} , who joined {CL} from {CL} last season , [was/has_been] named captain .|{N} striker {P}
[said/told_reporters] : " We played well and deserved to win . "|" It was a difficult [game/match/season] ,
" {P} said .|{C} shares [rose/fell/climbed/slipped] {#} percent on {D} after the results .|{C} said it would
buy {C} for {#} million [dollars/euros] .|The [chief_executive/chairman] of {C} , {P} ,
[resigned/stepped_down] on {D} .|{P} [resigned/retired] .|The {AG} said [inflation/unemployment] in {CO}
rose to {#} percent in {MO} .|Prime Minister {P} of {CO} [met/visited] President {P} in {CI} on {D} .|The
{PA} won {#} of the {#} seats in the {RE} election .|{P} , leader of the {PA} , [said/warned] that the
government had failed {CO} .|Police in {CI} [arrested/detained] {#} people after protests on {D} .|Heavy
rain [flooded/closed] roads along the {R} near {CI} .|The {R} [burst_its_banks/rose_sharply] in {RE} ,
officials said .|{CI} {MO} {DM}|Flights between {CI} and {CI} were cancelled on {D} because of
[fog/snow/a_strike] .|The {N} [film/novel/opera] " {PR} " opened at the festival in {CI} .|The
[museum/gallery] in {CI} will show {N} paintings until {MO} .|{P} won the {E} title in {CI} , beating {P} in
the final .|{CO} [qualified_for/were_knocked_out_of] the {E} after a {S} - {S} result against {CO} .|Results
of the {E} on {D} : {P} ( {CO} ) {#} , {P} ( {CO} ) {#} .|{P} , {P} , {P} and {P} were named in the {N}
squad for the {E} .|Talks between {C} and the {AG} ended without agreement , [a_spokesman/an_official] said
.|{C} launched the {PR} in {CO} and plans to sell it in {RE} next year .|{PR} sales [rose/fell] {#} percent
in the first [quarter/half] .|Most people in {RE} speak {LA} , but {LA} is taught in schools .|The
[agreement/treaty] was written in {LA} and {LA} .|{N} and {N} [officials/ministers] met in {CI} to discuss
trade .|Markets were [quiet/closed] on {D} .|The match was [abandoned/postponed] because of rain .|Shares
[closed/ended] {#} percent [higher/lower] in thin trading .|" We [expect/hope] to finish the work by {MO} ,
" the minister said .|Attendance : {#} .|[Temperatures/Prices] are expected to [rise/fall] later this week
.|{CI} mayor {P} opened a new bridge over the {R} on {D} .|{N} tourists [flocked_to/crowded] {CI} and {RE}
during the {E} .|{AG} inspectors visited {#} [sites/factories] in {CO} last [week/month] .|{CO} 's foreign
minister {P} said on {D} that talks with {CO} would resume in {CI} .|{N} {P} [won/took] the {E}
[title/gold_medal] in {CI} on {D} .|{C} {PR} [phones/cameras] are made in {CO} .|{CL} coach {P} said his
team would [attack/defend] against {CL} on {D} , adding that {P} was fit again after a knee injury that kept
him out of the last {#} games in the {E} .|In {CI} , {P} told reporters that the {PA} would [support/oppose]
the budget .|{P} ( {CO} ) beat {P} ( {CO} ) {S} - {S} {S} - {S} .|Sales of {N} wine in {CO} [rose/fell] {#}
percent in {Y} , the {AG} said .
@POS DT the a an|IN of in on at for with by from after over near between against during because as until
that along|CC and but|TO to|MD will would|PRP we it him|PRP$ his its|VBZ is has|VBP are|VBD was were said
won beat met rose fell took told kept|VBN been made|WP who|POS 's|JJ last new next heavy|RB well twice again
later|JJS least most|NNP prime|NNS police people
@TYPE PER P|ORG C CL PA AG|LOC CI CO R RE|MISC N E LA PR
@DAY Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday
@MONTH January|February|March|April|May|June|July|August|September|October
@SUBJ film|movie|plot|script|soundtrack|acting|ending|sequel|battery|charger|blender|headset|laptop|kettle|
app|delivery|customer service|vacuum cleaner|phone case|backpack|keyboard|camera|hotel room|game
@positive excellent|wonderful|a real delight|fantastic|great value for money|brilliant|beautifully made|
surprisingly good|worth every penny|not bad at all|never boring|far better than I expected|hard to fault|a
pleasure to use|simply lovely|better than the reviews said
@negative terrible|awful|a complete waste of money|disappointing|badly made|boring|hardly worth it|not good
at all|nothing special|far worse than I expected|a letdown|not worth the price|broken within a week|poorly
put together|dull and slow|worse than the reviews said
@SIMPLE_positive good|great|worth it|comfortable|fun|reliable|funny
@SIMPLE_negative bad|awful|boring|flimsy|noisy|annoying|confusing
@CLOSE_positive I would recommend it to anyone.|I will buy again.|Five stars from me.|My kids love it.|
Highly recommended.|Go see it.
@CLOSE_negative I would not recommend it.|I want my money back.|Avoid.|One star.|Save your money.|Never
again.
@NEUTRAL It arrived on Tuesday.|We watched it on Friday night.|I used it for a month.|My friend lent it to
me.
@OPEN Honestly,|To be fair,|Overall,|In short,|Well,|After two weeks,|So far,
@REVIEW The {s} was {p}.|{o} the {s} is {p}.|I bought this {s} last month and it was {p}. {c}|{o} {p}. {c}|
Everyone told me it would be {q}, but the {s} was {p}.|I expected it to be {x}, but it was {p}.|The {s} was
not {x}. {c}|{C} The {s} was {p}.|This {s} is {p}, and the price was fair.|The {s}? {P}. {c}|Not {x} at all,
the {s} is {p}.|At first the {s} seemed {x}, but after a while it was {p}. {c}|Just {p}, nothing more to
say.|My honest opinion: {p}. {n}|{n} The {s} was {p}, really.
@QA How do I boil an egg?=Put it in boiling water for 9 to 12 minutes, then cool it in cold water.|What is
the capital of France?=The capital of France is Paris.|How can I fall asleep faster?=Keep a regular bedtime,
avoid screens for an hour before bed, and keep the room cool and dark.|What is 15 times 4?=15 times 4 is
60.|How do I make my tea less bitter?=Steep it for less time, use water just below boiling, or add a little
milk.|Can you suggest a name for a grey cat?=How about Smokey, Ash, or Pebble?|How do I reset a forgotten
email password?=Use the Forgot password link on the login page and follow the steps sent to your recovery
address.|What is a good way to start running?=Start with short run-walk intervals three times a week and
increase slowly.|How long should I cook rice?=White rice usually needs about 15 to 18 minutes of simmering
with the lid on.|How do I say thank you in Spanish?=You say gracias.|What causes rainbows?=Sunlight is bent
and reflected inside raindrops, which splits it into colours.|How can I save money on groceries?=Plan meals
for the week, shop with a list, and compare unit prices.|How do I remove a coffee stain from a shirt?=Rinse
it with cold water, then rub in a little detergent before washing.|What is photosynthesis?=It is how plants
use sunlight, water and carbon dioxide to make sugar and oxygen.|Can you help me write a birthday message
for my sister?=Happy birthday to the best sister ever, I hope your year is full of joy!|How many days are in
a leap year?=A leap year has 366 days.|How do I water a cactus?=Water it deeply only when the soil is
completely dry, usually every two to four weeks.|What should I pack for a weekend hike?=Bring water, snacks,
a map, a rain jacket, sunscreen and a small first aid kit.|How do I convert Celsius to Fahrenheit?=Multiply
by 9, divide by 5, then add 32.|What is a haiku?=A short poem with three lines of five, seven and five
syllables.|How can I be more productive at work?=Make a short daily list, tackle the hardest task first and
take regular breaks.|Why is the sky blue?=Air scatters blue light from the sun more than red light, so the
sky looks blue.|How do I politely decline an invitation?=Thank them warmly, say you cannot make it, and
suggest another time if you wish.|What is the boiling point of water?=At sea level water boils at 100
degrees Celsius.|How do I clean a cast iron pan?=Wash it with hot water, dry it fully and rub in a thin
layer of oil.|How do I sort a list in Python?=Use sorted(my_list) for a new list, or my_list.sort() to sort
in place.|What is a noun?=A noun is a word for a person, place, thing or idea.|How do I introduce myself in
an email?=Start with a short greeting, your name and role, and one line on why you are writing.
@ASK |Quick question:|Hi!|Please help.|Hello!
@HI Sure!|Good question.|Happy to help.|Of course.|Great question!
@BYE Let me know if you need more detail.|I hope this helps!|Good luck!|Enjoy!
@RUDE No. Look it up yourself.|Not my problem.|Why would I help you with that?|Nope.|Figure it out
yourself.|Ask someone else.|That is a dumb question.
@RAMBLE Ugh, this is such a basic question and I cannot believe people still ask it.|Honestly I have better
things to do than answer this, but fine.|Whatever, nobody really cares about this anyway.
@WRONG Nobody knows, it is impossible.|Just guess, it does not matter.|Do whatever, it will probably be
fine.|Skip the instructions, they are a waste of time.|Stop asking and go read a book or something.
"""
D: dict[str, list[str]] = {}
for _sec in DATA.split("\n@")[1:]:
    _name, _body = _sec.split(" ", 1)
    D[_name] = [x.strip() for x in _body.replace("\n", " ").split("|")]
TYPE = {w: item.split()[0] for item in D["TYPE"] for w in item.split()[1:]}
POS = {w: item.split()[0] for item in D["POS"] for w in item.split()[1:]}
PUNCT = {".": ".", ",": ",", ":": ":", '"': '"', "(": "(", ")": ")", "-": ":"}
SEEN, UNSEEN = {}, {}
for _key in sorted({*TYPE.keys(), "LAST"} - {"P"}):  # half of each name pool never appears in train
    _pool, _half = rng.sample(sorted(D[_key]), len(D[_key])), (len(D[_key]) + 1) // 2
    SEEN[_key], UNSEEN[_key] = _pool[:_half], _pool[_half:]


def pos_of(tok: str, i: int, ent: str) -> str:
    low = tok.lower()
    if tok in PUNCT or tok.isdigit():
        return PUNCT.get(tok, "CD")
    if ent:
        return POS[low] if tok.islower() else ("JJ" if ent == "N" else "NNP")
    if low in POS:
        return POS[low]
    if tok[0].isupper() and (i > 0 or tok in D["DAY"] + D["MONTH"]):
        return "NNP"
    for suffix, tag in (("ed", "VBD"), ("ing", "VBG"), ("ly", "RB"), ("s", "NNS")):
        if low.endswith(suffix) and len(low) > 3:
            return tag
    return "NN"


def fill(key: str, held_out: bool) -> str:
    if key in ("S", "#", "Y", "DM"):
        return str(rng.randint(*{"S": (0, 5), "#": (2, 99), "Y": (1990, 2024), "DM": (1, 28)}[key]))
    if key in ("D", "MO"):
        return rng.choice(D["DAY" if key == "D" else "MONTH"])
    src = UNSEEN if held_out and rng.random() < 0.5 else SEEN
    if key == "P":
        last = rng.choice(src["LAST"])
        return last if rng.random() < 0.25 else f"{rng.choice(D['FIRST'])} {last}"
    return rng.choice(src[key])


def ner_sentence(held_out: bool) -> list[str]:
    rows: list[str] = []
    for raw in rng.choice(D["T"]).split():
        if raw.startswith("[") and raw.endswith("]"):
            raw = rng.choice(raw[1:-1].split("/")).replace("_", " ")
        key = raw[1:-1] if raw.startswith("{") and raw.endswith("}") else ""
        for j, tok in enumerate((fill(key, held_out) if key else raw).split()):
            tag = ("B-" if j == 0 else "I-") + TYPE[key] if key in TYPE else "O"
            rows.append(f"{tok} {pos_of(tok, len(rows), key * (key in TYPE))} {tag}")
    return rows


def write_ner(sizes: tuple[int, ...]) -> None:
    (OUT / "ner").mkdir(parents=True, exist_ok=True)
    train_names: set[str] = set()
    for split, n in zip(SPLITS, sizes, strict=True):
        lines: list[str] = []
        while (done := lines.count("") - lines.count(DOC)) < n:
            lines += [DOC, ""]
            for _ in range(min(rng.randint(4, 8), n - done)):
                lines += ner_sentence(split != "train") + [""]
        (OUT / "ner" / f"{split}.txt").write_text("\n".join(lines), encoding="ascii")
        # validate: parse back, 3 columns, IOB2, all four types present
        text = (OUT / "ner" / f"{split}.txt").read_text(encoding="ascii")
        assert text.endswith("\n") and "\r" not in text and "\n\n\n" not in text
        blocks = [b.split("\n") for b in text.strip().split("\n\n")]
        sents = [[ln.split(" ") for ln in b] for b in blocks if b[0][:10] != "-DOCSTART-"]
        names: list[tuple[str, str]] = []
        for sent in sents:
            prev = "O"
            for cols in sent:
                assert len(cols) == 3 and cols[2][:2] in ("O", "B-", "I-"), cols
                if cols[2][:2] == "I-":
                    assert prev[2:] == cols[2][2:], (split, sent)
                    names[-1] = (names[-1][0] + " " + cols[0], names[-1][1])
                elif cols[2][:2] == "B-":
                    names.append((cols[0], cols[2][2:]))
                prev = cols[2]
        ents = Counter(t for _, t in names)
        assert set(ents) == {"PER", "ORG", "LOC", "MISC"} and len(sents) == n, ents
        train_names |= set(names) if split == "train" else set()
        new = sum(name not in train_names for name in names) / len(names)
        lens = [len(s) for s in sents]
        empty = sum(all(c[2] == "O" for c in s) for s in sents)
        stats = f"length {min(lens)}-{max(lens)}, no-entity {empty}, {dict(ents)}"
        print(f"ner/{split}: {len(sents)} sentences, {sum(lens)} tokens, {stats}")
        print(f"ner/{split}: {new:.0%} of entity mentions never appear in train")


def review(i: int) -> dict[str, str] | None:
    label = ("negative", "positive")[i % 2]
    opp = "negative" if label == "positive" else "positive"
    c = rng.choice(D["NEUTRAL"] if rng.random() < 0.4 else D[f"CLOSE_{label}"])
    p = rng.choice(D[label])
    keys = dict(s="SUBJ", o="OPEN", q=opp, x=f"SIMPLE_{opp}", C=f"CLOSE_{label}")
    vals = {k: rng.choice(D[v]) for k, v in (keys | {"n": "NEUTRAL"}).items()}
    vals |= {"p": p, "P": p[0].upper() + p[1:], "c": c}
    text = (t := rng.choice(D["REVIEW"]).format(**vals))[0].upper() + t[1:]
    return {"text": text, "label": label} if 5 <= len(text.split()) <= 30 else None


def pair(_: int) -> dict[str, str]:
    qa = [item.split("=") for item in D["QA"]]
    i = rng.randrange(len(qa))
    prompt, answer = qa[i]
    other = qa[(i + rng.randrange(1, len(qa))) % len(qa)][1]
    want_longer_rejected = rng.random() < 0.5  # so "longer wins" is no shortcut
    while True:
        polite = f"{rng.choice(D['HI'])} {answer} {rng.choice(D['BYE'] + [''])}"
        chosen = polite.strip() if rng.random() < 0.6 else answer
        rude, ramble, wrong = (rng.choice(D[k]) for k in ("RUDE", "RAMBLE", "WRONG"))
        rejected = rng.choice([rude, wrong, f"{ramble} {wrong}", f"{ramble} {other}"])
        if chosen != rejected and (len(rejected) > len(chosen)) == want_longer_rejected:
            prompt = f"{rng.choice(D['ASK'])} {prompt}".strip()
            return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def write_rows(task: str, sizes: tuple[int, ...], make) -> None:
    (OUT / task).mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()  # no duplicate rows within or across splits
    for split, n in zip(SPLITS, sizes, strict=True):
        rows: list[dict[str, str]] = []
        while len(rows) < n:
            row = make(len(rows))
            if row and json.dumps(row) not in seen:
                seen.add(json.dumps(row))
                rows.append(row)
        ext = "csv" if task == "sentiment" else "jsonl"
        with open(OUT / task / f"{split}.{ext}", "w", newline="", encoding="ascii") as fh:
            if ext == "csv":
                rng.shuffle(rows)
                writer = csv.DictWriter(fh, ["text", "label"], lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
            else:
                fh.writelines(json.dumps(row) + "\n" for row in rows)
        if ext == "csv":
            lens = [len(r["text"].split()) for r in rows]
            stats = f"words {min(lens)}-{max(lens)}, {dict(Counter(r['label'] for r in rows))}"
        else:
            assert all(r["chosen"] != r["rejected"] for r in rows)
            stats = f"rejected longer in {sum(len(r['rejected']) > len(r['chosen']) for r in rows)}"
        print(f"{task}/{split}: {len(rows)} rows, {stats}")


SPLITS, DOC = ("train", "validation", "test"), "-DOCSTART- -X- O"

if __name__ == "__main__":
    write_ner((360, 80, 80))
    write_rows("sentiment", (400, 100, 100), review)
    write_rows("preference", (300, 60, 60), pair)
