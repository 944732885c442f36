"""Early stopping and the learning-rate schedules, on scripted histories and in real training."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.train import Run
from nablanet.training.callbacks import EarlyStopping, HalveOnPlateau, InverseScaling, StepDecay


def make_run(eta=1.0):
    net = nn.Network([2, 3, 2], seed=0, preset="nielsen")
    return Run(net, nn.SGD(eta), np.random.default_rng(0), epochs=100, batch_size=1)


def play(cb, run, values, monitor="val_cost", between=None):
    """Drive ``cb`` through epochs whose monitored value is scripted; return epochs run."""
    cb.on_train_begin(run)
    for v in values:
        cb.on_epoch_begin(run)
        if between:
            between(run)
        h = run.history
        h.cost.append(1.0)
        h.val_cost.append(v if monitor == "val_cost" else 1.0)
        h.val_accuracy.append(v if monitor == "val_accuracy" else 0.5)
        h.eta.append(run.optimizer.eta)
        run.epoch += 1
        cb.on_epoch_end(run)
        if run.stop:
            break
    cb.on_train_end(run)
    return run.epoch


def test_early_stopping_waits_patience_epochs_after_the_best():
    cb = EarlyStopping("val_cost", patience=3, restore_best=False)
    run = make_run()
    epochs = play(cb, run, [5, 4, 3, 3.5, 3.2, 3.1, 2.0, 1.0])
    assert epochs == 6  # best after epoch 3, then 3 epochs without improvement
    assert cb.best == 3 and cb.best_epoch == 3 and cb.stopped_epoch == 6


def test_early_stopping_on_accuracy_looks_for_a_larger_value():
    cb = EarlyStopping("val_accuracy", patience=2, restore_best=False)
    run = make_run()
    assert play(cb, run, [0.5, 0.7, 0.6, 0.65, 0.9], monitor="val_accuracy") == 4
    assert cb.best == 0.7 and cb.best_epoch == 2


def test_min_delta_ignores_tiny_improvements():
    cb = EarlyStopping("val_cost", patience=2, min_delta=0.1, restore_best=False)
    run = make_run()
    assert play(cb, run, [1.0, 0.95, 0.92, 0.5]) == 3
    assert cb.best == 1.0


def test_restore_best_puts_back_the_best_epochs_weights_in_place():
    cb = EarlyStopping("val_cost", patience=2, restore_best=True)
    run = make_run()
    arrays = run.net.params
    snapshots = []

    def perturb(run):  # each epoch "trains" by moving every weight
        for p in run.net.params:
            p += 1.0
        snapshots.append([p.copy() for p in run.net.params])

    play(cb, run, [3.0, 1.0, 2.0, 2.5], between=perturb)
    assert cb.best_epoch == 2
    for p, want, same in zip(run.net.params, snapshots[1], arrays):
        np.testing.assert_array_equal(p, want)
        assert p is same  # the optimizer's references stay valid


def test_early_stopping_without_validation_data_says_so():
    net = nn.Network([2, 2], seed=0, preset="nielsen")
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="val_cost was not recorded: pass validation_data"):
        nn.fit(net, X, [0, 1, 0, 1], epochs=2, callbacks=[EarlyStopping()], preset="nielsen")


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: EarlyStopping("accuracy"), "cannot monitor 'accuracy'; choose one of val_cost"),
        (lambda: EarlyStopping(patience=0), "patience must be an integer ≥ 1"),
        (lambda: EarlyStopping(min_delta=-1), "min_delta must be a finite number ≥ 0"),
        (lambda: HalveOnPlateau(max_halvings=-1), "max_halvings must be an integer ≥ 0"),
        (lambda: StepDecay(factor=1.5), r"factor must be in \(0, 1\)"),
        (lambda: InverseScaling(decay=0), "decay must be a positive number"),
    ],
)
def test_bad_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_halve_on_plateau_halves_then_stops_after_k_halvings():
    cb = HalveOnPlateau("val_accuracy", patience=2, max_halvings=2)
    run = make_run(eta=0.8)
    # best after epoch 1, then flat: halve after epochs 3 and 5, stop after epoch 7
    epochs = play(cb, run, [0.9] + [0.5] * 20, monitor="val_accuracy")
    assert epochs == 7
    assert run.history.eta == [0.8, 0.8, 0.8, 0.4, 0.4, 0.2, 0.2]
    assert cb.halvings == 2


def test_halve_on_plateau_restarts_the_count_on_improvement():
    cb = HalveOnPlateau("val_cost", patience=2, max_halvings=1)
    run = make_run(eta=1.0)
    play(cb, run, [1.0, 1.1, 0.9, 1.0, 1.0, 1.0, 1.0])
    assert run.history.eta == [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    assert run.stop


def test_step_decay_rule():
    cb = StepDecay(step=3, factor=0.1)
    run = make_run(eta=2.0)
    play(cb, run, [1.0] * 7)
    np.testing.assert_allclose(run.history.eta, [2, 2, 2, 0.2, 0.2, 0.2, 0.02])


@pytest.mark.parametrize("decay, power", [(0.5, 1.0), (1.0, 0.5)])
def test_inverse_scaling_rule(decay, power):
    cb = InverseScaling(decay=decay, power=power)
    run = make_run(eta=3.0)
    play(cb, run, [1.0] * 5)
    want = [3.0 / (1 + decay * t) ** power for t in range(5)]
    np.testing.assert_allclose(run.history.eta, want)


def test_schedules_drive_real_training_and_early_stopping_restores_the_best():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = nn.Network(
        [2, 8, 2], activation="tanh", cost="cross_entropy", init="scaled", seed=2, preset="nielsen"
    )
    stop = EarlyStopping("val_cost", patience=3)
    history = nn.fit(
        net, X[:150], y[:150], epochs=40, batch_size=10, eta=0.5, seed=3,
        validation_data=(X[150:], y[150:]), callbacks=[StepDecay(step=5, factor=0.5), stop],
    preset="nielsen")  # fmt: skip
    n = len(history)
    assert stop.stopped_epoch == n < 40  # this problem over-fits: it stops early
    assert history.eta == [0.5 * 0.5 ** (t // 5) for t in range(n)]
    assert stop.best == min(history.val_cost)
    # the restored weights give the best epoch's validation cost
    assert net.evaluate(X[150:], y[150:]).cost == pytest.approx(stop.best, rel=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: StepDecay(step=2, factor=0.5),
        lambda: InverseScaling(decay=0.5),
        lambda: HalveOnPlateau("val_cost", patience=1, max_halvings=2),
        lambda: EarlyStopping("val_cost", patience=2),
    ],
    ids=["step", "inverse", "halve", "early"],
)
@pytest.mark.parametrize("split", [2, 5])
def test_a_resumed_run_follows_the_same_schedule(tmp_path, make, split):
    # Uninterrupted, "halve" halves after epochs 2 and 6 and stops after 8; "early" stops
    # after epoch 3, so split=5 resumes a run that had already stopped.
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(60, 2)), rng.integers(0, 2, 60)  # noise: the validation cost soon stalls
    kwargs = dict(epochs=12, batch_size=10, eta=2.0, seed=5, validation_data=(X[:20], y[:20]))

    def network():
        return nn.Network(
            [2, 6, 2], activation="tanh", cost="cross_entropy", init="scaled", seed=6, preset="nielsen"
        )

    whole = nn.fit(network(), X, y, callbacks=[make()], **kwargs)
    ckpt = tmp_path / "run.ckpt"
    net = network()
    nn.fit(net, X, y, **{**kwargs, "epochs": split}, callbacks=[make()], checkpoint=ckpt)
    resumed = nn.fit(net, X, y, callbacks=[make()], resume=ckpt, **kwargs)
    assert resumed.eta == whole.eta
    assert resumed.val_cost == pytest.approx(whole.val_cost)
