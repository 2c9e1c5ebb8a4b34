"""The sequel's sequence data, generated here rather than downloaded.

*Deep Learning from Scratch 2* trains word2vec and language models on a corpus, and seq2seq
on two text files of `question_answer` lines: `addition.txt` ("16+75  _91  ") and `date.txt`
("september 27, 1994           _1994-09-27"). This module makes each from a seed:

- `grammar_corpus`: sentences of a small grammar whose words fall into roles (animals,
  people, foods, places, verbs, adjectives), for word2vec and language models;
  `grammar_perplexity` is the grammar's own per-word perplexity, the floor a model can reach;
- `load_data("addition.txt")` / `load_data("date.txt")` with `get_vocab()`, as the sequel's
  `dataset/sequence.py` calls them (any other name is read as a file of such lines).
"""

from __future__ import annotations

import datetime
import math
import os
from pathlib import Path

import numpy as np

from minigrad._checks import check_int

__all__ = ["GRAMMAR_ROLES", "grammar_corpus", "grammar_perplexity", "addition_lines",
           "date_lines", "load_data", "load_data_lines", "get_vocab"]

GRAMMAR_ROLES: dict[str, tuple[str, ...]] = {
    "animal": ("cat", "dog", "horse", "cow", "sheep", "goat"),
    "person": ("man", "woman", "boy", "girl", "teacher", "doctor"),
    "food": ("apple", "bread", "cheese", "rice", "soup", "cake"),
    "place": ("city", "village", "park", "school", "market", "forest"),
    "eats": ("eats", "likes", "wants", "buys"),
    "goes": ("visits", "enters", "leaves", "reaches"),
    "adjective": ("fresh", "sweet", "warm", "cold"),
}

# Four sentence forms, drawn with equal chance. A slot names a role; "subject" is an animal
# or a person; "adjective?" is an adjective half the time and nothing otherwise. The words
# of a sentence tell which choices made it, so the grammar's entropy is that of its choices.
_FORMS: tuple[tuple[str, ...], ...] = (
    ("the", "<subject>", "<eats>", "the", "<adjective?>", "<food>", "."),
    ("the", "<person>", "<goes>", "the", "<place>", "."),
    ("the", "<animal>", "sleeps", "in", "the", "<place>", "."),
    ("the", "<person>", "feeds", "the", "<animal>", "."),
)


def _slot_words(slot: str) -> tuple[str, ...]:
    role = slot.strip("<>?")
    if role == "subject":
        return GRAMMAR_ROLES["animal"] + GRAMMAR_ROLES["person"]
    return GRAMMAR_ROLES[role]


def grammar_corpus(sentences: int = 10000, seed: int = 0) -> str:
    """`sentences` sentences of the grammar, one text ("the cat eats the fresh apple . ...")
    to give to `minigrad.util.preprocess`."""
    check_int(sentences, "sentences", "grammar_corpus")
    rng = np.random.default_rng(seed)
    words: list[str] = []
    for form in rng.integers(len(_FORMS), size=sentences):
        for slot in _FORMS[form]:
            if not slot.startswith("<"):
                words.append(slot)
            elif slot.endswith("?>") and rng.random() < 0.5:
                continue
            else:
                choices = _slot_words(slot)
                words.append(choices[rng.integers(len(choices))])
    return " ".join(words)


def grammar_perplexity() -> float:
    """The per-word perplexity of `grammar_corpus`'s text: exp(entropy per sentence / mean
    words per sentence). No model of that text can do better on average."""
    entropy = length = 0.0
    for form in _FORMS:
        h, n = math.log(len(_FORMS)), 0.0
        for slot in form:
            if slot.endswith("?>"):
                h += math.log(2) + 0.5 * math.log(len(_slot_words(slot)))
                n += 0.5
            else:
                h += math.log(len(_slot_words(slot))) if slot.startswith("<") else 0.0
                n += 1
        entropy += h / len(_FORMS)
        length += n / len(_FORMS)
    return math.exp(entropy / length)


def addition_lines(n: int = 50000, seed: int = 1984, digits: int = 3) -> list[str]:
    """`n` distinct sums "a+b" as the sequel's addition.txt lines: the question padded to 7
    characters, "_", the answer padded to 4. Each number has 1 to `digits` digits, the
    count drawn first; when n is over half of all the sums, the pairs are drawn
    uniformly instead (repeats would make the first way slow)."""
    check_int(n, "n", "addition_lines")
    if check_int(digits, "digits", "addition_lines") > 3:
        raise ValueError(f"addition_lines: digits={digits}, but the sequel's lines have room "
                         "for numbers of at most 3")
    possible = 100 ** digits                          # pairs of numbers below 10**digits
    if n > possible:
        raise ValueError(f"addition_lines: n={n}, but there are only {possible} sums")
    rng = np.random.default_rng(seed)
    if n > possible // 2:                 # many of them: draw pairs without replacement
        pairs = rng.choice(possible, n, replace=False)
        return [f"{a}+{b}".ljust(7) + "_" + str(a + b).ljust(4)
                for a, b in (divmod(int(p), 10 ** digits) for p in pairs)]
    seen: set[tuple[int, int]] = set()
    lines: list[str] = []
    while len(lines) < n:
        a, b = (int(rng.integers(10 ** (d - 1) if d > 1 else 0, 10 ** d))
                for d in rng.integers(1, digits + 1, size=2))
        if (a, b) not in seen:
            seen.add((a, b))
            lines.append(f"{a}+{b}".ljust(7) + "_" + str(a + b).ljust(4))
    return lines


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _date_text(d: datetime.date, form: int) -> str:
    month, weekday = _MONTHS[d.month - 1], _WEEKDAYS[d.weekday()]
    texts = (
        f"{month} {d.day}, {d.year}",                       # september 27, 1994
        f"{month.title()} {d.day}, {d.year}",               # September 27, 1994
        f"{month[:3]} {d.day}, {d.year}",                   # sep 27, 1994
        f"{month[:3].upper()} {d.day}, {d.year}",           # SEP 27, 1994
        f"{weekday}, {month} {d.day}, {d.year}".upper(),    # TUESDAY, SEPTEMBER 27, 1994
        f"{weekday.title()}, {month.title()} {d.day}, {d.year}",
        f"{d.day} {month} {d.year}",                        # 27 september 1994
        f"{d.day} {month[:3].upper()} {d.year}",            # 27 SEP 1994
        f"{d.month}/{d.day}/{d.year % 100:02d}",            # 9/27/94
        f"{d.month}/{d.day}/{d.year}",                      # 9/27/1994
        f"{d.day}.{d.month}.{d.year}",                      # 27.9.1994
    )
    return texts[form]


DATE_FORMS = 11
FIRST_DAY, LAST_DAY = datetime.date(1970, 1, 1), datetime.date(2069, 12, 31)


def date_lines(n: int = 50000, seed: int = 1984) -> list[str]:
    """`n` distinct dates between 1970 and 2069, each in one of 11 human formats (two-digit
    years are 19yy from 70 on, else 20yy), as date.txt lines: the text padded to 29
    characters, "_", the ISO date."""
    check_int(n, "n", "date_lines")
    span = (LAST_DAY - FIRST_DAY).days + 1
    lines: list[str] = []
    seen: set[str] = set()
    # distinct texts, so no held-back question is also a training one ("may 3, 2046" is
    # both the full and the short form of its month)
    for pair in np.random.default_rng(seed).permutation(span * DATE_FORMS):
        day, form = divmod(int(pair), DATE_FORMS)
        d = FIRST_DAY + datetime.timedelta(days=day)
        text = _date_text(d, form)
        if text not in seen:
            seen.add(text)
            lines.append(text.ljust(29) + "_" + d.isoformat())
            if len(lines) == n:
                return lines
    raise ValueError(f"date_lines: n={n}, but there are only {len(lines)} distinct dates "
                     "and formats")


_GENERATED = {"addition.txt": addition_lines, "date.txt": date_lines}
_vocab: tuple[dict[str, int], dict[int, str]] = ({}, {})


def load_data(file_name: str | os.PathLike[str] = "addition.txt", seed: int = 1984
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The sequel's `sequence.load_data`: character ids (x_train, t_train), (x_test, t_test).

    "addition.txt" and "date.txt" are generated (50,000 lines each); any other name is read
    as a file of `question_answer` lines of equal lengths. Answers keep their leading "_"
    (the decoder's start symbol). The lines are shuffled with `seed`, and the last tenth is
    held back for testing. `get_vocab()` then gives the characters' ids.
    """
    name = os.fspath(file_name)
    if name in _GENERATED and not Path(name).is_file():
        return load_data_lines(_GENERATED[name](seed=seed), seed, name)
    return load_data_lines(Path(name).read_text(encoding="utf-8").splitlines(), seed, name)


def load_data_lines(lines: list[str], seed: int = 1984, name: str = "lines"
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`load_data` of `question_answer` lines already in memory (`name` is for errors)."""
    questions, answers = [], []
    for number, line in enumerate(lines, 1):
        if "_" not in line:
            raise ValueError(f"load_data: {name}, line {number}: no '_' between question "
                             f"and answer in {line!r}")
        cut = line.index("_")
        questions.append(line[:cut])
        answers.append(line[cut:])
    for kind, texts in (("question", questions), ("answer", answers)):
        if len({len(s) for s in texts}) > 1:
            raise ValueError(f"load_data: {name}: {kind}s of different lengths "
                             f"{sorted({len(s) for s in texts})}; pad them to one length")
    char_to_id: dict[str, int] = {}
    for q, a in zip(questions, answers):
        for c in q + a:
            char_to_id.setdefault(c, len(char_to_id))
    _vocab[0].clear()
    _vocab[0].update(char_to_id)
    _vocab[1].clear()
    _vocab[1].update({i: c for c, i in char_to_id.items()})
    x = np.array([[char_to_id[c] for c in q] for q in questions], dtype=np.int64)
    t = np.array([[char_to_id[c] for c in a] for a in answers], dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    x, t = x[order], t[order]
    cut = len(x) - len(x) // 10
    return (x[:cut], t[:cut]), (x[cut:], t[cut:])


def get_vocab() -> tuple[dict[str, int], dict[int, str]]:
    """(char_to_id, id_to_char) of the last `load_data`."""
    return dict(_vocab[0]), dict(_vocab[1])
