"""Write docs/equations.md: each equation of the seeds, the line of code that computes it, its test.

The table below is the source of truth. Each implementation is named by symbol
(``module:qualname``) and a *marker*, a piece of text on the line that computes
the equation (usually its ``# BP1``-style tag). The line number in each link is
looked up from those two every time this script runs, so when someone edits the
core the anchors are regenerated rather than fixed by hand:

    python docs/make_equations.py           # rewrite docs/equations.md
    python docs/make_equations.py --check   # exit 1 if it is out of date

tests/test_equations_doc.py fails when a symbol or marker no longer exists or a
link points outside its symbol, and warns when an anchor has merely drifted.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "equations.md"


@dataclass(frozen=True)
class Equation:
    label: str  # "(25)", "BP1", "SGD (20), (21)"
    title: str
    formula: str  # in the seeds' notation, plain text
    code: list[tuple[str, str]]  # (module:qualname, marker on the implementing line)
    tests: list[str]  # tests/test_x.py::test_name
    note: str = ""


EQUATIONS = [
    Equation(
        "(23)",
        "Activation of a neuron",
        "a^l_j = σ(Σ_k w^l_jk a^{l−1}_k + b^l_j),  in the code  a^l = σ(z^l)",
        [("nablanet.network:forward", "# (23)"), ("nablanet.activations:Sigmoid.fn", "def fn")],
        [
            "tests/test_trace.py::test_trace_matches_the_hand_computation",
            "tests/test_activations.py::test_sigmoid_and_softmax_are_finite_without_warnings_at_extremes",
        ],
    ),
    Equation(
        "(25)",
        "Feedforward, vectorised",
        "a^l = σ(w^l a^{l−1} + b^l);  the code keeps the weighted input  z^l = W^l a^{l−1} + b^l",
        [("nablanet.network:forward", "# (25)")],
        ["tests/test_trace.py::test_trace_matches_the_hand_computation"],
        "A mini-batch is a matrix whose columns are examples, so one matrix product does every example.",
    ),
    Equation(
        "(26)",
        "Quadratic cost",
        "C = 1/(2n) Σ_x ‖y(x) − a^L(x)‖²",
        [
            ("nablanet.costs:Quadratic.fn", "float(vdot(d, d))"),
            ("nablanet.costs:Quadratic.grad_a", "a - y"),
        ],
        [
            "tests/test_costs.py::test_quadratic_has_the_seeds_half_and_seed_003_variant",
            "tests/test_costs.py::test_grad_a_matches_finite_differences_of_fn",
        ],
        "`Quadratic(half=False)` is seed 003's C = (a − y)², with ∇_a C = 2(a − y).",
    ),
    Equation(
        "(29)",
        "The error of a neuron",
        "δ^l_j ≡ ∂C/∂z^l_j",
        [
            ("nablanet.activations:Activation.backward", "turn ∂C/∂a into ∂C/∂z"),
            ("nablanet.teaching.trace:errors", "# BP1"),
        ],
        [
            "tests/test_trace.py::test_errors_average_to_nabla_b",
            "tests/test_gradcheck.py::test_backprop_passes",
        ],
        "`backward(z, a, g)` turns ∂C/∂a^l into ∂C/∂z^l = δ^l; `trace.errors` keeps every δ^l of a batch.",
    ),
    Equation(
        "BP1",
        "Error in the output layer",
        "δ^L = ∇_a C ⊙ σ'(z^L)",
        [
            ("nablanet.backprop:backward", "# BP1"),
            ("nablanet.costs:Cost.delta", "return act.backward"),
            ("nablanet.costs:BinaryCrossEntropy.delta", "return act.difference(z, a, y)"),
            ("nablanet.costs:CategoricalCrossEntropy.delta", "return a - y"),
        ],
        [
            "tests/test_backprop.py::test_backprop_matches_central_differences",
            "tests/test_backprop.py::test_canonical_shortcut_equals_generic_bp1_product",
            "tests/test_experiments.py::test_cross_entropy_beats_quadratic_on_a_saturated_neuron",
        ],
        "For sigmoid + cross-entropy and softmax + cross-entropy σ'(z^L) cancels and δ^L = a^L − y; "
        "the `costs` experiment shows why that matters.",
    ),
    Equation(
        "BP2",
        "Error in terms of the next layer's error",
        "δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l)",
        [
            ("nablanet.backprop:backward", "# BP2"),
            ("nablanet.backprop:backprop_single", "# 4. Backpropagate"),
        ],
        [
            "tests/test_backprop.py::test_backprop_matches_central_differences",
            "tests/test_trace.py::test_trace_matches_the_hand_computation",
            "tests/test_experiments.py::test_early_sigmoid_layers_learn_more_slowly_at_init",
        ],
    ),
    Equation(
        "BP3",
        "Rate of change of the cost with respect to a bias",
        "∂C/∂b^l_j = δ^l_j   (for a batch: the mean of δ^l over its columns)",
        [("nablanet.backprop:backward", "# BP3")],
        [
            "tests/test_backprop.py::test_batched_backprop_equals_mean_of_per_example_reference",
            "tests/test_trace.py::test_trace_matches_the_hand_computation",
        ],
    ),
    Equation(
        "BP4",
        "Rate of change of the cost with respect to a weight",
        "∂C/∂w^l_jk = a^{l−1}_k δ^l_j,  i.e.  ∂C/∂W^l = δ^l (a^{l−1})ᵀ,  or  ∂C/∂w = a_in δ_out",
        [
            ("nablanet.backprop:backward", "# BP4"),
            ("nablanet.teaching.experiments.saturation:_binned", "np.abs(a_in) * size"),
        ],
        [
            "tests/test_backprop.py::test_backprop_matches_central_differences",
            "tests/test_experiments.py::test_zero_input_means_zero_gradient_and_bigger_inputs_learn_faster",
            "tests/test_experiments.py::test_sum_over_paths_equals_backprop",
        ],
        "The `paths` experiment computes the same number as a sum over every path to the cost.",
    ),
    Equation(
        "(46)",
        "The numerical gradient",
        "∂C/∂w_j ≈ (C(w + ε e_j) − C(w)) / ε",
        [("nablanet.teaching.gradcheck:_difference", "# (46)"), ("nablanet.teaching.gradcheck:gradcheck", "def gradcheck")],
        [
            "tests/test_gradcheck.py::test_numerical_gradient_matches_eq_46_by_hand",
            "tests/test_gradcheck.py::test_cost_evaluations_are_counted",
            "tests/test_experiments.py::test_speed_ratios",
        ],
        "The central difference (C(w + εe_j) − C(w − εe_j)) / 2ε is the default for checking; (46) is used "
        "by the `speed` experiment, which counts its one cost evaluation per parameter.",
    ),
    Equation(
        "SGD (20), (21)",
        "Gradient descent on a mini-batch",
        "w → w − (η/m) Σ_x ∂C_x/∂w,   b → b − (η/m) Σ_x ∂C_x/∂b",
        [
            ("nablanet.optimizers:SGD.updates", "-self.eta, grads"),
            ("nablanet.optimizers:Optimizer.step", "axpy(kappa, u_, p, scratch)"),
            ("nablanet.train:train_step", "optimizer.step"),
        ],
        [
            "tests/test_optimizers.py::test_sgd_rule",
            "tests/test_train.py::test_sgd_update_is_eta_over_m_times_the_summed_gradient",
            "tests/test_train.py::test_one_sgd_step_on_a_2_2_1_network_matches_hand_computation",
        ],
        "Numbered (20) and (21) in chapter 1 of Nielsen's book; seed 002 states the same rule as step 3 of "
        "its mini-batch algorithm. The 1/m is in `backward`, which returns the mean gradient. Each optimizer "
        "states its rule as `updates` (the change Δw); `Optimizer.step` checks that every Δw is finite "
        "and then adds it.",
    ),
    Equation(
        "Momentum",
        "Gradient descent with a velocity",
        "v → μv − η ∇C,   w → w + v",
        [("nablanet.optimizers:Momentum.updates", "self.mu * v - self.eta * g")],
        ["tests/test_optimizers.py::test_momentum_rule_over_two_steps"],
    ),
    Equation(
        "Adam",
        "Adaptive moments (Kingma & Ba, 2015)",
        "m → β₁m + (1 − β₁)∇C,  s → β₂s + (1 − β₂)∇C²,  w → w − η m̂/(√ŝ + ε)",
        [("nablanet.optimizers:Adam.updates", "b1 * m_ + (1 - b1) * g")],
        ["tests/test_optimizers.py::test_adam_matches_the_textbook_form"],
    ),
    Equation(
        "L2",
        "Weight decay",
        "C = C₀ + (λ/2n) Σ_w w²,  so  ∂C/∂w = ∂C₀/∂w + (λ/n) w",
        [("nablanet.train:train_step", "axpy(lmbda_n, net.W[l]")],
        ["tests/test_train.py::test_lmbda_adds_weight_decay"],
    ),
]


def resolve(symbol: str):
    """The object named ``module:qualname``."""
    module_name, qualname = symbol.split(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return inspect.unwrap(obj)


def locate(symbol: str, marker: str) -> tuple[Path, int, str]:
    """(source file, 1-based line number, line text) of the first line of ``symbol`` holding ``marker``."""
    obj = resolve(symbol)
    path = Path(inspect.getsourcefile(obj)).resolve()
    lines, start = inspect.getsourcelines(obj)
    for i, line in enumerate(lines):
        if marker in line:
            return path, start + i, line.strip()
    raise LookupError(f"{symbol}: no line contains {marker!r}")


def render() -> str:
    out = [
        "# The equations in the code",
        "",
        "Every equation of the seeds that nablanet uses, the line that computes it, and the tests that",
        "check it. Generated by `python docs/make_equations.py` from symbol names, so the line anchors",
        "follow the code; `tests/test_equations_doc.py` fails if a symbol disappears.",
        "",
        "Notation: layer 0 is the input and layer L the output; W^l has shape (n_l, n_{l−1}) and",
        "`net.W[l-1]` holds it; inside the core a mini-batch is a matrix whose columns are examples.",
        "",
    ]
    for eq in EQUATIONS:
        out += [f"## {eq.label}: {eq.title}", "", f"    {eq.formula}", ""]
        if eq.note:
            out += [eq.note, ""]
        for symbol, marker in eq.code:
            path, line, text = locate(symbol, marker)
            rel = os.path.relpath(path, DOC.parent).replace(os.sep, "/")
            out.append(f"- code: [`{symbol}`]({rel}#L{line}), line {line}: `{text}`")
        for test in eq.tests:
            file, name = test.split("::")
            out.append(f"- test: [`{test}`](../{file})")
        out.append("")
    return "\n".join(out)


def write_atomic(path: Path, text: str) -> None:
    from nablanet.io.atomic import atomic_write

    atomic_write(path, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/equations.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python docs/make_equations.py", file=sys.stderr)
            return 1
        return 0
    write_atomic(DOC, text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
