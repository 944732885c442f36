r"""Backprop trace: every quantity backpropagation computes, labelled with its equation.

For one example (or a small batch, columns = examples inside) ``trace`` records

    z^l = W^l a^{l−1} + b^l          (25)   for l = 1..L
    a^l = σ(z^l)                      (23)
    δ^L = ∇_a C ⊙ σ'(z^L)            BP1
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l)   BP2
    ∂C/∂b^l = δ^l                     BP3   (mean over the batch)
    ∂C/∂W^l = δ^l (a^{l−1})ᵀ          BP4   (mean over the batch)

z and a come from the core's ``forward``; each example's δ from the same cost
and activation calls ``backward`` makes (``errors``); the gradients from
``backward`` itself, and the trace checks that they equal BP3/BP4 applied to its
δ, so what it shows is exactly what training uses.

``render`` prints the numbers; ``explain`` writes each equation in components
with the numbers substituted, so a person can redo it with a calculator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import Softmax
from ..backprop import backprop
from ..costs import BinaryCrossEntropy, CategoricalCrossEntropy, Quadratic
from ..network import Layers, Network, forward

__all__ = ["trace", "Trace", "Step", "errors", "render", "explain"]

EQUATIONS = {
    "z": ("(25)", "z^{l} = W^{l} a^{k} + b^{l}"),
    "a": ("(23)", "a^{l} = σ(z^{l})"),
    "delta_L": ("BP1", "δ^{l} = ∇_a C ⊙ σ'(z^{l})"),
    "delta": ("BP2", "δ^{l} = ((W^{n})ᵀ δ^{n}) ⊙ σ'(z^{l})"),
    "delta_dropped": ("BP2", "δ^{l} = ((W^{n})ᵀ δ^{n}) ⊙ σ'(z^{l}) ⊙ r^{l}"),
    "mask": ("dropout", "a^{l} ⊙ r^{l} goes on to layer {n}"),
    "nabla_w_dropped": ("BP4", "∂C/∂W^{l} = δ^{l} (a^{k} ⊙ r^{k})ᵀ"),
    "nabla_b": ("BP3", "∂C/∂b^{l} = δ^{l}"),
    "nabla_w": ("BP4", "∂C/∂W^{l} = δ^{l} (a^{k})ᵀ"),
}


@dataclass(frozen=True)
class Step:
    """One computed quantity: its symbol, the equation that produced it, and its value."""

    symbol: str  # "z^1", "δ^2", "∂C/∂W^1"
    layer: int
    equation: str  # "(25)", "(23)", "BP1", "BP2", "BP3", "BP4"
    formula: str
    value: np.ndarray  # vectors are 1-D for one example; (n_l, m) for a batch

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    def to_dict(self) -> dict:
        return {
            "symbol": self.symbol,
            "layer": self.layer,
            "equation": self.equation,
            "formula": self.formula,
            "shape": list(self.shape),
            "value": self.value.tolist(),
        }


@dataclass(frozen=True)
class Trace:
    """Everything one backprop call computed, in the order it computed it."""

    net: Network
    x: np.ndarray  # (n_0, m), columns = examples
    y: np.ndarray  # (n_L, m)
    z: list  # z[0] is None
    a: list[np.ndarray]
    delta: list  # delta[0] is None
    nabla_b: Layers  # nabla_b[l] is ∂C/∂b^l, l = 1..L
    nabla_w: Layers
    cost: float
    keep: list | None = None  # dropout masks r^l, indexed by layer, if the pass used them

    @property
    def m(self) -> int:
        return self.x.shape[1]

    @property
    def steps(self) -> list[Step]:
        """The quantities in computation order: forward for l = 1..L, then backward for l = L..1."""
        L = self.net.L
        vec = (lambda v: v[:, 0]) if self.m == 1 else (lambda v: v)
        out = []
        r = self.keep or [None] * (L + 1)
        for l in range(1, L + 1):
            out.append(_step("z", f"z^{l}", l, vec(self.z[l])))
            out.append(_step("a", f"a^{l}", l, vec(self.a[l])))
            if r[l] is not None:
                out.append(_step("mask", f"r^{l}", l, vec(r[l])))
        batch = self.m > 1
        for l in range(L, 0, -1):
            kind = "delta_L" if l == L else "delta_dropped" if r[l] is not None else "delta"
            out.append(_step(kind, f"δ^{l}", l, vec(self.delta[l])))
            out.append(_step("nabla_b", f"∂C/∂b^{l}", l, self.nabla_b[l], batch))
            kind = "nabla_w_dropped" if r[l - 1] is not None else "nabla_w"
            out.append(_step(kind, f"∂C/∂W^{l}", l, self.nabla_w[l], batch))
        return out

    def to_dict(self) -> dict:
        return {
            "sizes": self.net.sizes,
            "activations": [act.name for act in self.net.activations],
            "cost_function": self.net.cost.name,
            "x": self.x.tolist(),
            "y": self.y.tolist(),
            "cost": self.cost,
            "steps": [s.to_dict() for s in self.steps],
        }

    def __str__(self) -> str:
        return render(self)


def _step(kind: str, symbol: str, l: int, value: np.ndarray, batch: bool = False) -> Step:
    equation, formula = EQUATIONS[kind]
    formula = formula.format(l=l, k=l - 1, n=l + 1)
    if batch:  # the gradient of the mean cost: BP3 and BP4 averaged over the batch's columns
        lhs, rhs = formula.split(" = ")
        formula = f"{lhs} = (1/m) Σ_x {rhs}"
    return Step(symbol, l, equation, formula, np.asarray(value))


def errors(net: Network, z: list, a: list[np.ndarray], y: np.ndarray, keep: list | None = None) -> list:
    """δ^l for every layer and every example (columns), by BP1 then BP2; δ[0] is None.

    These are each example's own errors δ^{x,l}. ``backward`` makes the same
    cost and activation calls but folds the 1/m of the mean (and any sample
    weights) into its δ and keeps none of them; this keeps them all, unscaled.
    """
    L = net.L
    delta: list = [None] * (L + 1)
    delta[L] = net.cost.delta(z[L], a[L], y, net.activations[L])  # BP1
    for l in range(L - 1, 0, -1):
        delta[l] = net.activations[l].backward(z[l], a[l], net.W[l + 1].T @ delta[l + 1])  # BP2
        if keep is not None and keep[l] is not None:
            delta[l] = delta[l] * keep[l]  # a unit dropped in this pass passes no error back
    return delta


def trace(net: Network, x: Any, y: Any, keep: list | None = None) -> Trace:
    """Run backprop on one example (or a small batch) and keep every intermediate.

    Parameters
    ----------
    net : Network
    x : array, shape (n_0,) for one example, or (m, n_0) rows = examples
    y : a label, a target vector of shape (n_L,), or (m,) labels / (m, n_L) targets
    keep : list, optional
        Dropout masks r^l (``nablanet.train.dropout_masks``), each (n_l, m): the
        pass of one training step with dropout, r^l shown after a^l.

    Returns
    -------
    Trace
        z^l, a^l (feedforward (25), (23)), δ^l (BP1, BP2), ∂C/∂b^l (BP3) and
        ∂C/∂W^l (BP4) for every layer; ``render`` and ``explain`` print it.
    """
    X = np.asarray(x)
    single = X.ndim == 1
    X = net.check_inputs(X.reshape(1, -1) if single else X, "x")
    Y = np.asarray(y)
    if single and (Y.ndim == 0 or (Y.ndim == 1 and net.sizes[-1] > 1)):
        Y = Y.reshape(1, *Y.shape)
    Y = net.check_targets(Y, X.shape[0], "y")
    xc, yc = X.T, Y.T
    z, a = forward(net, xc, keep=keep)
    delta = errors(net, z, a, yc, keep)
    nabla_b, nabla_w = backprop(net, xc, yc, keep=keep)
    inputs = a if keep is None else [a[l] if r is None else a[l] * r for l, r in enumerate(keep)]
    m = xc.shape[1]
    for l in range(1, net.L + 1):  # the trace's δ must be backward's δ: BP3 and BP4 agree
        tol = 100 * np.finfo(net.dtype).eps * (1 + float(np.abs(nabla_w[l]).max()))
        if not (
            np.allclose(delta[l].sum(axis=1) / m, nabla_b[l], rtol=1e-4, atol=tol)
            and np.allclose(delta[l] @ inputs[l - 1].T / m, nabla_w[l], rtol=1e-4, atol=tol)
        ):
            raise RuntimeError(f"trace: δ^{l} does not reproduce backward's gradient (BP3/BP4)")
    cost = net.cost.fn(a[-1], yc, z=z[-1], act=net.activations[-1])
    return Trace(net, xc, yc, z, a, delta, nabla_b, nabla_w, cost, keep)


# -- rendering ------------------------------------------------------------------------------


def _num(v: float, digits: int) -> str:
    s = f"{v:.{digits}f}"
    return s.lstrip("-") if float(s) == 0 else s  # no "-0.0000"


def _array(v: np.ndarray, digits: int) -> str:
    with np.printoptions(precision=digits, suppress=True, floatmode="fixed", linewidth=100):
        return np.array2string(np.asarray(v, dtype=np.float64) + 0.0, separator=", ")  # + 0.0: no "-0"


def render(tr: Trace, digits: int = 4) -> str:
    """The trace as plain numbers, one quantity per line group, with equation and shape."""
    net = tr.net
    acts = ", ".join(act.name for act in net.activations)
    lines = [
        f"network {net.sizes}, activations [{acts}], cost {net.cost.name}, {net.dtype.name}",
        f"x = {_indent(_array(_col(tr.x), digits), 4)}",
        f"y = {_indent(_array(_col(tr.y), digits), 4)}",
    ]
    for l in range(1, net.L + 1):
        lines.append(f"W^{l} = {_indent(_array(net.W[l], digits), 7)}")
        lines.append(f"b^{l} = {_array(net.b[l], digits)}")
    lines.append("")
    for s in tr.steps:
        shape = "×".join(str(n) for n in s.shape)
        head = f"{s.equation:<5} {s.symbol:<10} shape {shape:<7} {s.formula}"
        lines.append(head)
        lines.append("      " + _indent(_array(s.value, digits), 6))
    lines.append(f"cost C = {tr.cost:.{digits + 2}f}")
    return "\n".join(lines)


def _col(v: np.ndarray) -> np.ndarray:
    return v[:, 0] if v.shape[1] == 1 else v.T


def _indent(text: str, n: int) -> str:
    return text.replace("\n", "\n" + " " * n)


def explain(tr: Trace, digits: int = 4) -> str:
    """Each equation in components, with the numbers substituted: one example only."""
    if tr.m != 1:
        raise ValueError(f"explain shows one example; this trace has {tr.m}. Trace x[i] alone")
    ex = _Explainer(tr, digits)
    L = tr.net.L
    out = [render(tr, digits).split("\n\n")[0], "", "Feedforward"]
    for l in range(1, L + 1):
        out += ex.feedforward(l)
    out += [f"Cost  C = {tr.net.cost.name}(a^{L}, y) = {tr.cost:.{digits + 2}f}", "Backward"]
    out += ex.bp1()
    for l in range(L - 1, 0, -1):
        out += ex.bp2(l)
    for l in range(L, 0, -1):
        out += ex.bp3_bp4(l)
    return "\n".join(out)


class _Explainer:
    """Writes one equation at a time, in components, for a one-example trace."""

    def __init__(self, tr: Trace, digits: int):
        self.tr, self.net, self.digits = tr, tr.net, digits
        self.W, self.b = tr.net.W, tr.net.b
        self.z, self.a, self.delta = ([_flat(v) for v in vs] for vs in (tr.z, tr.a, tr.delta))

    def n(self, v) -> str:
        return _num(float(v), self.digits)

    def p(self, v) -> str:  # a factor in a product: negative numbers in parentheses
        return f"({self.n(v)})" if float(v) < 0 and self.n(v) != self.n(0) else self.n(v)

    def feedforward(self, l: int) -> list[str]:
        act, n, p = self.net.activations[l], self.n, self.p
        out = [f"  (25) z^{l}_j = Σ_k w^{l}_jk a^{l - 1}_k + b^{l}_j"]
        for j in range(self.net.sizes[l]):
            terms = " + ".join(
                f"{p(self.W[l][j, k])}·{p(self.a[l - 1][k])}" for k in range(self.net.sizes[l - 1])
            )
            out.append(f"       z^{l}_{j + 1} = {terms} + {p(self.b[l][j])} = {n(self.z[l][j])}")
        out.append(f"  (23) a^{l}_j = {act.name}(z^{l}_j)")
        for j in range(self.net.sizes[l]):
            arg = f"z^{l})_{j + 1}" if isinstance(act, Softmax) else f"{n(self.z[l][j])})"
            out.append(f"       a^{l}_{j + 1} = {act.name}({arg} = {n(self.a[l][j])}")
        return out

    def bp1(self) -> list[str]:
        net, L, n, p = self.net, self.net.L, self.n, self.p
        aL, dL, y = self.a[L], self.delta[L], _flat(self.tr.y)
        if isinstance(net.activations[-1], Softmax):
            # Softmax is not elementwise, so BP1 has no σ'(z_j) factor; with cross-entropy it is a − y.
            if isinstance(net.cost, CategoricalCrossEntropy):
                out = [f"  BP1  δ^{L}_j = a^{L}_j − y_j   (softmax with cross-entropy: the Jacobian cancels)"]
                return out + [
                    f"       δ^{L}_{j + 1} = {n(aL[j])} − {n(y[j])} = {n(dL[j])}" for j in range(aL.size)
                ]
            out = [f"  BP1  δ^{L} = Jσ(z^{L})ᵀ ∇_a C   (softmax: each a_j depends on every z_k)"]
            return out + [f"       δ^{L}_{j + 1} = {n(dL[j])}" for j in range(aL.size)]
        grad = _flat(net.cost.grad_a(self.tr.a[L], self.tr.y))
        prime = _flat(net.activations[-1].prime(self.tr.z[L], self.tr.a[L]))
        out = [f"  BP1  δ^{L}_j = ∂C/∂a^{L}_j · σ'(z^{L}_j)   ({net.cost.name}: ∂C/∂a_j = {_grad_text(net)})"]
        for j in range(aL.size):
            where = f"(a = {n(aL[j])}, y = {n(y[j])})"
            out.append(f"       δ^{L}_{j + 1} = {p(grad[j])} · {p(prime[j])} = {n(dL[j])}   {where}")
        return out

    def bp2(self, l: int) -> list[str]:
        prime = _flat(self.net.activations[l].prime(self.tr.z[l], self.tr.a[l]))
        n, p, rows = self.n, self.p, range(self.net.sizes[l + 1])
        out = [f"  BP2  δ^{l}_j = (Σ_i w^{l + 1}_ij δ^{l + 1}_i) · σ'(z^{l}_j)"]
        for j in range(self.net.sizes[l]):
            s = " + ".join(f"{p(self.W[l + 1][i, j])}·{p(self.delta[l + 1][i])}" for i in rows)
            out.append(f"       δ^{l}_{j + 1} = ({s}) · {p(prime[j])} = {n(self.delta[l][j])}")
        return out

    def bp3_bp4(self, l: int) -> list[str]:
        n, p, nabla_b, nabla_w = self.n, self.p, self.tr.nabla_b[l], self.tr.nabla_w[l]
        out = [f"  BP3  ∂C/∂b^{l}_j = δ^{l}_j"]
        out += [f"       ∂C/∂b^{l}_{j + 1} = {n(nabla_b[j])}" for j in range(self.net.sizes[l])]
        out.append(f"  BP4  ∂C/∂w^{l}_jk = a^{l - 1}_k · δ^{l}_j")
        for j in range(self.net.sizes[l]):
            for k in range(self.net.sizes[l - 1]):
                product = f"{p(self.a[l - 1][k])}·{p(self.delta[l][j])}"
                out.append(f"       ∂C/∂w^{l}_{j + 1}{k + 1} = {product} = {n(nabla_w[j, k])}")
        return out


def _grad_text(net: Network) -> str:
    if isinstance(net.cost, Quadratic):
        return "a_j − y_j" if net.cost.half else "2(a_j − y_j)"
    if isinstance(net.cost, BinaryCrossEntropy):
        return "(a_j − y_j) / (a_j(1 − a_j))"
    return "−y_j / a_j"


def _flat(v):
    return None if v is None else np.asarray(v).ravel()
