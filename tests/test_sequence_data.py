"""The sequel's generated data (minigrad.datasets.sequence) and its models (minigrad.nlp)."""

from __future__ import annotations

import datetime
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import util
from minigrad.datasets import sequence
from minigrad.nlp import CBOW, AttentionSeq2seq, PeekySeq2seq, Rnnlm, Seq2seq, exact_match

# ------------------------------------------------------------------ the grammar


def every_sentence() -> list[tuple[float, list[str]]]:
    """Every sentence the grammar can make, with its probability, enumerated from the
    forms: an account of the grammar independent of grammar_perplexity's."""
    roles = sequence.GRAMMAR_ROLES
    subject = roles["animal"] + roles["person"]
    forms = [
        [("the",), subject, roles["eats"], ("the",), roles["adjective"] + ("",),
         roles["food"], (".",)],
        [("the",), roles["person"], roles["goes"], ("the",), roles["place"], (".",)],
        [("the",), roles["animal"], ("sleeps",), ("in",), ("the",), roles["place"], (".",)],
        [("the",), roles["person"], ("feeds",), ("the",), roles["animal"], (".",)],
    ]
    sentences = []
    for slots in forms:
        for words in itertools.product(*slots):
            p = 1 / len(forms)
            for slot, word in zip(slots, words):
                if "" in slot:                            # the optional adjective
                    p *= 0.5 if word == "" else 0.5 / (len(slot) - 1)
                else:
                    p /= len(slot)
            sentences.append((p, [w for w in words if w]))
    return sentences


def test_the_grammars_perplexity_is_its_entropy_per_word() -> None:
    sentences = every_sentence()
    assert sum(p for p, _ in sentences) == pytest.approx(1.0)
    texts = [" ".join(words) for _, words in sentences]
    assert len(set(texts)) == len(texts)           # the words tell the choices: no two alike
    entropy = -sum(p * math.log(p) for p, _ in sentences)
    length = sum(p * len(words) for p, words in sentences)
    assert sequence.grammar_perplexity() == pytest.approx(math.exp(entropy / length),
                                                          rel=1e-12)


def test_the_corpus_holds_the_grammars_sentences_in_its_proportions() -> None:
    text = sequence.grammar_corpus(4000, seed=3)
    assert text == sequence.grammar_corpus(4000, seed=3) != sequence.grammar_corpus(4000, 4)
    made = [s.strip() + " ." for s in text.split(" .") if s.strip()]
    assert len(made) == 4000
    known = {" ".join(words): p for p, words in every_sentence()}
    assert all(s in known for s in made)
    forms = np.array([sum(w in s.split() for w in ("sleeps", "feeds")) for s in made])
    assert 0.2 < np.mean([("sleeps" in s.split()) for s in made]) < 0.3
    assert forms.max() == 1
    words = text.split()
    # the corpus's words' log-probability per word is near the grammar's entropy per word
    log_p = sum(math.log(known[s]) for s in made)
    assert math.exp(-log_p / len(words)) == pytest.approx(sequence.grammar_perplexity(),
                                                          rel=0.03)


# ------------------------------------------------------------------ addition and dates


def test_addition_lines_are_distinct_right_and_padded() -> None:
    lines = sequence.addition_lines(3000, seed=5)
    assert len(set(lines)) == 3000
    digits = []
    for line in lines:
        assert len(line) == 12 and line[7] == "_"
        a, b = map(int, line[:7].split("+"))
        assert int(line[8:]) == a + b
        assert 0 <= a <= 999 and 0 <= b <= 999
        digits.append(len(str(a)))
    counts = np.bincount(digits)[1:]
    assert counts.min() > 600         # 1, 2 and 3 digits (fewer 1-digit: they repeat sooner)
    with pytest.raises(ValueError, match=r"addition_lines: n=2000000, but there are only "
                                         r"1000000 sums"):
        sequence.addition_lines(2_000_000)
    small = sequence.addition_lines(10000, digits=2)              # every one of them
    assert sorted(small) == sorted(f"{a}+{b}".ljust(7) + "_" + str(a + b).ljust(4)
                                   for a in range(100) for b in range(100))
    assert len(set(small)) == 10000 and all(len(q.split("+")[1].split()[0]) <= 2
                                            for q in small)
    with pytest.raises(ValueError, match=r"digits=4, but the sequel's lines have room"):
        sequence.addition_lines(10, digits=4)


DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%A, %B %d, %Y", "%d %B %Y", "%d %b %Y",
                "%m/%d/%y", "%m/%d/%Y", "%d.%m.%Y")


def test_date_lines_say_the_date_they_are_answered_with() -> None:
    lines = sequence.date_lines(3000, seed=2)
    for line in lines:
        assert len(line) == 40 and line[29] == "_"
        text, iso = line[:29].strip(), line[30:]
        parsed = {datetime.datetime.strptime(text.title(), f).date() for f in DATE_FORMATS
                  if _parses(text.title(), f)}
        if "/" in text and len(text.split("/")[2]) == 2:       # 19yy from 70 on, else 20yy
            parsed = {d.replace(year=d.year + 100 * ((d.year < 1970) - (d.year > 2069)))
                      for d in parsed}
        assert parsed == {datetime.date.fromisoformat(iso)}, line
    assert len(set(lines)) == len(lines)              # no question twice
    with pytest.raises(ValueError, match=r"date_lines: n=500000, but there are only "
                                         r"\d+ distinct dates and formats"):
        sequence.date_lines(500000)
    (x, _), (xt, _) = sequence.load_data("date.txt")
    assert not {row.tobytes() for row in x} & {row.tobytes() for row in xt}
    years = [int(line[30:34]) for line in lines]
    assert min(years) == 1970 and max(years) == 2069
    forms = {sequence._date_text(datetime.date(1994, 9, 27), k) for k in
             range(sequence.DATE_FORMS)}
    assert len(forms) == sequence.DATE_FORMS
    assert "september 27, 1994" in forms and "TUESDAY, SEPTEMBER 27, 1994" in forms


def _parses(text: str, form: str) -> bool:
    try:
        datetime.datetime.strptime(text, form)
    except ValueError:
        return False
    return True


def test_load_data_generates_the_two_files_shuffles_and_holds_back_a_tenth() -> None:
    (x, t), (xt, tt) = sequence.load_data("addition.txt")
    assert x.shape == (45000, 7) and t.shape == (45000, 5)
    assert xt.shape == (5000, 7) and tt.shape == (5000, 5)
    char_to_id, id_to_char = sequence.get_vocab()
    assert sorted(char_to_id) == sorted("0123456789+ _")
    assert all(id_to_char[i] == c for c, i in char_to_id.items())
    texts = {"".join(id_to_char[i] for i in row) for row in np.concatenate([x, xt])}
    assert len(texts) == 50000
    assert all(id_to_char[int(i)] == "_" for i in t[:, 0])
    q = "".join(id_to_char[int(i)] for i in xt[0])
    a, b = map(int, q.split("+"))
    assert int("".join(id_to_char[int(i)] for i in tt[0, 1:])) == a + b
    (x2, _), _ = sequence.load_data("addition.txt", seed=7)
    assert not np.array_equal(x, x2)
    (x, t), _ = sequence.load_data("date.txt")
    assert x.shape == (45000, 29) and t.shape == (45000, 11)
    assert len(sequence.get_vocab()[0]) > 50


def test_load_data_reads_a_file_of_lines(tmp_path: Path) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text("ab_xy\nba_yx\naa_xx\n", encoding="utf-8")
    (x, t), (xt, tt) = sequence.load_data(path, seed=0)
    assert x.shape == (3, 2) and t.shape == (3, 3) and xt.shape == (0, 2)
    char_to_id, id_to_char = sequence.get_vocab()
    assert set(char_to_id) == set("abxy_")
    rows = {"".join(id_to_char[i] for i in q) + "".join(id_to_char[i] for i in a)
            for q, a in zip(x, t)}
    assert rows == {"ab_xy", "ba_yx", "aa_xx"}
    (tmp_path / "bad.txt").write_text("ab_xy\nabxy\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"load_data: .*bad.txt, line 2: no '_'"):
        sequence.load_data(tmp_path / "bad.txt")
    (tmp_path / "ragged.txt").write_text("ab_xy\nabc_xy\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ragged.txt: questions of different lengths \[2, 3\]"):
        sequence.load_data(tmp_path / "ragged.txt")
    with pytest.raises(FileNotFoundError):
        sequence.load_data(tmp_path / "missing.txt")


def test_create_contexts_target_gives_the_words_around_each_word() -> None:
    corpus, _, _ = util.preprocess("You say goodbye and I say hello.")
    contexts, target = util.create_contexts_target(corpus, window_size=1)
    assert target.tolist() == [1, 2, 3, 4, 1, 5]
    assert contexts.tolist() == [[0, 2], [1, 3], [2, 4], [3, 1], [4, 5], [1, 6]]
    contexts, target = util.create_contexts_target(np.arange(10), window_size=2)
    assert target.tolist() == list(range(2, 8))
    assert contexts[0].tolist() == [0, 1, 3, 4]
    with pytest.raises(ValueError, match="create_contexts_target: a corpus of shape"):
        util.create_contexts_target(np.arange(4), window_size=2)


# ------------------------------------------------------------------ the models


def check_parameter_gradients(model: mg.nn.Module, loss_of: object, count: int = 6) -> None:
    """Each parameter's gradient from backward against central differences, at `count`
    entries of each, with the model in float64."""
    loss = loss_of()                                      # type: ignore[operator]
    model.zero_grad()
    loss.backward()
    rng = np.random.default_rng(0)
    for name, p in model.named_parameters():
        flat = p.data.reshape(-1)
        for i in rng.choice(flat.size, min(count, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + 1e-6
            up = loss_of().item()                         # type: ignore[operator]
            flat[i] = old - 1e-6
            down = loss_of().item()                       # type: ignore[operator]
            flat[i] = old
            assert p.grad.data.reshape(-1)[i] == pytest.approx((up - down) / 2e-6, rel=1e-5,
                                                          abs=1e-8), name


@pytest.mark.parametrize("model_class", [Seq2seq, PeekySeq2seq, AttentionSeq2seq])
@settings(max_examples=4, deadline=None)
@given(N=st.integers(1, 3), T=st.integers(1, 4), answer=st.integers(2, 4))
def test_seq2seq_gradients_match_central_differences(model_class: type, N: int, T: int,
                                                     answer: int) -> None:
    model = model_class(vocab_size=7, wordvec_size=3, hidden_size=4, rng=1)
    rng = np.random.default_rng(N * 10 + T)
    xs, ts = rng.integers(7, size=(N, T)), rng.integers(7, size=(N, answer))
    check_parameter_gradients(model, lambda: model(xs, ts))


def test_cbow_and_rnnlm_gradients_match_central_differences() -> None:
    corpus = np.random.default_rng(0).integers(9, size=200)
    cbow = CBOW(9, 4, corpus, sample_size=3, rng=2)
    contexts, target = util.create_contexts_target(corpus[:12], window_size=1)

    def cbow_loss() -> mg.Tensor:
        np.random.seed(5)                  # the same negative samples each time
        return cbow(contexts, target)

    check_parameter_gradients(cbow, cbow_loss)
    lm = Rnnlm(9, 3, 4, rng=3)
    xs, ts = corpus[:10].reshape(2, 5), corpus[1:11].reshape(2, 5)

    def lm_loss() -> mg.Tensor:
        logits, _ = lm(xs)
        return mg.functional.cross_entropy(logits.reshape(-1, 9), ts.reshape(-1))

    check_parameter_gradients(lm, lm_loss)


def test_cbow_loss_is_the_negative_sampling_formula() -> None:
    corpus = np.arange(6).repeat(5)
    model = CBOW(6, 3, corpus, sample_size=2, rng=0)
    contexts, target = np.array([[0, 2], [3, 5]]), np.array([1, 4])
    np.random.seed(1)
    loss = model(contexts, target).item()
    np.random.seed(1)
    negatives = model.sampler.get_negative_sample(target)
    W_in, W_out = model.in_embed.weight.data, model.out_embed.weight.data
    h = W_in[contexts].mean(axis=1)
    sig = 1 / (1 + np.exp(-np.einsum("nd,nkd->nk", h, W_out[np.c_[target, negatives]])))
    expected = -np.log(sig[:, 0]).mean() - np.log(1 - sig[:, 1:]).mean(axis=0).sum()
    assert loss == pytest.approx(expected, rel=1e-12)
    assert np.all(negatives != target[:, None])
    with pytest.raises(ValueError, match=r"CBOW: expected integer word ids of 2 dimensions, "
                                         r"got an array of shape \(2,\)"):
        model(target, target)


def test_generate_answers_greedily_and_attention_weights_sum_to_one() -> None:
    model = AttentionSeq2seq(vocab_size=6, wordvec_size=3, hidden_size=5, rng=4)
    xs = np.random.default_rng(1).integers(6, size=(3, 7))
    answers, weights = model.generate(xs, start_id=2, length=4)
    assert answers.shape == (3, 4) and weights is not None and weights.shape == (3, 4, 7)
    assert np.allclose(weights.sum(axis=-1), 1.0)
    # step by step equals teacher forcing on the greedy answer itself
    hs, h = model.encode(xs)
    fed = np.c_[np.full(3, 2), answers[:, :-1]]
    logits, _, forced = model.decode(hs, h, fed)
    assert np.array_equal(np.argmax(logits.data, axis=-1), answers)
    assert forced is not None and np.allclose(forced.data, weights)
    t = np.c_[np.full(3, 2), answers]
    assert exact_match(model, xs, t, batch_size=2) == 1.0
    t[0, 1] = (t[0, 1] + 1) % 6
    assert exact_match(model, xs, t) == pytest.approx(2 / 3)
    plain, none = Seq2seq(6, 3, 5, rng=4).generate(xs, 2, 4)
    assert plain.shape == (3, 4) and none is None
