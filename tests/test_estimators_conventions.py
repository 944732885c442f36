"""The estimators' conventions: dtype from the input, class names, shared defaults, MLPClassifier's
stopping rule (checked against MLPClassifier itself), dropout, L1 and progress."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits, make_blobs, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import nablanet as nn
from nablanet.defaults import DEFAULTS
from nablanet.estimators import NablaClassifier, NablaRegressor
from nablanet.estimators._watch import Watch, stopping
from nablanet.train import Run

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::nablanet.training.health.TrainingWarning"),
]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


# -- dtype ------------------------------------------------------------------------------------


@pytest.mark.parametrize("Est", [NablaClassifier, NablaRegressor])
def test_dtype_follows_the_input_unless_given(Est):
    X, y = make_blobs(60, n_features=3, random_state=0)
    params = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    for X_in, dtype, expected in [
        (X, None, np.float64),
        (X.astype(np.float32), None, np.float32),
        (np.rint(X * 10).astype(np.int64), None, np.float64),  # not a float: scikit-learn's float64
        (X, "float32", np.float32),
        (X.astype(np.float32), "float64", np.float64),
    ]:
        est = Est(dtype=dtype, **params).fit(X_in, y)
        assert est.network_.dtype == expected and est.coefs_[0].dtype == expected
        out = est.predict_proba(X_in) if Est is NablaClassifier else est.predict(X_in)
        assert out.dtype == expected
    # A warm start keeps the network it continues, whatever the new input's dtype.
    warm = Est(warm_start=True, **params).fit(X, y)
    net = warm.network_
    warm.fit(X.astype(np.float32), y)
    assert warm.network_ is net and net.dtype == np.float64


# -- class names --------------------------------------------------------------------------------


def test_network_classes_are_set_from_classes_(tmp_path):
    X, y = make_blobs(90, centers=3, n_features=2, random_state=0)
    params = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    names = np.array(["setosa", "versicolor", "virginica"])
    for labels, classes in [
        (names[y], ["setosa", "versicolor", "virginica"]),
        (y + 10, [10, 11, 12]),
        (y.astype(float), [0, 1, 2]),  # integral floats as integers, the types a model file keeps
        (y == 1, ["False", "True"]),  # other labels as their text
    ]:
        est = NablaClassifier(**params).fit(X, labels)
        assert est.network_.classes == classes
        assert_array_equal(est.classes_, np.unique(labels))  # classes_ as scikit-learn has them
    Xm, Ym = make_multilabel_classification(40, n_features=4, n_classes=3, random_state=0)
    assert NablaClassifier(**params).fit(Xm, Ym).network_.classes == [0, 1, 2]
    # The names travel in the model file: the bare Network predicts them too.
    est = NablaClassifier(**params).fit(X, names[y])
    net = nn.load(est.save(tmp_path / "iris.npz"))
    assert net.classes == ["setosa", "versicolor", "virginica"]
    assert_array_equal(np.asarray(net.classes)[net.predict(X)], est.predict(X))


# -- defaults ------------------------------------------------------------------------------------


def test_defaults_come_from_the_shared_table(digits):
    X, y = digits
    est = NablaClassifier()
    assert est.activation == DEFAULTS["activation"] and est.momentum == DEFAULTS["mu"]
    assert est.init is None and est.learning_rate is None and est.dtype is None
    small = dict(hidden_layer_sizes=(8,), max_iter=1, random_state=0)
    fitted = {
        "relu": NablaClassifier(**small).fit(X, y),
        "tanh": NablaClassifier(activation="tanh", **small).fit(X, y),
        "given": NablaClassifier(init="scaled", **small).fit(X, y),
    }
    assert fitted["relu"].network_.init == DEFAULTS["init"] == "he"  # He for ReLU
    assert fitted["tanh"].network_.init == "glorot"  # Glorot for the others
    assert fitted["given"].network_.init == "scaled"
    # learning_rate=None: the shared eta for momentum and plain SGD, Adam's own 0.001 for Adam.
    for solver, eta in [("momentum", DEFAULTS["eta"]), ("sgd", DEFAULTS["eta"]), ("adam", 1e-3)]:
        est = NablaClassifier(solver=solver, **small).fit(X, y)
        assert est._optimizer.name == solver and est._optimizer.eta == eta
    assert NablaClassifier(solver="momentum", **small).fit(X, y)._optimizer.mu == DEFAULTS["mu"]
    assert NablaClassifier(learning_rate=0.02, **small).fit(X, y)._optimizer.eta == 0.02


# -- the stopping rule, against MLPClassifier itself ------------------------------------------------


def _replay(est, values, on_score):
    """Feed MLPClassifier's per-epoch values to the estimators' EarlyStopping; epochs run, best."""
    net = nn.Network([2, 2])
    run = Run(net, nn.SGD(0.1), np.random.default_rng(0), epochs=len(values), batch_size=1)
    watch = Watch(0.0, 0.0, [], validation=(np.zeros((2, 2)), np.zeros(2), None) if on_score else None)
    stop = stopping(est, watch, None)
    stop.on_train_begin(run)
    for v in values:
        (watch.scores if on_score else watch.loss_curve).append(v)
        run.epoch += 1
        stop.on_epoch_end(run)
        if run.stop:
            break
    stop.on_train_end(run)
    return run.epoch, stop.best


@pytest.mark.parametrize(
    "early_stopping, tol, n_iter_no_change",
    # tol=0: an equal validation score counts as an improvement under scikit-learn's rule.
    [(False, 1e-2, 2), (False, 1e-3, 4), (True, 1e-2, 2), (True, 1e-3, 4), (True, 0.0, 3)],
)
def test_stopping_rule_is_mlpclassifiers(digits, early_stopping, tol, n_iter_no_change):
    X, y = digits
    params = dict(tol=tol, n_iter_no_change=n_iter_no_change, early_stopping=early_stopping, max_iter=150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01, random_state=0, **params)
        mlp.fit(X, y)
    values = mlp.validation_scores_ if early_stopping else mlp.loss_curve_
    assert mlp.n_iter_ < 150  # it stopped by the rule, not at max_iter
    values = values + [values[-1]] * 5  # epochs it did not get to: the rule must stop before them
    epochs, best = _replay(NablaClassifier(**params), values, on_score=early_stopping)
    assert epochs == mlp.n_iter_
    assert best == (mlp.best_validation_score_ if early_stopping else mlp.best_loss_)


def test_early_stopping_restores_the_best_epoch_by_the_rule(digits):
    X, y = digits
    est = NablaClassifier(
        hidden_layer_sizes=(16,), learning_rate=0.01, early_stopping=True, n_iter_no_change=2, tol=0.0,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    scores = est.validation_scores_
    assert est.best_validation_score_ == max(scores) and est.n_iter_ == len(scores) < 200
    # The best is the first epoch with the highest score (a later equal one is no new best).
    best_epoch = int(np.argmax(scores)) + 1
    assert all(s < max(scores) for s in scores[: best_epoch - 1])


# -- dropout and L1 ----------------------------------------------------------------------------------


def test_dropout_is_per_hidden_layer_and_only_in_training(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(32, 16), max_iter=15, learning_rate=0.01, random_state=0)
    plain = NablaClassifier(**params).fit(X, y)
    zeros = NablaClassifier(dropout=[0.0, 0.0], **params).fit(X, y)
    for a, b in zip(plain.coefs_, zeros.coefs_):
        assert_array_equal(a, b)  # a rate of 0 is no dropout, exactly
    dropped = NablaClassifier(dropout=[0.3, 0.0], **params).fit(X, y)
    assert not np.array_equal(dropped.coefs_[0], plain.coefs_[0])
    first = dropped.predict_proba(X)
    assert_array_equal(dropped.predict_proba(X), first)  # no masks when predicting
    assert_array_equal(first, dropped.network_.feedforward(X))
    assert dropped.score(X, y) > 0.9  # 0.967, against 0.985 without dropout


def test_l1_is_in_the_loss_curve(digits):
    """loss_curve_ is C_0 + (alpha/2m) Σw² + (l1/m) Σ|w| without sample weights (module docstring)."""
    X, y = digits
    m = 50
    est = NablaClassifier(
        hidden_layer_sizes=(8,), alpha=0.01, l1=0.02, batch_size=m, max_iter=3, random_state=0
    ).fit(X, y)
    W = list(est.network_.W)
    penalty = 0.01 / (2 * m) * sum((w**2).sum() for w in W) + 0.02 / m * sum(np.abs(w).sum() for w in W)
    assert est.loss_curve_[-1] - est.history_.cost[-1] == pytest.approx(penalty, rel=1e-9)
    bigger = NablaClassifier(
        hidden_layer_sizes=(8,), alpha=0.01, l1=0.5, batch_size=m, max_iter=3, random_state=0
    ).fit(X, y)
    assert sum(np.abs(w).sum() for w in bigger.network_.W) < sum(np.abs(w).sum() for w in W)


# -- prediction and progress ----------------------------------------------------------------------------


def test_predictions_are_the_cores_feedforward(digits):
    X, y = digits
    est = NablaClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    assert_array_equal(est.predict_proba(X), est.network_.feedforward(X))
    assert_array_equal(est.predict(X), est.classes_[est.network_.predict(X)])
    reg = NablaRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y.astype(float))
    assert_array_equal(reg.predict(X), reg.network_.feedforward(X).ravel())


def test_verbose_shows_a_progress_bar_per_epoch(capsys):
    pytest.importorskip("rich")
    X, y = make_blobs(100, random_state=0)
    NablaClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""  # verbose=0 is silent
    NablaClassifier(hidden_layer_sizes=(4,), max_iter=3, verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "epoch 1/3" in out and "epoch 3/3" in out and "cost" in out
