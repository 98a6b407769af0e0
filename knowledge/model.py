"""The fitted scorer: three small logistic models and one threshold, read from one versioned file.

`knowledge/model/answer-model.json` holds what was learned on the dev split
(scripts/fit_answer_model.py, `make fit`): which paragraph answers (rank), how
likely the best one really answers the question (answer), which sentence of
it to quote (sentence), and below which answer probability the bot says the
article does not cover the question. The file names the dev articles and the
hashes of their question sets; the feature rows it was fitted on sit beside
it in answer-model.rows.csv.gz. Applying it is a dot product: no library at run time.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .features import ANSWER_FEATURES, RANK_FEATURES, SENTENCE_FEATURES

MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_PATH = MODEL_DIR / "answer-model.json"
FORMAT = 1


class ModelMismatch(RuntimeError):
    """The model file was fitted on other features than this code computes; it must be fitted again."""


@dataclass(frozen=True)
class Linear:
    """A standardised linear model: logit = bias + sum(weight * (x - mean) / scale)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def logit(self, row: dict[str, float]) -> float:
        """The model's score of one feature row."""
        return self.bias + sum(
            w * (row[f] - m) / s for f, m, s, w in zip(self.features, self.mean, self.scale, self.weights, strict=True)
        )

    def probability(self, row: dict[str, float]) -> float:
        """The logistic of the score."""
        z = self.logit(row)
        return 1 / (1 + math.exp(-z)) if z > -60 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: tuple[str, ...], name: str) -> Linear:
        """Read one model, refusing one fitted on other features."""
        features = tuple(data["features"])
        if features != expected:
            raise ModelMismatch(
                f"the {name} model in {MODEL_PATH} was fitted on features {list(features)}, but the code computes "
                f"{list(expected)}; fit it again with `make fit`"
            )
        return cls(features, tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]), float(data["bias"]))


@dataclass(frozen=True)
class AnswerModel:
    """Rank, answerability and sentence models, the answer threshold, and what they were fitted on."""

    rank: Linear
    answer: Linear
    sentence: Linear
    threshold: float
    trained_on: tuple[dict[str, Any], ...] = ()
    version: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"format": FORMAT, "version": self.version, "threshold": self.threshold,
                "rank": self.rank.to_dict(), "answer": self.answer.to_dict(), "sentence": self.sentence.to_dict(),
                "trained_on": list(self.trained_on)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerModel:
        """Read a model file's contents."""
        if data.get("format") != FORMAT:
            raise ModelMismatch(f"{MODEL_PATH} has format {data.get('format')!r}, expected {FORMAT}; `make fit`")
        return cls(
            rank=Linear.from_dict(data["rank"], RANK_FEATURES, "rank"),
            answer=Linear.from_dict(data["answer"], ANSWER_FEATURES, "answer"),
            sentence=Linear.from_dict(data["sentence"], SENTENCE_FEATURES, "sentence"),
            threshold=float(data["threshold"]),
            trained_on=tuple(data.get("trained_on", ())),
            version=str(data.get("version", "")),
        )

    def save(self, path: Path = MODEL_PATH) -> None:
        """Write the model file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def prior() -> AnswerModel:
    """Before any fitting: rank by similarity and word coverage, answer above a middling score.

    Only the first fitting run uses it, to thread follow-up contexts while it collects rows.
    """

    def linear(features: tuple[str, ...], weights: dict[str, float], bias: float = 0.0) -> Linear:
        n = len(features)
        return Linear(features, (0.0,) * n, (1.0,) * n, tuple(weights.get(f, 0.0) for f in features), bias)

    return AnswerModel(
        rank=linear(RANK_FEATURES, {"best": 10.0, "coverage": 2.0, "bm25": 1.0}),
        answer=linear(ANSWER_FEATURES, {"coverage": 4.0, "unknown": -4.0, "top_z": 1.0}, -1.0),
        sentence=linear(SENTENCE_FEATURES, {"dense": 10.0, "coverage": 2.0}),
        threshold=0.5,
        version="prior",
    )


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> AnswerModel:
    """The fitted model, read once per process."""
    if not path.exists():
        raise ModelMismatch(f"no answer model at {path}; fit one with `make fit`")
    return AnswerModel.from_dict(json.loads(path.read_text(encoding="utf-8")))
