"""What ``nablanet train`` shows while it trains: progress, warnings, JSON events, the summary.

Progress and warnings go to stderr; results go to stdout, as a table or, with
``--json``, as one JSON object per line (``"event"``: start, epoch, warning,
interrupted, summary). A warning recorded in ``History.warnings`` (by the health
checks or the monitor) is shown once, as soon as the display sees it, with
``--quiet`` too: a run that collapses is never silent.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from ..train import Callback, Run


def emit(record: dict) -> None:
    """One JSON object on its own line of stdout, flushed (a closed pipe raises BrokenPipeError)."""
    print(json.dumps(record), flush=True)


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


class Warnings(Callback):
    """Shows each new ``History.warnings`` entry once: on stderr, and as a JSON event with ``--json``."""

    def __init__(self, as_json: bool = False):
        self.as_json = as_json
        self.shown = 0

    def on_train_begin(self, run: Run) -> None:
        # A resumed run's warnings were shown when they happened; a new run's may already
        # hold the monitor's, from before the first epoch.
        self.shown = len(run.history.warnings) if run.epoch or run.batch else 0

    def on_epoch_begin(self, run: Run) -> None:
        self.flush(run)

    def on_epoch_end(self, run: Run) -> None:
        self.flush(run)

    def on_train_end(self, run: Run) -> None:
        self.flush(run)

    def flush(self, run: Run) -> None:
        new = run.history.warnings[self.shown :]
        self.shown = len(run.history.warnings)
        for message in new:
            text = message if isinstance(message, str) else message.get("message", str(message))
            self.write(text)
            if self.as_json:
                record = message if isinstance(message, dict) else {"message": text}
                emit({"event": "warning", "epoch": run.epoch, **record})

    def write(self, text: str) -> None:
        print(f"nablanet: warning: {text}", file=sys.stderr, flush=True)


class JsonLines(Warnings):
    """One JSON object per epoch on stdout; with ``--monitor``, each layer's health in it."""

    def __init__(self, n_train: int, monitor: bool = False):
        super().__init__(as_json=True)
        self.n_train, self.monitor = n_train, monitor

    def on_epoch_end(self, run: Run) -> None:
        h = run.history
        record: dict[str, Any] = {
            "event": "epoch",
            "epoch": run.epoch,
            "cost": h.cost[-1],
            "accuracy": (h.accuracy or [None])[-1],
            "val_cost": h.val_cost[-1],
            "val_accuracy": h.val_accuracy[-1],
            "eta": (h.eta or [None])[-1],
            "seconds": h.seconds[-1],
            "examples_per_second": self.n_train / h.seconds[-1] if h.seconds[-1] else None,
        }
        if self.monitor:
            record["layers"] = h.layers[-1] if h.layers else None
        emit(record)
        self.flush(run)


class RichProgress(Warnings):
    """A live bar per epoch on stderr (cost so far, examples/s) and a line per finished epoch."""

    def __init__(self, n_train: int, batch_size: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        super().__init__()
        self.n, self.m = n_train, batch_size
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cost {task.fields[cost]}"),
            TextColumn("{task.fields[speed]} ex/s"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task = None

    def write(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/] {text}", markup=True, highlight=False, soft_wrap=True)

    def on_train_begin(self, run: Run) -> None:
        super().on_train_begin(run)
        self.n_batches = -(-self.n // self.m)
        self.progress.start()

    def on_epoch_begin(self, run: Run) -> None:
        self.flush(run)
        self.started = time.perf_counter()
        self.task = self.progress.add_task(
            "", total=self.n_batches, epoch=f"{run.epoch + 1}/{run.epochs}", cost="-", speed="-"
        )

    def on_batch_end(self, run: Run, cost: float) -> None:
        if self.task is None:  # resumed mid-epoch
            self.on_epoch_begin(run)
        if run.batch % 10 and run.batch != self.n_batches:
            return
        seen = min(run.batch * self.m, self.n)
        elapsed = time.perf_counter() - self.started
        self.progress.update(
            self.task,
            completed=run.batch,
            cost=f"{run.cost_sum / seen:.4f}",
            speed=f"{seen / elapsed:,.0f}" if elapsed > 0 else "-",
        )

    def on_epoch_end(self, run: Run) -> None:
        h = run.history
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        acc = (h.accuracy or [None])[-1]
        line = f"epoch {run.epoch:>3}/{run.epochs}  cost {h.cost[-1]:.4f}"
        if acc is not None:
            line += f"  accuracy {acc:.2%}"
        if h.val_cost[-1] is not None:
            line += f"  val cost {h.val_cost[-1]:.4f}"
        if h.val_accuracy[-1] is not None:
            line += f"  val accuracy {h.val_accuracy[-1]:.2%}"
        if h.seconds[-1]:
            line += f"  {self.n / h.seconds[-1]:,.0f} ex/s"
        self.console.print(line, highlight=False, soft_wrap=True)
        self.flush(run)

    def on_train_end(self, run: Run) -> None:
        self.close()
        self.flush(run)

    def close(self) -> None:
        self.progress.stop()


def summary_table(s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="nablanet train", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    d = s["dataset"]
    targets = "a number to predict" if s["task"] == "regression" else f"{d['n_classes']} classes"
    rows = [
        (
            "data",
            f"{d['name']}: {d['n_train']} train / {d['n_test']} test, {d['n_features']} features, {targets}",
        ),
        ("scaling", d.get("scaling") or "-"),
        ("network", " → ".join(str(n) for n in s["sizes"])),
        ("epochs", str(s["epochs"]) + (f" (stopped early: {s['stopped']})" if s.get("stopped") else "")),
        ("final cost", f"{s['cost']:.4f}" if s["cost"] is not None else "-"),
        ("validation", s["validation"]),
    ]
    if s["task"] == "regression":
        rows += [("test RMSE", _num(s["test_rmse"])), ("test R²", _num(s["test_r2"]))]
    else:
        rows += [("validation accuracy", pct(s["val_accuracy"])), ("test accuracy", pct(s["test_accuracy"]))]
    rows += [("test cost", f"{s['test_cost']:.4f}"), ("time", f"{s['seconds']:.1f} s")]
    rows += [(k, str(s[k])) for k in ("model", "checkpoint", "report") if s[k]]
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"
