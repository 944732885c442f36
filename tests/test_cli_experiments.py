"""``nablanet experiment``, ``gradcheck`` and ``trace`` through the command line's main()."""

import json

import pytest

from nablanet.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_trace_prints_hand_checkable_numbers(capsys):
    code, out, _ = run(capsys, "trace", "--sizes", "2,2,1", "--x", "1,0.5", "--y", "1")
    assert code == 0
    assert "x = [1.0000, 0.5000]" in out
    for label in ("(25)", "(23)", "BP1", "BP2", "BP3", "BP4"):
        assert label in out
    # the weights are multiples of 0.1, so z^1 is a short decimal a person can add up
    z1 = out.split("(25)  z^1")[1].splitlines()[1]
    assert all(len(v.strip().strip("[]").rstrip("0")) <= 5 for v in z1.split(","))


def test_trace_explain_substitutes_numbers(capsys):
    code, out, _ = run(capsys, "trace", "--explain")
    assert code == 0
    assert "z^1_1 = " in out and "δ^1_1 = ((" in out and "∂C/∂w^1_11 = " in out


def test_trace_json(capsys):
    code, out, _ = run(capsys, "trace", "--json", "--sizes", "2,3,2", "--cost", "cross_entropy")
    d = json.loads(out)
    assert code == 0 and d["sizes"] == [2, 3, 2] and d["activations"] == ["sigmoid", "softmax"]
    assert [s["equation"] for s in d["steps"]][:4] == ["(25)", "(23)", "(25)", "(23)"]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["trace", "--x", "1,2,3"], "--x has 3 values"),
        (["trace", "--y", "5"], "not a class label"),
        (["trace", "--sizes", "2,40,2"], "tiny networks"),
    ],
)
def test_trace_bad_input(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err and "Traceback" not in err


def test_gradcheck_passes_and_prints_a_table(capsys):
    code, out, _ = run(capsys, "gradcheck", "--sizes", "6,5,3", "--n-samples", "4")
    assert code == 0
    for name in ("W^1", "b^1", "W^2", "b^2", "PASSED", "sampled"):
        assert name in out


def test_gradcheck_json_and_forward_method(capsys):
    code, out, _ = run(
        capsys, "gradcheck", "--sizes", "4,3,2", "--method", "forward", "--dtype", "float32", "--json"
    )
    d = json.loads(out)
    assert code == 0 and d["passed"] and d["method"] == "forward" and d["dtype"] == "float32"
    assert d["n_cost_evals"] == 4 * 3 + 3 + 3 * 2 + 2 + 1


def test_gradcheck_usage_errors(capsys):
    with pytest.raises(SystemExit) as e:
        main(["gradcheck", "--method", "sideways"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["gradcheck", "--sizes", "4,x"])
    assert e.value.code == 2


def test_experiment_paths_and_costs(capsys, tmp_path):
    code, out, _ = run(capsys, "experiment", "paths", "--weight", "2,1,3")
    assert code == 0 and "∂C/∂w^2_13" in out and "sum over paths" in out
    plot = tmp_path / "costs.png"
    code, out, _ = run(capsys, "experiment", "costs", "--epochs", "30", "--plot", str(plot))
    assert code == 0 and "cross-entropy" in out and plot.read_bytes()[:4] == b"\x89PNG"


def test_experiment_json_names_the_dataset(capsys):
    argv = ["experiment", "vanishing", "--dataset", "digits", "--n-train", "100", "--n-probe", "50"]
    code, out, _ = run(capsys, *argv, "--epochs", "0", "--json")
    d = json.loads(out)
    assert code == 0 and d["dataset"] == "digits" and d["n_probe"] == 50
    assert len(d["sigmoid"]) == 4 and len(d["sigmoid"][0]["norms"]) == 1


def test_experiment_checks_the_plot_path_before_running(capsys, tmp_path):
    code, _, err = run(capsys, "experiment", "costs", "--plot", str(tmp_path / "missing" / "x.png"))
    assert code == 1 and "does not exist" in err
    code, _, err = run(capsys, "experiment", "costs", "--plot", str(tmp_path / "x.jpg"))
    assert code == 1 and ".png" in err


def test_experiment_needs_a_name(capsys):
    with pytest.raises(SystemExit) as e:
        main(["experiment"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["experiment", "nope"])
    assert e.value.code == 2


def test_experiments_take_hidden_sizes_as_layers(capsys):
    from nablanet.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["experiment", "speed", "--layers", "8"]).hidden == [8]
    assert parse(["experiment", "saturation", "--hidden", "8,4"]).hidden == [8, 4]  # the older name
    with pytest.raises(SystemExit):
        parse(["experiment", "speed", "--layers", "none"])  # an experiment needs a hidden layer
    code, out, _ = run(capsys, "experiment", "paths", "--sizes", "2,2,1", "--weight", "1,1,2", "--json")
    assert code == 0 and json.loads(out)["sizes"] == [2, 2, 1]
