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

The output layer has a second, exact set of forms, which the costs use to compute
C and δ^L from z^L: ``difference(z, a, y)`` = a − y, ``backward_exact(z, a, g)``
= g ⊙ σ'(z), and, for outputs read as probabilities, ``log(z, a)`` = ln a,
``log1m(z, a)`` = ln(1 − a) and ``backward_log(z, a, g, h)`` = ∂/∂z Σ (g ln a +
h ln(1 − a)). A stored a near 1 keeps only the digits of 1 − a that float
arithmetic leaves it (σ(40) is 1 − 4·10⁻¹⁸, stored as exactly 1), and one below
the smallest float is 0; from z the same quantities are exact to a few units in
the last place, however saturated the output. The defaults use the stored a and
are exact wherever a is; sigmoid, tanh and softmax override them.

Arrays are in the book's orientation: one column per example.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from .registry import Registry

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
    kink: float | None = None  # a z where σ' jumps (finite differences across it disagree with σ')

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

    # -- the output layer: exact forms from z, for the costs (see the module docstring) --

    def difference(self, z, a, y):
        """a − y."""
        return a - y

    def backward_exact(self, z, a, g):
        """g ⊙ σ'(z) (Jᵀg for softmax), exact where the output has saturated."""
        return self.backward(z, a, g)

    def backward_difference(self, z, a, y):
        """Jᵀ(a − y), the quadratic cost's δ^L: the two above, which an activation may share work between."""
        return self.backward_exact(z, a, self.difference(z, a, y))

    def log(self, z, a):
        """ln a."""
        return np.log(np.maximum(a, _tiny(a)))

    def log1m(self, z, a):
        """ln(1 − a)."""
        return np.log(np.maximum(1 - a, _tiny(a)))

    def backward_log(self, z, a, g, h=None):
        """∂/∂z Σ_j (g_j ln a_j + h_j ln(1 − a_j)): ∂ ln a/∂a = 1/a, ∂ ln(1 − a)/∂a = −1/(1 − a)."""
        grad = g / np.maximum(a, _tiny(a))
        if h is not None:
            grad = grad - h / np.maximum(1 - a, _tiny(a))
        return self.backward(z, a, grad)

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
        # 1/(1 + e^(−z)) rounds four times and never cancels, so σ is exact to 2 ulps
        # *relatively*, for every z: σ(−40) = 4.2·10⁻¹⁸, where ½(1 + tanh(z/2)) gave
        # 0 (it is exact only absolutely). e^(−z) is capped at e^c, the largest power
        # of e the dtype holds, so nothing overflows and no np.errstate is needed:
        # below z = −c (−88 in float32) σ is held at 1/(1 + e^c), under the smallest
        # normal number. Five in-place passes, no temporaries: as fast as the tanh
        # form's four on a small batch, faster on a large one (exp is the cheaper).
        if out is None:
            z = np.asarray(z)  # (z may be a scalar or integers)
            out = np.empty(z.shape, z.dtype if z.dtype.kind == "f" else np.float64)
        cap, one = _cap_and_one(out.dtype)
        np.negative(z, out=out)
        np.minimum(out, cap, out=out)
        np.exp(out, out=out)
        np.add(out, one, out=out)
        np.divide(one, out, out=out)
        return out

    def prime(self, z, a):
        return a * (1 - a)

    def backward(self, z, a, g, out=None):
        # σ' = a(1 − a) from the stored a: three passes instead of prime's four.
        # (1 − a is exact for a ≥ ½, where a − a² would cancel.)
        out = np.multiply(g, a, out=out)
        out *= np.subtract(constant(1.0, a), a)
        return out

    # The exact forms, from σ(−z) = 1 − σ(z) computed as a e^(−z), never as a
    # difference: ln σ(z) = −ln(1 + e^(−z)), d ln σ/dz = σ(−z), d ln σ(−z)/dz = −σ(z).

    def _complement(self, z, a):
        # σ(−z) = σ(z) e^(−z), exact to a few ulps; with e^(−z) capped at e^c as in
        # fn, it is e^c/(1 + e^c) = 1 below z = −c, as it should be.
        e = np.negative(z)
        np.minimum(e, _cap_and_one(e.dtype)[0], out=e)
        np.exp(e, out=e)
        return np.multiply(e, a, out=e)

    def difference(self, z, a, y):
        # a − y = (1 − y)σ(z) − yσ(−z): a difference of exact terms, and for 0/1
        # targets a single one (σ(40) − 1 is −σ(−40), not the 0 that a − 1 gives).
        s_bar = self._complement(z, a)
        s_bar *= y
        d = np.multiply(np.subtract(constant(1.0, a), y), a)
        d -= s_bar
        return d

    def backward_exact(self, z, a, g):
        s_bar = self._complement(z, a)
        s_bar *= a  # σ'(z) = σ(z)σ(−z)
        return np.multiply(g, s_bar, out=s_bar)

    def backward_difference(self, z, a, y):
        # ((1 − y)σ(z) − yσ(−z)) σ(z)σ(−z), with σ(−z) computed once
        s_bar = self._complement(z, a)
        d = np.multiply(np.subtract(constant(1.0, a), y), a)
        d -= y * s_bar
        s_bar *= a
        d *= s_bar
        return d

    def log(self, z, a):
        return -np.logaddexp(0, -z)

    def log1m(self, z, a):
        return -np.logaddexp(0, z)

    def backward_log(self, z, a, g, h=None):
        grad = g * self._complement(z, a)
        return grad if h is None else grad - h * a


class Tanh(Activation):
    """tanh(z);  tanh'(z) = 1 − tanh²(z)."""

    name = "tanh"

    def fn(self, z, out=None):
        return np.tanh(z, out=out)

    def prime(self, z, a):
        return 1 - a * a

    # The exact forms, from the distance to the nearer bound ±1 computed without
    # cancellation, c = 1 − tanh|z| = 2σ(−2|z|): tanh z = ±(1 − c), tanh' = c(2 − c).

    def _gap(self, z):
        t = np.exp(-2 * np.abs(z))  # ≤ 1, no overflow: c = 2t/(1 + t), down to the smallest subnormal
        return 2 * t / (1 + t)

    def difference(self, z, a, y):
        s = np.sign(z)
        near = (s - y) - s * self._gap(z)  # ±1 − y ∓ c: exact where |a| is near 1
        return np.where(np.abs(a) > 0.5, near, a - y)

    def backward_exact(self, z, a, g):
        c = self._gap(z)
        return g * c * (2 - c)


class ReLU(Activation):
    """max(0, z);  derivative 1 for z > 0 and 0 otherwise (0 at the kink)."""

    name = "relu"
    kink = 0.0

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
    kink = 0.0

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

    # The exact forms refer each column to its largest z, at row j*. Every other a_k
    # is at most ½, so a_k, 1 − a_k and ln a_k are exact there; only a_j* can sit
    # near 1, and its complement 1 − a_j* = S′/(1 + S′) comes from the sum of the
    # others, S′ = Σ_{k≠j*} e^(z_k − z_j*), never from a difference with 1. Where a
    # formula subtracts nearly equal terms at row j*, it is rewritten with Σ_k a_k = 1.

    def difference(self, z, a, y):
        j, cols, S1, a = _columns(z)
        d = a - y
        near_1 = a[j, cols] > 0.5
        top = (1 - np.broadcast_to(y, d.shape)[j, cols]) - S1 / (1 + S1)  # (1 − y_j*) − (1 − a_j*)
        d[j, cols] = np.where(near_1, top, d[j, cols])
        return d

    def backward_exact(self, z, a, g):
        # (Jᵀg)_k = a_k (g_k − Σ_i a_i g_i) = a_k ((g_k − g_j*) + Σ_{i≠j*} a_i (g_j* − g_i)).
        # Where a_j* ≤ ½ nothing cancels and the plain form is the exact one.
        j, cols, _, a = _columns(z)
        g = np.broadcast_to(g, a.shape)
        d = g - g[j, cols]  # 0 at row j*
        near_1 = a[j, cols] > 0.5
        return a * np.where(near_1, d - (a * d).sum(axis=0), g - (a * g).sum(axis=0))

    def log(self, z, a):
        _, _, w, _, S1 = _top(z)
        w -= np.log1p(S1)  # ln a = z − ln Σ e^z = (z − z_j*) − ln(1 + S′), with ln(1 + S′) exact
        return w

    def log1m(self, z, a):
        j, cols, S1, a = _columns(z)
        a[j, cols] = 0
        out = np.log1p(-a)
        out[j, cols] = _log_rest(z, j, cols)[0] - np.log1p(S1)  # ln(1 − a_j*) = ln S′ − ln(1 + S′)
        return out

    def backward_log(self, z, a, g, h=None):
        # ∂ ln a_i/∂z_k = δ_ik − a_k, so the g part is g_k − a_k Σ_i g_i; at row j*
        # it is g_j* (1 − a_j*) − a_j* Σ_{i≠j*} g_i.
        j, cols, S1, a = _columns(z)
        g = _copy(np.broadcast_to(g, a.shape))
        g_top, top = g[j, cols].copy(), a[j, cols].copy()
        g[j, cols] = 0
        rest = g.sum(axis=0)  # Σ_{i≠j*} g_i
        out = g - a * (rest + g_top)
        out[j, cols] = g_top * (S1 / (1 + S1)) - top * rest
        if h is None:
            return out
        # ∂ ln(1 − a_i)/∂z_k = −r_i (δ_ik − a_k), r_i = a_i/(1 − a_i): the h part is
        # −h_k r_k + a_k Σ_i h_i r_i. r_j* = 1/S′ can overflow, so its terms are
        # rewritten: a_k r_j* = a_j* e^(z_k − z_j*)/S′ = a_j* q_k, and at row j*
        # −h_j* r_j* (1 − a_j*) = −h_j* a_j*.
        h = _copy(np.broadcast_to(h, a.shape))
        h_top = h[j, cols].copy()
        h[j, cols] = 0
        a[j, cols] = 0
        r = a / (1 - a)  # 0 at row j*
        R = (h * r).sum(axis=0)  # Σ_{i≠j*} h_i r_i
        a[j, cols] = top
        q = _log_rest(z, j, cols)[1]
        part = -h * r + a * R + (h_top * top) * q
        part[j, cols] = top * (R - h_top)
        return out + part


def _top(z):
    """Per column of z: the row j* of its largest entry, w = z − z_j*, e = e^w but 0 at j*, and S′ = Σ e."""
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"softmax's exact forms need z of shape (n ≥ 2, m), got {z.shape}")
    cols = np.arange(z.shape[1])
    j = z.argmax(axis=0)
    w = z - z[j, cols]
    e = np.exp(w)
    e[j, cols] = 0
    return j, cols, w, e, e.sum(axis=0)


def _columns(z):
    """Per column of z: j*, S′ = Σ_{k≠j*} e^(z_k − z_j*), and a = softmax(z) = e^(z − z_j*)/(1 + S′)."""
    j, cols, _, e, S1 = _top(z)
    a = np.divide(e, 1 + S1, out=e)
    a[j, cols] = 1 / (1 + S1)
    return j, cols, S1, a


def _log_rest(z, j, cols):
    """ln S′ and q_k = e^(z_k − z_j*)/S′ (0 at j*), both from the second largest z: neither underflows."""
    rest = z.copy()
    rest[j, cols] = -np.inf
    second = rest.max(axis=0)
    q = np.exp(rest - second)  # ≤ 1, 1 somewhere: its sum is at least 1
    total = q.sum(axis=0)
    return (second - z[j, cols]) + np.log(total), q / total


def _copy(x):
    """A writable float copy of x (a broadcast view, perhaps), whose j* row can be set apart."""
    return np.array(x, dtype=np.result_type(x, np.float32))


def _tiny(a):
    """The smallest normal number of a's dtype (float64 for anything but a float array)."""
    dtype = getattr(a, "dtype", None)
    return np.finfo(dtype if dtype is not None and dtype.kind == "f" else np.float64).tiny


_CAPS: dict[np.dtype, tuple] = {}


def _cap_and_one(dtype: np.dtype) -> tuple:
    """(c, 1) as 0-d arrays of ``dtype``: c the largest whole number with e^c finite (88, 709)."""
    try:
        return _CAPS[dtype]
    except KeyError:
        c = float(np.floor(np.log(np.finfo(dtype).max)))
        pair = _CAPS[dtype] = (constant(c, np.empty(0, dtype)), constant(1.0, np.empty(0, dtype)))
        return pair


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


_REGISTRY = Registry(
    "activation",
    {cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Identity, Softmax)},
    {"linear": "identity", "leakyrelu": "leaky_relu", "logistic": "sigmoid"},
    Activation,
)
names, get = _REGISTRY.names, _REGISTRY.get
