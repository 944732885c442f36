# %% [markdown]
# # nablanet inside scikit-learn
# `NablaClassifier` is a scikit-learn estimator: it goes into a Pipeline, a grid
# search or cross_val_score like MLPClassifier, and trains with nablanet's backprop.

# %%
import tempfile
import warnings
from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nablanet
from nablanet.estimators import NablaClassifier

warnings.filterwarnings("ignore", message=".*max_iter")  # 30 epochs are enough here
X, y = load_digits(return_X_y=True)
names = [f"digit {d}" for d in range(10)]
labels = [names[d] for d in y]  # any label type works: here, strings
X_train, X_test, y_train, y_test = train_test_split(X, labels, test_size=0.25, random_state=0)

# %% A pipeline, tuned over the learning rate η and the hidden layer sizes.
pipe = make_pipeline(StandardScaler(), NablaClassifier(max_iter=30, random_state=0))
grid = GridSearchCV(
    pipe,
    {"nablaclassifier__learning_rate": [1e-3, 1e-2], "nablaclassifier__hidden_layer_sizes": [(16,), (64,)]},
    cv=3,
)
grid.fit(X_train, y_train)
print("best:", grid.best_params_, f"test accuracy {grid.score(X_test, y_test):.3f}")

# %% What it learned: the nablanet Network, W^l of shape (n_l, n_{l-1}).
clf = grid.best_estimator_[-1]
print(clf.network_)
print("coefs_[0] is W^1 transposed:", clf.coefs_[0].shape, clf.network_.W[1].shape)
print("the network names its classes:", clf.network_.classes[:3], "...")
print(f"{clf.n_iter_} epochs, training cost {clf.loss_curve_[0]:.3f} -> {clf.loss_curve_[-1]:.3f}")
print("P(class) for one test image:", grid.predict_proba(X_test[:1]).round(3))

# %% Save safely: a nablanet model file holds arrays and JSON, never pickled code.
scaler = grid.best_estimator_[0]
with tempfile.TemporaryDirectory() as tmp:
    path = clf.save(Path(tmp) / "digits.npz")
    again = NablaClassifier.load(path)  # the same classes_, weights and loss curve
    same = (again.predict(scaler.transform(X_test)) == grid.predict(X_test)).all()
    print("reloaded classifier predicts the same:", same)
    net = nablanet.load(path)  # or just the Network: it predicts indices 0..9, and keeps the names
    print(net, "->", [net.classes[i] for i in net.predict(scaler.transform(X_test[:3]))])
