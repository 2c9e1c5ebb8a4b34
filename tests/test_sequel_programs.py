"""The sequel's four programs, run as a user runs them, on configurations small enough for a
test that still show each one learn: word2vec, the LSTM language model, seq2seq addition and
attention on dates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_examples import assert_png, on_terminal, run

PROGRAMS = ("word2vec.py", "rnnlm.py", "seq2seq_addition.py", "attention_dates.py")


def epochs(stdout: str, measure: str) -> list[tuple[float, float]]:
    """(loss, measure) of each epoch line."""
    found = re.findall(rf"^epoch +\d+ +loss ([\d.]+) +{measure} ([\d.]+)", stdout, re.M)
    return [(float(a), float(b)) for a, b in found]


def final(stdout: str, what: str) -> float:
    match = re.search(rf"^final {what}: ([\d.]+)$", stdout, re.M)
    assert match, stdout
    return float(match.group(1))


def test_word2vec_puts_words_of_a_role_next_to_each_other(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = run("word2vec.py", "--sentences", "2000", "--epochs", "4", "--plot", "w2v.png",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = re.findall(r"^epoch +\d+ +loss ([\d.]+) +nearest neighbour in the same role: "
                       r"(\d+)/(\d+)$", result.stdout, re.M)
    assert len(lines) == 4
    losses = [float(loss) for loss, _, _ in lines]
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.7 * losses[0]
    assert int(lines[0][1]) < 20 <= int(lines[0][2]) == 36      # by chance at first
    assert final(result.stdout, "same-role share") == 1.0        # every word, at the end
    assert re.search(r"^  animal +\w+→(dog|horse|cow|sheep|goat|cat), ", result.stdout, re.M)
    assert_png(tmp_path / "w2v.png")


def test_rnnlm_perplexity_falls_towards_the_grammars_own(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = run("rnnlm.py", "--sentences", "2000", "--epochs", "3", "--plot", "lm.png",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    floor, unigram = map(float, re.search(r"grammar itself: ([\d.]+); of word frequencies: "
                                          r"([\d.]+)", result.stdout).groups())
    assert floor == pytest.approx(2.638, abs=1e-3) and unigram > 15
    test_ppl = [p for _, p in epochs(result.stdout, "test perplexity")]
    assert len(test_ppl) == 3 and test_ppl == sorted(test_ppl, reverse=True)
    assert floor < final(result.stdout, "test perplexity") < 3.0 < unigram / 5
    written = re.search(r"^the model writes: (.*)$", result.stdout, re.M).group(1).split()
    assert len(written) == 30 and written[0] == "the"
    assert_png(tmp_path / "lm.png")


def test_seq2seq_learns_to_add_two_digit_numbers(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = run("seq2seq_addition.py", "--digits", "2", "--questions", "5000", "--epochs",
                 "8", "--lr", "0.01", "--plot", "add.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4500 training and 500 held-back sums; PeekySeq2seq(wordvec 16, hidden 128), " \
           "question reversed" in result.stdout
    history = epochs(result.stdout, "test exact match")
    assert len(history) == 8
    assert history[-1][0] < 0.5 * history[0][0]
    assert history[0][1] < 0.1 and final(result.stdout, "test exact match") > 0.25
    answers = re.findall(r"^  (\d+)\+(\d+) +→ (\d*) +(ok|wrong, (\d+))$", result.stdout, re.M)
    assert len(answers) >= 8
    for a, b, answer, mark, truth in answers:
        assert int(truth or answer) == int(a) + int(b)
        assert (mark == "ok") == (answer == str(int(a) + int(b)))
    assert_png(tmp_path / "add.png")


def test_attention_learns_to_convert_dates_and_draws_its_weights(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = run("attention_dates.py", "--questions", "8000", "--epochs", "6", "--hidden",
                 "64", "--lr", "0.01", "--plot", "dates.png", "--heatmap", "heat.png",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    history = epochs(result.stdout, "test exact match")
    assert len(history) == 6 and history[-1][0] < 0.2 * history[0][0]
    assert history[0][1] < 0.05 and final(result.stdout, "test exact match") > 0.3
    assert re.search(r"^  .+ → \d{4}-\d\d-\d\d +(ok|wrong, \d{4}-\d\d-\d\d)$", result.stdout,
                     re.M)
    assert_png(tmp_path / "dates.png")
    assert_png(tmp_path / "heat.png")


@pytest.mark.parametrize("program", PROGRAMS)
def test_bad_arguments_are_refused_before_anything_runs(tmp_path: Path, program: str) -> None:
    cases = [(["--epochs", "0"], "--epochs must be at least 1"),
             (["--lr", "-1"], "argument --lr: must be a finite number > 0"),
             (["--plot", "no/such/folder.png"], "argument --plot: cannot write")]
    if program == "attention_dates.py":
        cases.append((["--heatmap", "no/such/folder.png"], "argument --heatmap: cannot write"))
    for args, message in cases:
        result = run(program, *args, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and "epoch" not in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("script, options", [
    ("word2vec.py", ["--sentences", "300", "--epochs", "1"]),
    ("rnnlm.py", ["--sentences", "1000", "--epochs", "1"]),
    ("seq2seq_addition.py", ["--digits", "1", "--questions", "60", "--epochs", "1"]),
    ("attention_dates.py", ["--questions", "120", "--epochs", "1", "--hidden", "8"])])
def test_each_program_shows_a_progress_bar_on_a_terminal(tmp_path: Path, script: str,
                                                         options: list[str]) -> None:
    pytest.importorskip("tqdm")
    pytest.importorskip("matplotlib")
    quiet = run(script, *options, "--plot", "", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert "training:" not in quiet.stderr          # not a terminal: no bar
    returncode, seen, stdout = on_terminal(script, *options, "--plot", "", cwd=tmp_path)
    assert returncode == 0, seen.decode(errors="replace")
    assert b"training:" in seen and b"batch" in seen, seen
    assert "training:" not in stdout and "final" in stdout
