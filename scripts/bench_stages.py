"""Inside the action: where the time of one article answer goes, stage by stage, in-process.

Runs the real `ActionAnswerQuestion` with rasa_sdk's Tracker and
CollectingDispatcher on the eval's questions (each conversation's turns in
order, with the slots the previous turn set), and reads the stage timers of
knowledge/timing.py: the query embedding, the FAISS search, the ranking and
answer extraction (what `Retriever.answer` does besides those two), building
the response (buttons, answer metadata, slot events), and the JSON body the
action server sends back.

With `nlu_vector`, each turn's tracker carries the vector Rasa's NLU puts in
the parse data (computed before the clock starts, as NLU computes it before
Rasa calls the action), so the embedding stage runs only for the turns whose
search text differs from the message (rewritten follow-ups).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from actions.actions import ActionAnswerQuestion  # noqa: E402
from knowledge.embed import QUERY_VECTOR, QueryVector, vector_key  # noqa: E402
from knowledge.question import embedding_text  # noqa: E402
from knowledge.search import Retriever  # noqa: E402
from knowledge.timing import Recorder  # noqa: E402

QUESTIONS = ROOT / "tests" / "eval" / "sets" / "antara-kominfo-wbk-2020.yml"  # the bot's own article
STAGES = ("embed", "faiss", "extract", "response", "json", "total")
STAGE_LABELS = {
    "embed": "query embedding (e5)",
    "faiss": "FAISS search",
    "extract": "ranking + answer extraction",
    "response": "response building",
    "json": "JSON body",
    "total": "whole action",
}


@dataclass
class StageResult:
    """Milliseconds per stage for every question."""

    ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    embedded: int = 0  # turns whose query the action embedded itself

    def merge(self, other: StageResult) -> None:
        """Pool another block of the same condition."""
        for name, values in other.ms.items():
            self.ms[name] += values
        self.embedded += other.embedded

    def pct(self, name: str, q: float) -> float:
        """A stage's percentile in ms."""
        return float(np.percentile(self.ms[name], q))


def conversations() -> list[list[str]]:
    """The eval's conversations about the article (chit-chat goes to Rasa's responses, not to the action)."""
    items = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["items"]
    return [[t["ask"] for t in i["turns"]] for i in items if i["category"] != "chitchat"]


def _vary(text: str) -> str:
    """The second pass asks the same questions as a hurried reader types them."""
    return text.lower().rstrip("?!. ")


def _tracker(text: str, slots: dict[str, Any], vector: dict[str, str] | None = None) -> Tracker:
    latest: dict[str, Any] = {"text": text, "intent": {"name": "ask_article", "confidence": 0.9}, "entities": []}
    if vector is not None:
        latest[QUERY_VECTOR] = vector
    events: list[dict[str, Any]] = [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker("bench", dict(slots), latest, events, False, None, {}, "action_listen")


def nlu_vector(retriever: Retriever, text: str) -> dict[str, str]:
    """The `query_vector` Rasa's NLU featurizer would put in the parse data of this message.

    Like the featurizer, it embeds the message's embedding text (chat spellings expanded), which is also
    what retrieval compares it with; the message as typed would never match, and the action would embed.
    """
    settings = retriever.settings
    known = embedding_text(text)
    vector = retriever.embedder.embed_queries([known])[0]
    return QueryVector(known, vector_key(settings.embedding_model, settings.query_prefix), vector).to_dict()


def turns() -> int:
    """How many turns `measure` times: a progress bar's total."""
    return sum(len(c) for c in conversations())


def measure(
    retriever: Retriever, vary: bool = False, with_vector: bool = False, tick: Callable[[], None] | None = None,
) -> StageResult:
    """Time every stage for each turn of the eval's conversations, as typed there or `vary`-ed; `tick` per turn."""
    action = ActionAnswerQuestion(retriever)
    result = StageResult()
    loop = asyncio.new_event_loop()
    try:
        for turns in conversations():
            slots: dict[str, Any] = {}
            for text in turns:
                text = _vary(text) if vary else text
                tracker = _tracker(text, slots, nlu_vector(retriever, text) if with_vector else None)
                dispatcher = CollectingDispatcher()
                with Recorder() as rec:
                    started = time.perf_counter()
                    events = loop.run_until_complete(action.run(dispatcher, tracker, {}))
                    body_started = time.perf_counter()
                    json.dumps({"events": events, "responses": dispatcher.messages})
                    ended = time.perf_counter()
                seconds = rec.seconds
                result.embedded += "embed" in seconds
                for name in ("embed", "faiss", "response"):
                    result.ms[name].append(seconds[name] * 1000)
                result.ms["extract"].append((seconds["answer"] - seconds["embed"] - seconds["faiss"]) * 1000)
                result.ms["json"].append((ended - body_started) * 1000)
                result.ms["total"].append((ended - started) * 1000)
                slots.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
                if tick is not None:
                    tick()
    finally:
        loop.close()
    return result


def embed_rate(retriever: Retriever) -> tuple[int, float]:
    """Query tokens (prefix and special tokens included) and seconds to embed them one question at a time."""
    tokens, seconds = 0, 0.0
    for turns in conversations():
        for text in turns:
            started = time.perf_counter()
            retriever.embedder.embed_queries([text])
            seconds += time.perf_counter() - started
            tokens += retriever.embedder.count_tokens(retriever.embedder.query_prefix + text)
    return tokens, seconds
