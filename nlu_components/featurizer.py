"""Dense features for DIET from the same e5 model the retrieval uses.

The bot's intents are mostly "a question about the article" versus chit-chat
and out-of-scope talk. Word and character n-gram counts only know the words
seen in training; the multilingual e5 model also knows paraphrases and chat
spellings. Using the retrieval's model (not a second one) costs no extra
download or memory, and `knowledge.embed.load_model` shares one loaded copy
per process. It runs on onnxruntime (knowledge/encoders.py), so the Rasa
server loads no torch beside TensorFlow.

Features per message attribute:

* sentence: the e5 sentence embedding of ``query_prefix + text`` (mean pooled,
  L2-normalised), exactly the vector retrieval computes for a question;
* sequence, chosen by ``sequence_features``: ``none`` (default) adds none;
  ``sentence`` repeats the sentence vector once per Rasa token; ``tokens``
  gives each Rasa token the mean of the contextual e5 subword vectors whose
  characters overlap it.

What DIET (Rasa 3.6) actually checks: the text attribute must have *some*
sequence features (`RasaSequenceLayer` raises without them; the count
vectorizers provide them), and dense and sparse sequence features of one
attribute must have the same number of rows (`DIETClassifier._extract_features`).
It does not require a dense featurizer's sentence features to come with dense
sequence features, so ``none`` is valid (rasa's own dense featurizers, spaCy
and language models, always add both). ``none`` is the default because the
per-token features did not pay for themselves. Weighted intent F1, 5-fold
cross-validation on bot/data/nlu (291 examples): 0.823 without e5, 0.831
``none``, 0.830 ``sentence``, 0.805 ``tokens``; on the 59-example held-out split
of `make nlu-compare`: 0.874, 0.893 (``none``) and 0.912 (``tokens``). Each
gap is a few examples and none is significant (in cross-validation the
configs each get 10-19 examples right that the other gets wrong), while
``tokens`` costs a second forward pass per message and a wider DIET input. Per-token rows,
when asked for, are aligned to the tokenizer's tokens by character offsets, so
their count matches the sparse features'.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ACTION_TEXT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.embed import QUERY_VECTOR, QueryVector
from knowledge.question import embedding_text

# Bumped when what is embedded for a message changes (embedding_text), so Rasa's cache refeaturizes.
TEXT_VERSION = 2

if TYPE_CHECKING:
    from knowledge.encoders import Encoder

logger = logging.getLogger(__name__)

SEQUENCE_FEATURES = "sequence_features"
SEQUENCE_TOKENS = "tokens"
SEQUENCE_SENTENCE = "sentence"
SEQUENCE_NONE = "none"
SEQUENCE_CHOICES = (SEQUENCE_TOKENS, SEQUENCE_SENTENCE, SEQUENCE_NONE)
BATCH_SIZE = "batch_size"
NORMALIZE_TOKENS = "normalize_tokens"

# At inference a label (response) is never featurized: its features are stored in the model.
INFERENCE_ATTRIBUTES = (TEXT, ACTION_TEXT)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds e5 sentence (and optionally per-token) features, with the retrieval's model and query prefix."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Sequence features are aligned to a tokenizer's tokens, so one must run first."""
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        """Packages this component imports at run time (`rasa train` imports them to check).

        The ONNX runtime's: naming torch here made every `rasa train` import it.
        """
        return ["onnxruntime", "tokenizers"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config (see the module docstring for the choices)."""
        return {
            **DenseFeaturizer.get_default_config(),
            # "none": sentence features only (measured best, see the module docstring);
            # "sentence": the sentence vector repeated per token; "tokens": contextual
            # subword vectors pooled per token.
            SEQUENCE_FEATURES: SEQUENCE_NONE,
            # L2-normalise each token vector: raw hidden states are ~10x longer than the
            # normalised sentence vector, and DIET sees both in one input layer.
            NORMALIZE_TOKENS: True,
            BATCH_SIZE: 32,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Reject unknown choices at graph build time, not halfway through training."""
        if config.get(SEQUENCE_FEATURES) not in SEQUENCE_CHOICES:
            raise InvalidConfigException(
                f"{cls.__name__}: {SEQUENCE_FEATURES} must be one of {SEQUENCE_CHOICES}, "
                f"got {config.get(SEQUENCE_FEATURES)!r}"
            )
        if int(config.get(BATCH_SIZE) or 0) < 1:
            raise InvalidConfigException(f"{cls.__name__}: {BATCH_SIZE} must be a positive integer")

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Tie Rasa's training cache to the model's weights and prefix.

        The model is not part of the graph (it comes from the settings), so without
        this a re-exported model or another EMBEDDING_MODEL would reuse stale cached
        features.
        """
        from knowledge.embed import model_fingerprint
        from knowledge.settings import get_settings

        settings = get_settings()
        return (f"{settings.embedding_model}|{settings.query_prefix}|{model_fingerprint(settings.embedding_model)}"
                f"|{TEXT_VERSION}")

    def __init__(self, config: dict[str, Any], name: str) -> None:
        """Store the config; the model is loaded by `create` (or on first use), once per process."""
        super().__init__(name, config)
        self._sequence_mode: str = config[SEQUENCE_FEATURES]
        self._normalize_tokens: bool = bool(config[NORMALIZE_TOKENS])
        self._batch_size: int = int(config[BATCH_SIZE])
        self._model: Encoder | None = None
        self._query_prefix: str = ""
        self._vector_key: str = ""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        """Create the component and load the model now, so a server's first message does not wait.

        Nothing is persisted: the model comes from the settings, like retrieval's.
        """
        component = cls(config, execution_context.node_name)
        component._require_model()
        return component

    def _require_model(self) -> Encoder:
        """Load the retrieval's model through its cached factory, so one process holds one copy."""
        if self._model is None:
            from knowledge.embed import load_model, vector_key
            from knowledge.settings import get_settings

            settings = get_settings()
            self._model = load_model(settings.embedding_model)
            self._query_prefix = settings.query_prefix
            self._vector_key = vector_key(settings.embedding_model, settings.query_prefix)
        return self._model

    # --- Rasa entry points ----------------------------------------------------------------------

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training example in place (texts, responses, action texts)."""
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            self._featurize(training_data.training_examples, attribute)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurize incoming messages; batched, so a test set costs a few forward passes.

        A user message's sentence vector is also put in its parse data (`QUERY_VECTOR`), so
        the action server's retrieval need not embed the same question again. The tracker
        store drops it before saving (stores/sql.py): it serves this turn only.
        """
        for attribute in INFERENCE_ATTRIBUTES:
            shared = self._featurize(messages, attribute)
            if attribute == TEXT:
                for message, vector in shared:
                    known = QueryVector(embedding_text(str(message.get(TEXT))), self._vector_key, vector)
                    message.set(QUERY_VECTOR, known.to_dict(), add_to_output=True)
        return messages

    # --- features -------------------------------------------------------------------------------

    def _featurize(self, messages: list[Message], attribute: str) -> list[tuple[Message, np.ndarray]]:
        """Embed the attribute of all messages that have text and tokens, in batches; each one's sentence vector."""
        todo = [m for m in messages if m.get(attribute) and m.get(TOKENS_NAMES[attribute])]
        done: list[tuple[Message, np.ndarray]] = []
        for start in range(0, len(todo), self._batch_size):
            batch = todo[start : start + self._batch_size]
            texts = [str(m.get(attribute)) for m in batch]
            sentences, token_sets = self._embed(texts)
            for message, sentence, (offsets, vectors) in zip(batch, sentences, token_sets, strict=True):
                tokens: list[Token] = message.get(TOKENS_NAMES[attribute])
                sequence = self._sequence_for(tokens, sentence, offsets, vectors)
                self.add_features_to_message(
                    sequence=sequence, sentence=sentence[np.newaxis, :], attribute=attribute, message=message
                )
                done.append((message, sentence))
        return done

    def _embed(self, texts: list[str]) -> tuple[np.ndarray, list[tuple[list[tuple[int, int]], np.ndarray]]]:
        """Sentence vectors, and per text its subword vectors with their offsets into the text.

        The sentence vectors come from the same `encode` call retrieval makes, on the same
        text (`knowledge.question.embedding_text`), so they are exactly its query vectors.
        Subword vectors (``tokens`` mode only) need a second pass, on the message as typed:
        offsets must point into the text Rasa's tokenizer split. They are shifted past the
        prefix, so the prefix's subwords get negative offsets and are never picked.
        """
        model = self._require_model()
        sentences = model.encode(
            [self._query_prefix + embedding_text(t) for t in texts], batch_size=self._batch_size
        ).astype(np.float32)
        empty = ([], np.zeros((0, sentences.shape[1]), np.float32))
        if self._sequence_mode != SEQUENCE_TOKENS:
            return sentences, [empty] * len(texts)

        shift = len(self._query_prefix)
        token_sets: list[tuple[list[tuple[int, int]], np.ndarray]] = []
        for offsets, vectors in model.token_vectors([self._query_prefix + t for t in texts], self._batch_size):
            if len(offsets) != len(vectors):
                logger.warning("e5 subwords and offsets differ in length; repeating the sentence vector")
                token_sets.append(empty)
                continue
            token_sets.append(([(s - shift, e - shift) for s, e in offsets], vectors))
        return sentences, token_sets

    def _sequence_for(
        self, tokens: list[Token], sentence: np.ndarray, offsets: list[tuple[int, int]], vectors: np.ndarray
    ) -> np.ndarray | None:
        """One row per Rasa token, as DIET requires; see the module docstring."""
        if self._sequence_mode == SEQUENCE_NONE:
            return None
        if self._sequence_mode == SEQUENCE_SENTENCE or not offsets:
            return np.repeat(sentence[np.newaxis, :], len(tokens), axis=0)
        rows = np.zeros((len(tokens), vectors.shape[1]), dtype=np.float32)
        for row, token in enumerate(tokens):
            # Subwords overlapping the token's characters. Special tokens have empty
            # spans and the prefix has negative ones, so neither is ever picked; the
            # space that sentencepiece glues to a word is outside every Rasa token.
            picked = [j for j, (s, e) in enumerate(offsets) if e > s and max(s, token.start) < min(e, token.end)]
            if not picked:  # truncated away (over 512 subwords): fall back to the sentence
                rows[row] = sentence
                continue
            vector = vectors[picked].mean(axis=0)
            if self._normalize_tokens:
                vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
            rows[row] = vector
        return rows
