"""A bounded run of the fuzz harness (benchmarks/fuzz.py): every loader, every kind of case.

The full run (``python -m benchmarks.fuzz``, 10,000 cases per format in worker processes)
is in docs/file-format.md; here 300 cases per format run in this process, with the bombs
made smaller (48 MiB instead of 300 MiB, still far past every cap).
"""

from collections import Counter

import pytest
from benchmarks import fuzz

CASES = 300


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory):
    return fuzz.seeds(tmp_path_factory.mktemp("seeds"))


@pytest.mark.parametrize("fmt", fuzz.FORMATS)
def test_every_case_is_accepted_or_refused_with_the_documented_error_quickly(fmt, seed_files, tmp_path):
    bomb_files = fuzz.bombs(fmt, seed_files[fmt], size=48 << 20)
    path = tmp_path / f"case{fuzz.SUFFIX[fmt]}"
    outcomes, kinds = Counter(), Counter()
    for i in range(CASES + len(bomb_files)):
        kind, data = fuzz.make_case(fmt, i, 0, seed_files[fmt], bomb_files)
        assert len(data) <= fuzz.MAX_CASE_BYTES
        path.write_bytes(data)
        r = fuzz.run_case(fmt, path)
        where = f"{fmt} case {i} ({kind}): {r['outcome']} {r['message']}"
        assert r["outcome"] in ("accepted", fuzz.EXPECTED[fmt]), where
        assert r.get("info", "printed") in ("printed", fuzz.EXPECTED[fmt]), where
        # CPU time for the 1 s target (wall time on a shared machine includes waiting for a core).
        assert r["cpu_seconds"] < 1 and r["seconds"] < 10 and r["peak_mb"] < 100, where
        outcomes[r["outcome"]] += 1
        kinds[kind] += 1
    assert {"mutation", "inner", "crafted", "bomb"} <= set(kinds)
    assert outcomes[fuzz.EXPECTED[fmt]] > CASES // 2  # most damage is caught, not loaded


def test_crafted_headers_keep_a_valid_sha256(seed_files):
    """The crafted cases recompute the digest, so they test the checks behind it."""
    import io
    import json
    import random
    import zipfile

    from nablanet.io.container import payload_digest

    rng = random.Random(0)
    valid = 0
    for _ in range(30):
        data = fuzz.crafted_container(seed_files["model"][0], rng)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            header = json.loads(zf.read("header.json"))
            arrays = {
                n[:-4]: __import__("numpy").load(io.BytesIO(zf.read(n)))
                for n in zf.namelist()
                if n.endswith(".npy")
            }
        try:
            valid += header.get("sha256") == payload_digest(header, arrays)
        except Exception:  # an edit may leave a header the digest cannot cover
            pass
    assert valid >= 20
