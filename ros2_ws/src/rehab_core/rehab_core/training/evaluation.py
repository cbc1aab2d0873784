"""Evaluation outputs shared by the trainers: confusion matrix, summary, per-sample scores.

Everything a reviewer needs to judge a model lands in one folder:
``confusion_matrix.png`` + ``.json``, ``summary.json`` (overall and per-class
accuracy, precision, recall, per-video accuracy, the training history) and
``scores.csv`` / ``scores.jsonl`` with every sample's scores, so numbers can
be recomputed without re-running the model.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class EvalResult:
    """Scores of samples with their truth and grouping (video) ids."""

    labels: list[str]
    y_true: np.ndarray
    probs: np.ndarray
    groups: np.ndarray
    sample_ids: list[str] = field(default_factory=list)

    @property
    def y_pred(self) -> np.ndarray:
        return self.probs.argmax(axis=1) if len(self.probs) else np.zeros(0, np.int64)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(true, predicted) counts."""
    cm = np.zeros((num_classes, num_classes), np.int64)
    for t, p in zip(y_true, y_pred):
        cm[int(t), int(p)] += 1
    return cm


def per_class_metrics(cm: np.ndarray, labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Recall (= per-class accuracy), precision and support per class."""
    out = {}
    for i, name in enumerate(labels):
        support = int(cm[i].sum())
        predicted = int(cm[:, i].sum())
        out[name] = {
            "support": support,
            "recall": float(cm[i, i] / support) if support else None,
            "precision": float(cm[i, i] / predicted) if predicted else None,
        }
    return out


def video_votes(result: EvalResult) -> dict[str, dict]:
    """Per video: true label, majority-vote and mean-score predictions."""
    out = {}
    for g in sorted(set(result.groups.tolist())):
        mask = result.groups == g
        votes = Counter(result.y_pred[mask].tolist())
        mean_pred = int(result.probs[mask].mean(axis=0).argmax())
        truth = int(Counter(result.y_true[mask].tolist()).most_common(1)[0][0])
        out[str(g)] = {
            "true": result.labels[truth],
            "pred_majority": result.labels[votes.most_common(1)[0][0]],
            "pred_mean_score": result.labels[mean_pred],
            "windows": int(mask.sum()),
            "window_accuracy": float((result.y_pred[mask] == result.y_true[mask]).mean()),
        }
    return out


def summarize(result: EvalResult, history: list[dict] | None = None,
              extra: dict | None = None) -> dict:
    """The summary.json content."""
    n = len(result.y_true)
    cm = confusion_matrix(result.y_true, result.y_pred, len(result.labels))
    videos = video_votes(result)
    summary = {
        "samples": n,
        "accuracy": float((result.y_pred == result.y_true).mean()) if n else None,
        "balanced_accuracy": None,
        "per_class": per_class_metrics(cm, result.labels),
        "videos": videos,
        "video_accuracy_majority": (
            float(np.mean([v["true"] == v["pred_majority"] for v in videos.values()]))
            if videos else None),
        "labels": list(result.labels),
    }
    recalls = [m["recall"] for m in summary["per_class"].values() if m["recall"] is not None]
    summary["balanced_accuracy"] = float(np.mean(recalls)) if recalls else None
    if history is not None:
        summary["history"] = history
    if extra:
        summary.update(extra)
    return summary


def plot_confusion(cm: np.ndarray, labels: Sequence[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.1 * len(labels) + 1.5))
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros_like(cm, dtype=float), where=rows > 0)
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if frac[i, j] > 0.5 else "black", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_evaluation(out_dir: str | Path, result: EvalResult, history: list[dict] | None = None,
                     extra: dict | None = None, title: str = "confusion matrix") -> dict:
    """Write all evaluation files into ``out_dir``; returns the summary dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cm = confusion_matrix(result.y_true, result.y_pred, len(result.labels))
    (out / "confusion_matrix.json").write_text(json.dumps(
        {"labels": list(result.labels), "rows_true_cols_pred": cm.tolist()}, indent=2))
    plot_confusion(cm, result.labels, out / "confusion_matrix.png", title)
    summary = summarize(result, history, extra)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    ids = result.sample_ids or [str(i) for i in range(len(result.y_true))]
    with (out / "scores.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sample", "video", "true", "pred", *result.labels])
        for i in range(len(result.y_true)):
            writer.writerow([ids[i], result.groups[i], result.labels[result.y_true[i]],
                             result.labels[result.y_pred[i]],
                             *(f"{p:.5f}" for p in result.probs[i])])
    with (out / "scores.jsonl").open("w") as f:
        for i in range(len(result.y_true)):
            f.write(json.dumps({
                "sample": ids[i], "video": str(result.groups[i]),
                "true": result.labels[result.y_true[i]],
                "pred": result.labels[result.y_pred[i]],
                "scores": {k: round(float(p), 5) for k, p in zip(result.labels, result.probs[i])},
            }) + "\n")
    return summary
