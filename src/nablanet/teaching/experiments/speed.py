r"""Experiment ``speed``: in what sense backpropagation is fast.

The numerical gradient (46) needs one evaluation of the cost, a full forward
pass over the batch, for every parameter (plus one for C(w)): 23,861 forward
passes for the seeds' [784, 30, 10] network. Backprop gets every partial
derivative from one forward and one backward pass, which the seeds estimate at
about two forward passes. This experiment times all three on the same batch:

- one forward pass, (23) and (25) for every layer (``backprop.forward``);
- one backprop call (``backprop.backprop``);
- the numerical gradient (``gradcheck`` with the forward difference (46) by
  default), counting its cost evaluations.

Short calls are timed with ``timeit`` (the best of several repeats of an
automatically sized loop). The numerical gradient is timed in full by default;
with ``n_samples`` only that many entries of each W^l and b^l are differenced,
and the full time is extrapolated from the measured time per cost evaluation.
"""

from __future__ import annotations

import timeit
from dataclasses import dataclass

from ...backprop import backprop
from ...network import Network, forward
from ..gradcheck import gradcheck
from ._common import figure, load_data, save_png, sizes_for

__all__ = ["SpeedResult", "run", "plot", "summary"]


@dataclass(frozen=True)
class SpeedResult:
    dataset: str
    note: str
    sizes: list[int]
    n_params: int
    batch_size: int
    dtype: str
    method: str
    forward_seconds: float  # one forward pass over the batch
    backprop_seconds: float  # one backprop call (forward + backward)
    numerical_seconds: float  # the whole numerical gradient (measured or extrapolated)
    numerical_evals: int  # cost evaluations the whole numerical gradient needs
    measured_evals: int  # cost evaluations actually run and timed
    extrapolated: bool
    backprop_over_forward: float
    numerical_over_backprop: float
    gradcheck_passed: bool
    gradcheck_max_norm_rel_error: float


def _best_time(fn, repeat: int = 5) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat, number)) / number


def run(
    hidden: tuple[int, ...] = (30,),
    batch_size: int = 10,
    dataset: str = "auto",
    method: str = "forward",
    n_samples: int | None = None,
    dtype: str = "float32",
    seed: int = 0,
    repeat: int = 5,
) -> SpeedResult:
    """Time a forward pass, a backprop call and the numerical gradient of one batch.

    ``repeat``: timing loops per call; the best is kept (fewer is quicker and noisier).
    """
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be an integer ≥ 1, got {repeat!r}")
    data = load_data(dataset, batch_size, seed)
    if data.X.shape[0] < batch_size:
        raise ValueError(f"batch_size {batch_size} is larger than the {data.X.shape[0]} examples available")
    net = Network(sizes_for(list(hidden), data), dtype=dtype, seed=seed, preset="nielsen")
    X, y = data.X, data.y
    x = net.check_inputs(X).T
    Y = net.check_targets(y, X.shape[0]).T
    t_forward = _best_time(lambda: forward(net, x), repeat)
    t_backprop = _best_time(lambda: backprop(net, x, Y), repeat)
    # Differences in the network's own dtype, so each cost evaluation is the forward pass timed above.
    check = gradcheck(net, X, y, method=method, n_samples=n_samples, seed=seed, numerical_dtype=None)
    full_evals = 2 * net.n_params if method == "central" else net.n_params + 1
    extrapolated = check.n_cost_evals < full_evals
    timed = check.n_cost_evals - (1 if method == "forward" else 0)  # C(w) itself is not in check.seconds
    t_numerical = check.seconds / timed * full_evals
    return SpeedResult(
        dataset=data.name,
        note=data.note,
        sizes=net.sizes,
        n_params=net.n_params,
        batch_size=batch_size,
        dtype=net.dtype.name,
        method=method,
        forward_seconds=t_forward,
        backprop_seconds=t_backprop,
        numerical_seconds=t_numerical,
        numerical_evals=full_evals,
        measured_evals=check.n_cost_evals,
        extrapolated=extrapolated,
        backprop_over_forward=t_backprop / t_forward,
        numerical_over_backprop=t_numerical / t_backprop,
        gradcheck_passed=check.passed,
        gradcheck_max_norm_rel_error=check.max_norm_rel_error,
    )


def _ms(s: float) -> str:
    return f"{s * 1e3:.3f} ms" if s < 1 else f"{s:.2f} s"


def summary(r: SpeedResult) -> str:
    how = (
        f"extrapolated from {r.measured_evals} timed evaluations"
        if r.extrapolated
        else f"measured in full ({r.measured_evals} evaluations)"
    )
    eq = "(46), forward differences" if r.method == "forward" else "central differences"
    return "\n".join(
        [
            f"network {r.sizes} ({r.n_params} parameters), {r.dtype}, a batch of {r.batch_size} ({r.note})",
            f"one forward pass       {_ms(r.forward_seconds):>12}",
            f"one backprop call      {_ms(r.backprop_seconds):>12}   "
            f"= {r.backprop_over_forward:.2f} forward passes",
            f"numerical gradient     {_ms(r.numerical_seconds):>12}   {r.numerical_evals} cost evaluations "
            f"by {eq}; {how}",
            f"numerical / backprop   {r.numerical_over_backprop:>12,.0f}×",
            f"(the two gradients agree to a normwise relative error of {r.gradcheck_max_norm_rel_error:.1e})",
        ]
    )


def plot(r: SpeedResult, path) -> None:
    """The three times as bars on a log scale, with the two ratios."""
    fig, (ax,) = figure(1, panel=(6.5, 4.0))
    names = ["forward pass", "backprop", "numerical gradient"]
    times = [r.forward_seconds, r.backprop_seconds, r.numerical_seconds]
    bars = ax.bar(names, times, color=["tab:gray", "tab:blue", "tab:red"])
    ax.set_yscale("log")
    ax.bar_label(bars, labels=[_ms(t) for t in times])
    ax.set(
        ylabel="seconds (log scale)",
        title=f"{r.sizes}, batch {r.batch_size}: backprop = {r.backprop_over_forward:.1f} forward passes, "
        f"numerical = {r.numerical_over_backprop:,.0f}× backprop",
    )
    ax.title.set_fontsize(9)
    save_png(fig, path)
