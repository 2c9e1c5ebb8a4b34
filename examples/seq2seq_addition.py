"""Teach seq2seq to add (the sequel's chapter 7): "16+75" in, "91" out, one character at a time.

The data are the sequel's addition.txt, generated here (minigrad.datasets.sequence:
50,000 distinct sums of numbers of 1 to 3 digits, a tenth held back). An LSTM encoder reads
the question, an LSTM decoder writes the answer. The sequel's two improvements are on by
default: the question is read backwards (--no-reverse turns it off), and the decoder is
"peeky", seeing the encoder's summary at every step (--model simple turns it off). The
program prints the share of held-back questions answered exactly right after each epoch.

    python examples/seq2seq_addition.py              # exact match above 0.9, a few minutes
    python examples/seq2seq_addition.py --model simple --no-reverse    # the sequel's baseline
    python examples/seq2seq_addition.py --digits 2 --questions 5000 --epochs 8   # a minute

Writes a PNG (--plot) of the exact-match accuracy and the loss per epoch.
"""

from __future__ import annotations

import argparse
from typing import Any

from _sequel import (
    add_training_arguments,
    check_positive,
    exact_match_curves,
    parser,
    save_figure,
    show_answers,
    train_seq2seq,
)

from minigrad.blas import add_threads_argument, limit_blas_threads
from minigrad.datasets import sequence
from minigrad.nlp import PeekySeq2seq, Seq2seq

MODELS = {"peeky": PeekySeq2seq, "simple": Seq2seq}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument("--model", choices=sorted(MODELS), default="peeky", help="default: peeky")
    p.add_argument("--no-reverse", action="store_true", help="read the question forwards")
    p.add_argument("--questions", type=int, default=50000,
                   help="sums to generate, a tenth held back (default: 50000)")
    p.add_argument("--digits", type=int, choices=(1, 2, 3), default=3,
                   help="most digits of a number (default: the sequel's 3)")
    p.add_argument("--wordvec", type=int, default=16, help="default: 16")
    p.add_argument("--hidden", type=int, default=128, help="default: 128")
    add_training_arguments(p, epochs=25, batch_size=128, lr=0.001, plot="seq2seq_addition.png")
    add_threads_argument(p)
    args = p.parse_args(argv)
    check_positive(p, args, "questions", "wordvec", "hidden", "epochs", "batch_size")
    if not 10 <= args.questions <= 100 ** args.digits:
        p.error(f"--questions must be between 10 (a tenth is held back) and "
                f"{100 ** args.digits} (the sums of numbers of {args.digits} digits)")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    limit_blas_threads(args.threads)
    lines = sequence.addition_lines(args.questions, seed=args.seed, digits=args.digits)
    (x_train, t_train), (x_test, t_test) = sequence.load_data_lines(lines, seed=args.seed)
    char_to_id, id_to_char = sequence.get_vocab()
    if not args.no_reverse:
        x_train, x_test = x_train[:, ::-1], x_test[:, ::-1]
    model = MODELS[args.model](len(char_to_id), args.wordvec, args.hidden, rng=args.seed)
    print(f"{len(x_train)} training and {len(x_test)} held-back sums; {type(model).__name__}"
          f"(wordvec {args.wordvec}, hidden {args.hidden}), question "
          f"{'forwards' if args.no_reverse else 'reversed'}; Adam lr={args.lr}, "
          f"{args.epochs} epochs of batches of {args.batch_size}")
    losses, accuracies = train_seq2seq(model, ((x_train, t_train), (x_test, t_test)), args)
    show_answers(model, x_test, t_test, id_to_char, not args.no_reverse)

    title = f"{type(model).__name__}, question {'forwards' if args.no_reverse else 'reversed'}"
    save_figure(exact_match_curves(losses, accuracies, "sums", title), args.plot)
    return {"losses": losses, "accuracies": accuracies}


if __name__ == "__main__":
    main()
