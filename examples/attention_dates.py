"""Convert dates with attention (the sequel's chapter 8): "september 27, 1994" in, "1994-09-27" out.

The data are the sequel's date.txt, generated here (minigrad.datasets.sequence: 50,000
dates from 1970 to 2069 in 11 formats, a tenth held back). An LSTM encoder reads the text
backwards, an LSTM decoder writes the ISO date, and at each step the decoder weighs every
encoder state by how well it matches its own (dot-product attention, AttentionSeq2seq).
The program prints the share of held-back dates converted exactly right after each epoch.

    python examples/attention_dates.py                 # exact match above 0.99, a few minutes
    python examples/attention_dates.py --questions 5000 --epochs 2

Writes a PNG (--plot) of the exact-match accuracy per epoch, and a heat map (--heatmap) of
the attention weights while the model converts held-back dates: which input character each
output character looked at.
"""

from __future__ import annotations

import argparse
from typing import Any

from _sequel import (
    add_training_arguments,
    check_positive,
    exact_match_curves,
    parser,
    plot_file,
    save_figure,
    show_answers,
    train_seq2seq,
)

from minigrad.blas import add_threads_argument, limit_blas_threads
from minigrad.datasets import sequence
from minigrad.nlp import AttentionSeq2seq


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument("--questions", type=int, default=50000,
                   help="dates to generate, a tenth held back (default: 50000)")
    p.add_argument("--wordvec", type=int, default=16, help="default: 16")
    p.add_argument("--hidden", type=int, default=128, help="default: 128")
    p.add_argument("--heatmap", type=plot_file, default="attention_dates_heatmap.png",
                   help="PNG of attention weights ('' for none; default: "
                        "attention_dates_heatmap.png)")
    add_training_arguments(p, epochs=6, batch_size=128, lr=0.003, plot="attention_dates.png")
    add_threads_argument(p)
    args = p.parse_args(argv)
    check_positive(p, args, "questions", "wordvec", "hidden", "epochs", "batch_size")
    if args.questions < 10:
        p.error("--questions must be at least 10 (a tenth is held back)")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    limit_blas_threads(args.threads)
    lines = sequence.date_lines(args.questions, seed=args.seed)
    (x_train, t_train), (x_test, t_test) = sequence.load_data_lines(lines, seed=args.seed)
    char_to_id, id_to_char = sequence.get_vocab()
    x_train, x_test = x_train[:, ::-1], x_test[:, ::-1]
    model = AttentionSeq2seq(len(char_to_id), args.wordvec, args.hidden, rng=args.seed)
    print(f"{len(x_train)} training and {len(x_test)} held-back dates; AttentionSeq2seq"
          f"(wordvec {args.wordvec}, hidden {args.hidden}); Adam lr={args.lr}, "
          f"{args.epochs} epochs of batches of {args.batch_size}")
    losses, accuracies = train_seq2seq(model, ((x_train, t_train), (x_test, t_test)), args)
    show_answers(model, x_test, t_test, id_to_char, reversed_input=True)

    def heatmap(plt: Any) -> Any:
        shown = 3
        answers, weights = model.generate(x_test[:shown], int(t_test[0, 0]),
                                          t_test.shape[1] - 1)
        assert weights is not None                          # an attention model's
        fig, axes = plt.subplots(1, shown, figsize=(4.2 * shown, 4.6))
        for ax, question, answer, w in zip(axes, x_test[:shown], answers, weights):
            chars = [id_to_char[int(c)] for c in question[::-1]]
            used = len("".join(chars).rstrip())              # drop the padding on the right
            ax.imshow(w[:, ::-1][:, :used], cmap="gray", vmin=0, vmax=1, aspect="auto")
            ax.set_xticks(range(used), chars[:used], fontsize=7)
            ax.set_yticks(range(len(answer)), [id_to_char[int(c)] for c in answer],
                          fontsize=8)
            ax.set(xlabel="input", ylabel="output")
        fig.suptitle("attention weights (white: 1, black: 0)")
        return fig

    save_figure(exact_match_curves(losses, accuracies, "dates", "AttentionSeq2seq on dates",
                                   loss_scale="log"), args.plot)
    save_figure(heatmap, args.heatmap)
    return {"losses": losses, "accuracies": accuracies}


if __name__ == "__main__":
    main()
