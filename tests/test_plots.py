"""The plots draw the numbers they are given, and save as PNG or SVG."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.viz import plots

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] > 0.3 * X[:, 1]).astype(int)
    net = nn.Network(
        [2, 6, 5, 2],
        activation=["tanh", "relu"],
        cost="cross_entropy",
        init="scaled",
        seed=0,
        preset="nielsen",
    )
    history = nn.fit(
        net, X[:90], y[:90], epochs=4, batch_size=10, eta=0.5, seed=0,
        validation_data=(X[90:], y[90:]), monitor=True,
    preset="nielsen")  # fmt: skip
    return net, history, X, y


def lines(ax):
    return {line.get_label(): line.get_ydata() for line in ax.get_lines()}


def test_curves_draw_cost_and_accuracy(trained):
    _, history, _, _ = trained
    fig = plots.curves(history)
    cost_ax, acc_ax, eta_ax = fig.axes
    drawn = lines(cost_ax)
    np.testing.assert_allclose(drawn["training"], history.cost)
    np.testing.assert_allclose(drawn["validation"], history.val_cost)
    np.testing.assert_allclose(lines(acc_ax)["validation"], 100 * np.array(history.val_accuracy))
    np.testing.assert_allclose(eta_ax.lines[0].get_ydata(), history.eta)  # the η chart
    assert "eta" in eta_ax.get_title()


def test_curves_without_validation_have_one_panel():
    history = nn.History(cost=[1.0, 0.5], val_cost=[None, None], val_accuracy=[None, None])
    fig = plots.curves(history)
    assert len(fig.axes) == 1 and list(lines(fig.axes[0])) == ["training"]


def test_layers_is_log_scale_with_one_line_per_layer_from_epoch_0(trained):
    _, history, _, _ = trained
    (ax,) = plots.layers(history).axes
    assert ax.get_yscale() == "log"
    drawn = lines(ax)
    assert list(drawn) == ["layer 1 (tanh)", "layer 2 (relu)", "layer 3 (softmax)"]
    want = [layers[1]["grad_w_norm"] for layers in history.layers]
    np.testing.assert_allclose(drawn["layer 2 (relu)"], want)
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [0, 1, 2, 3, 4])


def test_saturation_draws_saturated_tanh_and_dead_relu(trained):
    _, history, _, _ = trained
    drawn = lines(plots.saturation(history).axes[0])
    assert list(drawn) == ["layer 1 (tanh): saturated", "layer 2 (relu): dead"]
    np.testing.assert_allclose(drawn["layer 2 (relu): dead"], [100 * ls[1]["dead"] for ls in history.layers])


def test_history_plots_say_what_is_missing():
    with pytest.raises(ValueError, match="the history is empty"):
        plots.curves(nn.History())
    with pytest.raises(ValueError, match=r"not recorded: train with monitor=True \(--monitor\)"):
        plots.layers(nn.History(cost=[1.0], val_cost=[None], val_accuracy=[None]))


def test_weight_and_activation_histograms_count_every_value(trained):
    net, _, X, _ = trained
    fig = plots.weights(net)
    assert [sum(p.get_height() for p in ax.patches) for ax in fig.axes] == [W.size for W in net.W]
    fig = plots.activations(net, X[:50])
    assert [sum(p.get_height() for p in ax.patches) for ax in fig.axes] == [6 * 50, 5 * 50, 2 * 50]


def test_confusion_matrix_counts():
    fig = plots.confusion([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], n_classes=3)
    counts = fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert "accuracy 66.7%" in fig.axes[0].get_title()


def test_misclassified_shows_only_the_wrong_ones_with_both_labels():
    X = np.arange(5 * 6).reshape(5, 6) / 30
    fig = plots.misclassified(X, np.array([1, 2, 3, 4, 5]), np.array([1, 0, 3, 0, 5]), image_shape=(2, 3))
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["2 → 0", "4 → 0"]
    np.testing.assert_array_equal(shown[1].images[0].get_array(), X[3].reshape(2, 3))
    with pytest.raises(ValueError, match=r"image_shape \(4, 4\) does not hold the 6 input features"):
        plots.misclassified(X, [0] * 5, [1] * 5, image_shape=(4, 4))


def test_boundary_regions_are_the_networks_predictions(trained):
    net, _, X, y = trained
    fig = plots.boundary(net, X, y, resolution=30)
    ax = fig.axes[0]
    groups = ax.collections[-len(np.unique(y)) :]  # one scatter per true class, in the legend
    for c, points in enumerate(groups):
        np.testing.assert_allclose(points.get_offsets(), X[y == c].astype(np.float32))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(c) for c in np.unique(y)]
    assert ax.get_title().startswith("Decision boundary")
    named = plots.boundary(net, X, y, resolution=10, shift=10.0, scale=2.0, classes=["no", "yes"])
    ax = named.axes[0]  # drawn in the data's own units: raw = X · scale + shift
    np.testing.assert_allclose(ax.collections[-2].get_offsets(), X[y == 0] * 2 + 10, rtol=1e-6)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no", "yes"]
    with pytest.raises(ValueError, match="needs a network with 2 inputs; this one has 3"):
        plots.boundary(nn.Network([3, 2], preset="nielsen"), np.zeros((4, 3)), [0, 1, 0, 1])


def test_save_png_and_svg(tmp_path, trained):
    _, history, _, _ = trained
    fig = plots.curves(history)
    png = plots.save(fig, tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plots.save(fig, tmp_path / "c.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "http://www.w3.org" in svg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "c.svg"]  # no temporary left
    assert plots.to_bytes(fig, "svg") == plots.to_bytes(fig, "svg")  # no date stamp


def test_save_refuses_a_bad_name_or_missing_directory(tmp_path, trained):
    _, history, _, _ = trained
    fig = plots.curves(history)
    with pytest.raises(ValueError, match=r"'c.pdf': the name must end in .png or .svg"):
        plots.save(fig, tmp_path / "c.pdf")
    with pytest.raises(FileNotFoundError, match="directory .*nope' does not exist"):
        plots.save(fig, tmp_path / "nope" / "c.png")


def test_histograms_of_chosen_layers(trained):
    net, _, X, _ = trained
    fig = plots.weights(net, layers=2)
    assert len(fig.axes) == 1 and sum(p.get_height() for p in fig.axes[0].patches) == net.W[2].size
    assert [ax.get_title() for ax in plots.activations(net, X, layers=[3, 1]).axes] == [
        "$a^{3}$ (softmax)",
        "$a^{1}$ (tanh)",
    ]
    with pytest.raises(ValueError, match="layer 4 does not exist: layers are numbered 1 to 3"):
        plots.weights(net, layers=4)


def test_curves_draw_training_accuracy_when_the_history_has_it():
    history = nn.History(cost=[1.0, 0.5], val_cost=[0.9, 0.6], val_accuracy=[0.5, 0.7])
    history.accuracy = [0.55, 0.8]  # not a History field today; drawn if a run records it
    drawn = lines(plots.curves(history).axes[1])
    np.testing.assert_allclose(drawn["training"], [55, 80])
    np.testing.assert_allclose(drawn["validation"], [50, 70])
