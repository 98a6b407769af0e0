"""Find the passage that answers a question, or say honestly that none does.

Dense similarity (e5) ranks well but its scores bunch together, so it cannot
tell "not in the article" on its own. A lexical signal, the share of the
question's content words (stemmed, IDF-weighted) found in a paragraph,
separates covered from uncovered questions. The question's kind adds small,
general preferences: a count question prefers a paragraph with a matching
number, "apa kata X" the paragraphs where X speaks, "apa itu ABBR" the
paragraph that defines it. Thresholds live in settings.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, replace

import numpy as np

from .ann import search as ann_search
from .ann import search_depth
from .answer import Answer, compose, not_covered, whole_quotes
from .chunk import Passage
from .embed import Embedder, QueryVector, vector_key
from .extract import Speaker, best_count, count_spans, has_number, paragraph_speakers
from .followup import Context, focus_of, resolve
from .index import IndexNotReady, LoadedIndex, load_index
from .lexical import LexicalIndex
from .meta import meta_answer
from .parse import Article, ArticleParseError, Paragraph, parse_article
from .question import Question, analyse
from .scope import ALL_ARTICLES, read_scope
from .settings import Settings, get_settings
from .suggest import Suggestion, suggestions
from .text import content_terms, stem
from .timing import stage

logger = logging.getLogger(__name__)

LEXICAL_WEIGHT = 0.2
ABSENT_WEIGHT = 0.2
# Two articles whose best passages are this close in meaning, for a question none of whose words belongs
# to only one of them, both answer it: the bot asks which article is meant.
ARTICLE_MARGIN = 0.05
MAX_LISTED = 10  # articles shown as buttons in the overview
MAX_META_ALL = 3  # "siapa penulisnya?" is answered for each article up to this many, else the bot asks which
SENTENCE_MARGIN = 0.015
SPEAKER_BONUS = 0.05
KIND_BONUS = 0.03
TIE_MARGIN = 0.005
SHORT_QUESTION = 4
VERB_QUESTION = 2
COUNT_BONUS = 0.06
PAST_BONUS = 0.05
PAST = re.compile(
    r"\b(tahun lalu|sebelum\w*|pernah|lebih dulu|lebih dahulu|last year|previous\w*|earlier|before)\b", re.IGNORECASE
)
FREQUENCY_TEXT = re.compile(r"\b(setiap|tiap)\b[^,.]*\b(sekali|kali)\b|\b\w+ kali\b", re.IGNORECASE)
MARKUP = re.compile(r"</?[A-Za-z][^<>]{0,60}>")
PRESENT = re.compile(r"\b(tahun ini|saat ini|sekarang|kali ini|this year|now)\b", re.IGNORECASE)
ROLE_WORDS = {"jabat", "posisi", "peran", "siapa", "kerja", "profesi", "pangkat", "position", "role", "title"}
SPEECH_KINDS = {"quote", "what", "how", "why"}

Key = tuple[str, int]


@dataclass(frozen=True)
class Hit:
    """One paragraph as a candidate answer, with the signals that ranked it."""

    article_id: str
    paragraph: int
    dense: float
    lexical: float
    bonus: float
    score: float
    sentences: tuple[Passage, ...]

    @property
    def key(self) -> Key:
        """(article id, paragraph number)."""
        return (self.article_id, self.paragraph)


class Retriever:
    """Answers questions from the built index; load once per process with warm_up()."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(
            settings.embedding_model, settings.query_prefix, settings.passage_prefix
        )
        self._index: LoadedIndex | None = None
        self._articles: dict[str, Article] = {}
        self._lexical: LexicalIndex | None = None
        self._lexicons: dict[str, LexicalIndex] = {}
        self._vocabularies: dict[str, set[str]] = {}  # every content term of each article's paragraphs
        self._speakers: dict[Key, Speaker] = {}
        self._suggestions: list[tuple[str, Suggestion]] = []
        # What an NLU vector must have been computed with to stand in for this retriever's own.
        self._vector_key = vector_key(settings.embedding_model, settings.query_prefix)

    # --- loading -------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the index (refusing a stale one) and the model, and prepare lexical statistics."""
        if self._index is not None:
            return
        index = load_index(self.settings)
        self.embedder.warm_up()
        articles_dir = self.settings.articles_dir
        self._articles = {
            aid: parse_article(articles_dir / meta["path"]) for aid, meta in index.manifest["articles"].items()
        }
        self._speakers = {
            (aid, number): speaker
            for aid, article in self._articles.items()
            for number, speaker in paragraph_speakers(article).items()
        }
        # "menurut dia" in a paragraph means the speaker: let the speaker's name match there too.
        speaker_terms = {k: s.terms for k, s in self._speakers.items()}
        self._lexical = LexicalIndex(self._articles.values(), speaker_terms)
        # Per article, for "does this article use the question's words"; one article needs only the one.
        self._lexicons = {
            aid: LexicalIndex([a], {k: t for k, t in speaker_terms.items() if k[0] == aid})
            for aid, a in self._articles.items()
        } if len(self._articles) > 1 else {}
        self._vocabularies = {
            aid: set().union(*(t for k, t in self._lexical.terms.items() if k[0] == aid)) for aid in self._articles
        }
        self._index = index
        self._suggestions = self._verified_suggestions()

    def _verified_suggestions(self) -> list[Suggestion]:
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
    def articles(self) -> dict[str, Article]:
        """The parsed articles the index was built from."""
        self.index  # noqa: B018 - raises before warm_up
        return self._articles

    @property
    def lexical(self) -> LexicalIndex:
        """Stemmed paragraph terms and IDF weights."""
        self.index  # noqa: B018 - raises before warm_up
        assert self._lexical is not None
        return self._lexical

    def paragraph(self, article_id: str, number: int) -> Paragraph:
        """A body paragraph by article and number."""
        return self.articles[article_id].paragraphs[number - 1]

    def citation(self, article_id: str, paragraph: int) -> str:
        """A short source line: paragraph number, then the article's headline, source and date or year."""
        return f"paragraf {paragraph}, {self.articles[article_id].cite}"

    def changed_on_disk(self) -> bool:
        """True when `make index` swapped in another build since this retriever loaded its index."""
        return (self.settings.index_dir / "current").resolve() != self.index.path

    # --- ranking -------------------------------------------------------------------------------

    def _lexicon_for(self, article_id: str) -> LexicalIndex:
        """The lexical index of one article (or of all, when there is one, or none is given)."""
        return self._lexicons.get(article_id) or self.lexical

    def _absent_share(self, q: Question, article_id: str) -> float:
        """IDF-weighted share of the question's words that other articles use but this one never does.

        "Berapa kementerian ...?" cannot be answered by an article without ministries,
        however close its counting paragraph is in meaning. Always 0 with one article.
        """
        if not self._lexicons or not q.terms:
            return 0.0
        own = self._lexicons[article_id].idf
        weights = {t: self.lexical.weight(t) for t in set(q.terms)}
        absent = sum(w for t, w in weights.items() if t in self.lexical.idf and t not in own)
        return absent / sum(weights.values())

    def named_speaker(self, q: Question) -> Speaker | None:
        """The quoted person the question names, by name or by at least two words of their title."""
        terms = set(q.terms)
        for speaker in self._speakers.values():
            name = set(content_terms(speaker.name))
            if name & terms or len((speaker.terms - name) & terms) >= 2:
                return speaker
        return None

    def _bonus(self, q: Question, key: Key, speaker: Speaker | None) -> float:
        bonus = 0.0
        if speaker is not None and q.kind in SPEECH_KINDS and self._speakers.get(key, None) is not None:
            bonus += SPEAKER_BONUS if self._speakers[key].name == speaker.name else 0.0
        text = self.paragraph(*key).text
        if q.kind == "count":
            if FREQUENCY_TEXT.search(text) if q.frequency else best_count(text, set(q.terms)) is not None:
                bonus += COUNT_BONUS
            elif not has_number(text):
                bonus -= COUNT_BONUS  # "berapa" cannot be answered by a paragraph without a number
        # "Tahun lalu ..." is background: prefer it only when the question asks about the past.
        if PAST.search(text):
            asked = " ".join(q.words)
            bonus += PAST_BONUS if PAST.search(asked) else -PAST_BONUS * (2 if PRESENT.search(asked) else 1)
        if q.kind == "define":
            for abbr, long in self.lexical.abbreviations.items():
                if abbr.lower() in q.terms and f"{long} ({abbr})" in text:
                    bonus += KIND_BONUS
        return bonus

    def _query_vector(self, text: str, known: QueryVector | None, dimension: int) -> np.ndarray:
        """The (1, dimension) vector of `text`: NLU's if it was computed from this text with this model."""
        if known is not None and known.text == text and known.key == self._vector_key \
                and known.vector.shape == (dimension,):
            return known.vector[np.newaxis, :]
        with stage("embed"):
            return self.embedder.embed_queries([text])

    def search(
        self, question: str | Question, k: int = 5, speaker: Speaker | None = None, exclude: tuple[Key, ...] = (),
        only: str = "", known: QueryVector | None = None,
    ) -> list[Hit]:
        """Paragraphs ranked by dense similarity, lexical coverage and the question's kind, best first.

        `only` keeps one article's paragraphs (the reader narrowed the scope); `known` is the NLU's
        vector of the message, used if it was computed from this very text.
        """
        q = question if isinstance(question, Question) else analyse(question)
        index = self.index
        query = self._query_vector(q.text, known, index.vectors.d)
        with stage("faiss"):
            scores, ids = ann_search(index.vectors, query, search_depth(index.vectors))
        best_dense: dict[Key, float] = {}
        sentence_scores: dict[Key, list[tuple[float, Passage]]] = {}
        for score, pid in zip(scores[0], ids[0], strict=True):
            if pid < 0:
                continue
            passage = index.passages[pid]
            key = (passage.article_id, passage.paragraph)
            best_dense[key] = max(best_dense.get(key, -1.0), float(score))
            if passage.kind == "sentence":
                sentence_scores.setdefault(key, []).append((float(score), passage))
        hits = []
        for key, dense in best_dense.items():
            if key in exclude or (only and key[0] != only):
                continue
            lexical = self.lexical.coverage(q.terms, key)
            bonus = self._bonus(q, key, speaker) - ABSENT_WEIGHT * self._absent_share(q, key[0])
            ranked = sorted(sentence_scores.get(key, []), key=lambda sp: -sp[0])
            top = ranked[0][0] if ranked else 0.0
            chosen = sorted((p for s, p in ranked if s >= top - SENTENCE_MARGIN), key=lambda p: p.sentence)
            score = dense + LEXICAL_WEIGHT * lexical + bonus
            hits.append(Hit(key[0], key[1], dense, lexical, bonus, score, tuple(chosen)))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]

    def missing_concept(self, q: Question, hits: list[Hit]) -> str | None:
        """A name or a key noun of the question that the article never uses; None if all are there.

        With several articles, "the article" is the one the best passage is in: a word
        another article uses ("kepala" in a city's story) does not make a question
        about this one answerable.
        """
        lex = self._lexicon_for(hits[0].article_id if hits else "")
        names = lex.unknown_names(q.text)
        if names:
            return ", ".join(names)
        short = q.size <= SHORT_QUESTION
        negated = lex.only_negated(q.text)
        if short and negated:
            return " ".join(negated)
        names = sorted(set(lex.names_in(q.text)))
        if short and len(names) >= 2 and not lex.paragraphs_with_all(names):
            return " dan ".join(names) + " bersamaan"
        if q.focus and short and not lex.knows(q.focus):
            return q.focus
        # A two-word question hinges on its verb: "Kapan Kominfo didirikan?" needs "didirikan" in the text.
        if q.size <= VERB_QUESTION:
            unknown = [v for v in q.verbs if not lex.knows(v)]
            if unknown:
                return " ".join(unknown)
        if q.kind == "define":
            for token in re.findall(r"\b[A-Z]{2,}[A-Za-z]*\b", q.text):
                if token not in lex.abbreviations:
                    return f"kepanjangan {token}"
        return None

    def is_answerable(self, q: Question, hit: Hit) -> bool:
        """Very close meaning alone, or a fair match on a question whose words the article uses."""
        s = self.settings
        return hit.dense >= s.min_dense_score or (
            self._lexicon_for(hit.article_id).known_share(q.terms) >= s.min_known_share
            and hit.dense >= s.min_dense_with_words
        )

    # --- answering -----------------------------------------------------------------------------

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

    def _role_question(self, q: Question, speaker: Speaker | None) -> bool:
        """'Siapa Ismail?', 'apa jabatan Ismail?': asks who the person is, nothing else."""
        if speaker is None or q.kind not in {"who", "what"}:
            return False
        return set(q.terms) - speaker.terms <= ROLE_WORDS

    def _lead(self, q: Question, speaker: Speaker | None, hit: Hit, quote: str) -> str | None:
        """The precise answer inside the quoted text, when the question's kind says what to look for."""
        here = self._speakers.get(hit.key)
        if self._role_question(q, speaker) and speaker is not None:
            title = speaker.mention.replace(speaker.name, "").strip(" ,")
            title = title.replace("’", "'").replace(speaker.name, "").strip(" ,")
            return f"{speaker.name} adalah {title.rstrip('. ')}." if title else None
        if q.kind == "who_said" and speaker is None and here is not None:
            return f"{here.name} ({here.mention})." if here.mention != here.name else f"{here.name}."
        if q.kind == "count":
            span = best_count(quote, set(q.terms))
            if span is not None:
                words = span.text.split()
                if "yang" in words:  # drop a relative clause the question did not ask about
                    cut = words.index("yang")
                    if not set(content_terms(" ".join(words[cut:]))) & set(q.terms):
                        words = words[:cut]
                return " ".join(words)[0].upper() + " ".join(words)[1:] + "."
        if q.kind == "define":
            for abbr, long in self.lexical.abbreviations.items():
                if abbr.lower() in q.terms and long in quote:
                    return f"{abbr} adalah singkatan dari {long}."
        return None

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
        resolved = resolve(question, context)
        # A follow-up ("kalau pemerintah kota?") is about the article the last answer came from.
        followup = resolved.text != question.strip() and context.source in self.articles
        within = context.article or (context.source if followup else "")
        q = analyse(resolved.text)
        speaker = self.named_speaker(q)
        if speaker is None and resolved.wants_more and context.speaker:
            speaker = next((s for s in self._speakers.values() if s.name == context.speaker), None)
        exclude: tuple[Key, ...] = avoid
        if resolved.wants_more and speaker is not None and speaker.name == context.speaker:
            exclude = avoid + tuple(k for k in self._speakers if k[1] in context.paragraphs)
        # A chosen paragraph may rank anywhere, so that search keeps every paragraph.
        hits = self.search(
            q, k=len(self.lexical.terms) if chosen else 5 * len(self.articles), speaker=speaker, exclude=exclude,
            only=within, known=known,
        )
        if chosen is not None:
            hits = [h for h in hits if h.key == chosen or (not chosen[0] and h.paragraph == chosen[1])]
            if hits:
                return self._from_hit(question, resolved.text, q, speaker, hits[0], context)
        if resolved.wants_more and speaker is not None:
            hits = [h for h in hits if self._speakers.get(h.key, speaker).name == speaker.name] or hits
        if self._role_question(q, speaker) and speaker is not None:
            fullest = max((k for k, s in self._speakers.items() if s.name == speaker.name),
                          key=lambda k: len(self._speakers[k].mention))
            hits.sort(key=lambda h: h.key != fullest)

        in_view = within or (context.source if context.source in self.articles else "")
        about = self.articles[in_view or (hits[0].article_id if hits else next(iter(self.articles)))]
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
        missing = self.missing_concept(q, hits)
        if not hits or missing or not self.is_answerable(q, hits[0]):
            return Answer(
                question=question, found=False, text=not_covered(question, missing),
                score=hits[0].score if hits else 0.0,
                resolved=resolved.text, suggestions=self.suggest(exclude=question, article=context.article),
                context=context,
            )
        crossed = self._cross_tabulated(q, hits[0])
        if crossed:
            return Answer(question=question, found=False, text=crossed, score=hits[0].score, resolved=resolved.text,
                          suggestions=self.suggest(exclude=question, article=context.article), context=context)
        only_count = self._only_counted(q, hits[0])
        if only_count:
            text = (f"Artikel ini hanya menyebut jumlahnya ({only_count}), tanpa merinci satu per satu. "
                    "Coba tanyakan hal lain tentang isi artikelnya.")
            return Answer(question=question, found=False, text=text, score=hits[0].score, resolved=resolved.text,
                          suggestions=self.suggest(exclude=question, article=context.article), context=context)
        rival = self._rival_article(q, hits) if not within and not resolved.wants_more else None
        if rival is not None and context.source in (hits[0].article_id, rival.article_id):
            # The conversation is already about one of them: stay there rather than ask.
            hits = sorted(hits, key=lambda h: h.article_id != context.source)
            rival = None
        if rival is not None:
            return self._which_article(question, resolved.text, [hits[0].article_id, rival.article_id], context)
        if self._tied(q, hits) and not resolved.wants_more:
            return self._clarify(question, resolved.text, hits[:2], context)
        return self._from_hit(question, resolved.text, q, speaker, hits[0], context)

    def _rival_article(self, q: Question, hits: list[Hit]) -> Hit | None:
        """The best passage of another article, when it answers about as well as the top one.

        "Siapa yang menerima penghargaan?" fits an article about each award; picking
        one would answer a question the reader may not have asked. A question with
        a word only one of them uses ("WBK", "Sukamaju") is not ambiguous.
        """
        top = hits[0]
        rival = next((h for h in hits[1:] if h.article_id != top.article_id), None)
        if rival is None or top.dense - rival.dense >= ARTICLE_MARGIN or not self.is_answerable(q, rival):
            return None
        mine, theirs = self._vocabularies[top.article_id], self._vocabularies[rival.article_id]
        if any((t in mine) != (t in theirs) for t in q.terms):
            return None
        return rival

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

    def _cross_tabulated(self, q: Question, hit: Hit) -> str | None:
        """'Berapa kementerian yang mendapat WBBM?' against '82 WBBM yang tersebar pada 22 kementerian'.

        The article counts each category on its own; when the counted noun comes
        after the qualifier's own count, it spreads the whole list over ministries
        and never says how many of one are in the other. Parts listed after a
        whole ('763 instansi ... terdiri atas 681 WBK') do answer, so only this
        order is refused. Returns the honest reply, or None.
        """
        if q.kind != "count" or not q.focus:
            return None
        spans = count_spans(self.paragraph(*hit.key).text)
        focus = stem(q.focus)
        wholes = [s for s in spans if s.head == focus]
        for part in (s for s in spans if s.head != focus and s.head in q.terms):
            if any(part.head in content_terms(w.text) for w in wholes):
                return None  # "empat lembaga setingkat menteri" answers "lembaga setingkat menteri"
            for whole in wholes:
                if part.start < whole.start:
                    return (f"Artikel ini tidak merinci berapa {q.focus} untuk {part.text.split()[1]}. "
                            f"Yang disebutkan hanya jumlah masing-masing: {part.text.split(' yang ')[0]} dan "
                            f"{whole.text}.")
        return None

    def _only_counted(self, q: Question, hit: Hit) -> str | None:
        """'Provinsi mana saja?' when the article only says 'tujuh pemerintah provinsi': the count, else None."""
        if not q.listing:
            return None
        text = self.paragraph(*hit.key).text
        wanted = set(content_terms(" ".join(q.listing)))
        for span in count_spans(text):
            if wanted and wanted <= set(content_terms(span.text)):
                return span.text
        return None

    def _tied(self, q: Question, hits: list[Hit]) -> bool:
        """Two different passages score the same: guessing would be a coin toss."""
        if len(hits) < 2 or q.kind in {"count", "define"} or hits[0].score - hits[1].score >= TIE_MARGIN:
            return False
        if not self.is_answerable(q, hits[1]):
            return False
        first, second = self._speakers.get(hits[0].key), self._speakers.get(hits[1].key)
        return not (first is not None and second is not None and first.name == second.name)

    def _clarify(self, question: str, resolved: str, hits: list[Hit], context: Context) -> Answer:
        """Ask which of two passages the reader means, with a button for each."""
        choices = []
        lines = ["Maksud Anda yang mana?"]
        for n, hit in enumerate(hits, 1):
            text = (hit.sentences[0].text if hit.sentences else self.paragraph(*hit.key).text).strip('"“” ')
            words = text.split()
            snippet = " ".join(words[:9]) + ("…" if len(words) > 9 else "")
            lines.append(f"{n}. {snippet} (paragraf {hit.paragraph})")
            payload = f'/choose_passage{{"article": "{hit.article_id}", "paragraph": {hit.paragraph}}}'
            choices.append((snippet, payload))
        return Answer(
            question=question, found=True, text="\n".join(lines), score=hits[0].score, resolved=resolved,
            context=Context(question=resolved, speaker=context.speaker, article=context.article), choices=choices,
        )

    def _from_hit(
        self, question: str, resolved: str, q: Question, speaker: Speaker | None, best: Hit, context: Context
    ) -> Answer:
        """The answer built from one passage: lead, the quoted sentences, citation, new context."""
        para = self.paragraph(best.article_id, best.paragraph)
        if best.sentences:
            lo, hi = whole_quotes(
                para.text, best.sentences[0].start - para.start, best.sentences[-1].end - para.start
            )
        else:
            lo, hi = 0, len(para.text)
        quote = para.text[lo:hi]
        lead = self._lead(q, speaker, best, quote)
        citation = self.citation(best.article_id, best.paragraph)
        here = self._speakers.get(best.key)
        now_speaker = speaker.name if speaker else (here.name if here else "")
        # The paragraphs this speaker has given so far, each once (asking again must not repeat one).
        given = tuple(dict.fromkeys((*context.paragraphs, best.paragraph))) \
            if now_speaker and now_speaker == context.speaker else (best.paragraph,)
        return Answer(
            question=question, found=True, text=compose(lead, quote, citation), lead=lead, quote=quote,
            article_id=best.article_id, paragraph=best.paragraph, start=para.start + lo, end=para.start + hi,
            citation=citation, score=best.score, resolved=resolved,
            suggestions=self.suggest(best.key, exclude=question, article=context.article),
            context=Context(resolved, now_speaker, focus_of(resolved), given, context.article, best.article_id),
        )


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
                fresh = Retriever(_current.settings, _current.embedder)
                try:
                    fresh.warm_up()
                except (IndexNotReady, ArticleParseError, OSError) as exc:
                    logger.warning("Keeping the index at %s; the new one cannot be used: %s", _current.index.path, exc)
                    _refused = target
                else:
                    logger.info("Switched to the index at %s (%d articles)", target, len(fresh.articles))
                    _current = fresh
        return _current

