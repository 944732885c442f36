"""``fit(..., verbose=1)``: a progress bar per epoch, in a terminal or a notebook.

It uses rich, which draws in place in a terminal and as a live widget in
Jupyter, and is imported only when a progress bar is asked for
(``pip install "nablanet[cli]"`` brings it).
"""

from __future__ import annotations

from ..train import Callback, Run

__all__ = ["Progress"]


class Progress(Callback):
    """One bar for the mini-batches of each epoch, then a line with its cost and validation."""

    def __init__(self, n: int, batch_size: int):
        self.total = -(-n // batch_size)  # mini-batches per epoch
        self._bar = self._task = None

    def on_train_begin(self, run: Run) -> None:
        try:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        except ImportError:
            raise ImportError('verbose=1 needs rich: pip install "nablanet[cli]"') from None
        self._bar = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
        )
        self._bar.start()

    def on_epoch_begin(self, run: Run) -> None:
        self._task = self._bar.add_task("", total=self.total, epoch=f"{run.epoch + 1}/{run.epochs}", info="")

    def on_batch_end(self, run: Run, cost: float) -> None:
        if self._task is None:  # resumed mid-epoch
            self.on_epoch_begin(run)
            self._bar.update(self._task, completed=run.batch)
        self._bar.advance(self._task)

    def on_epoch_end(self, run: Run) -> None:
        h = run.history
        info = f"cost {h.cost[-1]:.4f}"
        if h.val_accuracy[-1] is not None:
            info += f"  val accuracy {h.val_accuracy[-1]:.4f}"
        elif h.val_cost[-1] is not None:
            info += f"  val cost {h.val_cost[-1]:.4f}"
        self._bar.update(self._task, info=info)
        self._task = None

    def on_train_end(self, run: Run) -> None:
        if self._bar is not None:
            self._bar.stop()
