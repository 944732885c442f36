"""Network: layer sizes, the parameters W^l and b^l in one flat buffer, feedforward, prediction.

The layer index convention, used everywhere in nablanet: layer 0 is the input
and layer L the output, and the lists ``W``, ``b`` and ``activations`` are
indexed by the layer, as in the equations: ``net.W[l]`` *is* W^l, of shape
(n_l, n_{l−1}), for l = 1, ..., L. Index 0 raises IndexError (the input layer
has no weights); ``net.W[-1]`` is W^L; iterating gives layers 1 to L in order.

All parameters live in one flat array, ``net.flat``, made when the network is
built: [W^1, ..., W^L, b^1, ..., b^L], each row-major. W^l and b^l are views of
it for the network's whole life, so a reference to ``net.W[1]`` never goes
stale, an optimizer updates the whole network in one call, and data-parallel
training sums one gradient buffer of the same layout. Assigning to ``net.W[l]``
(or to ``net.W``) copies into the buffer.

The public methods take rows = examples (the NumPy and scikit-learn habit) and
transpose once at the boundary; the core works with columns = examples, as the
book does. The transpose is a view, not a copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from . import activations, costs, defaults, initializers
from .activations import Activation
from .blas import dot, vdot
from .buffers import Workspace, views
from .costs import Cost

__all__ = ["Network", "Evaluation", "Layers", "forward", "labels", "DTYPES", "as_rng"]

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
T = TypeVar("T")


@dataclass(frozen=True)
class Evaluation:
    """What ``Network.evaluate`` measures; accuracy is None for non-class targets."""

    accuracy: float | None
    cost: float


class Layers(Generic[T]):
    """One item per layer l = 1, ..., L, indexed by l (see the module docstring).

    For parameters, assigning ``layers[l] = A`` copies A into the array in place,
    so the flat buffer behind it stays the one the network trains.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Sequence[T]):
        self._items = tuple(items)

    def _index(self, l: int) -> int:
        if isinstance(l, slice):
            raise TypeError("layers are indexed one at a time: use a loop over range(1, net.L + 1)")
        L = len(self._items)
        if l == 0:
            raise IndexError(f"layer 0 is the input layer, which has no parameters: layers are 1..{L}")
        if not -L <= l <= L:
            raise IndexError(f"layer {l} does not exist: layers are 1..{L}")
        return l - 1 if l > 0 else l

    def __getitem__(self, l: int) -> T:
        return self._items[self._index(l)]

    def __setitem__(self, l: int, value: Any) -> None:
        target = self._items[self._index(l)]
        if not isinstance(target, np.ndarray):
            raise TypeError("only parameter arrays can be assigned to")
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"layer {l} has shape {target.shape}, not {value.shape}")
        target[...] = value

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __add__(self, other) -> list:  # [*W, *b], as lists and tuples concatenate
        return [*self._items, *other]

    def __radd__(self, other) -> list:
        return [*other, *self._items]

    def __repr__(self) -> str:
        return f"Layers({list(self._items)!r})"


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A Generator from a seed, or the Generator itself (never the global state)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _check_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a sequence of layer sizes such as [784, 30, 10], got {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"a network needs at least 2 layer sizes (input and output), got {sizes}")
    for i, n in enumerate(sizes):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"layer sizes must be integers ≥ 1; sizes[{i}] is {n!r}")
    return [int(n) for n in sizes]


def forward(
    net: Network, x: np.ndarray, ws: Workspace | None = None, keep: list | None = None
) -> tuple[list, list[np.ndarray]]:
    """Feedforward a batch x (columns = examples): z^l and a^l for l = 0..L.

    z[0] is None, because the input layer has no weighted input; a[0] = x. The
    arrays are the Workspace's (a new one without it), overwritten by the next call.
    ``keep[l]``, if given and not None, is layer l's inverted-dropout mask r^l
    (0 or 1/(1 − p) per unit and example): the next layer then sees a^l ⊙ r^l,
    kept in ``ws.kept[l]``, while a^l itself stays as σ(z^l) for BP2's σ'.
    """
    ws = ws if ws is not None else Workspace(net.sizes, x.shape[1], net.dtype, backward=keep is not None)
    z, a = ws.z, ws.a
    a[0] = x_in = x
    for l, (W, b, act) in enumerate(zip(net.W, net.b, net.activations), start=1):
        dot(W, x_in, out=z[l])
        z[l] += b[:, None]  # (25): z^l = W^l a^{l−1} + b^l
        act.fn(z[l], out=a[l])  # (23): a^l = σ(z^l)
        x_in = a[l] if keep is None or keep[l] is None else _dropped(ws, l, keep[l])
    return z, a


def _dropped(ws: Workspace, l: int, r: np.ndarray) -> np.ndarray:
    if ws.kept[l] is None:
        ws.kept[l] = np.empty_like(ws.a[l])
    return np.multiply(ws.a[l], r, out=ws.kept[l])


class Network:
    """A feed-forward network trained by backpropagation.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first: ``[784, 30, 10]``.
    activation : str, Activation or list of them, optional
        The hidden layers' activation: one for all, or one per hidden layer.
    output : str or Activation, optional
        The output layer's activation. Default: softmax for the cross-entropy
        cost, sigmoid for binary cross-entropy and the quadratic cost.
    cost : str or Cost, optional
        ``"quadratic"``, ``"binary_cross_entropy"`` or ``"cross_entropy"``.
    init : str or callable, optional
        ``"he"``, ``"glorot"``, ``"scaled"`` (N(0, 1/n_in)), ``"standard"``
        (N(0, 1), the seeds') or ``"zeros"`` (no random draw: for loading).
    dtype : float32 or float64
    seed : int or numpy.random.Generator, optional
        Source of the initial weights.
    classes : sequence, optional
        The name of each class, output neuron j standing for ``classes[j]``.

    preset : str
        Where the arguments left out come from: ``"default"`` (ReLU, cross-entropy
        with softmax, He; ``nablanet.defaults.DEFAULTS``) or ``"nielsen"``, the
        seeds' network (sigmoid, quadratic cost, N(0, 1)).

    Attributes
    ----------
    W, b, activations : Layers
        W^l, of shape (n_l, n_{l−1}), b^l, of shape (n_l,), and σ of layer l, for l = 1..L.
    flat : ndarray
        Every parameter, [W^1, ..., W^L, b^1, ..., b^L]; W and b are views of it.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Activation | Sequence[str | Activation] | None = None,
        output: str | Activation | None = None,
        cost: str | Cost | None = None,
        init: str | initializers.Initializer | None = None,
        dtype: Any = np.float32,
        seed: int | np.random.Generator | None = None,
        classes: Sequence | None = None,
        preset: str = "default",
    ):
        chosen = defaults.preset(preset)
        self.preset = preset.lower()  # fit takes its training defaults from the same preset
        self.sizes = _check_sizes(sizes)
        self.dtype = _check_dtype(dtype)
        self.cost = costs.get(chosen["cost"] if cost is None else cost)
        hidden = chosen["activation"] if activation is None else activation
        self.activations = Layers(self._layer_activations(hidden, output))
        self.classes = self._check_classes(classes)
        init = chosen["init"] if init is None else init
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        scheme = initializers.get(init)
        self._allocate()  # all zeros
        if scheme is not initializers.zeros:
            rng = as_rng(seed)
            for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
                self.W[l], self.b[l] = scheme(n_out, n_in, rng)

    def _allocate(self) -> None:
        """The flat buffer, zero, and W^l and b^l as views of it."""
        shapes = [(n_out, n_in) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]
        shapes += [(n_out,) for n_out in self.sizes[1:]]
        self.flat = np.zeros(sum(int(np.prod(s)) for s in shapes), self.dtype)
        parts = views(self.flat, shapes)
        L = len(self.sizes) - 1
        self._W, self._b = Layers(parts[:L]), Layers(parts[L:])

    def _layer_activations(self, hidden, output) -> list[Activation]:
        n_hidden = len(self.sizes) - 2
        if isinstance(hidden, (str, Activation)):
            hidden = [activations.get(hidden)] * n_hidden  # checked even with no hidden layer
        hidden = [activations.get(h) for h in hidden]
        if len(hidden) != n_hidden:
            raise ValueError(f"got {len(hidden)} hidden activations for {n_hidden} hidden layers")
        for l, act in enumerate(hidden, start=1):
            if not act.hidden_ok:
                raise ValueError(f"{act.name} can only be used on the output layer, not hidden layer {l}")
        if output is None:
            output = "softmax" if isinstance(self.cost, costs.CategoricalCrossEntropy) else "sigmoid"
        out = activations.get(output)
        if self.cost.needs_probabilities and not isinstance(out, (activations.Sigmoid, activations.Softmax)):
            raise ValueError(
                f"the {self.cost.name} cost needs outputs in (0, 1): use a sigmoid or softmax "
                f"output layer, not {out.name}"
            )
        if isinstance(out, activations.Softmax) and self.sizes[-1] < 2:
            raise ValueError("a softmax output needs at least 2 output neurons")
        return [*hidden, out]

    def _check_classes(self, classes: Sequence | None) -> list | None:
        if classes is None:
            return None
        classes = [c.item() if isinstance(c, np.generic) else c for c in classes]
        n_out = self.sizes[-1]
        expected = 2 if n_out == 1 else n_out
        if len(classes) != expected:
            raise ValueError(f"got {len(classes)} class names for {expected} classes")
        if not all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in classes):
            raise TypeError("class names must be strings or integers")
        if len(set(classes)) != len(classes):
            raise ValueError(f"class names must be distinct, got {classes}")
        return classes

    # -- shape and parameters ----------------------------------------------------------

    @property
    def L(self) -> int:
        """The number of layers with weights (the output layer's index)."""
        return len(self.sizes) - 1

    @property
    def W(self) -> Layers[np.ndarray]:
        """W^l for l = 1..L, views of ``flat``."""
        return self._W

    @W.setter
    def W(self, arrays: Sequence[np.ndarray]) -> None:
        self._assign(self._W, arrays, "W")

    @property
    def b(self) -> Layers[np.ndarray]:
        """b^l for l = 1..L, views of ``flat``."""
        return self._b

    @b.setter
    def b(self, arrays: Sequence[np.ndarray]) -> None:
        self._assign(self._b, arrays, "b")

    def _assign(self, layers: Layers, arrays: Sequence[np.ndarray], name: str) -> None:
        arrays = [np.asarray(A) for A in arrays]
        if len(arrays) != self.L:
            raise ValueError(f"{name} needs {self.L} arrays, one per layer, got {len(arrays)}")
        for l, (A, target) in enumerate(zip(arrays, layers), start=1):  # every shape before any copy
            if A.shape != target.shape:
                raise ValueError(f"{name}[{l}] has shape {A.shape}; layer {l} needs {target.shape}")
        for target, A in zip(layers, arrays):
            target[...] = A

    @property
    def params(self) -> list[np.ndarray]:
        """[W^1, ..., W^L, b^1, ..., b^L]: the views, in the order of ``flat``."""
        return [*self._W, *self._b]

    @property
    def n_params(self) -> int:
        return int(self.flat.size)

    def __repr__(self) -> str:
        acts = ", ".join(a.name for a in self.activations)
        return (
            f"Network(sizes={self.sizes}, activations=[{acts}], cost={self.cost.name}, "
            f"dtype={self.dtype.name})"
        )

    def copy(self) -> Network:
        """A deep copy: same configuration, its own parameters."""
        new = object.__new__(Network)
        new.__setstate__(self.__getstate__())
        return new

    def astype(self, dtype: Any) -> Network:
        """A copy that computes in ``dtype`` (float32 or float64), its parameters cast."""
        state = self.__getstate__()
        state["dtype"] = _check_dtype(dtype)
        state["flat"] = state["flat"].astype(state["dtype"])
        new = object.__new__(Network)
        new.__setstate__(state)
        return new

    def __getstate__(self) -> dict:
        # Pickled views would come back as separate arrays: keep the buffer only.
        state = {k: v for k, v in vars(self).items() if k not in ("_W", "_b", "flat")}
        state["activations"] = list(self.activations)
        state["flat"] = self.flat.copy()
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        if "flat" not in state:  # pickled by nablanet 0.1: separate arrays, 0-based lists
            state.pop("_flat", None)
            state["flat"] = np.concatenate([p.ravel() for p in [*state.pop("W"), *state.pop("b")]])
            state.setdefault("classes", None)
            state.setdefault("preset", "default")
        flat = state.pop("flat")
        state["activations"] = Layers(state["activations"])
        vars(self).update(state)
        self._allocate()
        self.flat[...] = flat

    def check_parameters(self) -> None:
        """Raise ValueError naming the first W^l or b^l that holds a NaN or inf."""
        if np.isfinite(vdot(self.flat, self.flat)):
            return
        for l in range(1, self.L + 1):
            for name, p in ((f"W^{l}", self.W[l]), (f"b^{l}", self.b[l])):
                bad = np.argwhere(~np.isfinite(p))
                if bad.size:
                    where = ", ".join(str(int(i)) for i in bad[0])
                    raise ValueError(f"the network's {name} holds {p[tuple(bad[0])]} at [{where}]")

    # -- input checks at the public boundary ---------------------------------------------

    def check_inputs(self, X: Any, name: str = "X") -> np.ndarray:
        """X as a finite (m, n_0) array of the network's dtype, or a clear error."""
        X = np.asarray(X)
        if X.ndim == 1 and self.sizes[0] == X.shape[0]:
            raise ValueError(
                f"{name} is 1-D with {X.shape[0]} values; pass a 2-D array of shape "
                f"(n_examples, {self.sizes[0]}), e.g. {name}.reshape(1, -1) for one example"
            )
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_examples, n_features), got shape {X.shape}")
        if X.shape[0] == 0:
            raise ValueError(f"{name} is empty: it has 0 examples")
        if X.shape[1] != self.sizes[0]:
            raise ValueError(f"{name} has {X.shape[1]} features; the network expects {self.sizes[0]}")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool) or np.iscomplexobj(X):
            raise TypeError(f"{name} must be real numbers, got dtype {X.dtype}")
        _check_finite(X, name)  # in its own dtype: 1e300 is finite, and too large for float32
        X = _cast(X, self.dtype, name)
        return X

    def check_targets(self, y: Any, m: int, name: str = "y") -> np.ndarray:
        """Targets as an (m, n_L) array: integer labels are one-hot encoded."""
        y = np.asarray(y)
        n_out = self.sizes[-1]
        if y.ndim == 1 and n_out == 1:
            y = y.reshape(-1, 1)
        if y.shape[:1] != (m,):
            raise ValueError(f"{name} has {y.shape[0] if y.ndim else 0} examples; X has {m}")
        if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool) or np.iscomplexobj(y):
            raise TypeError(f"{name} must be real numbers, got dtype {y.dtype}")
        if y.ndim == 1:
            return self._one_hot(y, name)
        if y.ndim != 2 or y.shape[1] != n_out:
            raise ValueError(
                f"{name} has shape {y.shape}; expected ({m},) integer labels or ({m}, {n_out}) targets"
            )
        _check_finite(y, name)
        y = _cast(y, self.dtype, name)
        self._check_probability_targets(y, name)
        return y

    def _check_probability_targets(self, Y: np.ndarray, name: str) -> None:
        """A cross-entropy cost compares a^L with targets in [0, 1]; softmax, with distributions."""
        if not self.cost.needs_probabilities:
            return
        if (Y < 0).any() or (Y > 1).any():
            raise ValueError(f"{name} must lie in [0, 1] for the {self.cost.name} cost")
        if isinstance(self.activations[-1], activations.Softmax):
            sums = Y.sum(axis=1)
            bad = np.flatnonzero(np.abs(sums - 1) > 1e-3)
            if bad.size:
                i = int(bad[0])
                raise ValueError(
                    f"{name}[{i}] sums to {sums[i]:g}: a softmax output needs each target row to sum "
                    "to 1 (one-hot labels or a distribution); for several labels per example use "
                    "sigmoid outputs with binary_cross_entropy"
                )

    def _one_hot(self, y: np.ndarray, name: str) -> np.ndarray:
        n_out = self.sizes[-1]
        if not np.issubdtype(y.dtype, np.integer):
            _check_finite(y, name)
            if np.any(y != np.round(y)):
                raise ValueError(f"{name} holds non-integer class labels")
        bad = (y < 0) | (y >= n_out)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name}[{i}] = {y[i]} is out of range: labels must be in [0, {n_out - 1}]")
        Y = np.zeros((y.shape[0], n_out), dtype=self.dtype)
        Y[np.arange(y.shape[0]), y.astype(np.intp)] = 1
        return Y

    # -- use ------------------------------------------------------------------------------

    def forward(self, X: Any) -> tuple[list, list[np.ndarray]]:
        """z^l and a^l for every layer (columns = examples) for the rows of X, for inspection."""
        return forward(self, self.check_inputs(X).T)

    def feedforward(self, X: Any) -> np.ndarray:
        """The output a^L for each row of X, shape (m, n_L)."""
        return self.forward(X)[1][-1].T

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (m, n_L); needs a softmax or sigmoid output."""
        if not isinstance(self.activations[-1], (activations.Softmax, activations.Sigmoid)):
            raise ValueError(
                f"predict_proba needs a softmax or sigmoid output, not {self.activations[-1].name}"
            )
        return self.feedforward(X)

    def predict(self, X: Any) -> np.ndarray:
        """Class indices: the most active output neuron, or a^L ≥ ½ for a single output.

        ``net.classes``, if set, names them: ``np.asarray(net.classes)[net.predict(X)]``.
        """
        return labels(self.feedforward(X))

    def evaluate(self, X: Any, y: Any) -> Evaluation:
        """Accuracy (for class targets) and mean cost on (X, y)."""
        X = self.check_inputs(X)
        Y = self.check_targets(y, X.shape[0])
        z, a = forward(self, X.T)
        cost = self.cost.fn(a[-1], Y.T, z=z[-1], act=self.activations[-1])  # exact in the tails
        if not is_class_target(Y):
            return Evaluation(None, cost)
        return Evaluation(float(np.mean(labels(a[-1].T) == labels(Y))), cost)

    def fit(self, *args: Any, **kwargs: Any):
        raise AttributeError(
            "Network.fit was removed in nablanet 0.2 (the training loop sits above the network): "
            "call nablanet.fit(net, X, y, ...) instead"
        )

    def gradient(self, *args: Any, **kwargs: Any):
        raise AttributeError(
            "Network.gradient was removed in nablanet 0.2 (backprop sits above the network): "
            "call nablanet.gradient(net, X, y) instead"
        )

    def save(self, *args: Any, **kwargs: Any):
        raise AttributeError(
            "Network.save was removed in nablanet 0.2 (files sit above the network): "
            "call nablanet.save(net, path) instead"
        )


def _cast(A: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """A in the network's dtype; a finite value that the dtype cannot hold is an error."""
    with np.errstate(over="ignore"):
        out = A.astype(dtype, copy=False)
    if (
        out is not A
        and np.issubdtype(A.dtype, np.floating)
        and not np.isfinite(vdot(out.ravel(), out.ravel()))
    ):
        if not np.isfinite(out).all():
            i = tuple(int(k) for k in np.argwhere(~np.isfinite(out))[0])
            raise ValueError(
                f"{name}[{', '.join(map(str, i))}] = {A[i]:g} is too large for {dtype.name} "
                f"(at most {np.finfo(dtype).max:.3g}): rescale the data, or use dtype=float64"
            )
    return out


def _check_finite(A: np.ndarray, name: str) -> None:
    # ‖A‖² is NaN or inf whenever an entry is, and as a BLAS dot product it reads
    # the data once at memory speed without making a boolean array. A finite ‖A‖²
    # that overflows only costs the exact search below.
    with np.errstate(over="ignore", invalid="ignore"):
        if A.dtype in DTYPES and (A.flags.c_contiguous or A.flags.f_contiguous):
            v = A.ravel(order="K")  # a view: the entries in memory order
            total = vdot(v, v)
        elif np.issubdtype(A.dtype, np.integer) or A.dtype == bool:
            return
        else:
            total = np.add.reduce(A, axis=None)
        if np.isfinite(total):
            return
    if not np.isfinite(A).all():
        bad = np.argwhere(~np.isfinite(A))[0]
        where = ", ".join(str(int(i)) for i in bad)
        raise ValueError(f"{name} contains NaN or inf (first at index [{where}])")


def labels(A: np.ndarray) -> np.ndarray:
    """Class indices from outputs or one-hot targets, one row per example."""
    return (A[:, 0] >= 0.5).astype(np.intp) if A.shape[1] == 1 else A.argmax(axis=1)


def is_class_target(Y: np.ndarray) -> bool:
    """Rows that are class targets: one-hot, or 0/1 for a single output."""
    if Y.shape[1] == 1:
        return bool(np.all((Y == 0) | (Y == 1)))
    return bool(np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1))
