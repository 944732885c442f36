"""The HTML report: every section, only inline resources, the right numbers, written atomically."""

import base64
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

import nablanet as nn
from nablanet import datasets
from nablanet.cli import main
from nablanet.io import model as files
from nablanet.viz.report import SECTIONS, check_report_path, render_report, write_report

pytest.importorskip("matplotlib")


def digits_run():
    """A small monitored run on the bundled 8×8 digits (image data, 10 classes)."""
    data = datasets.load("digits")
    net = nn.Network(
        [64, 20, 16, 10],
        activation=["sigmoid", "relu"],
        cost="cross_entropy",
        init="scaled",
        seed=0,
        preset="nielsen",
    )
    config = {"eta": 0.5, "epochs": 5, "batch_size": 10, "note": "<script>alert(1)</script>"}
    history = nn.fit(
        net, data.X_train[:1100], data.y_train[:1100], epochs=5, batch_size=10, eta=0.5, seed=0,
        validation_data=(data.X_train[1100:], data.y_train[1100:]), monitor=True,
    preset="nielsen")  # fmt: skip
    return net, history, config, data


def write_digits_report(path):
    net, history, config, data = digits_run()
    write_report(path, net=net, history=history, config=config, dataset=data)
    return net, history, data


class Page(HTMLParser):
    """Sections, image sources, every URL-bearing attribute and the tags used."""

    def __init__(self, text):
        super().__init__()
        self.sections, self.images, self.urls, self.tags = {}, [], [], set()
        self._section = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self._section = attrs["id"]
            self.sections[self._section] = ""
        if tag == "img":
            self.images.append((self._section, attrs["src"]))
        self.urls += [v for k, v in attrs.items() if k in ("src", "href", "action", "srcset", "poster")]

    def handle_data(self, data):
        if self._section:
            self.sections[self._section] += data


@pytest.fixture(scope="session")
def digits_report_file(tmp_path_factory):
    """The digits report, written once per session (the browser test reads it too)."""
    path = tmp_path_factory.mktemp("report") / "run.html"
    return (path, *write_digits_report(path))


@pytest.fixture(scope="module")
def digits_report(digits_report_file):
    path, net, history, data = digits_report_file
    return path, Page(path.read_text("utf-8")), net, history, data


def decode(src):
    mime, data = re.fullmatch(r"data:(image/png|image/svg\+xml);base64,([A-Za-z0-9+/=]+)", src).groups()
    return mime, base64.b64decode(data, validate=True)


def test_every_section_is_present_in_order(digits_report):
    _, page, *_ = digits_report
    assert list(page.sections) == [sid for sid, _ in SECTIONS]


def test_only_inline_resources_and_no_script(digits_report):
    path, page, *_ = digits_report
    text = path.read_text("utf-8")
    assert all(u.startswith(("data:", "#")) for u in page.urls), [u[:40] for u in page.urls]
    assert not page.tags & {"script", "link", "iframe", "object", "embed", "base"}
    assert "url(" not in text and "@import" not in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text


def test_every_image_is_a_valid_png_or_svg(digits_report):
    _, page, net, *_ = digits_report
    where = [section for section, _ in page.images]
    per_layer = ["weights"] * net.L + ["activations"] * net.L
    assert where == ["curves", "layers", "saturation", *per_layer, "confusion", "misclassified"]
    for _, src in page.images:
        mime, data = decode(src)
        if mime == "image/png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            root = ET.fromstring(data)
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            assert float(root.get("width").removesuffix("pt")) > 0


def test_metrics_are_the_runs_numbers(digits_report):
    _, page, net, history, data = digits_report
    metrics = page.sections["metrics"]
    acc = net.evaluate(data.X_test, data.y_test).accuracy
    assert f"test accuracy{100 * acc:.1f}%" in metrics
    assert f"validation accuracy{100 * history.val_accuracy[-1]:.1f}%" in metrics
    assert f"epochs trained{len(history)}" in metrics
    assert f"n_test{len(data.y_test)}" in page.sections["dataset"]
    assert "image shape8 × 8" in page.sections["dataset"]


def test_health_table_shows_the_last_epoch(digits_report):
    _, page, _, history, _ = digits_report
    health = page.sections["health"]
    assert "after epoch 5" in health
    for d in history.layers[-1]:
        assert f"{d['grad_w_norm']:.3g}" in health and f"{d['update_ratio']:.3g}" in health
    assert "not applicable: the network has 64 inputs, not 2" in page.sections["boundary"]


def test_config_text_is_escaped(digits_report):
    path, page, *_ = digits_report
    assert "<script>" not in path.read_text("utf-8")
    assert "<script>alert(1)</script>" in page.sections["config"]  # shown as text


def test_a_model_without_history_marks_history_sections_not_recorded(tmp_path):
    net = nn.Network([3, 4, 2], seed=0, preset="nielsen")
    path = write_report(tmp_path / "r.html", net=net, history=None, config=None)
    page = Page(path.read_text("utf-8"))
    assert list(page.sections) == [sid for sid, _ in SECTIONS]
    for sid in ("config", "dataset", "curves", "layers", "saturation", "health", "warnings"):
        assert "not recorded" in page.sections[sid], sid
    assert "not recorded" in page.sections["metrics"]
    assert [s for s, _ in page.images] == ["weights", "weights"]  # the weights are always there


def test_history_without_monitor_and_given_as_a_dict(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = nn.Network(
        [2, 6, 2], activation="tanh", cost="cross_entropy", init="scaled", seed=0, preset="nielsen"
    )
    history = nn.fit(net, X, y, epochs=3, eta=0.5, seed=0, preset="nielsen")
    text = render_report(net=net, history=history.to_dict(), config={"eta": 0.5}, X_test=X, y_test=y)
    page = Page(text)
    assert "train with monitor=True (--monitor)" in page.sections["layers"]
    assert "not applicable: the inputs are not images" in page.sections["misclassified"]
    assert [s for s, _ in page.images] == ["curves", "weights", "weights", "activations", "activations",
                                           "confusion", "boundary"]  # fmt: skip


def test_regression_targets_have_no_confusion_matrix():
    net = nn.Network([2, 3, 1], output="identity", seed=0, preset="nielsen")
    X = np.zeros((5, 2))
    page = Page(render_report(net=net, history=None, config={}, X_test=X, y_test=np.linspace(0, 2, 5)))
    assert "not applicable: the targets are not classes" in page.sections["confusion"]
    assert "not applicable: the targets are not classes" in page.sections["boundary"]
    assert "test cost" in page.sections["metrics"] and "test accuracy" not in page.sections["metrics"]


def test_check_report_path(tmp_path):
    assert check_report_path(tmp_path / "run.html") == tmp_path / "run.html"
    missing = tmp_path / "no" / "such" / "run.html"
    with pytest.raises(
        FileNotFoundError, match=r"cannot write the report to '.*run.html': directory '.*such' does not"
    ):
        check_report_path(missing)
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        check_report_path(tmp_path)


def test_write_report_into_a_missing_directory_fails_before_anything_is_written(tmp_path):
    net = nn.Network([3, 2], seed=0, preset="nielsen")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_report(tmp_path / "nope" / "r.html", net=net, history=None, config=None)
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_atomically_and_leaves_no_temporary(tmp_path):
    net = nn.Network([3, 2], seed=0, preset="nielsen")
    path = tmp_path / "r.html"
    path.write_text("old")
    write_report(path, net=net, history=None, config={"run": 1})
    assert path.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert os.listdir(tmp_path) == ["r.html"]


# -- the command line: nablanet plot / nablanet report -----------------------------------------


def saved_model(tmp_path, monitor=True, history=True, hyperparameters=None):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] > X[:, 1]).astype(int)
    net = nn.Network([2, 5, 2], activation="relu", cost="cross_entropy", init="he", seed=0, preset="nielsen")
    h = nn.fit(
        net, X, y, epochs=2, eta=0.3, seed=0, validation_data=(X, y), monitor=monitor, preset="nielsen"
    )
    path = tmp_path / "model.npz"
    files.save(net, path, history=h if history else None, hyperparameters=hyperparameters)
    return path, net, h


def test_cli_plot_writes_the_chosen_plot(tmp_path, capsys):
    model, _, _ = saved_model(tmp_path)
    for what, suffix in (("curves", "png"), ("layers", "svg"), ("weights", "png")):
        out = tmp_path / f"{what}.{suffix}"
        assert main(["plot", str(model), "--what", what, "-o", str(out)]) == 0
        assert out.stat().st_size > 1000
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_plot_lists_the_valid_choices_for_an_unknown_what(tmp_path, capsys):
    model, _, _ = saved_model(tmp_path)
    with pytest.raises(SystemExit) as exit:
        main(["plot", str(model), "--what", "speed", "-o", str(tmp_path / "x.png")])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'speed'" in err
    assert "'curves', 'layers', 'saturation', 'weights', 'activations', 'confusion', 'misclassified'" in err


def test_cli_plot_explains_what_is_missing(tmp_path, capsys):
    model, _, _ = saved_model(tmp_path, monitor=False)
    assert main(["plot", str(model), "--what", "layers", "-o", str(tmp_path / "l.png")]) == 1
    assert "per-layer health was not recorded: train with monitor=True (--monitor)" in capsys.readouterr().err
    assert main(["plot", str(model), "--what", "confusion", "-o", str(tmp_path / "c.png")]) == 1
    assert "this needs test data: pass --data" in capsys.readouterr().err
    assert main(["plot", str(model), "--what", "curves", "-o", str(tmp_path / "c.pdf")]) == 1
    assert "must end in .png or .svg" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.p*g")) and not list(tmp_path.glob("*.pdf"))


def test_cli_plot_on_test_data(tmp_path):
    net = nn.Network([64, 10], cost="cross_entropy", seed=0, preset="nielsen")
    model = tmp_path / "digits.npz"
    files.save(net, model)
    out = tmp_path / "wrong.png"
    argv = ["plot", str(model), "--what", "misclassified", "--data", "digits", "-o", str(out)]
    assert main(argv) == 0 and out.read_bytes()[:4] == b"\x89PNG"


def test_cli_report_from_a_model_without_history(tmp_path, capsys):
    model, _, _ = saved_model(tmp_path, history=False)
    out = tmp_path / "r.html"
    assert main(["report", str(model), "-o", str(out)]) == 0
    page = Page(out.read_text("utf-8"))
    for sid in ("curves", "layers", "health"):
        assert "not recorded" in page.sections[sid]


def test_cli_report_from_a_checkpoint_keeps_its_history_and_settings(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 2)), rng.integers(0, 2, 40)
    net = nn.Network([2, 3, 2], seed=0, preset="nielsen")
    ckpt = tmp_path / "run.ckpt"
    history = nn.fit(net, X, y, epochs=2, eta=0.1, seed=0, checkpoint=ckpt, monitor=True, preset="nielsen")
    out = tmp_path / "r.html"
    assert main(["report", str(ckpt), "-o", str(out)]) == 0
    page = Page(out.read_text("utf-8"))
    assert f"training cost{history.cost[-1]:.4g}" in page.sections["metrics"]
    assert "after epoch 2" in page.sections["health"]


def test_cli_report_into_a_missing_directory_fails_first(tmp_path, capsys):
    assert main(["report", str(tmp_path / "absent.npz"), "-o", str(tmp_path / "no" / "r.html")]) == 1
    err = capsys.readouterr().err  # the output path is checked before the model is even read
    assert "r.html" in err and "does not exist" in err


def test_a_stored_training_accuracy_reaches_the_metrics_and_the_curves(tmp_path):
    net = nn.Network([2, 2], seed=0, preset="nielsen")
    stored = nn.History(cost=[1.0, 0.5], val_cost=[None, None], val_accuracy=[None, None]).to_dict()
    stored["accuracy"] = [0.6, 0.75]  # what `nablanet train` records
    model = tmp_path / "m.npz"
    files.save(net, model, history=stored)
    out = tmp_path / "r.html"
    assert main(["report", str(model), "-o", str(out)]) == 0
    page = Page(out.read_text("utf-8"))
    assert "training accuracy75.0%" in page.sections["metrics"]
    assert [s for s, _ in page.images][:1] == ["curves"]
