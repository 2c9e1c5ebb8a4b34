"""One training step of an LSTM language model (batch 20, T 35, embedding and hidden 100,
vocabulary 1,000): embedding, LSTM, affine, softmax cross-entropy, backward, SGD.

The contenders run in interleaved rounds; times are ratios to an LSTM step whose backward is
written by hand in numpy (the sequel's TimeLSTM way: a loop over time each way), and
PyTorch eager's nn.LSTM is in the same table when it is installed.
"""

from __future__ import annotations

import argparse

import numpy as np
from _harness import interleaved, machine, median, parse_args, status, table, torch_or_none

import minigrad as mg
from minigrad import functional as F
from minigrad import nn, optim
from minigrad.layers import TimeAffine, TimeEmbedding, TimeLSTM, TimeSoftmaxWithLoss

TARGET = 1.0
N, T, E, H, V, LR = 20, 35, 100, 100, 1000, 0.1


def setup(seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, (N, T))
    targets = rng.integers(0, V, (N, T))
    s = 1 / np.sqrt(H)
    init = {"embed": rng.standard_normal((V, E)) * 0.01,
            "Wx": rng.uniform(-s, s, (E, 4 * H)), "Wh": rng.uniform(-s, s, (H, 4 * H)),
            "b": np.zeros(4 * H), "Wa": rng.uniform(-s, s, (H, V)), "ba": np.zeros(V)}
    return ids, targets, init


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def numpy_step(ids, targets, init):
    """Forward and backward written by hand, gates i, f, g, o along Wx's columns."""
    p = {k: v.copy() for k, v in init.items()}

    def step():
        xs = p["embed"][ids]
        h, c = np.zeros((N, H)), np.zeros((N, H))
        cache, hs = [], np.empty((N, T, H))
        for t in range(T):
            a = xs[:, t] @ p["Wx"] + h @ p["Wh"] + p["b"]
            i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
            g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
            c_prev, h_prev = c, h
            c = f * c + i * g
            tc = np.tanh(c)
            h = o * tc
            cache.append((h_prev, c_prev, i, f, g, o, tc))
            hs[:, t] = h
        flat = hs.reshape(-1, H)
        scores = flat @ p["Wa"] + p["ba"]
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        prob = e / e.sum(axis=1, keepdims=True)
        rows = np.arange(N * T)
        loss = -np.log(prob[rows, targets.reshape(-1)]).mean()
        prob[rows, targets.reshape(-1)] -= 1
        dscores = prob / (N * T)
        grads = {"Wa": flat.T @ dscores, "ba": dscores.sum(axis=0)}
        dhs = (dscores @ p["Wa"].T).reshape(N, T, H)
        dWx, dWh, db = np.zeros_like(p["Wx"]), np.zeros_like(p["Wh"]), np.zeros_like(p["b"])
        dxs = np.empty((N, T, E))
        dh, dc = np.zeros((N, H)), np.zeros((N, H))
        for t in reversed(range(T)):
            h_prev, c_prev, i, f, g, o, tc = cache[t]
            dh = dhs[:, t] + dh
            do = dh * tc
            dc = dc + dh * o * (1 - tc * tc)
            da = np.hstack((dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                            dc * i * (1 - g * g), do * o * (1 - o)))
            dc = dc * f
            dWx += xs[:, t].T @ da
            dWh += h_prev.T @ da
            db += da.sum(axis=0)
            dxs[:, t] = da @ p["Wx"].T
            dh = da @ p["Wh"].T
        dembed = np.zeros_like(p["embed"])
        np.add.at(dembed, ids, dxs)
        grads |= {"Wx": dWx, "Wh": dWh, "b": db, "embed": dembed}
        for k in p:
            p[k] -= LR * grads[k]
        return loss
    return step


class LanguageModel(nn.Module):
    def __init__(self, init: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.embed = nn.Embedding(V, E)
        self.lstm = nn.LSTM(E, H, batch_first=True)
        self.out = nn.Linear(H, V)
        self.embed.weight.data[...] = init["embed"]
        self.lstm.weight_ih_l0.data[...] = init["Wx"].T
        self.lstm.weight_hh_l0.data[...] = init["Wh"].T
        self.lstm.bias_ih_l0.data[...] = init["b"]
        self.lstm.bias_hh_l0.data[...] = 0
        self.lstm.bias_hh_l0.requires_grad = False    # the sequel's LSTM has one bias
        self.out.W.data[...], self.out.b.data[...] = init["Wa"], init["ba"]

    def trained(self) -> list[nn.Parameter]:
        """The parameters the hand-written step has: all but bias_hh, left at 0 (updating
        both biases would move the one bias twice as far)."""
        return [q for q in self.parameters() if q.requires_grad]

    def forward(self, ids: np.ndarray) -> object:
        hs, _ = self.lstm(self.embed(ids))
        return self.out(hs)


def minigrad_nn_step(ids, targets, init):
    """nn.Embedding, nn.LSTM, nn.Linear, F.cross_entropy, optim.SGD."""
    model = LanguageModel(init)
    opt = optim.SGD(model.trained(), lr=LR)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(ids).reshape(-1, V), targets.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    return step


def minigrad_compiled_step(ids, targets, init):
    """The nn.LSTM step with its loss traced once and replayed (mg.compile)."""
    model = LanguageModel(init)
    opt = optim.SGD(model.trained(), lr=LR)
    loss_of = mg.compile(lambda ids, targets: F.cross_entropy(model(ids).reshape(-1, V),
                                                              targets.reshape(-1)))

    def step():
        opt.zero_grad()
        loss = loss_of(ids, targets)
        loss.backward()
        opt.step()
        return loss
    return step


def minigrad_time_layers_step(ids, targets, init):
    """The sequel's TimeEmbedding, TimeLSTM, TimeAffine, TimeSoftmaxWithLoss (their backward
    from the graph), the update on their params and grads lists."""
    p = {k: v.copy() for k, v in init.items()}
    # TimeLSTM's gates are f, g, i, o: the same weights, columns reordered
    order = np.concatenate([np.arange(H, 2 * H), np.arange(2 * H, 3 * H), np.arange(H),
                            np.arange(3 * H, 4 * H)])
    layers = [TimeEmbedding(p["embed"]), TimeLSTM(p["Wx"][:, order].copy(),
                                                  p["Wh"][:, order].copy(), p["b"][order].copy()),
              TimeAffine(p["Wa"], p["ba"])]
    loss_layer = TimeSoftmaxWithLoss()

    def step():
        x = ids
        for layer in layers:
            x = layer.forward(x)
        loss = loss_layer.forward(x, targets)
        dout = loss_layer.backward()
        for layer in reversed(layers):
            dout = layer.backward(dout)
        for layer in layers:
            for param, grad in zip(layer.params, layer.grads):
                param -= LR * grad
        return loss
    return step


def torch_step(torch, ids, targets, init):
    """PyTorch eager: nn.Embedding, nn.LSTM, nn.Linear, cross_entropy, optim.SGD."""
    embed, lstm = torch.nn.Embedding(V, E).double(), torch.nn.LSTM(E, H, batch_first=True)
    lstm, out = lstm.double(), torch.nn.Linear(H, V).double()
    with torch.no_grad():                     # the same weights as the other contenders
        for param, value in ((embed.weight, init["embed"]), (lstm.weight_ih_l0, init["Wx"].T),
                             (lstm.weight_hh_l0, init["Wh"].T), (lstm.bias_ih_l0, init["b"]),
                             (lstm.bias_hh_l0, 0 * init["b"]), (out.weight, init["Wa"].T),
                             (out.bias, init["ba"])):
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))
    lstm.bias_hh_l0.requires_grad_(False)
    params = [q for q in (*embed.parameters(), *lstm.parameters(), *out.parameters())
              if q is not lstm.bias_hh_l0]        # one LSTM bias trained, as by hand
    opt = torch.optim.SGD(params, lr=LR)
    X, Y = torch.from_numpy(ids), torch.from_numpy(targets.reshape(-1))

    def step():
        opt.zero_grad()
        hs, _ = lstm(embed(X))
        loss = torch.nn.functional.cross_entropy(out(hs).reshape(-1, V), Y)
        loss.backward()
        opt.step()
        return loss
    return step


def main(quick: bool = False, peers: bool = True) -> list[str]:
    rounds = 10 if quick else 40
    ids, targets, init = setup()
    contenders = {"numpy, backward by hand": numpy_step(ids, targets, init),
                  "minigrad: nn.LSTM + optim.SGD": minigrad_nn_step(ids, targets, init),
                  "minigrad: nn.LSTM, mg.compile": minigrad_compiled_step(ids, targets, init),
                  "minigrad: the sequel's Time layers": minigrad_time_layers_step(ids, targets,
                                                                                  init)}
    torch = torch_or_none() if peers else None
    if torch is not None:
        contenders["PyTorch eager nn.LSTM"] = torch_step(torch, ids, targets, init)
    times = interleaved(contenders, rounds, warmup=2)
    base = median(times["numpy, backward by hand"])
    rows = []
    for name, ts in times.items():
        rows.append([name, f"{median(ts) * 1e3:.1f}", f"{median(ts) / base:.2f}"])
    eager = median(times["minigrad: nn.LSTM + optim.SGD"]) / base
    lines = ["## LSTM language model: one training step (N 20, T 35, E = H = 100, V 1,000), "
             "float64", "",
             table(["contender", "ms per step", "× numpy by hand"], rows), "",
             f"Target ≤ {TARGET}× the hand-written step: minigrad nn.LSTM {eager:.2f}× — "
             f"{status(eager <= TARGET)}"]
    if "PyTorch eager nn.LSTM" in times:
        compiled = median(times["minigrad: nn.LSTM, mg.compile"]) / median(
            times["PyTorch eager nn.LSTM"])
        lines.append(f"Target ≤ {TARGET}× PyTorch eager: minigrad nn.LSTM under mg.compile "
                     f"{compiled:.2f}× — {status(compiled <= TARGET)}")
    return lines + [f"(median of {rounds} interleaved rounds; {machine()})"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--without-peers", action="store_true",
                        help="only the hand-written step and minigrad in the rounds")
    args = parse_args(parser)
    print("\n".join(main(args.quick, peers=not args.without_peers)))
