"""NablaClassifier and NablaRegressor: scikit-learn's conformance checks, the ecosystem, bad input."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import (
    load_digits,
    load_iris,
    make_blobs,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import nablanet as nn
from nablanet.estimators import NablaClassifier, NablaRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# max_iter=100 as scikit-learn's own checks use for MLPClassifier: the checks' datasets
# are small, and 100 epochs of them take a few milliseconds. Every check passes, with
# no expected failure: check_sample_weight_equivalence_on_dense_data too, since float64
# input trains in float64. The checks' data are built to be odd (one label, random
# labels, constant features), so the core's collapse warnings are expected there.
@parametrize_with_checks([NablaClassifier(max_iter=100), NablaRegressor(max_iter=100)])
@pytest.mark.filterwarnings("ignore::nablanet.training.health.TrainingWarning")
def test_sklearn_conformance(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


# -- what fitting computes ---------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("l1", [0.0, 0.3])
def test_one_sgd_step_matches_the_formula(weighted, l1):
    """A linear regressor, one full-batch SGD step:
    W → W − η[(1/Σw) Σ_i w_i (a_i − y_i) x_iᵀ + (alpha/Σw) W + (l1/Σw) sign(W)].

    This is scikit-learn's definition of alpha (MLPRegressor's loss gradient); l1 follows it.
    """
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    sw = rng.uniform(0.5, 2, size=20) if weighted else np.ones(20)
    eta, alpha = 0.1, 0.5
    est = NablaRegressor(
        hidden_layer_sizes=(), solver="sgd", learning_rate=eta, alpha=alpha, l1=l1, batch_size=20,
        max_iter=1, warm_start=True, random_state=3,
    )  # fmt: skip
    est.fit(X, y, sample_weight=sw if weighted else None)  # any starting point will do
    W, b = est.network_.W[1].copy(), est.network_.b[1].copy()
    est.fit(X, y, sample_weight=sw if weighted else None)  # warm: one more step from (W, b)

    err = X @ W.T + b - y[:, None]  # a − y, with a = W x + b
    grad_w = (sw[:, None] * err).T @ X / sw.sum() + alpha * W / sw.sum() + l1 * np.sign(W) / sw.sum()
    grad_b = sw @ err / sw.sum()
    assert_allclose(est.coefs_[0], (W - eta * grad_w).T, rtol=1e-12)
    assert_allclose(est.intercepts_[0], b - eta * grad_b, rtol=1e-12)


@pytest.mark.parametrize("Est", [NablaClassifier, NablaRegressor])
def test_sample_weight_equals_repetition(Est):
    """Integer weights = repeated rows, exactly, when stopping does not depend on the loss."""
    rng = np.random.RandomState(42)
    X, y = rng.rand(15, 30), rng.randint(0, 3, size=15)
    sw = rng.randint(0, 5, size=15)
    params = dict(max_iter=30, n_iter_no_change=30, alpha=0.1, random_state=0)
    repeated = Est(**params).fit(X.repeat(sw, axis=0), y.repeat(sw))
    weighted = Est(**params).fit(X, y, sample_weight=sw)
    for a, b in zip(repeated.coefs_ + repeated.intercepts_, weighted.coefs_ + weighted.intercepts_):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_coefs_are_views_of_the_network_weights(digits):
    X_train, _, y_train, _ = digits
    est = NablaClassifier(hidden_layer_sizes=(20, 15), max_iter=2, random_state=0).fit(X_train, y_train)
    net = est.network_
    assert [c.shape for c in est.coefs_] == [(64, 20), (20, 15), (15, 10)]
    for c, W, b, W_b in zip(est.coefs_, net.W, est.intercepts_, net.b):
        assert np.shares_memory(c, W) and np.array_equal(c, W.T)
        assert b is W_b
    before = est.predict_proba(X_train[:5])
    est.coefs_[-1][...] = 0  # writing through the view changes the network
    est.intercepts_[-1][...] = 0
    assert_allclose(est.predict_proba(X_train[:5]), np.full((5, 10), 0.1), rtol=1e-6)
    assert not np.allclose(before, 0.1)


def test_partial_fit_continues_the_run_like_fit(digits):
    X_train, _, y_train, _ = digits
    params = dict(hidden_layer_sizes=(16,), n_iter_no_change=100, random_state=1)
    full = NablaClassifier(max_iter=4, **params).fit(X_train, y_train)
    part = NablaClassifier(**params)
    with pytest.raises(ValueError, match="classes"):
        part.partial_fit(X_train, y_train)  # the first call must name the classes
    for _ in range(4):
        part.partial_fit(X_train, y_train, classes=np.arange(10))
    assert part.n_iter_ == 4 and len(part.loss_curve_) == 4
    assert_allclose(part.loss_curve_, full.loss_curve_, rtol=1e-6)
    for a, b in zip(part.coefs_, full.coefs_):
        assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(ValueError, match="not in classes_"):
        part.partial_fit(X_train[:3], np.array([1, 2, 11]))


@pytest.mark.parametrize(
    "solver,change,read",
    [
        ("momentum", dict(momentum=0.5), lambda opt: opt.mu),
        ("adam", dict(beta_1=0.5), lambda opt: opt.beta1),
        ("adam", dict(epsilon=1e-4), lambda opt: opt.eps),
        ("sgd", dict(learning_rate=0.05), lambda opt: opt.eta),
    ],
)
def test_warm_start_takes_changed_hyperparameters_and_keeps_the_state(digits, solver, change, read):
    # scikit-learn's convention: set_params between warm-started fits takes effect.
    X_train, _, y_train, _ = digits
    est = NablaClassifier(hidden_layer_sizes=(8,), solver=solver, max_iter=1, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_train, y_train)
        t, state = (
            est._optimizer.t,
            {k: [a.copy() for a in getattr(est._optimizer, k)] for k in est._optimizer._slots},
        )
        est.set_params(**change)
        # One more epoch from the state the first fit left, with the new value.
        seen = {}
        original = est._optimizer.__class__.step

        def spy(opt, params, grads, **kw):
            if not seen:
                seen.update(
                    value=read(opt), t=opt.t, state={k: [a.copy() for a in getattr(opt, k)] for k in state}
                )
            return original(opt, params, grads, **kw)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(est._optimizer.__class__, "step", spy)
            est.fit(X_train, y_train)
    assert seen["value"] == next(iter(change.values()))
    assert seen["t"] == t
    for k in state:
        for a, b in zip(seen["state"][k], state[k]):
            assert_array_equal(a, b)
    with pytest.raises(ValueError, match="momentum"):  # checked again, not ignored
        NablaClassifier(solver="momentum", max_iter=1, warm_start=True).fit(X_train, y_train).set_params(
            momentum=1.5
        ).fit(X_train, y_train)


def test_warm_start_continues_and_cold_start_restarts(digits):
    X_train, _, y_train, _ = digits
    params = dict(hidden_layer_sizes=(16,), n_iter_no_change=100, random_state=2)
    six = NablaClassifier(max_iter=6, **params).fit(X_train, y_train)
    warm = NablaClassifier(max_iter=3, warm_start=True, **params).fit(X_train, y_train)
    net = warm.network_
    warm.fit(X_train, y_train)
    assert warm.network_ is net and len(warm.loss_curve_) == 6 and warm.n_iter_ == 3
    assert_allclose(warm.loss_curve_, six.loss_curve_, rtol=1e-6)
    for change, message in [
        (dict(hidden_layer_sizes=(8,)), r"hidden_layer_sizes is now \(8,\) but the fitted run has \(16,\)"),
        (dict(solver="sgd"), "solver is now 'sgd' but the fitted run has 'adam'"),
        (dict(activation="tanh"), "activation is now 'tanh' but the fitted run has 'relu'"),
        (dict(output="sigmoid"), r"output is now \('sigmoid', 10\) but the fitted run has \('softmax', 10\)"),
    ]:
        before = warm.get_params()
        warm.set_params(**change)
        with pytest.raises(ValueError, match=message):
            warm.fit(X_train, y_train)
        warm.set_params(**before)
    cold = NablaClassifier(max_iter=3, **params).fit(X_train, y_train)
    cold.fit(X_train, y_train)
    assert len(cold.loss_curve_) == 3 and cold.loss_curve_[0] == pytest.approx(six.loss_curve_[0])


def test_early_stopping_keeps_the_best_epoch(digits):
    X_train, _, y_train, _ = digits
    est = NablaClassifier(
        hidden_layer_sizes=(32,), learning_rate=0.03, early_stopping=True, n_iter_no_change=3,
        max_iter=200, random_state=0,
    )  # fmt: skip
    est.fit(X_train, y_train)
    assert est.n_iter_ < 200 and len(est.validation_scores_) == est.n_iter_ == len(est.validation_loss_)
    assert est.best_validation_score_ == max(est.validation_scores_) and est.best_loss_ is None
    # Rebuild the held-out split (the estimator's second seed) and score the restored weights.
    seed = np.random.RandomState(0).randint(2**31, size=3)[1]
    _, X_val, _, y_val = train_test_split(
        X_train, y_train, test_size=0.1, random_state=seed, stratify=y_train
    )
    assert est.score(X_val, y_val) == pytest.approx(est.best_validation_score_)
    # It stopped because the last n_iter_no_change + 1 epochs did not beat the best before them by tol.
    scores = est.validation_scores_
    assert max(scores[-4:]) < max(scores[:-4]) + est.tol
    with pytest.raises(ValueError, match="early_stopping"):
        est.partial_fit(X_train, y_train)


# -- labels and outputs ----------------------------------------------------------------------------


def test_string_labels_binary_sigmoid_or_softmax():
    X, y = make_blobs(200, centers=[[-2, -2], [2, 2]], random_state=0)
    labels = np.array(["cat", "dog"])[y]
    one = NablaClassifier(hidden_layer_sizes=(8,), max_iter=200, random_state=0).fit(X, labels)
    two = NablaClassifier(hidden_layer_sizes=(8,), output="softmax", max_iter=200, random_state=0).fit(
        X, labels
    )
    assert one.network_.sizes[-1] == 1 and one.out_activation_ == "sigmoid"
    assert one.network_.cost.name == "binary_cross_entropy"
    assert two.network_.sizes[-1] == 2 and two.out_activation_ == "softmax"
    for est in (one, two):
        assert_array_equal(est.classes_, ["cat", "dog"])
        proba = est.predict_proba(X)
        assert proba.shape == (200, 2)
        assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
        assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])
        assert est.score(X, labels) > 0.95


def test_multiclass_softmax_and_quadratic_cost(digits):
    X_train, X_test, y_train, y_test = digits
    names = np.array(list("abcdefghij"))
    est = make_pipeline(StandardScaler(), NablaClassifier(max_iter=30, random_state=0))
    est.fit(X_train, names[y_train])
    assert est[-1].out_activation_ == "softmax" and est[-1].network_.cost.name == "cross_entropy"
    # 30 epochs give 0.94-0.96 over seeds; the default max_iter (tol stopping) gave 0.972-0.980 (8 seeds).
    assert est.score(X_test, names[y_test]) > 0.93
    quad = NablaClassifier(
        cost="quadratic", activation="logistic", learning_rate=0.01, max_iter=30, random_state=0
    )
    quad.fit(X_train / 16, y_train)
    assert quad.out_activation_ == "sigmoid" and quad.network_.cost.name == "quadratic"
    assert_allclose(quad.predict_proba(X_test).sum(axis=1), 1, rtol=1e-12)  # normalised sigmoid outputs
    assert quad.score(X_test / 16, y_test) > 0.9


def test_multilabel():
    X, Y = make_multilabel_classification(300, n_features=10, n_classes=4, random_state=0)
    # MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0) gets 0.83 here.
    est = NablaClassifier(hidden_layer_sizes=(32,), learning_rate=0.01, random_state=0).fit(X / X.max(), Y)
    assert_array_equal(est.classes_, np.arange(4))
    assert est.out_activation_ == "sigmoid" and est.network_.cost.name == "binary_cross_entropy"
    proba = est.predict_proba(X / X.max())
    assert proba.shape == (300, 4)
    assert_array_equal(est.predict(X / X.max()), (proba >= 0.5).astype(int))
    assert (est.predict(X / X.max()) == Y).mean() > 0.8
    with pytest.raises(ValueError, match="sigmoid"):
        NablaClassifier(output="softmax").fit(X, Y)


def test_regressor_multi_output_and_one_output():
    X, Y = make_regression(200, 5, n_targets=2, noise=0.1, random_state=0)
    Y = Y / Y.std(axis=0)
    est = NablaRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(X, Y)
    assert est.predict(X).shape == (200, 2) and est.score(X, Y) > 0.95
    assert est.out_activation_ == "identity" and est.network_.cost.name == "quadratic"
    one = NablaRegressor(hidden_layer_sizes=(32,), max_iter=50, random_state=0).fit(X, Y[:, 0])
    assert one.predict(X).shape == (200,) and one.predict(X).dtype == np.float64
    # Early stopping scores the held-out 20% by R², as MLPRegressor does.
    early = NablaRegressor(
        hidden_layer_sizes=(32,), early_stopping=True, validation_fraction=0.2, max_iter=300, random_state=0
    ).fit(X, Y)
    seed = np.random.RandomState(0).randint(2**31, size=3)[1]
    _, X_val, _, Y_val = train_test_split(X, Y, test_size=0.2, random_state=seed)
    assert early.best_validation_score_ == max(early.validation_scores_) > 0.9
    assert early.score(X_val, Y_val) == pytest.approx(early.best_validation_score_, rel=1e-5)


def test_monitor_records_layer_health(digits):
    X_train, _, y_train, _ = digits
    est = NablaClassifier(hidden_layer_sizes=(16,), max_iter=3, monitor=True, random_state=0)
    est.fit(X_train / 16, y_train)
    assert len(est.history_.layers) >= 3 and len(est.history_.layers[-1]) == 2  # per epoch, per layer


# -- the ecosystem ----------------------------------------------------------------------------------


def test_grid_search_over_learning_rate_and_hidden_sizes(digits):
    X_train, X_test, y_train, y_test = digits
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), NablaClassifier(max_iter=15, random_state=0)),
        {
            "nablaclassifier__learning_rate": [1e-4, 3e-3],
            "nablaclassifier__hidden_layer_sizes": [(8,), (64,)],
        },
        cv=3,
    )
    grid.fit(X_train, y_train)
    assert len(grid.cv_results_["params"]) == 4
    # 15 epochs at η = 1e-4 barely move the weights; the larger η and layer must win.
    assert grid.best_params_ == {
        "nablaclassifier__learning_rate": 3e-3,
        "nablaclassifier__hidden_layer_sizes": (64,),
    }
    assert grid.score(X_test, y_test) > 0.95


def test_clone_and_pickle(digits):
    X_train, X_test, y_train, _ = digits
    est = NablaClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(X_train, y_train)
    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "network_")
    with pytest.raises(NotFittedError):
        copy.predict(X_test)
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.predict_proba(X_test), est.predict_proba(X_test))
    # The optimizer state travels too: both continue identically.
    for e in (est, restored):
        e.partial_fit(X_train, y_train)
    assert_array_equal(restored.coefs_[0], est.coefs_[0])


def test_save_and_load_without_pickle(tmp_path, digits):
    X_train, X_test, y_train, _ = digits
    names = np.array([f"digit {d}" for d in range(10)])
    clf = NablaClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(X_train, names[y_train])
    path = clf.save(tmp_path / "clf.npz")
    loaded = NablaClassifier.load(path)
    assert loaded.get_params() == clf.get_params()
    assert_array_equal(loaded.classes_, clf.classes_)
    assert_array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))
    assert loaded.loss_curve_ == clf.loss_curve_ and loaded.n_iter_ == 5
    assert len(loaded.history_) == 5
    loaded.partial_fit(X_train, names[y_train])  # a new optimizer, from the saved weights
    assert len(loaded.loss_curve_) == 6

    X, y = make_regression(50, 4, random_state=0)
    reg = NablaRegressor(hidden_layer_sizes=(8, 4), max_iter=5, random_state=0).fit(X, y / y.std())
    back = NablaRegressor.load(reg.save(tmp_path / "reg.npz"))
    assert_array_equal(back.predict(X), reg.predict(X))
    with pytest.raises(ValueError, match="not a NablaClassifier"):
        NablaClassifier.load(tmp_path / "reg.npz")
    nn.save(reg.network_, tmp_path / "bare.npz")
    with pytest.raises(ValueError, match="a bare Network"):
        NablaRegressor.load(tmp_path / "bare.npz")


def test_feature_names_are_kept_and_checked():
    pd = pytest.importorskip("pandas")
    X, y = make_blobs(60, n_features=3, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    est = NablaClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(frame, y)
    assert_array_equal(est.feature_names_in_, ["a", "b", "c"])
    with pytest.raises(ValueError, match="feature names"):
        est.predict(frame[["c", "b", "a"]])


# -- bad input ------------------------------------------------------------------------------------------


def test_nonfinite_weights_from_huge_input():
    """Mirrors scikit-learn's test_nonfinite_params: huge X must give a ValueError, not NaN weights."""
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and without any RuntimeWarning on the way
        with pytest.raises(ValueError, match="diverged.*scale it first"):
            NablaRegressor(dtype="float64").fit(X, y)
        with pytest.raises(ValueError, match="too large for float32"):
            NablaRegressor(dtype="float32").fit(X, y)


@pytest.mark.parametrize("Est", [NablaClassifier, NablaRegressor])
def test_bad_input_gives_clear_value_errors(Est):
    X, y = make_blobs(40, n_features=3, random_state=0)
    est = Est(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    for bad, match in [(np.nan, "NaN"), (np.inf, "infinity")]:
        Xb = X.copy()
        Xb[3, 1] = bad
        with pytest.raises(ValueError, match=f"Input X contains {match}"):
            est.fit(Xb, y)
    with pytest.raises(ValueError, match="0 sample"):
        est.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X, y[:-1])
    yb = y.astype(float)
    yb[0] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        est.fit(X, yb)
    for sw, match in [([np.nan] + [1] * 39, "sample_weight contains NaN"), ([-1] + [1] * 39, "non-negative")]:
        with pytest.raises(ValueError, match=match):
            est.fit(X, y, sample_weight=sw)

    est.fit(X, y)
    before = est.predict(X)
    with pytest.raises(ValueError, match="X has 2 features, but .* is expecting 3 features"):
        est.predict(X[:, :2])
    Xb = X.copy()
    Xb[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.predict(Xb)
    with pytest.raises(ValueError, match="NaN"):
        est.fit(X, yb)  # a failed fit leaves the fitted estimator as it was
    assert_array_equal(est.predict(X), before)


def test_single_class_is_refused():
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="at least 2 classes.*only one class: 'spam'"):
        NablaClassifier().fit(X, ["spam"] * 10)
    with pytest.raises(ValueError, match="only one class with positive weight"):
        NablaClassifier().fit(X, [0, 1] * 5, sample_weight=[0, 1] * 5)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(learning_rate=-1.0), "learning_rate == -1.0, must be > 0"),
        (dict(hidden_layer_sizes=(10, 0)), r"hidden_layer_sizes\[1\] == 0, must be >= 1"),
        (dict(hidden_layer_sizes="wide"), "hidden_layer_sizes"),
        (dict(solver="lbfgs"), "solver must be one of 'adam', 'momentum', 'sgd'; got 'lbfgs'"),
        (dict(activation="softmax"), "activation 'softmax' is for output layers only"),
        (dict(activation="swish"), "unknown activation 'swish'; choose one of"),
        (dict(alpha=-0.1), "alpha == -0.1, must be >= 0"),
        (dict(batch_size=0), "batch_size == 0, must be >= 1"),
        (dict(validation_fraction=1.0), "validation_fraction == 1.0, must be < 1"),
        (dict(dtype="float16"), "dtype must be None, 'float32' or 'float64'"),
        (dict(l1=-1.0), "l1 == -1.0, must be >= 0"),
        (dict(dropout=1.0), r"dropout of hidden layer 1 must be in \[0, 1\)"),
        (dict(dropout=[0.1, 0.2]), "dropout has 2 rates for 1 hidden layers"),
        (dict(verbose=-1), "verbose == -1, must be >= 0"),
        (dict(output="relu"), "output must be one of None, 'softmax', 'sigmoid'"),
        (dict(cost="hinge"), "cost must be one of"),
        (dict(max_iter=2.5), "max_iter must be an instance of int"),
    ],
)
def test_bad_parameters_are_named(params, match):
    X, y = make_blobs(20, random_state=0)
    est = NablaClassifier(**params)
    with pytest.raises((ValueError, TypeError), match=match):
        est.fit(X, y)
    assert not hasattr(est, "network_") and not hasattr(est, "n_features_in_")


def test_unfitted_and_convergence_warning(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(NotFittedError):
        NablaRegressor().predict(X_train)
    with pytest.raises(NotFittedError):
        NablaClassifier().coefs_
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        NablaClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X_train, y_train)


def test_validation_loss_is_the_cost_of_the_encoded_targets():
    """validation_loss_ is the log-loss on one-hot targets, not a cost of raw class indices."""
    from sklearn.metrics import log_loss
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = NablaClassifier(
        hidden_layer_sizes=(8,), early_stopping=True, validation_fraction=0.5, max_iter=5, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    # Half the data is the validation set, so its loss is close to the whole set's.
    assert clf.validation_loss_[-1] == pytest.approx(log_loss(y, clf.predict_proba(X)), abs=0.25)
