"""Saving a trained model so that it is never lost to a failed save.

``-o`` is checked before training (``_args.check_output``). Should the save still
fail after training (the disk filled, the folder was removed), the model goes to
a named file in the current folder, or else in the temporary folder, and the
user is told where; the error names the path asked for, never a temporary file.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from ..io.model import save
from ..network import Network


def save_model(net: Network, path: str | os.PathLike, warn, **contents) -> Path:
    """Save to ``path``, or to a fallback file; returns where the model went."""
    try:
        return save(net, path, **contents)
    except OSError as e:
        reason = e.strerror or str(e)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        fallback = folder / f"nablanet-model-{stamp}-{os.getpid()}.npz"
        try:
            saved = save(net, fallback, **contents)
        except OSError:
            continue
        warn(f"could not save the model to {path} ({reason}); it was saved to {saved} instead")
        return saved
    raise OSError(f"could not save the model to {path} ({reason}), nor to the current or temporary folder")
