"""Every setting of the project, read from the environment once, with defaults.

Paths are built from this file's location, never from the current directory,
so the action server, the tests and the CLI agree wherever they are started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMBEDDER_DIR = ROOT / "var" / "embedder" / "multilingual-e5-small"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {value!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Where the articles, the index and the model live, and how strict answering is."""

    articles_dir: Path
    index_dir: Path
    embedding_model: str
    query_prefix: str
    passage_prefix: str
    min_dense_score: float
    min_dense_with_words: float
    min_known_share: float
    suggestions: int

    @classmethod
    def from_env(cls) -> Settings:
        """Read the environment; unset variables fall back to the defaults."""
        model = os.environ.get("EMBEDDING_MODEL") or str(DEFAULT_EMBEDDER_DIR)
        # e5 models were trained with these prefixes; other models were not.
        is_e5 = "e5" in Path(model).name.lower()
        return cls(
            articles_dir=_env_path("KNOWLEDGE_DIR", ROOT / "knowledge" / "articles"),
            index_dir=_env_path("INDEX_DIR", ROOT / "var" / "index"),
            embedding_model=model,
            query_prefix=os.environ.get("EMBEDDING_QUERY_PREFIX", "query: " if is_e5 else ""),
            passage_prefix=os.environ.get("EMBEDDING_PASSAGE_PREFIX", "passage: " if is_e5 else ""),
            # Calibrated on tests/eval/questions.yml (README, "How good are the answers").
            min_dense_score=_env_float("ANSWER_MIN_DENSE", 0.90),
            min_dense_with_words=_env_float("ANSWER_MIN_DENSE_WITH_WORDS", 0.74),
            min_known_share=_env_float("ANSWER_MIN_KNOWN", 0.2),
            suggestions=int(_env_float("ANSWER_SUGGESTIONS", 3)),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()
