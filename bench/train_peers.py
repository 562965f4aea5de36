#!/usr/bin/python3
"""Trains scikit-learn's RandomForestClassifier and XGBoost on the samples that
`clickmill train --export-features` wrote, with the same split, and prints their metrics.

usage: train_peers.py FEATURES.csv [--trees 100] [--max-depth 12] [--max-features 4]
                      [--jobs 2] [--peers sklearn,xgboost] [--seed 46] [--json OUT.json]
"""
import argparse
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.metrics import (accuracy_score, average_precision_score, balanced_accuracy_score,
                             f1_score, log_loss, roc_auc_score)


def metrics(labels, scores):
    predicted = scores >= 0.5
    return {
        "roc_auc": roc_auc_score(labels, scores),
        "pr_auc": average_precision_score(labels, scores),
        "accuracy": accuracy_score(labels, predicted),
        "balanced_accuracy": balanced_accuracy_score(labels, predicted),
        "f1": f1_score(labels, predicted),
        "log_loss": log_loss(labels, np.clip(scores, 1e-15, 1 - 1e-15)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features")
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--max-depth", type=int, default=12)
    parser.add_argument("--max-features", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--peers", default="sklearn,xgboost")
    parser.add_argument("--seed", type=int, default=46)
    parser.add_argument("--json")
    args = parser.parse_args()

    data = pd.read_csv(args.features)
    skip = {"user_session", "product_id", "event_time", "label", "set"}
    columns = [c for c in data.columns if c not in skip]
    train, test = data[data.set == "train"], data[data.set == "test"]
    x_train, y_train = train[columns].to_numpy(), train.label.to_numpy()
    x_test, y_test = test[columns].to_numpy(), test.label.to_numpy()
    results = {"train_samples": len(train), "test_samples": len(test), "features": len(columns)}

    for peer in args.peers.split(","):
        if peer == "sklearn":
            from sklearn.ensemble import RandomForestClassifier
            import sklearn
            model = RandomForestClassifier(n_estimators=args.trees, max_depth=args.max_depth,
                                           max_features=args.max_features, n_jobs=args.jobs,
                                           random_state=args.seed)
            version = sklearn.__version__
        elif peer == "xgboost":
            import xgboost
            model = xgboost.XGBClassifier(n_estimators=args.trees, max_depth=6,
                                          tree_method="hist", n_jobs=args.jobs, random_state=args.seed)
            version = xgboost.__version__
        else:
            sys.exit(f"train_peers.py: unknown peer {peer!r}")
        started = time.perf_counter()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - started
        scores = model.predict_proba(x_test)[:, 1]
        results[peer] = dict(metrics(y_test, scores), train_seconds=seconds, version=version)
        print(f"{peer} {version}: fit {seconds:.2f} s, " + ", ".join(
            f"{k} {v:.4f}" for k, v in results[peer].items() if isinstance(v, float)
            and k != "train_seconds"), flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
