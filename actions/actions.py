"""Custom actions. They turn the tracker into a query, ask `knowledge`, and dispatch the reply.

Each action receives its retriever through the constructor. The action server
constructs actions with no arguments at start-up, so the default comes from a
cached factory: the model and the index load once per process, and a missing
or stale index stops the server at start-up with the command that fixes it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from knowledge.answer import Answer
from knowledge.embed import QUERY_VECTOR, ModelNotFoundError, QueryVector
from knowledge.followup import Context
from knowledge.index import IndexNotReady
from knowledge.question import analyse
from knowledge.search import Retriever, get_retriever
from knowledge.timing import stage

logger = logging.getLogger(__name__)

DomainDict = dict[str, Any]


def default_retriever() -> Retriever:
    """The shared retriever, or a one-line exit that names the fix."""
    try:
        return get_retriever()
    except (IndexNotReady, ModelNotFoundError) as exc:
        raise SystemExit(f"Action server cannot start: {exc}") from None


FEEDBACK_BUTTONS = [
    {"title": "👍", "payload": '/feedback{"rating": "up"}'},
    {"title": "👎", "payload": '/feedback{"rating": "down"}'},
]
# Typed feedback (rasa shell, or anyone who types instead of pressing): negative words win.
DOWN_WORDS = {"👎", "salah", "keliru", "kurang", "tidak", "bukan", "gak", "nggak", "ga", "jelek", "buruk", "wrong",
              "bad", "no"}
UP_WORDS = {"👍", "bagus", "benar", "betul", "tepat", "mantap", "membantu", "oke", "ok", "sip", "good", "right",
            "correct", "helpful"}


def buttons(questions: list[str]) -> list[dict[str, str]]:
    """Quick replies whose payload is the question itself, so NLU reads it like typed text."""
    return [{"title": q, "payload": q} for q in questions]


def context_from(tracker: Tracker) -> Context:
    """What the previous answer was about, from the slots."""
    paragraphs = tracker.get_slot("last_paragraphs") or []
    return Context(
        question=tracker.get_slot("last_question") or "",
        speaker=tracker.get_slot("last_speaker") or "",
        focus=tracker.get_slot("last_focus") or "",
        paragraphs=tuple(int(p) for p in paragraphs),
        article=tracker.get_slot("article_scope") or "",
        source=tracker.get_slot("last_article") or "",
    )


def nlu_vector(tracker: Tracker) -> QueryVector | None:
    """The vector Rasa's NLU computed for the latest message (nlu_components/featurizer.py), if it sent one."""
    return QueryVector.from_dict(tracker.latest_message.get(QUERY_VECTOR))


def chosen_article(tracker: Tracker) -> str:
    """The article an article button carries ("*" for all), or "" when this turn is not such a choice."""
    if (tracker.latest_message.get("intent") or {}).get("name") != "choose_article":
        return ""
    values = {e.get("entity"): e.get("value") for e in tracker.latest_message.get("entities", [])}
    return str(values.get("article") or "")


def chosen_passage(tracker: Tracker) -> tuple[str, int] | None:
    """The (article, paragraph) a did-you-mean button carries, if this turn is such a choice."""
    if (tracker.latest_message.get("intent") or {}).get("name") != "choose_passage":
        return None
    values = {e.get("entity"): e.get("value") for e in tracker.latest_message.get("entities", [])}
    text = tracker.latest_message.get("text") or ""
    number = values.get("paragraph") or next(iter(re.findall(r"\d+", text)), None)
    try:
        paragraph = int(str(number))
    except ValueError:
        return None
    return str(values.get("article") or ""), paragraph


def slots_for(context: Context, tracker: Tracker) -> list[dict[str, Any]]:
    """Slot events that remember this answer for the next follow-up, for the slots whose value changes.

    An unchanged slot needs no event. Rasa stores each event, reads it back and replays it on
    every later turn of the conversation, and sends it to the action server with every call.
    """
    values = {
        "last_question": context.question or None,
        "last_speaker": context.speaker or None,
        "last_focus": context.focus or None,
        "last_paragraphs": list(context.paragraphs) or None,
        "article_scope": context.article or None,
        "last_article": context.source or None,
    }
    return [SlotSet(name, value) for name, value in values.items() if tracker.get_slot(name) != value]


class RetrieverAction(Action, ABC):
    """An action that answers from the knowledge base.

    Given a retriever (tests), it keeps it. Otherwise it checks at start-up that the
    shared one loads (the server refuses to start if not), then asks the factory
    on every use, so an index rebuilt by `make index` or `make add-article` is
    picked up at the next question without a restart.
    """

    # Reads the index and changes nothing outside the events it returns, so the Rasa server may call it a
    # second time when the first call failed at the connection (channels/resilience.py, READ_ONLY_ACTIONS).
    read_only: ClassVar[bool] = True

    def __init__(self, retriever: Retriever | None = None) -> None:
        self._retriever = retriever
        if retriever is None:
            default_retriever()

    @property
    def retriever(self) -> Retriever:
        """The fixed retriever, or the factory's current one."""
        return self._retriever or get_retriever()

    @abstractmethod
    def name(self) -> str:
        """The name used in the domain and rules."""

    async def ask(self, question: str, context: Context, chosen: tuple[str, int] | None = None,
                  article: str = "", avoid: tuple[tuple[str, int], ...] = (), known: QueryVector | None = None,
                  ) -> Answer:
        """Off the event loop: embedding is CPU work, and a swapped index is loaded on this call.

        `known` is NLU's vector of the message; retrieval uses it only if it searches for that text.
        """
        with stage("answer"):
            return await asyncio.get_running_loop().run_in_executor(
                None, lambda: self.retriever.answer(question, context, chosen, article, avoid, known)
            )


class ActionAnswerQuestion(RetrieverAction):
    """Answers the latest user message from the article, with a citation and follow-up buttons."""

    def name(self) -> str:
        """The name used in the domain and rules."""
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        """Embedding is CPU work, so it runs off the event loop to keep other senders served."""
        question = (tracker.latest_message.get("text") or "").strip()
        if not question:
            dispatcher.utter_message(response="utter_default")
            return []
        context = context_from(tracker)
        chosen = chosen_passage(tracker)
        if chosen is not None:  # the reader picked one passage of a did-you-mean
            question, context = context.question or question, Context(article=context.article)
        article = chosen_article(tracker)  # typed "semua artikel" has no entity: retrieval reads the words
        answer = await self.ask(question, context, chosen, article, known=nlu_vector(tracker))
        return send(dispatcher, answer, tracker)



def send(dispatcher: CollectingDispatcher, answer: Answer, tracker: Tracker) -> list[dict[str, Any]]:
    """The reply with its buttons, and the slots that remember it.

    `answer` travels as message metadata: REST and stock channels ignore it, our web and
    Telegram channels render the lead, quote and citation from it. An answer quoted from a
    passage gets 👍/👎 first; `last_answer` keeps what they would rate, in the tracker store.
    """
    with stage("response"):
        options = [{"title": t, "payload": p} for t, p in answer.choices] or buttons(answer.suggestions)
        if answer.found and answer.paragraph is not None:
            options = FEEDBACK_BUTTONS + options
        dispatcher.utter_message(text=answer.text, buttons=options, answer=answer.to_dict())
        return [*slots_for(answer.context, tracker), SlotSet("last_answer", answer.record())]


def rating_of(tracker: Tracker) -> str:
    """"up" or "down": the button's entity, else the words typed (a negative word wins)."""
    values = {e.get("entity"): e.get("value") for e in tracker.latest_message.get("entities", [])}
    if values.get("rating") in ("up", "down"):
        return str(values["rating"])
    text = (tracker.latest_message.get("text") or "").lower()
    said = set(re.findall(r"\w+|👍|👎", text))
    return "down" if said & DOWN_WORDS else "up"


class ActionWithSuggestions(RetrieverAction, ABC):
    """Sends a domain response followed by questions the article can answer, as buttons.

    Abstract, so the action server registers only the concrete subclasses.
    """

    @property
    @abstractmethod
    def response(self) -> str:
        """The domain response to send."""

    def name(self) -> str:
        """Named after its response: utter_greet -> action_greet."""
        return self.response.replace("utter_", "action_", 1)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        """The response text comes from the domain; the buttons from the article."""
        article = context_from(tracker).article
        dispatcher.utter_message(response=self.response, buttons=buttons(self.retriever.suggest(article=article)))
        return []


class ActionGreet(ActionWithSuggestions):
    """Greets and shows what can be asked."""

    response = "utter_greet"


class ActionHelp(ActionWithSuggestions):
    """Explains what the bot does, with examples to click."""

    response = "utter_help"


class ActionOutOfScope(ActionWithSuggestions):
    """Declines politely and steers back to the article, unless the articles do answer it.

    NLU learnt "out of scope" from requests and small talk, not from the articles,
    so a question about an article added later ("Siapa wali kota Sukamaju?") can
    land here. For a question, retrieval has the last word: a passage it answers
    from is sent. A request that is no question ("buatkan puisi tentang hujan")
    is declined as NLU says.
    """

    response = "utter_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        """The answer when the message asks something and retrieval quotes a passage, otherwise the response."""
        question = (tracker.latest_message.get("text") or "").strip()
        if question and (question.endswith("?") or analyse(question).kind != "what"):
            answer = await self.ask(question, context_from(tracker), known=nlu_vector(tracker))
            if answer.found and answer.paragraph is not None:
                return send(dispatcher, answer, tracker)
        return await super().run(dispatcher, tracker, domain)


class ActionListArticles(RetrieverAction):
    """"Artikel apa saja?": the known articles as buttons that narrow the conversation to one."""

    def name(self) -> str:
        """The name used in the domain and rules."""
        return "action_list_articles"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        """Lists every article with its date; the scope slot is left as it is."""
        answer = self.retriever.overview(context_from(tracker))
        options = [{"title": t, "payload": p} for t, p in answer.choices] or buttons(answer.suggestions)
        dispatcher.utter_message(text=answer.text, buttons=options)
        return []


class ActionFeedback(RetrieverAction):
    """👍/👎 on the last answer: recorded against it in the tracker store; a 👎 gets the next-best passage.

    The record (slot `feedback`) names the question, the answer text and the passage ids,
    so `make report` can count ratings per passage. A reader who never rates just goes on
    asking: nothing waits for feedback.
    """

    def name(self) -> str:
        """The name used in the domain and rules."""
        return "action_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        """Thank the reader; after a 👎, offer what the article says next best (or its did-you-mean)."""
        last = tracker.get_slot("last_answer") or {}
        context = context_from(tracker)
        if not last.get("passages"):
            dispatcher.utter_message(
                text="Terima kasih! Belum ada jawaban dari artikel yang bisa dinilai. "
                     "Silakan tanyakan sesuatu tentang isi artikel.",
                buttons=buttons(self.retriever.suggest(article=context.article)),
            )
            return []
        rating = rating_of(tracker)
        record = {
            "rating": rating, "question": last.get("question"), "answer": last.get("text"),
            "article_id": last.get("article_id"), "paragraph": last.get("paragraph"),
            "passages": last.get("passages"),
        }
        events: list[dict[str, Any]] = [SlotSet("feedback", record)]
        if rating == "up":
            dispatcher.utter_message(text="Terima kasih atas penilaiannya! Silakan bertanya lagi tentang isi artikel.")
            return events
        rated = (str(last.get("article_id")), int(last.get("paragraph") or 0))
        question = str(last.get("resolved") or last.get("question") or "")
        answer = await self.ask(question, Context(article=context.article), avoid=(rated,))
        if answer.found and (answer.paragraph is not None or answer.choices):
            dispatcher.utter_message(text="Terima kasih atas masukannya. Maaf kalau kurang tepat; "
                                          "mungkin bagian artikel ini yang Anda maksud:")
            return events + send(dispatcher, answer, tracker)
        dispatcher.utter_message(
            text="Terima kasih atas masukannya. Maaf, bagian lain dari artikel tidak menjawabnya. "
                 "Coba tanyakan dengan kata-kata lain.",
            buttons=buttons(self.retriever.suggest(article=context.article)),
        )
        return events
