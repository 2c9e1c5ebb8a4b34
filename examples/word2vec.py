"""Train word2vec (CBOW with negative sampling, the sequel's chapter 4) on a generated corpus.

The corpus comes from a small grammar (minigrad.datasets.sequence.grammar_corpus): sentences
such as "the cat eats the fresh apple ." whose words each play one role (animal, person,
food, place, two kinds of verb, adjective). A word's role decides the words around it, so
after training each word's nearest neighbour (by cosine similarity of the word vectors)
should play the same role. The program prints those neighbours and how many share the role.

    python examples/word2vec.py                    # about half a minute
    python examples/word2vec.py --sentences 2000 --epochs 3

Writes a PNG (--plot) of the loss per epoch and of the cosine similarity of every two
word vectors, the words ordered by role: blocks on the diagonal are the roles.
"""

from __future__ import annotations

import argparse

import numpy as np
from _sequel import add_training_arguments, check_positive, fit, parser, save_figure

from minigrad import util
from minigrad.blas import add_threads_argument, limit_blas_threads
from minigrad.datasets import minibatches
from minigrad.datasets.sequence import GRAMMAR_ROLES, grammar_corpus
from minigrad.nlp import CBOW


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument("--sentences", type=int, default=10000, help="default: 10000")
    p.add_argument("--window", type=int, default=2,
                   help="context words on each side (default: 2)")
    p.add_argument("--hidden", type=int, default=20, help="size of a word vector (default: 20)")
    p.add_argument("--sample-size", type=int, default=5,
                   help="negative samples per target (default: 5)")
    add_training_arguments(p, epochs=5, batch_size=100, lr=0.003, plot="word2vec.png")
    add_threads_argument(p)
    args = p.parse_args(argv)
    check_positive(p, args, "sentences", "window", "hidden", "sample_size", "epochs",
                   "batch_size")
    return args


def role_neighbours(vectors: np.ndarray, word_to_id: dict[str, int]
                    ) -> list[tuple[str, str, str, str]]:
    """(word, role, nearest other word, its role) for every word that has a role."""
    role_of = {w: role for role, words in GRAMMAR_ROLES.items() for w in words}
    unit = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-8)
    words = [w for w in word_to_id if w in role_of]
    rows = []
    for w in words:
        similarity = unit @ unit[word_to_id[w]]
        similarity[word_to_id[w]] = -np.inf
        nearest = max(word_to_id, key=lambda v: similarity[word_to_id[v]])
        rows.append((w, role_of[w], nearest, role_of.get(nearest, "-")))
    return rows


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = parse_args(argv)
    limit_blas_threads(args.threads)
    np.random.seed(args.seed)          # the unigram sampler draws from numpy's global state
    corpus, word_to_id, id_to_word = util.preprocess(grammar_corpus(args.sentences, args.seed))
    contexts, target = util.create_contexts_target(corpus, args.window)
    model = CBOW(len(word_to_id), args.hidden, corpus, args.sample_size, rng=args.seed)
    print(f"{args.sentences} sentences, {len(corpus)} words, vocabulary {len(word_to_id)}; "
          f"CBOW window {args.window}, vectors of {args.hidden}, {args.sample_size} negative "
          f"samples; Adam lr={args.lr}, {args.epochs} epochs of batches of {args.batch_size}")

    def same_role_share(_: int) -> str:
        rows = role_neighbours(model.word_vecs, word_to_id)
        return f"nearest neighbour in the same role: {sum(r[1] == r[3] for r in rows)}" \
               f"/{len(rows)}"

    rng = np.random.default_rng(args.seed)
    history = fit(model, lambda batch: model(*batch),
                  lambda: minibatches(contexts, target, args.batch_size, rng=rng),
                  -(-len(target) // args.batch_size), args, same_role_share, max_grad=None)
    rows = role_neighbours(model.word_vecs, word_to_id)
    for role in GRAMMAR_ROLES:
        pairs = ", ".join(f"{w}→{n}" for w, r, n, _ in rows if r == role)
        print(f"  {role:9s} {pairs}")
    share = sum(r[1] == r[3] for r in rows) / len(rows)
    print(f"final same-role share: {share:.4f}")
    for query in ("cat", "apple"):
        util.most_similar(query, word_to_id, id_to_word, model.word_vecs, top=3)

    def draw(plt: object) -> object:
        fig, (ax_loss, ax_vec) = plt.subplots(1, 2, figsize=(11, 5))  # type: ignore[attr-defined]
        ax_loss.plot(np.arange(1, len(history) + 1), history, marker="o")
        ax_loss.set(xlabel="epoch", ylabel="mean loss", title="CBOW with negative sampling",
                    xticks=np.arange(1, len(history) + 1))
        words = [w for role in GRAMMAR_ROLES.values() for w in role if w in word_to_id]
        vectors = model.word_vecs[[word_to_id[w] for w in words]]
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        image = ax_vec.imshow(unit @ unit.T, cmap="viridis", vmin=-1, vmax=1)
        ax_vec.set_xticks(range(len(words)), words, rotation=90, fontsize=6)
        ax_vec.set_yticks(range(len(words)), words, fontsize=6)
        ax_vec.set(title="cosine similarity of the word vectors, by role")
        fig.colorbar(image, ax=ax_vec, fraction=0.046)
        return fig

    save_figure(draw, args.plot)
    return {"history": history, "share": share, "rows": rows}


if __name__ == "__main__":
    main()
