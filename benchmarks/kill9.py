"""kill -9 during checkpointed training, at random instants: what does resume find?

Run:  python -m benchmarks.kill9 [--kills 200] [--seed 0] [--max-delay 0.5] [--folder DIR]

One training run, checkpointed after every mini-batch, is killed over and over.
Each trial forks a child that resumes the run from its checkpoint (or starts it,
before the first save) and trains on, writing each save's sequence number to a
log once the save has returned. After a random delay the parent sends SIGKILL,
then looks at the folder as a fresh process would:

- **resumable**: ``load_run`` gives a run (once any save has completed);
- **newest completed found**: the sequence number resumed from is the largest of
  the intact checkpoints on disk (the latest, ``.prev``, and a whole file that
  the kill kept from being renamed), and at least that of the last save the
  child saw return. (It may be more: the rename may have happened and the log
  line not, and a child renames into place a whole file its killed predecessor
  left, which it does not log.)
- **temps**: temp files present just after the kill (the killed writer's, to be
  removed, or renamed if whole, by the next run);
- **stale temps left**: temps still there at the end, after one more resume;
- **bit-identical**: the run, finished after all the kills, against the same run
  trained without a stop.

Prints one line per trial with --verbose, and the counts. The kills are real
(SIGKILL to a forked process); the folder is an ordinary one on disk (default: a
new temp folder). Bounded: --kills trials, each at most --max-delay seconds of
training, and --max-seconds in all.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy: forked children need no BLAS threads

import argparse
import random
import re
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from nablanet import ModelFileError, Momentum, Network
from nablanet.io import atomic
from nablanet.train import Run, train
from nablanet.training import checkpoint as ck

EPOCHS = 100_000  # never reached: the kills come first


def make_net() -> Network:
    return Network([5, 6, 3], activation="tanh", cost="cross_entropy", dtype=np.float64, seed=3)


DATA = np.random.default_rng(0)
X = make_net().check_inputs(DATA.random((53, 5)))
Y = make_net().check_targets(DATA.integers(0, 3, 53), 53)


def new_run(net: Network, epochs: int = EPOCHS) -> Run:
    return Run(net, Momentum(0.05), np.random.default_rng(11), epochs, 7, 0.1)


class LoggedCheckpoint(ck.Checkpoint):
    """A checkpoint every mini-batch that writes each save's sequence number once it returns."""

    def __init__(self, path: Path, log: Path):
        super().__init__(path, every=1)
        self.log = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def save(self, run: Run) -> None:
        super().save(run)
        os.write(self.log, b"%d\n" % self.sequence)


def child(path: Path, log: Path, fresh: bool) -> None:
    """Resume (or start) the run and train until killed."""
    net = make_net()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = new_run(net) if fresh else ck.load_run(path, net)
    run.epochs = EPOCHS
    train(run, X, Y, None, [LoggedCheckpoint(path, log)])


def sequence_of(path: Path) -> int | None:
    try:
        return ck._read_checkpoint_file(path).sequence
    except ModelFileError:
        return None


def temps_in(folder: Path) -> list[Path]:
    return [folder / n for n in os.listdir(folder) if atomic._TEMP.match(n)]


def resume_found(path: Path) -> tuple[int | None, bool]:
    """The sequence number load_run resumes from (None if it fails), and whether it warned."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ck.load_run(path, make_net())
            saved, _ = ck._newest(path)
        except ModelFileError:
            return None, bool(caught)
    return saved.sequence, bool(caught)


def last_logged(log: Path) -> int:
    lines = re.findall(rb"\d+", log.read_bytes()) if log.exists() else []
    return int(lines[-1]) if lines else 0


def trial(path: Path, log: Path, delay: float) -> dict:
    fresh = last_logged(log) == 0 and not path.exists() and not ck.previous_path(path).exists()
    pid = os.fork()
    if pid == 0:  # the child: train until killed; never return into the parent's code
        try:
            child(path, log, fresh)
        finally:
            os._exit(3)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    logged = last_logged(log)
    published = [s for s in (sequence_of(path), sequence_of(ck.previous_path(path))) if s is not None]
    temps = temps_in(path.parent)
    whole = [s for s in map(sequence_of, temps) if s is not None]  # a kill before the rename
    found, warned = resume_found(path)
    return {
        "killed": killed,
        "logged": logged,
        "found": found,
        "resumable": found is not None or logged == 0,
        "newest": found == max(published + whole, default=None) and (found or 0) >= logged,
        "fell_back": warned,
        "temps": len(temps),
        "unrenamed": max(whole, default=0) > max(published, default=0),
    }


def finish_and_compare(path: Path) -> tuple[bool, int]:
    """Resume once more to the end of the next epoch; the same run without stops must agree."""
    net = make_net()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = ck.load_run(path, net)
    run.epochs = run.epoch + 1
    train(run, X, Y, None, [ck.Checkpoint(path, every=1)])
    reference = make_net()
    train(new_run(reference, run.epochs), X, Y, None, [])
    same = all(np.array_equal(p, q) for p, q in zip([*net.W, *net.b], [*reference.W, *reference.b]))
    return same, run.epochs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-delay", type=float, default=0.5, help="most seconds before the kill")
    p.add_argument("--max-seconds", type=float, default=900)
    p.add_argument("--folder", type=Path, help="where the run's files go (default: a new temp folder)")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="nablanet-kill9-"))
    folder.mkdir(parents=True, exist_ok=True)
    path, log = folder / "run.npz", folder / "saves.log"
    train(new_run(make_net(), 1), X, Y, None, [])  # import what the first step imports lazily, once
    pick = random.Random(args.seed)
    results, t0 = [], time.monotonic()
    for k in range(args.kills):
        if time.monotonic() - t0 > args.max_seconds:
            print(f"stopped after {k} kills: --max-seconds {args.max_seconds} reached", file=sys.stderr)
            break
        r = trial(path, log, pick.uniform(0.0, args.max_delay))
        results.append(r)
        if args.verbose:
            print(k + 1, r, flush=True)
    same, epochs = finish_and_compare(path)
    n = len(results)
    count = lambda key: sum(bool(r[key]) for r in results)  # noqa: E731
    print(f"folder: {folder}")
    print(f"kills (SIGKILL while training): {count('killed')} of {n} trials, {time.monotonic() - t0:.0f} s")
    print(f"checkpoints saved (the last sequence number): {results[-1]['logged'] if results else 0}")
    print(f"resumable: {count('resumable')} of {n}")
    print(f"newest completed checkpoint found: {count('newest')} of {n}")
    most = max((r["temps"] for r in results), default=0)
    print(f"kills that left a temp: {sum(r['temps'] > 0 for r in results)}; most temps at once: {most}")
    print(f"kills between a file's last byte and its rename (resumed from it): {count('unrenamed')}")
    print(f"resumes that warned (.prev or an unrenamed file): {count('fell_back')}")
    print(f"stale temps left at the end: {len(temps_in(folder))}")
    print(f"finished ({epochs} epochs) bit-identical to a run without stops: {'yes' if same else 'NO'}")
    ok = n and count("resumable") == count("newest") == count("killed") == n and same and not temps_in(folder)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
