"""Model files: round trip, atomic writes, and nothing but ModelFileError for damaged files."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import nablanet
from nablanet import History, ModelFileError, Network
from nablanet.activations import LeakyReLU
from nablanet.costs import Quadratic
from nablanet.io.model import load_model, payload_digest, read_header, save
from nablanet.io.npz import read_npz

from .helpers import mutations


def small_net(**kw):
    kw = {"activation": "tanh", "cost": "cross_entropy", "seed": 1, **kw}
    return Network([4, 5, 3], **kw)


def test_round_trip_keeps_weights_architecture_history_and_hyperparameters(tmp_path):
    net = Network(
        [4, 6, 5, 3], activation=["relu", LeakyReLU(0.2)], output="sigmoid", cost=Quadratic(half=False)
    )
    history = History(cost=[0.5, 0.25], val_cost=[None, 0.3], val_accuracy=[None, 0.75], eta=[3.0, 3.0])
    path = save(net, tmp_path / "m.npz", history=history, hyperparameters={"eta": 3.0, "epochs": 2})
    loaded, meta = load_model(path)
    assert loaded.sizes == net.sizes and loaded.dtype == net.dtype
    assert list(loaded.activations) == list(net.activations) and loaded.activations[2].alpha == 0.2
    assert loaded.cost == net.cost and loaded.cost.half is False
    for a, b in zip(loaded.params, net.params):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    X = np.random.default_rng(0).random((7, 4))
    assert np.array_equal(loaded.feedforward(X), net.feedforward(X))
    assert History.from_dict(meta["history"]) == history
    assert meta["hyperparameters"] == {"eta": 3.0, "epochs": 2}
    assert meta["library_version"] == nablanet.__version__ and meta["format_version"] == 1


def test_float64_and_nablanet_load(tmp_path):
    net = small_net(dtype=np.float64, init="he")
    save(net, tmp_path / "m.npz")
    loaded = nablanet.load(tmp_path / "m.npz")
    assert loaded.dtype == np.float64 and loaded.init == "he"
    assert all(np.array_equal(a, b) for a, b in zip(loaded.params, net.params))


def test_file_is_a_plain_npz_with_a_json_header(tmp_path):
    net = small_net()
    save(net, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        assert np.array_equal(z["W1"], net.W[1]) and np.array_equal(z["b2"], net.b[2])
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        header = json.loads(zf.read("header.json"))
    assert header["network"]["sizes"] == [4, 5, 3]
    assert header["arrays"]["W1"] == {"dtype": "float32", "shape": [5, 4]}
    assert header["sha256"] == payload_digest(
        header, {"W1": net.W[1], "W2": net.W[2], "b1": net.b[1], "b2": net.b[2]}
    )


def test_write_is_atomic(tmp_path, monkeypatch):
    net = small_net()
    save(net, tmp_path / "m.npz")
    before = (tmp_path / "m.npz").read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        save(small_net(seed=2), tmp_path / "m.npz")
    assert (tmp_path / "m.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no temp file left


def test_save_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(small_net(), tmp_path / "nowhere" / "m.npz")
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        save(small_net(), tmp_path / "m.npz", hyperparameters={"f": object()})


def _rewrite(path, header_edit=None, arrays_edit=None, keep_digest=False):
    """Rewrite a model file consistently (valid zip and CRCs), changing header or arrays."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    header = json.loads(members["header.json"])
    arrays = {n[:-4]: np.load(io.BytesIO(b)) for n, b in members.items() if n.endswith(".npy")}
    if arrays_edit:
        arrays_edit(arrays)
    if header_edit:
        header_edit(header)
    if not keep_digest:
        header["sha256"] = payload_digest(header, arrays)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("header.json", json.dumps(header))
        for n, a in arrays.items():
            buf = io.BytesIO()
            np.save(buf, a)
            zf.writestr(n + ".npy", buf.getvalue())


def test_tampered_weights_fail_the_sha256(tmp_path):
    save(small_net(), tmp_path / "m.npz")

    def bump(arrays):
        arrays["W1"][0, 0] += 1

    _rewrite(tmp_path / "m.npz", arrays_edit=bump, keep_digest=True)
    with pytest.raises(ModelFileError, match="SHA-256 .* does not match"):
        nablanet.load(tmp_path / "m.npz")


def test_tampered_architecture_fails_the_sha256(tmp_path):
    save(small_net(), tmp_path / "m.npz")

    def relu(header):
        header["network"]["activations"][0] = {"name": "relu"}

    _rewrite(tmp_path / "m.npz", header_edit=relu, keep_digest=True)
    with pytest.raises(ModelFileError, match="SHA-256"):
        nablanet.load(tmp_path / "m.npz")


@pytest.mark.parametrize(
    "header_edit, arrays_edit, message",
    [
        (lambda h: h.update(format="other"), None, "not a nablanet file"),
        (lambda h: h.update(format_version=99), None, "format version 99"),
        (lambda h: h.update(kind="checkpoint"), None, "not a model"),
        (lambda h: h["network"].update(dtype="float16"), None, "network description is invalid"),
        (lambda h: h["network"].update(sizes=[4, 6, 3]), None, "W1 should be float32 \\(6, 4\\)"),
        (lambda h: h["network"]["activations"][0].update(name="swish"), None, "unknown activation"),
        (lambda h: h["network"]["activations"][0].update(alpha=[1]), None, "tanh takes no parameter 'alpha'"),
        (lambda h: h["arrays"].pop("b2"), None, "do not match the header"),
        (
            None,
            lambda a: a.update(W1=a["W1"].astype(np.int64)),
            "W1.npy has dtype int64, which is not allowed",
        ),
        (lambda h: h["arrays"]["W1"].update(dtype="int64"), None, "dtype outside"),
        (None, lambda a: a.update(extra=np.zeros(2, np.float32)), "members .*extra.npy.* do not match"),
    ],
)
def test_consistent_but_invalid_files(tmp_path, header_edit, arrays_edit, message):
    save(small_net(), tmp_path / "m.npz")
    _rewrite(tmp_path / "m.npz", header_edit, arrays_edit)
    with pytest.raises(ModelFileError, match=message):
        nablanet.load(tmp_path / "m.npz")


def test_object_arrays_are_never_unpickled(tmp_path):
    marker = tmp_path / "MARKER"

    class Bomb:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    save(small_net(), tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        header = zf.read("header.json")
    buf = io.BytesIO()
    np.save(buf, np.array([Bomb()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as zf:
        zf.writestr("header.json", header)
        for n in ("W1", "W2", "b1", "b2"):
            zf.writestr(n + ".npy", buf.getvalue())
    assert not marker.exists()
    with pytest.raises(ModelFileError, match="dtype object"):
        nablanet.load(tmp_path / "evil.npz")
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps(Bomb()))
    with pytest.raises(ModelFileError):
        nablanet.load(tmp_path / "pickle.npz")
    assert not marker.exists()


def test_header_size_cap(tmp_path, monkeypatch):
    import nablanet.io.container as files

    save(small_net(), tmp_path / "m.npz", history=History(cost=[1.0] * 500))
    monkeypatch.setattr(files, "MAX_HEADER_BYTES", 1000)
    with pytest.raises(ModelFileError, match="header.json is .* over the 1000-byte cap"):
        nablanet.load(tmp_path / "m.npz")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        nablanet.load(tmp_path / "absent.npz")
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ModelFileError, match="damaged or not a nablanet file"):
        nablanet.load(tmp_path / "empty.npz")


def test_mutation_loop_raises_only_model_file_error(tmp_path):
    net = small_net()
    save(net, tmp_path / "good.npz", history=History(cost=[0.5]), hyperparameters={"eta": 0.1})
    good = (tmp_path / "good.npz").read_bytes()
    path = tmp_path / "m.npz"
    loaded = 0
    for data in mutations(good, 1200, header_bytes=None):
        path.write_bytes(data)
        try:
            other = nablanet.load(path)
        except ModelFileError:
            continue
        # Harmless damage (a zip timestamp, say) may load; the weights must then be intact.
        loaded += 1
        assert all(np.array_equal(a, b) for a, b in zip(other.params, net.params))
    assert loaded < 200


def test_read_header_and_read_npz(tmp_path):
    save(small_net(), tmp_path / "m.npz")
    assert read_header(tmp_path / "m.npz")["kind"] == "model"
    np.savez(tmp_path / "d.npz", a=np.arange(3), b=np.eye(2, dtype=np.float32).T)  # b is Fortran-ordered
    got = read_npz(tmp_path / "d.npz")
    assert np.array_equal(got["a"], np.arange(3)) and np.array_equal(got["b"], np.eye(2))
    with pytest.raises(ModelFileError, match="over the 10-byte cap"):
        read_npz(tmp_path / "d.npz", max_bytes=10)


@pytest.mark.filterwarnings("ignore:epoch 1")  # 3 examples: the chance-level check has its say
def test_a_loaded_network_trains_and_the_file_is_not_private(tmp_path):
    net = Network([3, 4, 2], cost="cross_entropy", seed=0)
    path = tmp_path / "m.npz"
    save(net, path)
    loaded = nablanet.load(path)
    assert all(p.flags.writeable for p in loaded.params)
    nablanet.fit(loaded, np.eye(3), [0, 1, 1], epochs=1, batch_size=3, eta=0.1)
    assert not np.array_equal(loaded.W[1], net.W[1])
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_a_compressed_member_is_refused(tmp_path):
    from nablanet.io.model import read_container

    net = Network([200, 200, 2], seed=0)
    path = tmp_path / "m.npz"
    save(net, path)
    packed = tmp_path / "packed.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    with pytest.raises(ModelFileError, match="is not stored \\(uncompressed\\), as the format requires"):
        read_container(packed, max_bytes=packed.stat().st_size + 1000)


# -- hostile files: bounded cost, one error type (issue 15) ------------------------------------


def _peak_bytes(fn) -> int:
    """The most memory Python and NumPy held at once while fn ran (fn may raise)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    except ModelFileError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("hidden", [20_000_000, 10**9])
def test_a_huge_parameter_count_is_refused_before_anything_is_allocated(tmp_path, hidden):
    save(small_net(), tmp_path / "m.npz")
    _rewrite(tmp_path / "m.npz", lambda h: h["network"].update(sizes=[5, hidden, 3]))
    with pytest.raises(ModelFileError, match="parameters, over the cap of 100,000,000"):
        nablanet.load(tmp_path / "m.npz")
    assert _peak_bytes(lambda: nablanet.load(tmp_path / "m.npz")) < 5 << 20
    # Raising the cap does not make the file hold those weights: refused, still unallocated.
    with pytest.raises(ModelFileError, match=rf"W1 should be float32 \({hidden}, 5\)"):
        nablanet.load(tmp_path / "m.npz", max_params=10**12)
    assert _peak_bytes(lambda: nablanet.load(tmp_path / "m.npz", max_params=10**12)) < 5 << 20


def test_the_parameter_cap_can_be_raised_by_keyword_or_environment(tmp_path, monkeypatch):
    save(Network([30, 40, 3], seed=0), tmp_path / "m.npz")
    with pytest.raises(ModelFileError, match="1,363 parameters, over the cap of 1,000"):
        nablanet.load(tmp_path / "m.npz", max_params=1000)
    monkeypatch.setenv("NABLANET_MAX_PARAMS", "1000")
    with pytest.raises(ModelFileError, match="over the cap of 1,000"):
        read_header(tmp_path / "m.npz")
    assert nablanet.load(tmp_path / "m.npz", max_params=2000).n_params == 1363


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda n: n.update(activations=[]), "activations must be a list of 2"),
        (lambda n: n.update(sizes=["4", 5, 3]), "sizes must be whole numbers"),
        (lambda n: n.update(sizes=[4, True, 3]), "sizes must be whole numbers"),
        (lambda n: n.update(sizes=[4, 5.0, 3]), "sizes must be whole numbers"),
        (lambda n: n.update(sizes=4), "sizes must be a list"),
        (lambda n: n.update(dtype=32), "dtype must be a string"),
        (lambda n: n.update(cost="quadratic"), "bad layer description"),
        (
            lambda n: n["activations"].__setitem__(0, {"name": "leaky_relu", "alpha": "0.1"}),
            "alpha should be a float",
        ),
        (
            lambda n: n["activations"].__setitem__(0, {"name": "leaky_relu", "alpha": True}),
            "alpha should be a float",
        ),
        (lambda n: n.update(cost={"name": "quadratic", "half": 1}), "half should be a bool"),
        (lambda n: n.update(classes="abc"), "classes must be a list"),
    ],
)
def test_crafted_checksum_valid_network_fields_give_model_file_error(tmp_path, capsys, edit, message):
    from nablanet.cli import main

    save(small_net(), tmp_path / "m.npz")
    _rewrite(tmp_path / "m.npz", lambda h: edit(h["network"]))
    for read in (nablanet.load, read_header):
        with pytest.raises(ModelFileError, match=message):
            read(tmp_path / "m.npz")
    assert main(["info", str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "m.npz: " in err and message.split(" ")[0] in err


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda h: h.update(history={"cost": ["a"]}), r"history\['cost'\] is not a list of numbers"),
        (lambda h: h.update(history=[1]), "history is list, not an object"),
        (lambda h: h.update(hyperparameters="x"), "hyperparameters is str"),
        (lambda h: h.update(kind=5), "kind 5 is neither"),
        (lambda h: h.update(format_version=True), "format version True"),
        (lambda h: h.update(run="x"), "without its run state"),
        (lambda h: h.update(run={"epoch": 1, "batch": "0", "epochs": 2}), r"run\['batch'\] is '0'"),
    ],
)
def test_crafted_header_fields_give_one_clear_cli_line(tmp_path, capsys, edit, message):
    from nablanet.cli import main

    save(small_net(), tmp_path / "m.npz", history=History(cost=[0.5]))
    _rewrite(tmp_path / "m.npz", edit)
    with pytest.raises(ModelFileError, match=message):
        read_header(tmp_path / "m.npz")
    assert main(["info", str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "m.npz: " in err


def test_a_deflated_extra_member_is_refused_without_inflating_it(tmp_path):
    save(small_net(), tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz", "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("extra.npy", b"\0" * (64 << 20))  # 64 MiB, deflated to 64 KB
    assert (tmp_path / "m.npz").stat().st_size < 1 << 20
    with pytest.raises(ModelFileError, match="'extra.npy' is not stored"):
        nablanet.load(tmp_path / "m.npz")
    assert _peak_bytes(lambda: nablanet.load(tmp_path / "m.npz")) < 5 << 20


def test_members_that_overlap_are_refused(tmp_path):
    """Two directory entries pointing at the same bytes: a file read many times over."""
    save(small_net(), tmp_path / "m.npz")
    data = bytearray((tmp_path / "m.npz").read_bytes())
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        infos = {i.filename: i for i in zf.infolist()}
    # Point b2's directory entry at W1's local header.
    entry = data.find(b"b2.npy", data.find(b"PK\x01\x02")) - 46
    data[entry + 42 : entry + 46] = infos["W1.npy"].header_offset.to_bytes(4, "little")
    (tmp_path / "o.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        nablanet.load(tmp_path / "o.npz")


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder"])
def test_only_regular_files_are_read(tmp_path, kind):
    import threading

    path = tmp_path / "m.npz"
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_raised(nablanet.load, path)), daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive() and kind == "fifo":  # unblock the old code's open(), then fail
        with open(path, "wb"):
            pass
    assert not reader.is_alive() and outcome and isinstance(outcome[0], ModelFileError)
    assert "not a regular file" in str(outcome[0])


def _raised(fn, *args):
    try:
        fn(*args)
    except Exception as e:  # the test checks which type
        return e
    return None


def test_a_symlink_to_a_regular_file_is_followed(tmp_path):
    save(small_net(), tmp_path / "m.npz")
    (tmp_path / "link.npz").symlink_to(tmp_path / "m.npz")
    assert nablanet.load(tmp_path / "link.npz").sizes == [4, 5, 3]


def test_class_names_are_kept(tmp_path):
    net = Network([4, 5, 3], seed=0, classes=["setosa", "versicolor", "virginica"])
    save(net, tmp_path / "m.npz")
    assert nablanet.load(tmp_path / "m.npz").classes == ["setosa", "versicolor", "virginica"]
