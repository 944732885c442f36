"""Atomic writes: mode kept, symlinks written through, long names, unique and cleaned-up temps."""

import errno
import os
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from nablanet.io import atomic
from nablanet.io.atomic import atomic_open, atomic_write, remove_stale_temps, temp_path


def temps(folder):
    return sorted(n for n in os.listdir(folder) if atomic._TEMP.match(n))


def test_saving_over_a_file_keeps_its_mode(tmp_path):
    f = tmp_path / "model.npz"
    f.write_bytes(b"old")
    for mode in (0o600, 0o640, 0o755):
        f.chmod(mode)
        atomic_write(f, b"new")
        assert stat.S_IMODE(f.stat().st_mode) == mode and f.read_bytes() == b"new"


def test_a_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "a", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o640


def test_symlinks_are_written_through(tmp_path):
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "real.npz"
    real.write_bytes(b"old")
    real.chmod(0o600)
    link = tmp_path / "latest.npz"
    link.symlink_to("store/real.npz")  # relative, into another folder
    chain = tmp_path / "chain"
    chain.symlink_to(link)
    atomic_write(link, b"new")
    assert link.is_symlink() and os.readlink(link) == "store/real.npz"
    assert real.read_bytes() == b"new" and stat.S_IMODE(real.stat().st_mode) == 0o600
    atomic_write(chain, b"newer")
    assert chain.is_symlink() and link.is_symlink() and real.read_bytes() == b"newer"
    assert temps(tmp_path) == [] and temps(tmp_path / "store") == []


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "out"
    link.symlink_to(tmp_path / "made.npz")
    atomic_write(link, b"x")
    assert link.is_symlink() and (tmp_path / "made.npz").read_bytes() == b"x"


@pytest.mark.parametrize("case", ["loop", "folder", "missing folder", "directory"])
def test_writes_that_cannot_be_made_are_refused_before_anything_is_written(tmp_path, case):
    link = tmp_path / "out"
    if case == "loop":
        link.symlink_to(tmp_path / "other")
        (tmp_path / "other").symlink_to(link)
    elif case == "folder":
        (tmp_path / "d").mkdir()
        link.symlink_to(tmp_path / "d")
    elif case == "missing folder":
        link.symlink_to(tmp_path / "nowhere" / "x.npz")
    else:
        link.mkdir()
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(OSError, match="cannot write"):
        atomic_write(link, b"x")
    assert sorted(os.listdir(tmp_path)) == before


def test_names_up_to_the_filesystem_limit_work(tmp_path):
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    for name in ("n" * limit, "é" * (limit // 2) + "x" * (limit % 2), "n" * (limit - 1)):
        assert len(os.fsencode(name)) in (limit, limit - 1)
        atomic_write(tmp_path / name, b"data")
        assert (tmp_path / name).read_bytes() == b"data"
        assert len(os.fsencode(temp_path(tmp_path / name).name)) <= limit
    assert temps(tmp_path) == []
    with pytest.raises(OSError, match="over the folder's limit") as e:
        atomic_write(tmp_path / ("n" * (limit + 1)), b"data")
    assert e.value.errno == errno.ENAMETOOLONG


def test_an_exception_leaves_the_old_file_and_no_temp(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(f) as out:
            out.write(b"half")
            raise KeyboardInterrupt
    assert f.read_bytes() == b"old" and temps(tmp_path) == []


def test_temp_names_are_unique_per_writer(tmp_path):
    f = tmp_path / "f"
    with atomic_open(f) as a, atomic_open(f) as b:  # two writers of one path at once
        a.write(b"a")
        b.write(b"b")
    assert f.read_bytes() == b"a"  # the last to finish wins, and neither failed
    assert len({temp_path(f) for _ in range(100)}) == 100


WRITER = textwrap.dedent(
    """
    import sys, time
    from nablanet.io.atomic import atomic_write
    path, me, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    while time.time() < start:
        time.sleep(0.001)
    for i in range(50):
        atomic_write(path, (me + ":" + str(i) + ":").encode() * 2000)
    """
)


def test_200_concurrent_saves_of_one_path_all_succeed(tmp_path):
    f = tmp_path / "shared.npz"
    start = time.time() + 1.0  # all four start together, once imported
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(f), f"w{k}", str(start)], stderr=subprocess.PIPE)
        for k in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    data = f.read_bytes()
    piece = data[: data.index(b":", data.index(b":") + 1) + 1]
    assert data == piece * 2000  # one writer's save, whole
    assert temps(tmp_path) == []


def dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_only_our_stale_temps_are_removed(tmp_path):
    f = tmp_path / "model.npz"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        host, dead = atomic._HOST, dead_pid()
        stale = f".model.npz.nablanet-{host}-{dead}-0123abcd.tmp"
        kept = [
            f".model.npz.nablanet-{host}-{sleeper.pid}-0123abcd.tmp",  # a live writer
            f".model.npz.nablanet-{host}-{os.getpid()}-0123abcd.tmp",  # this process
            f".model.npz.nablanet-{'f' * 8 if host != 'f' * 8 else '0' * 8}-{dead}-0123abcd.tmp",  # elsewhere
            f".other.npz.nablanet-{host}-{dead}-0123abcd.tmp",  # another file's
            f".model.npz.{dead}.tmp",  # not our pattern
            "model.npz.prev",
        ]
        for name in [stale, *kept]:
            (tmp_path / name).write_bytes(b"x")
        assert remove_stale_temps(f) == 1
        assert sorted(os.listdir(tmp_path)) == sorted(kept)
        (tmp_path / stale).write_bytes(b"x")
        atomic_write(f, b"saved")  # every save cleans up after the writers that died
        assert not (tmp_path / stale).exists() and f.read_bytes() == b"saved"
    finally:
        sleeper.kill()
        sleeper.wait()
