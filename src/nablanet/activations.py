"""Activation functions a = σ(z), each with its derivative beside it.

Every activation has ``fn(z)`` and ``prime(z, a)``, the elementwise derivative
σ'(z). ``prime`` receives the stored activation a = σ(z) as well, so the sigmoid
can use σ' = σ(1 − σ) without recomputing an exponential.

``backward(z, a, g)`` returns g ⊙ σ'(z): the product in BP1 and BP2. Softmax is
not elementwise (each a_j depends on every z_k), so it overrides ``backward``
with its Jacobian-vector product and has no ``prime``.

``fn`` and ``backward`` take an optional ``out=`` array, as NumPy's ufuncs do:
the training loop passes preallocated buffers so that a mini-batch allocates
nothing (``out`` may be ``z`` or ``g`` itself). A subclass written elsewhere
needn't care: ``Activation.__init_subclass__`` adds ``out`` where it is missing
and copies the result into ``out`` where the method returned another array (the
training loop's products need their own buffers, of the network's dtype).

Arrays are in the book's orientation: one column per example.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

__all__ = [
    "Activation",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Identity",
    "Softmax",
    "get",
    "names",
]


class Activation:
    """Base class: an elementwise nonlinearity σ and its derivative σ'."""

    name: str = ""
    hidden_ok: bool = True  # may this activation be used in a hidden layer?

    def fn(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def prime(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, z: np.ndarray, a: np.ndarray, g: np.ndarray, out: np.ndarray | None = None):
        """g ⊙ σ'(z): turn ∂C/∂a into ∂C/∂z (the ⊙ in BP1 and BP2).

        It must be linear in g, as a product with σ'(z) (or the Jacobian's
        transpose) is: the training step may hand it g already scaled by −η/m.
        """
        return np.multiply(g, self.prime(z, a), out=out)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for method in ("fn", "backward"):
            f = cls.__dict__.get(method)
            if f is None:
                continue
            takes_out = "out" in inspect.signature(f).parameters
            if not takes_out or cls.__module__ != __name__:  # this module's own keep their contract
                setattr(cls, method, _into_out(f, takes_out))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(vars(self).items()))))


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e^(−z));  σ'(z) = σ(z)(1 − σ(z))."""

    name = "sigmoid"

    def fn(self, z, out=None):
        # The same function as ½(1 + tanh(z/2)), which cannot overflow: z = ±1000
        # gives exactly 0 or 1 with no warning and no np.errstate (a third of the
        # time on a small batch). Four in-place passes, no temporaries; the error
        # is below one unit in the last place of ½, absolute rather than relative.
        half = constant(0.5, z)
        if out is None:
            out = np.asarray(np.multiply(z, half))  # (asarray: z may be a scalar)
        else:
            np.multiply(z, half, out=out)
        np.tanh(out, out=out)
        np.multiply(out, half, out=out)
        np.add(out, half, out=out)
        return out

    def prime(self, z, a):
        return a * (1 - a)

    def backward(self, z, a, g, out=None):
        # σ' = a(1 − a) from the stored a: three passes instead of prime's four.
        # (1 − a is exact for a ≥ ½, where a − a² would cancel.)
        out = np.multiply(g, a, out=out)
        out *= np.subtract(constant(1.0, a), a)
        return out


class Tanh(Activation):
    """tanh(z);  tanh'(z) = 1 − tanh²(z)."""

    name = "tanh"

    def fn(self, z, out=None):
        return np.tanh(z, out=out)

    def prime(self, z, a):
        return 1 - a * a


class ReLU(Activation):
    """max(0, z);  derivative 1 for z > 0 and 0 otherwise (0 at the kink)."""

    name = "relu"

    def fn(self, z, out=None):
        return np.maximum(z, 0, out=out)

    def prime(self, z, a):
        return (z > 0).astype(z.dtype)

    def backward(self, z, a, g, out=None):
        # g ⊙ σ'(z), multiplying by the boolean mask z > 0 itself: no float
        # mask is made, and in place it is 2× faster than np.where.
        return np.multiply(g, z > 0, out=out)


class LeakyReLU(Activation):
    """z for z > 0, αz otherwise;  derivative 1 or α."""

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01):
        if not 0 <= alpha < 1:
            raise ValueError(f"leaky_relu alpha must be in [0, 1), got {alpha}")
        self.alpha = float(alpha)

    def fn(self, z, out=None):
        # For 0 ≤ α < 1, max(z, αz) is z when z > 0 and αz otherwise.
        return np.maximum(z, self.alpha * z, out=out)

    def prime(self, z, a):
        return np.where(z > 0, 1, self.alpha).astype(z.dtype)

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"


class Identity(Activation):
    """a = z;  derivative 1. The output layer of a regression network."""

    name = "identity"

    def fn(self, z, out=None):
        if out is None:
            return z.copy()
        np.copyto(out, z)
        return out

    def prime(self, z, a):
        return np.ones_like(z)

    def backward(self, z, a, g, out=None):
        if out is None or out is g:
            return g
        np.copyto(out, g)
        return out


class Softmax(Activation):
    """a_j = e^(z_j) / Σ_k e^(z_k), over each column. Output layer only."""

    name = "softmax"
    hidden_ok = False

    def fn(self, z, out=None):
        # Subtracting the column maximum leaves softmax unchanged and keeps
        # every exponent ≤ 0, so nothing overflows.
        e = np.exp(z - z.max(axis=0, keepdims=True), out=out)
        e /= e.sum(axis=0, keepdims=True)
        return e

    def backward(self, z, a, g, out=None):
        # ∂a_j/∂z_k = a_j(δ_jk − a_k), so (Jᵀg)_k = a_k (g_k − Σ_j a_j g_j).
        return np.multiply(a, g - (a * g).sum(axis=0, keepdims=True), out=out)


_CONSTANTS: dict[np.dtype, dict[float, np.ndarray]] = {}


def constant(value: float, like):
    """``value`` as a read-only 0-d array of ``like``'s dtype, made once.

    NumPy converts a Python float operand on every ufunc call, which on a batch of
    a few hundred numbers costs as much as the arithmetic itself; a 0-d array of
    the right dtype is used as it is (and, unlike a float64 one, keeps float32
    arithmetic in float32). Anything but a float array gets ``value`` back.
    """
    try:  # the common case first: it runs several times a training step
        return _CONSTANTS[like.dtype][value]  # (by dtype, then value: 90 ns less than a pair key)
    except (KeyError, AttributeError):
        pass
    dtype = getattr(like, "dtype", None)
    if not isinstance(dtype, np.dtype) or dtype.kind != "f":
        return value
    c = _CONSTANTS.setdefault(dtype, {})[value] = np.array(value, dtype)
    c.flags.writeable = False
    return c


def _into_out(f, takes_out: bool):
    """Wrap a subclass's ``fn`` or ``backward`` so that a result always lands in ``out=``."""

    @functools.wraps(f)
    def into_out(self, *args, out=None):
        result = f(self, *args, out=out) if takes_out else f(self, *args)
        if out is None or result is out:
            return result
        np.copyto(out, result)  # casts to out's dtype, as a ufunc with out= would
        return out

    return into_out


_REGISTRY: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Identity, Softmax)
}
_ALIASES = {"linear": "identity", "leakyrelu": "leaky_relu", "logistic": "sigmoid"}


def names() -> list[str]:
    """The names ``get`` accepts."""
    return sorted(_REGISTRY)


def get(spec: str | Activation) -> Activation:
    """An activation object from its name (or the object itself)."""
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"an activation must be a name or an Activation, got {type(spec).__name__}")
    key = _ALIASES.get(spec.lower(), spec.lower())
    if key not in _REGISTRY:
        raise ValueError(f"unknown activation {spec!r}; choose one of {', '.join(names())}")
    return _REGISTRY[key]()
