r"""Experiment ``paths``: the big picture, ∂C/∂w as a sum over paths.

A nudge Δw^l_jk changes z^l_j, hence a^l_j, hence every activation of layer l+1,
and so on up to the cost. Following one path j = q_l, q_{l+1}, …, q_L through the
layers and multiplying the partial derivatives along it, then summing over every
path, gives the seeds' chain-rule picture:

    ∂C/∂w^l_jk = Σ_{q_{l+1} … q_L} a^{l−1}_k σ'(z^l_j) · Π_{m=l+1..L} w^m_{q_m q_{m−1}} σ'(z^m_{q_m})
                                   · ∂C/∂a^L_{q_L}

This module computes that sum independently of ``backprop`` (its own feedforward,
one product per path) and shows that it equals backprop's value to 1e-10: BP1–BP4
are this sum, factored so that no path is ever enumerated.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ...activations import Softmax
from ...backprop import backprop
from ...network import Network, as_rng, forward
from ._common import figure, save_png

__all__ = ["Path", "PathsResult", "run", "plot", "summary"]


@dataclass(frozen=True)
class Path:
    """One route from a weight to the cost: the neurons it visits and the factors along it."""

    neurons: list[int]  # q_l = j, q_{l+1}, …, q_L (1-based, as in the equations)
    factors: list[tuple[str, float]]
    product: float


@dataclass(frozen=True)
class PathsResult:
    sizes: list[int]
    activation: str
    cost: str
    x: list[float]
    y: list[float]
    weight: tuple[int, int, int]  # (l, j, k), 1-based: w^l_jk
    paths: list[Path]
    path_sum: float
    backprop: float
    difference: float  # |path_sum − backprop| for the chosen weight
    max_difference: float  # the same, worst over every weight in the network
    n_weights: int
    n_paths_total: int  # paths enumerated over every weight


def paths_of(net: Network, z: list, a: list, dC_da: np.ndarray, l: int, j: int, k: int) -> list[Path]:
    """Every path from w^l_jk (0-based j, k here) to the cost, with its factors."""
    L, W, acts = net.L, net.W, net.activations
    prime = [None] + [acts[m].prime(z[m], a[m]) for m in range(1, L + 1)]
    out = []
    for tail in itertools.product(*(range(n) for n in net.sizes[l + 1 :])):
        q = [j, *tail]  # q[i] is the neuron visited in layer l + i
        factors = [(f"a^{l - 1}_{k + 1}", a[l - 1][k]), (f"σ'(z^{l}_{j + 1})", prime[l][j])]
        for i in range(1, len(q)):
            m, cur, prev = l + i, q[i], q[i - 1]
            factors.append((f"w^{m}_{cur + 1}{prev + 1}", float(W[m][cur, prev])))
            factors.append((f"σ'(z^{m}_{cur + 1})", prime[m][cur]))
        factors.append((f"∂C/∂a^{L}_{q[-1] + 1}", dC_da[q[-1]]))
        factors = [(name, float(v)) for name, v in factors]
        out.append(Path([n + 1 for n in q], factors, float(np.prod([v for _, v in factors]))))
    return out


def run(
    sizes: tuple[int, ...] = (2, 3, 3, 2),
    weight: tuple[int, int, int] = (1, 1, 1),
    activation: str = "sigmoid",
    cost: str = "quadratic",
    seed: int = 0,
) -> PathsResult:
    """Sum over paths for every weight of a tiny network, against backprop.

    ``weight`` = (l, j, k) picks w^l_jk (1-based) whose paths are listed.
    """
    net = Network(list(sizes), activation=activation, cost=cost, dtype="float64", seed=seed, preset="nielsen")
    if isinstance(net.activations[-1], Softmax):
        raise ValueError("paths needs an elementwise output activation (softmax couples every output)")
    l, j, k = weight
    if not (1 <= l <= net.L and 1 <= j <= net.sizes[l] and 1 <= k <= net.sizes[l - 1]):
        raise ValueError(
            f"weight {weight} does not exist in a {net.sizes} network; w^l_jk needs 1 ≤ l ≤ {net.L}"
        )
    n_paths = int(np.prod(net.sizes[l + 1 :]))
    if sum(np.prod(net.sizes[m + 1 :]) * net.W[m].size for m in range(1, net.L + 1)) > 100_000:
        raise ValueError(f"a {net.sizes} network has too many paths to list; use a tiny one")
    rng = as_rng(seed)
    x = rng.uniform(0, 1, net.sizes[0])
    y = rng.uniform(0, 1, net.sizes[-1])
    z, a = forward(net, x[:, None])  # one example, in float64
    z, a = [None, *(v[:, 0] for v in z[1:])], [v[:, 0] for v in a]
    dC_da = net.cost.grad_a(a[-1][:, None], y[:, None])[:, 0]
    _, nabla_w = backprop(net, x[:, None], y[:, None])

    worst, total = 0.0, 0
    for m in range(1, net.L + 1):
        for jj, kk in itertools.product(range(net.sizes[m]), range(net.sizes[m - 1])):
            ps = paths_of(net, z, a, dC_da, m, jj, kk)
            total += len(ps)
            worst = max(worst, abs(sum(p.product for p in ps) - float(nabla_w[m][jj, kk])))
    chosen = paths_of(net, z, a, dC_da, l, j - 1, k - 1)
    path_sum = float(sum(p.product for p in chosen))
    bp = float(nabla_w[l][j - 1, k - 1])
    assert len(chosen) == n_paths
    return PathsResult(
        sizes=net.sizes,
        activation=activation,
        cost=net.cost.name,
        x=x.tolist(),
        y=y.tolist(),
        weight=(l, j, k),
        paths=chosen,
        path_sum=path_sum,
        backprop=bp,
        difference=abs(path_sum - bp),
        max_difference=worst,
        n_weights=sum(W.size for W in net.W),
        n_paths_total=total,
    )


def summary(r: PathsResult) -> str:
    l, j, k = r.weight
    lines = [
        f"network {r.sizes}, {r.activation}, {r.cost} cost, one example (float64, seeded)",
        f"∂C/∂w^{l}_{j}{k} as a sum over its {len(r.paths)} paths to the cost:",
    ]
    for p in r.paths:
        route = " → ".join(f"{m}:{n}" for m, n in zip(range(l, l + len(p.neurons)), p.neurons))
        factors = " · ".join(f"{name}={v:.4g}" for name, v in p.factors)
        lines.append(f"  layer:neuron {route}:  {factors}  = {p.product:+.6e}")
    lines += [
        f"sum over paths = {r.path_sum:+.12e}",
        f"backprop       = {r.backprop:+.12e}",
        f"|difference|   = {r.difference:.1e}; worst over all {r.n_weights} weights "
        f"({r.n_paths_total} paths): {r.max_difference:.1e}",
    ]
    return "\n".join(lines)


def plot(r: PathsResult, path) -> None:
    """Each path's contribution as a bar; their sum and backprop's value as lines."""
    fig, (ax,) = figure(1, panel=(7.0, 0.5 * len(r.paths) + 2))
    labels = [" → ".join(str(n) for n in p.neurons) for p in r.paths]
    ax.barh(range(len(r.paths)), [p.product for p in r.paths], color="tab:blue")
    ax.set_yticks(range(len(r.paths)), labels)
    ax.axvline(0, color="black", lw=0.5)
    l, j, k = r.weight
    ax.set(
        xlabel="product of the partial derivatives along the path",
        ylabel=f"neurons visited (layers {l}..{len(r.sizes) - 1})",
        title=rf"$\partial C/\partial w^{{{l}}}_{{{j}{k}}}$: sum {r.path_sum:.6g}, "
        rf"backprop {r.backprop:.6g} ($|\Delta|$ = {r.difference:.0e})",
    )
    save_png(fig, path)
