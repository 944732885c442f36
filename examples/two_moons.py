"""Train a small network on scikit-learn's two interleaved half-moons, in a few seconds.

Run:  python examples/two_moons.py
"""

from sklearn.datasets import make_moons

import nablanet as nn

X, y = make_moons(3000, noise=0.1, random_state=0)
X_train, y_train, X_test, y_test = X[:2000], y[:2000], X[2000:], y[2000:]

net = nn.Network([2, 32, 32, 2], activation="tanh", cost="cross_entropy", init="glorot", seed=1)
history = net.fit(
    X_train, y_train, epochs=40, batch_size=20, eta=0.1, seed=2, validation_data=(X_test, y_test)
)
for epoch in range(0, len(history), 10):
    cost, accuracy = history.cost[epoch], history.val_accuracy[epoch]
    print(f"epoch {epoch + 1:2d}  cost {cost:.4f}  test accuracy {accuracy:.3f}")
print(f"final test accuracy: {net.evaluate(X_test, y_test).accuracy:.3f}")
