"""Find the passage that answers a question, or say honestly that none does.

An answer goes through five stages, each a small module of its own:
1. resolve (followup.py, scope.py): the follow-up made standalone, and which article it is about;
2. retrieve (retrieve.py): candidate paragraphs from dense (e5 + FAISS) and lexical (BM25) search;
   rank (features.py, model.py): a scorer fitted on the dev split orders them;
3. answerability (model.py): how likely the best paragraph answers the question's focus; below the
   fitted threshold the bot says the article does not cover it;
4. extract (extract.py): the sentence to quote, and the precise lead for the answer's type
   (a figure with what it counts, a date, who said it);
5. reply (answer.py): lead, quote and citation.

This module wires them together and keeps the dialogue's choices: which article
is meant, what the article itself says (meta), the reader's picks.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, replace

import numpy as np

from .answer import Answer, compose, not_covered, not_defined, whole_quotes
from .chunk import Passage, split_sentences
from .embed import Embedder, QueryVector, vector_key
from .extract import Speaker, lead_for, paragraph_speakers
from .features import Asked, answer_features, rank_features, sentence_features
from .followup import Context, Resolved, focus_of, resolve
from .index import IndexNotReady, LoadedIndex, load_index
from .lexical import Key, LexicalIndex, definitions
from .lexicon import speech_verbs
from .meta import meta_answer
from .model import AnswerModel, load_model
from .parse import Article, ArticleParseError, Paragraph, parse_article
from .question import Question, analyse, embedding_text
from .retrieve import Candidate, Retrieve
from .scope import ALL_ARTICLES, read_scope
from .settings import Settings, get_settings
from .suggest import Suggestion, suggestions
from .text import content_terms
from .timing import stage

logger = logging.getLogger(__name__)

# Two articles whose best passages are this close in meaning, for a question none of whose words belongs
# to only one of them, both answer it: the bot asks which article is meant.
ARTICLE_MARGIN = 0.05
MAX_LISTED = 10  # articles shown as buttons in the overview
MAX_META_ALL = 3  # "siapa penulisnya?" is answered for each article up to this many, else the bot asks which
MAX_QUOTE = 600  # characters of quoted text in one reply (the reply stays well under 800)
ELLIPTIC_SIZE = 3  # a question of this few content words after an answer leans on it ("kalau yang ke Malaysia?")
MARKUP = re.compile(r"</?[A-Za-z][^<>]{0,60}>")
ROLE_WORDS = {"jabat", "jabatan", "posisi", "peran", "siapa", "kerja", "profesi", "pangkat", "position", "role",
              "title"}


@dataclass(frozen=True)
class Hit:
    """One paragraph as a ranked candidate, with the signals that ranked it."""

    article_id: str
    paragraph: int
    dense: float
    lexical: float
    score: float
    sentences: tuple[Passage, ...]

    @property
    def key(self) -> Key:
        """(article id, paragraph number)."""
        return (self.article_id, self.paragraph)


@dataclass(frozen=True)
class Ranked:
    """Stage 2's output: candidates best first, their fitted scores and feature rows."""

    candidates: list[Candidate]
    scores: list[float]
    rows: list[dict[str, float]]

    def of_article(self, article_id: str) -> Ranked:
        """The same ranking restricted to one article."""
        return self.taking([i for i, c in enumerate(self.candidates) if c.article_id == article_id])

    def taking(self, order: list[int]) -> Ranked:
        """The candidates at these positions, in this order."""
        return Ranked([self.candidates[i] for i in order], [self.scores[i] for i in order],
                      [self.rows[i] for i in order])

    def first(self, key: Key) -> Ranked:
        """The same ranking with this paragraph, if it is a candidate, moved to the front."""
        return self.taking(sorted(range(len(self.candidates)), key=lambda i: self.candidates[i].key != key))


@dataclass(frozen=True)
class Turn:
    """Stage 1's output: the standalone question and what the rest of the path needs to know of the dialogue."""

    resolved: Resolved
    q: Question
    within: str  # the one article to answer from, or "" for all
    speaker: Speaker | None
    exclude: tuple[Key, ...]
    asked: Asked


@dataclass(frozen=True)
class Verdict:
    """Stage 3's output: how likely the best paragraph answers, and what the article lacks if it does not."""

    probability: float
    answerable: bool
    missing: str | None
    features: dict[str, float]


class Retriever:
    """Answers questions from the built index; load once per process with warm_up()."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, model: AnswerModel | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(
            settings.embedding_model, settings.query_prefix, settings.passage_prefix
        )
        self._model = model
        self._index: LoadedIndex | None = None
        self._articles: dict[str, Article] = {}
        self._lexical: LexicalIndex | None = None
        self._retrieve: Retrieve | None = None
        self._paragraphs: dict[Key, Paragraph] = {}
        self._speakers: dict[Key, Speaker] = {}
        self._suggestions: list[tuple[str, Suggestion]] = []
        # What an NLU vector must have been computed with to stand in for this retriever's own.
        self._vector_key = vector_key(settings.embedding_model, settings.query_prefix)

    # --- loading -------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the index (refusing a stale one), the model and the fitted scorer; prepare lexical statistics."""
        if self._index is not None:
            return
        index = load_index(self.settings)
        self.embedder.warm_up()
        if self._model is None:
            self._model = load_model()
        articles_dir = self.settings.articles_dir
        self._articles = {
            aid: parse_article(articles_dir / meta["path"]) for aid, meta in index.manifest["articles"].items()
        }
        self._paragraphs = {(a.id, p.number): p for a in self._articles.values() for p in a.paragraphs}
        self._speakers = {
            (aid, number): speaker
            for aid, article in self._articles.items()
            for number, speaker in paragraph_speakers(article).items()
        }
        # "menurut dia" in a paragraph means the speaker: let the speaker's name match there too.
        speaker_terms = {k: s.terms for k, s in self._speakers.items()}
        self._lexical = LexicalIndex(self._articles.values(), speaker_terms)
        self._retrieve = Retrieve(index, self._lexical)
        self._index = index
        self._suggestions = self._verified_suggestions()

    def _verified_suggestions(self) -> list[tuple[str, Suggestion]]:
        """Suggestions that this retriever really answers from the paragraph they came from.

        A button that leads to "not in the article" would be worse than none.
        """
        candidates = [(aid, s) for aid, a in self._articles.items() for s in suggestions(a)]
        return [
            (aid, s) for aid, s in candidates
            if (a := self.answer(s.question, Context(article=aid))).found and a.article_id == aid
            and a.paragraph in s.paragraphs
        ]

    @property
    def index(self) -> LoadedIndex:
        """The loaded index; a clear error when warm_up() was skipped."""
        if self._index is None:
            raise RuntimeError("Retriever used before warm_up(); call warm_up() first")
        return self._index

    @property
    def model(self) -> AnswerModel:
        """The fitted scorer."""
        self.index  # noqa: B018 - raises before warm_up
        assert self._model is not None
        return self._model

    @property
    def articles(self) -> dict[str, Article]:
        """The parsed articles the index was built from."""
        self.index  # noqa: B018 - raises before warm_up
        return self._articles

    @property
    def lexical(self) -> LexicalIndex:
        """Light-stemmed paragraph terms and each article's IDF weights."""
        self.index  # noqa: B018 - raises before warm_up
        assert self._lexical is not None
        return self._lexical

    @property
    def speakers(self) -> dict[Key, Speaker]:
        """Who speaks in each paragraph."""
        self.index  # noqa: B018 - raises before warm_up
        return self._speakers

    def paragraph(self, article_id: str, number: int) -> Paragraph:
        """A body paragraph by article and number."""
        return self.articles[article_id].paragraphs[number - 1]

    def citation(self, article_id: str, paragraph: int) -> str:
        """A short source line: paragraph number, then the article's headline, source and date or year."""
        return f"paragraf {paragraph}, {self.articles[article_id].cite}"

    def changed_on_disk(self) -> bool:
        """True when `make index` swapped in another build since this retriever loaded its index."""
        return (self.settings.index_dir / "current").resolve() != self.index.path

    # --- stage 2: retrieve and rank ------------------------------------------------------------

    def _query_vector(self, question: str, known: QueryVector | None) -> np.ndarray:
        """The (1, d) vector of the question's embedding text: NLU's if it was computed from it with this model."""
        text = embedding_text(question)
        dimension = self.index.vectors.d
        if known is not None and known.text == text and known.key == self._vector_key \
                and known.vector.shape == (dimension,):
            return known.vector[np.newaxis, :]
        with stage("embed"):
            return self.embedder.embed_queries([text])

    def named_speaker(self, q: Question, article_id: str = "") -> Speaker | None:
        """The quoted person the question names, by name or by at least two words of their title."""
        terms = set(q.terms)
        for key, speaker in self._speakers.items():
            if article_id and key[0] != article_id:
                continue
            if speaker.name_terms & terms or len((speaker.terms - speaker.name_terms) & terms) >= 2:
                return speaker
        return None

    def rank(
        self, q: Question, known: QueryVector | None = None, within: str = "", exclude: tuple[Key, ...] = (),
        asked: Asked | None = None,
    ) -> Ranked:
        """Candidates from both searches, ordered by the fitted scorer."""
        asked = asked or Asked(self.named_speaker(q, within))
        candidates = self._retrieve.run(q, self._query_vector(q.text, known), within, exclude)  # type: ignore[union-attr]
        with stage("extract"):
            rows = rank_features(q, candidates, self._paragraphs, self.lexical, self._speakers, asked)
            scores = [self.model.rank.logit(r) for r in rows]
        return Ranked(candidates, scores, rows).taking(sorted(range(len(candidates)), key=lambda i: -scores[i]))

    def search(
        self, question: str | Question, k: int = 5, speaker: Speaker | None = None, exclude: tuple[Key, ...] = (),
        only: str = "", known: QueryVector | None = None,
    ) -> list[Hit]:
        """Paragraphs best first, as the answer path ranks them; `only` keeps one article's paragraphs."""
        q = question if isinstance(question, Question) else analyse(question)
        asked = Asked(speaker or self.named_speaker(q, only))
        ranked = self.rank(q, known, only, exclude, asked)
        return [self._hit(c, s, r) for c, s, r in zip(ranked.candidates, ranked.scores, ranked.rows, strict=True)][:k]

    def _hit(self, c: Candidate, score: float, row: dict[str, float]) -> Hit:
        sentences = tuple(sorted((p for p, _ in c.passages if p.kind == "sentence"), key=lambda p: p.sentence))
        return Hit(c.article_id, c.paragraph, c.dense, row["coverage"], score, sentences)

    def dense_ranking(self, question: str, only: str = "") -> list[Key]:
        """Paragraphs by plain e5 similarity alone (best passage of each): the baseline the eval compares with."""
        q = analyse(question)
        candidates = self._retrieve.run(q, self._query_vector(question, None), only)  # type: ignore[union-attr]
        return [c.key for c in sorted(candidates, key=lambda c: -c.best)]

    # --- stage 3: answerability ----------------------------------------------------------------

    def judge(self, q: Question, ranked: Ranked) -> Verdict:
        """Whether the best paragraph answers the question: the fitted probability against the fitted threshold."""
        if not ranked.candidates:
            return Verdict(0.0, False, None, {})
        mine = ranked.of_article(ranked.candidates[0].article_id)
        features = answer_features(q, mine.candidates, mine.scores, mine.rows, self.lexical)
        probability = self.model.answer.probability(features)
        article = ranked.candidates[0].article_id
        # An article cannot answer about someone or something it never names ("Kecamatan Banyumanik",
        # "PWI"), nor about a figure it never writes ("2,3GHz", "Piala Dunia 2022"). English names differ
        # from the article's spelling ("South Sumatra"), so names count only in Indonesian questions.
        unknown = [n for n in q.names if not q.english and not self.lexical.knows_name(n, article)]
        unknown += [n for n in q.numbers if not self.lexical.knows_number(n, article)]
        answerable = probability >= self.model.threshold and not unknown
        return Verdict(probability, answerable, ", ".join(unknown) or None, features)

    # --- stage 4: extract ------------------------------------------------------------------------

    def _sentences(self, c: Candidate) -> list[tuple[int, int, float]]:
        """The paragraph's sentences as (start, end) in the paragraph with their similarity to the question."""
        para = self._paragraphs[c.key]
        spans = split_sentences(para.text)
        scored = {p.sentence: s for p, s in c.passages if p.kind == "sentence"}
        clauses: dict[int, float] = {}
        for p, s in c.passages:
            if p.kind == "clause":
                clauses[p.sentence] = max(clauses.get(p.sentence, -1.0), s)
        return [(start, end, max(scored.get(i, c.dense), clauses.get(i, -1.0)))
                for i, (start, end) in enumerate(spans)]

    def extract(self, q: Question, c: Candidate, speaker: Speaker | None) -> tuple[tuple[int, int], tuple[int, int]]:
        """What to quote, and the sentence the precise lead comes from, as spans of the paragraph.

        The whole paragraph is quoted when it fits: on the dev split, quoting only the best sentence lost
        the fact a reader asked for in about one answer in ten, because news paragraphs give a fact and
        its reason or figure in neighbouring sentences. A longer paragraph is cut to the sentence the fitted
        sentence model prefers, whole quotations kept. The lead always comes from that sentence.
        """
        para = self._paragraphs[c.key]
        spans = self._sentences(c)
        if len(spans) <= 1:
            return (0, len(para.text)), (0, len(para.text))
        rows = sentence_features(q, [(para.text[s:e], sc) for s, e, sc in spans], self.lexical, c.article_id,
                                 speaker)
        scores = [self.model.sentence.logit(r) for r in rows]
        best = max(range(len(spans)), key=lambda i: scores[i])
        sentence = spans[best][0], spans[best][1]
        if len(para.text) <= MAX_QUOTE:
            return (0, len(para.text)), sentence
        lo, hi = whole_quotes(para.text, *sentence)
        return ((lo, hi) if hi - lo <= MAX_QUOTE else sentence), sentence

    def _defining(self, q: Question, article_id: str) -> tuple[Key | None, list[str]]:
        """For "apa kepanjangan X?": the paragraph that spells out most of the abbreviations asked, and those
        the article never spells out.

        Only one-word names count as the abbreviations asked ("WBK", "Dinkes"); a question naming none
        (a follow-up's "kepanjangannya apa?") is left to the fitted model.
        """
        asked = {n.lower(): n for n in q.names if " " not in n}
        spelled = {k: {abbr.lower() for abbr, _ in definitions(p.text)} & set(asked)
                   for k, p in self._paragraphs.items() if k[0] == article_id}
        undefined = [n for low, n in asked.items() if not any(low in found for found in spelled.values())]
        best = max(spelled, key=lambda k: (len(spelled[k]), -k[1]), default=None)
        return (best if best is not None and spelled[best] else None), undefined

    def _role_question(self, q: Question, speaker: Speaker | None) -> bool:
        """'Siapa Ismail?', 'apa jabatan Ismail?': asks who the person is, nothing else."""
        if speaker is None or q.kind not in {"who", "what"}:
            return False
        return set(q.terms) - speaker.terms <= ROLE_WORDS

    def _lead(self, q: Question, speaker: Speaker | None, key: Key, quote: str) -> str | None:
        """The precise answer inside the quoted text, when the question's kind says what to look for."""
        here = self._speakers.get(key)
        if self._role_question(q, speaker) and speaker is not None:
            title = speaker.mention.replace("’", "'").replace(speaker.name, "").strip(" ,")
            return f"{speaker.name} adalah {title.rstrip('. ')}." if title else None
        if q.kind == "who_said" and here is not None:
            return f"{here.name} ({here.mention})." if here.mention != here.name else f"{here.name}."
        if q.kind == "define":
            asked = {t.lower() for t in q.words}
            # the quote's own definitions first, then a long form defined elsewhere that the quote writes
            spelled = dict(definitions(quote))
            for abbr, long in self.lexical.abbreviations.items():
                if long in quote:
                    spelled.setdefault(abbr, long)
            leads = [f"{abbr} adalah singkatan dari {long}" for abbr, long in spelled.items() if abbr.lower() in asked]
            return "; ".join(leads) + "." if leads else None
        return lead_for(q, quote)

    # --- stage 1: resolve --------------------------------------------------------------------------

    def resolve_turn(self, question: str, context: Context, avoid: tuple[Key, ...] = ()) -> Turn:
        """The question made standalone, the article it is about, the person it names, what to leave out."""
        surface = self.lexical.surface.get(context.source, "")
        resolved = resolve(question, context, lambda phrase: bool(re.search(rf"\b{re.escape(phrase)}\b", surface)))
        followup = resolved.text != question.strip() and context.source in self.articles
        within = context.article or (context.source if followup else "") or (
            next(iter(self.articles)) if len(self.articles) == 1 else "")
        q = analyse(resolved.text)
        speaker = self.named_speaker(q, within)
        # "selain itu, apa lagi yang disampaikan?" asks for more of the same person; "selain itu, sisa pasalnya
        # dibahas di mana?" asks something new, possibly in the same paragraph
        asks_speech = q.kind in ("quote", "who_said") or bool(set(q.words) & set().union(*speech_verbs()))
        if speaker is None and resolved.wants_more and context.speaker and asks_speech:
            speaker = next((s for s in self._speakers.values() if s.name == context.speaker), None)
        exclude: tuple[Key, ...] = avoid
        if resolved.wants_more and speaker is not None and speaker.name == context.speaker:
            exclude = avoid + tuple(k for k in self._speakers if k[0] == context.source and k[1] in context.paragraphs)
        # After "dia bilang ...?" the person's other paragraphs are as likely as the last one (8 of the 13 pronoun
        # follow-ups of dev and Kominfo are answered elsewhere), so only a follow-up about the answer points back.
        previous = tuple((context.source, p) for p in context.paragraphs[-1:]) \
            if context.source and not resolved.pronoun else ()
        elliptic = bool(context.question) and (q.size <= ELLIPTIC_SIZE or q.anaphoric)
        swapped_in = tuple(content_terms(resolved.swapped_in))
        return Turn(resolved, q, within, speaker, exclude, Asked(speaker, previous, followup or elliptic, swapped_in))

    # --- the answer ------------------------------------------------------------------------------

    def answer(
        self, question: str, context: Context | None = None, chosen: Key | None = None, chosen_article: str = "",
        avoid: tuple[Key, ...] = (), known: QueryVector | None = None,
    ) -> Answer:
        """The precise answer with its quoted source, or an honest 'not covered'; follow-ups use context.

        `chosen` is the paragraph the reader picked after a did-you-mean; `chosen_article` the article
        picked from a list or a "which article?" question (`ALL_ARTICLES` widens the scope again);
        `avoid` the passages a reader marked 👎, so the next best one answers; `known` the vector
        Rasa's NLU computed for the message (used only if retrieval searches for that same text).
        """
        context = context or Context()
        if context.article and context.article not in self.articles:
            context = replace(context, article="")  # the article was removed from the knowledge base
        if chosen_article:
            return self._choose_article(chosen_article, context)
        scope = read_scope(question, self.articles) if len(self.articles) > 1 else None
        if scope is not None and scope.reset:
            return self._scoped(question, "")
        if scope is not None and scope.article_id:
            context = Context(article=scope.article_id)
            if not scope.question:
                return self._scoped(question, scope.article_id)
            question = scope.question
        question = MARKUP.sub(" ", question)  # "<b>Siapa</b>" asks "Siapa"

        # Stage 1: resolve the follow-up and the scope.
        turn = self.resolve_turn(question, context, avoid)
        resolved, q, within, speaker = turn.resolved, turn.q, turn.within, turn.speaker

        # Stage 2: retrieve and rank.
        ranked = self.rank(q, known, within, turn.exclude, turn.asked)
        if chosen is not None:
            picked = [c for c in ranked.candidates if c.key == chosen or (not chosen[0] and c.paragraph == chosen[1])]
            if picked:
                return self._from_candidate(question, resolved.text, q, speaker, picked[0], 1.0, context)
        if resolved.wants_more and speaker is not None and ranked.candidates:
            own = [i for i, c in enumerate(ranked.candidates) if self._speakers.get(c.key) == speaker]
            if own:  # "dia bilang apa lagi?": another paragraph of the same person first
                ranked = ranked.taking(own + [i for i in range(len(ranked.candidates)) if i not in own])
        if self._role_question(q, speaker) and speaker is not None:
            fullest = max((k for k, s in self._speakers.items() if s == speaker),
                          key=lambda k: len(self._speakers[k].mention))
            ranked = ranked.first(fullest)

        in_view = within or (context.source if context.source in self.articles else "")
        top_article = ranked.candidates[0].article_id if ranked.candidates else next(iter(self.articles))
        about = self.articles[in_view or top_article]
        meta = meta_answer(resolved.text, about)
        if meta and not in_view and len(self.articles) > 1:  # "siapa penulisnya?" of which article?
            return self._meta_for_each(question, resolved.text, context)
        if meta:
            return Answer(
                question=question, found=True, text=f"{meta}\n\n(Sumber: keterangan artikel, {about.cite})",
                lead=meta, article_id=about.id, citation=f"keterangan artikel, {about.cite}", resolved=resolved.text,
                suggestions=self.suggest(exclude=question, article=context.article),
                context=Context(question=resolved.text, article=context.article, source=about.id),
            )

        # "Apa kepanjangan WBK?" is answered exactly when the article spells the abbreviation out, and only then.
        if q.kind == "define" and not q.english:
            defining, undefined = self._defining(q, in_view or top_article)
            if undefined:
                return Answer(
                    question=question, found=False, text=not_defined(undefined), score=0.0, resolved=resolved.text,
                    suggestions=self.suggest(exclude=question, article=context.article), context=context,
                )
            if defining is not None:
                ranked = ranked.first(defining)
                if ranked.candidates and ranked.candidates[0].key == defining:
                    return self._from_candidate(question, resolved.text, q, speaker, ranked.candidates[0], 1.0,
                                                context)

        # Stage 3: does the best paragraph answer the question's focus?
        verdict = self.judge(q, ranked)
        # "Siapa Ismail?", "apa jabatan Ismail?" of a person the article quotes: the article names them with
        # their title, so it answers, however few of the question's words a paragraph holds.
        if not verdict.answerable and not self._role_question(q, speaker):
            return Answer(
                question=question, found=False, text=not_covered(question, verdict.missing),
                score=verdict.probability, resolved=resolved.text,
                suggestions=self.suggest(exclude=question, article=context.article), context=context,
            )
        rival = self._rival_article(q, ranked) if not within and not resolved.wants_more else None
        if rival is not None and context.source in (ranked.candidates[0].article_id, rival):
            rival = None  # the conversation is already about one of them: stay there rather than ask
        if rival is not None:
            return self._which_article(question, resolved.text, [ranked.candidates[0].article_id, rival], context)
        # Stages 4 and 5: extract and reply.
        return self._from_candidate(question, resolved.text, q, speaker, ranked.candidates[0], verdict.probability,
                                    context)

    def _from_candidate(
        self, question: str, resolved: str, q: Question, speaker: Speaker | None, best: Candidate, score: float,
        context: Context,
    ) -> Answer:
        """The answer built from one paragraph: lead, the quoted sentence(s), citation, new context."""
        para = self._paragraphs[best.key]
        with stage("extract"):
            (lo, hi), (s_lo, s_hi) = self.extract(q, best, speaker)
        quote = para.text[lo:hi]
        lead = self._lead(q, speaker, best.key, para.text[s_lo:s_hi])
        citation = self.citation(best.article_id, best.paragraph)
        here = self._speakers.get(best.key)
        now_speaker = speaker.name if speaker else (here.name if here else "")
        # The paragraphs this speaker has given so far, each once (asking again must not repeat one).
        given = tuple(dict.fromkeys((*context.paragraphs, best.paragraph))) \
            if now_speaker and now_speaker == context.speaker and context.source == best.article_id \
            else (best.paragraph,)
        return Answer(
            question=question, found=True, text=compose(lead, quote, citation), lead=lead, quote=quote,
            article_id=best.article_id, paragraph=best.paragraph, start=para.start + lo, end=para.start + hi,
            citation=citation, score=score, resolved=resolved,
            suggestions=self.suggest(best.key, exclude=question, article=context.article),
            context=Context(resolved, now_speaker, focus_of(resolved), given, context.article, best.article_id),
        )

    # --- several articles --------------------------------------------------------------------------

    def _rival_article(self, q: Question, ranked: Ranked) -> str | None:
        """Another article whose best passage answers about as well as the top one's.

        "Siapa yang menerima penghargaan?" fits an article about each award; picking
        one would answer a question the reader may not have asked. A question with
        a word only one of them uses ("WBK", "Sukamaju") is not ambiguous.
        """
        top = ranked.candidates[0]
        rival = next((c for c in ranked.candidates[1:] if c.article_id != top.article_id), None)
        if rival is None or top.best - rival.best >= ARTICLE_MARGIN:
            return None
        # The rival must answer too, unless its passage is the closer one and only the word features put it
        # second: then the two signals disagree on which article is meant, and the reader should say.
        if rival.best <= top.best and not self.judge(q, ranked.of_article(rival.article_id)).answerable:
            return None
        mine, theirs = self.lexical.vocabulary[top.article_id], self.lexical.vocabulary[rival.article_id]
        if any((t in mine) != (t in theirs) for t in q.terms):
            return None
        return rival.article_id

    def _which_article(self, question: str, resolved: str, article_ids: list[str], context: Context) -> Answer:
        """Ask which article is meant, one button per article; the question waits in the context."""
        lines = ["Pertanyaan ini cocok dengan lebih dari satu artikel. Artikel yang mana?"]
        choices = []
        for n, article_id in enumerate(article_ids, 1):
            article = self.articles[article_id]
            lines.append(f"{n}. {article.cite}")
            choices.append((article.cite, article_payload(article.id)))
        return Answer(
            question=question, found=True, text="\n".join(lines), resolved=resolved,
            context=Context(question=resolved, speaker=context.speaker), choices=choices,
        )

    def _meta_for_each(self, question: str, resolved: str, context: Context) -> Answer:
        """"Siapa penulisnya?" with a few articles and none in view: the answer for each, else ask which."""
        if len(self.articles) > MAX_META_ALL:
            return self._which_article(question, resolved, list(self.articles), context)
        lines = []
        for article in self.articles.values():
            meta = meta_answer(resolved, article)
            if meta:
                lines.append(f"{article.cite}: {meta.replace('Artikel ini', 'artikel ini')}")
        return Answer(
            question=question, found=True, text="\n\n".join(lines), lead=lines[0] if lines else None,
            citation="keterangan artikel", resolved=resolved, suggestions=self.suggest(exclude=question),
            context=Context(question=resolved),
        )

    def _choose_article(self, article_id: str, context: Context) -> Answer:
        """The reader picked an article: answer the waiting question there, or confirm the new scope."""
        if article_id == ALL_ARTICLES:
            return self._scoped("", "")
        if article_id not in self.articles:
            return Answer(
                question="", found=False, suggestions=self.suggest(),
                text=("Maaf, artikel itu sudah tidak ada di daftar saya. "
                      "Ketik \"artikel apa saja\" untuk melihat daftarnya."),
            )
        if context.question:
            return self.answer(context.question, Context(article=article_id))
        return self._scoped("", article_id)

    def _scoped(self, question: str, article_id: str) -> Answer:
        """The confirmation of a new scope (an article, or "" for all), with questions to try there."""
        if article_id:
            text = (f"Baik, sekarang saya menjawab dari artikel {self.articles[article_id].cite}. "
                    "Silakan bertanya. Ketik \"semua artikel\" untuk kembali mencari di semua artikel.")
        else:
            text = f"Baik, sekarang saya mencari di semua artikel ({len(self.articles)} artikel)."
        return Answer(
            question=question, found=True, text=text, article_id=article_id or None,
            suggestions=self.suggest(article=article_id), context=Context(article=article_id),
        )

    def overview(self, context: Context | None = None) -> Answer:
        """"Artikel apa saja?": each article's headline and date, as buttons that narrow the scope to it."""
        context = context or Context()
        articles = list(self.articles.values())
        if len(articles) == 1:
            return Answer(
                question="", found=True, context=context, suggestions=self.suggest(),
                text=f"Saya baru membaca satu artikel: {articles[0].cite}. Tanyakan apa saja tentang isinya.",
            )
        shown = articles[:MAX_LISTED]
        lines = [f"Saya tahu {len(articles)} artikel:"] + [f"{n}. {a.cite}" for n, a in enumerate(shown, 1)]
        if len(articles) > len(shown):
            lines.append(f"… dan {len(articles) - len(shown)} artikel lain.")
        lines.append("Pilih satu untuk bertanya khusus tentang artikel itu, atau langsung saja bertanya.")
        choices = [(a.cite, article_payload(a.id)) for a in shown]
        if context.article:
            lines.append(f"Sekarang saya hanya menjawab dari {self.articles[context.article].cite}.")
            choices.append(("Semua artikel", article_payload(ALL_ARTICLES)))
        return Answer(question="", found=True, text="\n".join(lines), choices=choices, context=context)

    def suggest(
        self, exclude_key: Key | None = None, exclude: str = "", limit: int | None = None, article: str = "",
    ) -> list[str]:
        """Questions the articles answer, one per paragraph, skipping the one just answered.

        With several articles and no scope, they take turns, so every article is represented.
        """
        limit = self.settings.suggestions if limit is None else limit
        wanted = [aid for aid in self.articles if not article or aid == article]
        queues = {aid: [s for a, s in self._suggestions if a == aid] for aid in wanted}
        picked: list[str] = []
        used: set[Key] = set()
        while len(picked) < limit and any(queues.values()):
            for aid, queue in queues.items():
                while queue:
                    s = queue.pop(0)
                    key = (aid, s.paragraph)
                    if (exclude_key and exclude_key[0] == aid and exclude_key[1] in s.paragraphs) or key in used \
                            or s.question.lower() == exclude.lower():
                        continue
                    picked.append(s.question)
                    used.add(key)
                    break
                if len(picked) == limit:
                    break
        return picked


def article_payload(article_id: str) -> str:
    """What an article button sends: an intent with the article, never typed text NLU could misread."""
    return f'/choose_article{{"article": "{article_id}"}}'


_lock = threading.Lock()
_current: Retriever | None = None
_refused: object = None  # the build a reload already failed on, so it is not retried on every question


def get_retriever() -> Retriever:
    """The process-wide retriever: model and index loaded once, on first use.

    When `make index` (or `make add-article`) has swapped in a new build, the
    next call loads it, reusing the loaded model, and returns the new retriever;
    answers already running keep the one they started with. If the new build
    cannot be loaded, the old one keeps serving and the reason is logged once.
    """
    global _current, _refused
    with _lock:
        if _current is None:
            retriever = Retriever(get_settings())
            retriever.warm_up()
            _current = retriever
        elif _current.changed_on_disk():
            target = (_current.settings.index_dir / "current").resolve()
            if target != _refused:
                fresh = Retriever(_current.settings, _current.embedder, _current.model)
                try:
                    fresh.warm_up()
                except (IndexNotReady, ArticleParseError, OSError) as exc:
                    logger.warning("Keeping the index at %s; the new one cannot be used: %s", _current.index.path, exc)
                    _refused = target
                else:
                    logger.info("Switched to the index at %s (%d articles)", target, len(fresh.articles))
                    _current = fresh
        return _current
