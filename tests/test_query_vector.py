"""The question is embedded once per turn: Rasa's NLU vector reaches retrieval, and is never stored.

Each hop on the real model and article: the featurizer puts the vector in the
parse data, the action hands it to retrieval, retrieval uses it only for the
same text and model, and the tracker store drops it before saving.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from actions.actions import ActionAnswerQuestion
from knowledge.embed import QUERY_VECTOR, QueryVector, vector_key
from knowledge.question import embedding_text
from knowledge.search import Retriever
from knowledge.timing import Recorder
from nlu_components.featurizer import SentenceEmbeddingFeaturizer
from stores.sql import LeanSQLTrackerStore
from tests.test_actions import run, tracker_for

WBK = "Siapa yang menerima predikat WBK?"  # paragraph 2
MARUF = "Apa yang dikatakan Ma'ruf Amin tentang pelayanan publik?"  # paragraphs 7-9


def unit(dim: int = 384, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


# --- the wire format ----------------------------------------------------------------------------------


def test_a_query_vector_survives_its_json_form_exactly() -> None:
    known = QueryVector("Siapa?", "key", unit())
    back = QueryVector.from_dict(json.loads(json.dumps(known.to_dict())))
    assert back is not None and back.text == "Siapa?" and back.key == "key"
    assert back.vector.dtype == np.float32 and np.array_equal(back.vector, known.vector)


@pytest.mark.parametrize("data", [
    None, "text", [], {}, {"text": "x", "key": "k"},
    {"text": "x", "key": "k", "f32": "not base64!"},
    {"text": "x", "key": "k", "f32": base64.b64encode(b"abc").decode()},  # not whole float32s
    {"text": "x", "key": "k", "f32": ""},
    {"text": "x", "key": "k", "f32": base64.b64encode((unit() * 3).tobytes()).decode()},  # not unit length
    {"text": "x", "key": "k", "f32": base64.b64encode(np.full(4, np.nan, np.float32).tobytes()).decode()},
    {"text": 3, "key": "k", "f32": base64.b64encode(unit().tobytes()).decode()},
])
def test_a_malformed_query_vector_is_ignored_not_fatal(data: object) -> None:
    assert QueryVector.from_dict(data) is None


# --- retrieval --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_retrieval_uses_the_nlu_vector_for_the_same_text_and_model(retriever: Retriever) -> None:
    # A vector of another question, labelled as this one's: the dense scores are then the other question's.
    maruf = retriever.embedder.embed_queries([embedding_text(MARUF)])[0]
    key = vector_key(retriever.settings.embedding_model, retriever.settings.query_prefix)
    everything = len(retriever.lexical.terms)
    own = {h.key: h.dense for h in retriever.search(WBK, k=everything)}
    labelled = QueryVector(embedding_text(WBK), key, maruf)  # what the featurizer would have sent for WBK
    borrowed = {h.key: h.dense for h in retriever.search(WBK, k=everything, known=labelled)}
    theirs = {h.key: h.dense for h in retriever.search(MARUF, k=everything)}
    assert borrowed == pytest.approx(theirs, abs=1e-6)
    assert borrowed != pytest.approx(own, abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("change", ["text", "key", "dimension"])
def test_retrieval_embeds_itself_when_the_nlu_vector_does_not_match(retriever: Retriever, change: str) -> None:
    maruf = retriever.embedder.embed_queries([MARUF])[0]
    key = vector_key(retriever.settings.embedding_model, retriever.settings.query_prefix)
    known = {
        "text": QueryVector("Siapa yang menerima predikat WBBM?", key, maruf),
        "key": QueryVector(embedding_text(WBK), "another-model|query: ", maruf),
        "dimension": QueryVector(embedding_text(WBK), key, unit(128)),
    }[change]
    assert retriever.search(WBK, known=known)[0].paragraph == 2


# --- the Rasa side: featurizer and tracker store --------------------------------------------------------


@pytest.mark.slow
def test_the_featurizer_puts_retrievals_own_query_vector_in_the_parse_data(retriever: Retriever) -> None:
    featurizer = SentenceEmbeddingFeaturizer(SentenceEmbeddingFeaturizer.get_default_config(), "e5")
    message = Message({"text": WBK})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    featurizer.process([message])
    parse_data = message.as_dict(only_output_properties=True)
    known = QueryVector.from_dict(parse_data[QUERY_VECTOR])
    assert known is not None and known.text == embedding_text(WBK)  # what retrieval embeds for this message
    assert known.key == vector_key(retriever.settings.embedding_model, retriever.settings.query_prefix)
    np.testing.assert_allclose(known.vector, retriever.embedder.embed_queries([embedding_text(WBK)])[0], atol=1e-5)


def test_the_tracker_store_saves_user_messages_without_the_vector(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = LeanSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    vector = QueryVector(WBK, "k", unit()).to_dict()
    parse_data = {"intent": {"name": "ask_article", "confidence": 1.0}, "entities": [], QUERY_VECTOR: vector}
    tracker = DialogueStateTracker.from_events("reader", [
        ActionExecuted("action_listen"), UserUttered(WBK, parse_data["intent"], [], parse_data),
    ])
    assert tracker.latest_message.parse_data[QUERY_VECTOR] == vector  # what this turn's actions get
    asyncio.run(store.save(tracker))
    with sqlite3.connect(db) as conn:
        rows = [json.loads(r[0]) for r in conn.execute("SELECT data FROM events WHERE type_name = 'user'")]
    assert len(rows) == 1 and rows[0]["text"] == WBK
    assert QUERY_VECTOR not in rows[0]["parse_data"]
    assert rows[0]["parse_data"]["intent"]["name"] == "ask_article"  # the rest is kept
    back = asyncio.run(SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db)).retrieve("reader"))
    assert back is not None and back.latest_message.text == WBK


# --- the action -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_action_hands_the_nlu_vector_to_retrieval(retriever: Retriever) -> None:
    key = vector_key(retriever.settings.embedding_model, retriever.settings.query_prefix)
    tracker = tracker_for(WBK)
    with Recorder() as own:
        messages, _ = run(ActionAnswerQuestion(retriever), tracker)
    assert "(Sumber: paragraf 2" in messages[0]["text"]
    assert "embed" in own.seconds  # no NLU vector: retrieval embedded the question itself
    # The featurizer's vector for this very message: retrieval embeds nothing and answers the same.
    vector = retriever.embedder.embed_queries([embedding_text(WBK)])[0]
    tracker.latest_message[QUERY_VECTOR] = QueryVector(embedding_text(WBK), key, vector).to_dict()
    with Recorder() as borrowed:
        again, _ = run(ActionAnswerQuestion(retriever), tracker)
    assert "embed" not in borrowed.seconds
    assert again[0]["text"] == messages[0]["text"]
