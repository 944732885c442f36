"""A training report: ONE self-contained HTML file, readable offline on a laptop or a phone.

``write_report(path, net=..., history=..., config=...)`` writes the run's
configuration, dataset, final metrics, every plot in ``nablanet.viz.plots`` that
applies, and the per-layer health table. Images are inline (``data:`` URLs),
the CSS is inline, and there is no script, font or link to fetch: the file makes
no network request. Sections whose data the run did not record say "not
recorded" rather than disappearing, so every report has the same outline.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..io.atomic import atomic_write
from ..network import Network
from ..train import History
from . import plots

__all__ = ["write_report", "render_report", "check_report_path", "history_from_dict", "SECTIONS"]

# (id, title) of every section, in the order they appear.
SECTIONS = (
    ("metrics", "Final metrics"),
    ("config", "Configuration"),
    ("network", "Network"),
    ("dataset", "Dataset"),
    ("curves", "Learning curves"),
    ("layers", "Speed of learning per layer"),
    ("saturation", "Saturated and dead units"),
    ("health", "Per-layer health"),
    ("warnings", "Monitor warnings"),
    ("weights", "Weights"),
    ("activations", "Activations"),
    ("confusion", "Confusion matrix"),
    ("misclassified", "Misclassified examples"),
    ("boundary", "Decision boundary"),
)
NOT_RECORDED = "not recorded"
MONITOR_OFF = f"{NOT_RECORDED}: train with monitor=True (--monitor) to record per-layer health"

# The style sheet lives beside this module, and is inlined: a report fetches nothing.
CSS = (Path(__file__).with_name("report.css")).read_text(encoding="utf-8")


def check_report_path(path: str | os.PathLike) -> Path:
    """The report's path, or a clear error now if it cannot be written there (call before training)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write the report to {str(path)!r}: it is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(
            f"cannot write the report to {str(path)!r}: directory {str(parent)!r} does not exist"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(
            f"cannot write the report to {str(path)!r}: directory {str(parent)!r} is not writable"
        )
    return path


def write_report(
    path: str | os.PathLike,
    *,
    net: Network,
    history: History | Mapping | None,
    config: Mapping[str, Any] | None,
    dataset: Any = None,
    X_test: Any = None,
    y_test: Any = None,
    image_shape: tuple[int, ...] | None = None,
) -> Path:
    """Write the HTML report of a training run to ``path`` (atomically).

    Parameters
    ----------
    path : path
        The ``.html`` file to write; its directory must exist.
    net : Network
        The trained network.
    history : History, its ``to_dict()``, or None
        None or an empty history gives a report whose history sections say "not recorded".
    config : dict
        The run's settings (η, epochs, batch size, …), shown as given.
    dataset : nablanet.datasets.Dataset, dict or str, optional
        A Dataset also supplies X_test, y_test and image_shape when they are not given.
    X_test, y_test : arrays, optional
        Test data (rows = examples) for the test metrics, confusion matrix,
        misclassified images, activation histograms and decision boundary.
    image_shape : tuple, optional
        How to show one input as an image, e.g. (28, 28).

    Returns
    -------
    Path
    """
    path = check_report_path(path)
    text = render_report(
        net=net, history=history, config=config, dataset=dataset,
        X_test=X_test, y_test=y_test, image_shape=image_shape,
    )  # fmt: skip
    atomic_write(path, text)
    return path


def render_report(
    *,
    net: Network,
    history: History | Mapping | None,
    config: Mapping[str, Any] | None,
    dataset: Any = None,
    X_test: Any = None,
    y_test: Any = None,
    image_shape: tuple[int, ...] | None = None,
) -> str:
    """The report as an HTML string; see ``write_report``."""
    if isinstance(history, Mapping):
        history = history_from_dict(history)
    history = history if history is not None else History()
    if X_test is None and hasattr(dataset, "X_test"):
        X_test, y_test = dataset.X_test, dataset.y_test
    if image_shape is None:
        image_shape = getattr(dataset, "image_shape", None)
    test = _TestData(net, X_test, y_test) if X_test is not None and y_test is not None else None
    ctx = _Context(net, history, dict(config or {}), dataset, test, image_shape)
    body = "\n".join(_section(sid, title, BUILDERS[sid](ctx)) for sid, title in SECTIONS)
    nav = " ".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title in SECTIONS)
    name = ctx.config.get("name") or getattr(dataset, "name", None) or "training run"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nablanet report: {html.escape(str(name))}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>nablanet training report</h1>
<p class="sub">{html.escape(repr(net))}<br>written {stamp} by nablanet {__version__}</p>
<nav aria-label="sections">{nav}</nav>
{body}
<footer>Self-contained: every image and style is inside this file.</footer>
</main>
</body>
</html>
"""


def history_from_dict(d: Mapping) -> History:
    """``History.from_dict`` (kept as a name the CLI and tests use)."""
    return History.from_dict(d)


class _TestData:
    """Checked test inputs, their labels and the network's predictions."""

    def __init__(self, net: Network, X: Any, y: Any):
        self.X = net.check_inputs(X, "X_test")
        Y = net.check_targets(y, self.X.shape[0], "y_test")
        self.evaluation = net.evaluate(self.X, Y)
        self.is_classes = self.evaluation.accuracy is not None
        self.y = Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] >= 0.5).astype(np.intp)
        self.pred = net.predict(self.X)


class _Context:
    def __init__(self, net, history, config, dataset, test, image_shape):
        self.net, self.history, self.config = net, history, config
        self.dataset, self.test, self.image_shape = dataset, test, image_shape


# -- pieces of HTML ------------------------------------------------------------------------


def _section(sid: str, title: str, content: str) -> str:
    return f'<section id="{sid}">\n<h2>{html.escape(title)}</h2>\n{content}\n</section>'


def _missing(text: str) -> str:
    text = html.escape(text).replace("--monitor", '<span class="nowrap">--monitor</span>')
    return f'<p class="missing">{text}</p>'


def _fmt(x: Any, percent: bool = False, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{100 * x:.1f}%" if percent else f"{x:.{digits}g}"
    return str(x)


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th scope=row>{html.escape(str(k))}</th><td>{_value(v)}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table>{body}</table></div>'


def _value(v: Any) -> str:
    if isinstance(v, (Mapping, list, tuple)):
        return f"<code>{html.escape(json.dumps(v, default=str))}</code>"
    return html.escape(_fmt(v))


def _cards(items: list[tuple[str, str]]) -> str:
    cards = "".join(
        f'<div class="card"><div class="k">{html.escape(k)}</div><div class="v">{html.escape(v)}</div></div>'
        for k, v in items
    )
    return f'<div class="cards">{cards}</div>'


def _figure(make: Callable[[], Any], alt: str, fmt: str = "svg") -> str:
    """The figure ``make()`` returns, inline as a data: URL; or why it could not be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return _missing("not drawn: plots need matplotlib (pip install 'nablanet[plot]')")
    fig = make()
    data = base64.b64encode(plots.to_bytes(fig, fmt)).decode("ascii")
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f'<figure><img src="data:{mime};base64,{data}" alt="{html.escape(alt)}"></figure>'


# -- the sections ---------------------------------------------------------------------------


def _metrics(ctx: _Context) -> str:
    h, items = ctx.history, []
    if len(h):
        items += [("epochs trained", str(len(h))), ("training cost", _fmt(h.cost[-1]))]
        train_acc = (h.accuracy or [None])[-1]
        if train_acc is not None:
            items.append(("training accuracy", _fmt(train_acc, percent=True)))
        if h.val_cost and h.val_cost[-1] is not None:
            items.append(("validation cost", _fmt(h.val_cost[-1])))
        accs = [a for a in h.val_accuracy if a is not None]
        if accs:
            best = int(np.argmax([-1 if a is None else a for a in h.val_accuracy]))
            items.append(("validation accuracy", _fmt(h.val_accuracy[-1], percent=True)))
            items.append(
                (f"best validation accuracy (epoch {best + 1})", _fmt(h.val_accuracy[best], percent=True))
            )
        # History.seconds counts the mini-batches only; a caller that timed the whole run
        # (data loading, evaluation, saving) passes it as config["seconds"].
        items.append(("time in training steps", f"{sum(h.seconds):.1f} s"))
        total = ctx.config.get("seconds")
        if isinstance(total, (int, float)):
            items.append(("total run time", f"{total:.1f} s"))
    if ctx.test is not None:
        ev = ctx.test.evaluation
        if ev.accuracy is not None:
            items.append(("test accuracy", _fmt(ev.accuracy, percent=True)))
        items.append(("test cost", _fmt(ev.cost)))
    if not items:
        return _missing(f"{NOT_RECORDED}: no training history and no test data")
    note = "" if len(h) else _missing(f"training history {NOT_RECORDED}")
    return _cards(items) + note


def _config(ctx: _Context) -> str:
    if not ctx.config:
        return _missing(NOT_RECORDED)
    return _table(list(ctx.config.items()))


def _network(ctx: _Context) -> str:
    net = ctx.net
    rows = [
        ("layer sizes", " → ".join(map(str, net.sizes))),
        ("activations", ", ".join(f"layer {l}: {a.name}" for l, a in enumerate(net.activations, start=1))),
        ("cost", net.cost.name),
        ("initialisation", net.init),
        ("dtype", net.dtype.name),
        ("parameters", net.n_params),
    ]
    return _table(rows)


def _dataset(ctx: _Context) -> str:
    d = ctx.dataset
    if d is None:
        return _missing(NOT_RECORDED)
    if hasattr(d, "summary"):
        rows = list(d.summary().items())
        if getattr(d, "image_shape", None):
            rows.append(("image shape", " × ".join(map(str, d.image_shape))))
        if getattr(d, "classes", None):
            rows.append(("classes", list(d.classes)))
        return _table(rows)
    if isinstance(d, Mapping):
        return _table(list(d.items()))
    return _table([("name", str(d))])


def _curves(ctx: _Context) -> str:
    if not len(ctx.history):
        return _missing(NOT_RECORDED)
    return _figure(lambda: plots.curves(ctx.history), "cost and accuracy per epoch")


def _layers(ctx: _Context) -> str:
    if not ctx.history.layers:
        return _missing(MONITOR_OFF)
    return _figure(lambda: plots.layers(ctx.history), "gradient norm per layer and epoch, log scale")


def _saturation(ctx: _Context) -> str:
    if not ctx.history.layers:
        return _missing(MONITOR_OFF)
    return _figure(lambda: plots.saturation(ctx.history), "saturated and dead units per layer and epoch")


HEALTH_COLUMNS = (
    ("layer", "layer", False),
    ("activation", "activation", False),
    ("‖∂C/∂W‖", "grad_w_norm", False),
    ("‖∂C/∂b‖", "grad_b_norm", False),
    ("‖ΔW‖/‖W‖", "update_ratio", False),
    ("saturated", "saturated", True),
    ("dead", "dead", True),
)


def _health(ctx: _Context) -> str:
    if not ctx.history.layers:
        return _missing(MONITOR_OFF)
    layers = ctx.history.layers[-1]
    head = "".join(f"<th>{html.escape(t)}</th>" for t, _, _ in HEALTH_COLUMNS)
    head += "<th>a mean ± std</th><th>a p1 … p99</th><th>W mean ± std</th><th>warning</th>"
    rows = []
    for d in layers:
        cells = f'<td class="num">{d["layer"]}</td><td class="name">{html.escape(d["activation"])}</td>'
        cells += "".join(
            f'<td class="num">{html.escape(_fmt(d[k], pct, 3))}</td>' for _, k, pct in HEALTH_COLUMNS[2:]
        )
        a, w = d["activation_summary"], d["weight_summary"]
        p = a["percentiles"]
        flags = [name for name in ("vanishing", "exploding") if d.get(name)]
        cells += (
            f'<td class="num">{_fmt(a["mean"], digits=3)} ± {_fmt(a["std"], digits=3)}</td>'
            f'<td class="num">{_fmt(p["1"], digits=3)} … {_fmt(p["99"], digits=3)}</td>'
            f'<td class="num">{_fmt(w["mean"], digits=3)} ± {_fmt(w["std"], digits=3)}</td>'
            f"<td>{html.escape(', '.join(flags) or '—')}</td>"
        )
        rows.append(f"<tr>{cells}</tr>")
    epoch = layers[0]["epoch"]
    caption = f"after epoch {epoch}" if epoch else "before training"
    return (
        f"<p>Measured on a fixed sample of the training data, {caption}.</p>"
        f'<div class="scroll"><table class="health"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _warnings(ctx: _Context) -> str:
    if not ctx.history.layers:
        return _missing(MONITOR_OFF)
    if not ctx.history.warnings:
        return "<p>None: no vanishing or exploding gradient was seen.</p>"
    items = "".join(f"<li>{html.escape(w)}</li>" for w in ctx.history.warnings)
    return f'<ul class="warnings">{items}</ul>'


def _per_layer(make: Callable[[int], Any], alt: str, L: int) -> str:
    """One small figure per layer in a grid: side by side on a laptop, stacked on a phone."""
    figures = "".join(_figure(lambda l=l: make(l), f"{alt} {l}") for l in range(1, L + 1))
    return f'<div class="grid">{figures}</div>'


def _weights(ctx: _Context) -> str:
    return _per_layer(lambda l: plots.weights(ctx.net, l), "histogram of the weights of layer", ctx.net.L)


def _activations(ctx: _Context) -> str:
    if ctx.test is None:
        return _missing("not available: no test data was given")
    make = lambda l: plots.activations(ctx.net, ctx.test.X, l)
    return _per_layer(make, "histogram of the test set's activations in layer", ctx.net.L)


def _confusion(ctx: _Context) -> str:
    t = ctx.test
    if t is None:
        return _missing("not available: no test data was given")
    if not t.is_classes:
        return _missing("not applicable: the targets are not classes")
    k = max(ctx.net.sizes[-1], 2)
    return _figure(lambda: plots.confusion(t.y, t.pred, k, _classes(ctx)), "confusion matrix of the test set")


def _misclassified(ctx: _Context) -> str:
    t = ctx.test
    if t is None:
        return _missing("not available: no test data was given")
    if not ctx.image_shape:
        return _missing("not applicable: the inputs are not images")
    if not t.is_classes:
        return _missing("not applicable: the targets are not classes")
    make = lambda: plots.misclassified(t.X, t.y, t.pred, ctx.image_shape, classes=_classes(ctx))
    return _figure(make, "misclassified test images with true and predicted labels", fmt="png")


def _boundary(ctx: _Context) -> str:
    if ctx.net.sizes[0] != 2:
        return _missing(f"not applicable: the network has {ctx.net.sizes[0]} inputs, not 2")
    if ctx.test is None:
        return _missing("not available: no test data was given")
    if not ctx.test.is_classes:
        return _missing("not applicable: the targets are not classes")
    d = ctx.dataset
    shift, scale = getattr(d, "input_shift", 0.0), getattr(d, "input_scale", 1.0)
    make = lambda: plots.boundary(
        ctx.net, ctx.test.X, ctx.test.y, shift=shift, scale=scale, classes=_classes(ctx)
    )
    return _figure(make, "decision regions, in the data's own units", fmt="png")


def _classes(ctx: _Context) -> list | None:
    """The class names: the network's own, else the data set's."""
    return ctx.net.classes or getattr(ctx.dataset, "classes", None) or None


BUILDERS: dict[str, Callable[[_Context], str]] = {
    "metrics": _metrics,
    "config": _config,
    "network": _network,
    "dataset": _dataset,
    "curves": _curves,
    "layers": _layers,
    "saturation": _saturation,
    "health": _health,
    "warnings": _warnings,
    "weights": _weights,
    "activations": _activations,
    "confusion": _confusion,
    "misclassified": _misclassified,
    "boundary": _boundary,
}
