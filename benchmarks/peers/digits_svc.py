#!/usr/bin/env python3
"""scikit-learn's SVC on the digits split edgenas searches: the data set's classic baseline.

Reads DIR/train.csv and DIR/test.csv written by `edgenas data convert --to csv` (the same
stratified, seeded split `edgenas search --data digits.csv.gz` uses), tunes C and gamma by
5-fold cross-validation on the training split only (the peer's best configuration), and prints
the test accuracy. Debian's python3-sklearn (scripts/install-deps.sh --digits).

    /usr/bin/python3 benchmarks/peers/digits_svc.py DIR
"""
import json
import sys
import time

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC


def load(path):
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    return table[:, :-1], table[:, -1].astype(int)


def main():
    folder = sys.argv[1]
    x_train, y_train = load(folder + "/train.csv")
    x_test, y_test = load(folder + "/test.csv")
    start = time.perf_counter()
    grid = GridSearchCV(SVC(kernel="rbf"), {"C": [1, 3, 10, 30, 100], "gamma": ["scale", 0.0003, 0.001, 0.003]}, cv=5)
    grid.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = float((grid.predict(x_test) == y_test).mean())
    print(json.dumps({"peer": "sklearn SVC (rbf, C and gamma by 5-fold CV on the training split)",
                      "best": {k: str(v) for k, v in grid.best_params_.items()},
                      "train_images": int(len(y_train)), "test_images": int(len(y_test)),
                      "test_accuracy": accuracy, "seconds": seconds,
                      "support_vectors": int(grid.best_estimator_.support_vectors_.shape[0]),
                      "parameters": int(grid.best_estimator_.support_vectors_.size + grid.best_estimator_.dual_coef_.size)}))


if __name__ == "__main__":
    main()
