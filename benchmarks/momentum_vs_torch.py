"""How nablanet's momentum differs from torch.optim.SGD's when η changes during a run.

nablanet:  v ← μv − η∇C,  w ← w + v        (η inside the velocity)
PyTorch:   b ← μb + ∇C,   w ← w − η b      (η applied to the velocity)

With a constant η the two give the same weights (b = −v/η). When η changes, the
velocity nablanet carries was built with the old η, PyTorch's is rescaled at once.
This trains the same network both ways, in float64, with η alternating between two
values every step, and prints the largest weight difference; then with η fixed.

    python benchmarks/momentum_vs_torch.py
"""

from __future__ import annotations

import numpy as np
import torch

import nablanet as nn


def run(etas: list[float], mu: float = 0.9, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((64, 8)), rng.integers(0, 3, 64)
    net = nn.Network([8, 16, 3], dtype="float64", seed=seed)
    params = [torch.tensor(p.copy(), requires_grad=True) for p in net.params]
    opt_t = torch.optim.SGD(params, lr=etas[0], momentum=mu)
    opt_n = nn.Momentum(etas[0], mu)
    Y = np.eye(3)[y]
    for eta in etas:
        opt_n.eta = eta
        for g in opt_t.param_groups:
            g["lr"] = eta
        nabla_b, nabla_w = nn.backprop(net, X.T, Y.T)
        opt_n.step([net.flat], [np.concatenate([*(g.ravel() for g in nabla_w), *nabla_b])])
        for p, g in zip(params, [*nabla_w, *nabla_b]):
            p.grad = torch.tensor(g.copy())
        opt_t.step()
    return max(float(np.abs(p.detach().numpy() - q).max()) for p, q in zip(params, net.params))


if __name__ == "__main__":
    steps = 200
    alternating = [0.05 if i % 2 == 0 else 0.025 for i in range(steps)]
    print(f"η alternating 0.05/0.025, {steps} steps: max |w_nablanet − w_torch| = {run(alternating):.3g}")
    print(f"η fixed at 0.05,          {steps} steps: max |w_nablanet − w_torch| = {run([0.05] * steps):.3g}")
