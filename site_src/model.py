"""The frozen, pure data model: articles, sources, stories and their analysis. No I/O."""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

# Segment classes, in the order the site presents them.
VERBATIM = "verbatim"
EDITED = "edited"
PARAPHRASED = "paraphrased"
NEW = "new"
BOILERPLATE = "boilerplate"
SEGMENT_CLASSES = (VERBATIM, EDITED, PARAPHRASED, NEW, BOILERPLATE)
REUSE_CLASSES = (VERBATIM, EDITED, PARAPHRASED)  # text taken from another member

# Derivation labels of an article within its story.
ORIGIN = "origin"
WHOLLY_DERIVED = "wholly_derived"
PARTIALLY_DERIVED = "partially_derived"
INDEPENDENT = "independent"
DERIVATION_LABELS = (ORIGIN, WHOLLY_DERIVED, PARTIALLY_DERIVED, INDEPENDENT)

# How a story member renders a quotation.
QUOTE_EXACT = "exact"
QUOTE_ALTERED = "altered"
QUOTE_SHORTENED = "shortened"
QUOTE_MISSING = "missing"
QUOTE_ONLY_HERE = "only_here"


def _pickled_by_fields(cls: type) -> type:
    """Pickle a frozen slotted dataclass as a call with its field values: a C attribute
    getter and the class's own __init__, instead of dataclasses' per-field state loop
    (millions of analysis objects cross between processes and the cache)."""
    read = operator.attrgetter(*(f.name for f in fields(cls)))

    def reduce(self: object) -> tuple:
        """Return how pickle rebuilds this object."""
        return cls, read(self)

    cls.__reduce__ = reduce  # type: ignore[method-assign]
    return cls


@dataclass(frozen=True)
class Source:
    """An outlet: its stable key (slug), display name and optional metadata."""

    key: str
    name: str
    homepage: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class Article:
    """One article of the corpus, parsed and validated from a content file."""

    id: str
    title: str
    source: str  # Source.key
    body: str  # Markdown as written
    text: str  # plain text of the body: offsets in the analysis point into this
    path: str  # path of the content file, relative to the content folder (POSIX)
    published: datetime | None = None  # always timezone-aware when present
    url: str | None = None
    authors: tuple[str, ...] = ()
    story_key: str | None = None
    language: str = "en"
    boilerplate: str = ""


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class DiffOp:
    """One step of a word-level diff: `a` is the counterpart's text, `b` this article's."""

    tag: str  # "equal", "insert", "delete" or "replace"
    a: str
    b: str


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Counterpart:
    """Where a segment's best match lies: an article and character offsets in its text."""

    article_id: str
    start: int
    end: int
    score: float


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Segment:
    """A span of an article's plain text (usually a sentence) with its alignment class."""

    start: int
    end: int
    kind: str  # one of SEGMENT_CLASSES
    counterpart: Counterpart | None = None
    diff: tuple[DiffOp, ...] = ()


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class ArticleAnalysis:
    """How one member of a story relates to the others."""

    article_id: str
    segments: tuple[Segment, ...]
    composition: tuple[tuple[str, float], ...]  # (class, share of words), boilerplate excluded
    label: str  # one of DERIVATION_LABELS
    likely_source: str | None = None  # article id
    source_share: float = 0.0  # share of words taken (verbatim/edited/paraphrased) from it


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class QuoteRendering:
    """How one member renders a quotation."""

    article_id: str
    status: str  # QUOTE_EXACT, QUOTE_ALTERED, QUOTE_SHORTENED, QUOTE_MISSING, QUOTE_ONLY_HERE
    text: str = ""
    start: int = -1
    end: int = -1
    diff: tuple[DiffOp, ...] = ()


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Quotation:
    """A quoted span as first said in the story, its speaker and every member's rendering."""

    text: str
    speaker: str | None
    article_id: str
    start: int
    end: int
    renderings: tuple[QuoteRendering, ...] = ()


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class FigureMention:
    """A number or quantity phrase in one article."""

    article_id: str
    phrase: str
    value: float | None
    start: int
    end: int


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class FigureGroup:
    """Mentions across members that count the same thing, and whether they disagree."""

    subject: str
    mentions: tuple[FigureMention, ...]
    disagree: bool


@dataclass(frozen=True)
class StoryAnalysis:
    """Everything the alignment found for one story."""

    articles: tuple[ArticleAnalysis, ...]
    similarity: tuple[tuple[float, ...], ...] = ()  # rows/cols in Story.member_ids order
    quotations: tuple[Quotation, ...] = ()
    figures: tuple[FigureGroup, ...] = ()

    def for_article(self, article_id: str) -> ArticleAnalysis | None:
        """Return the analysis of one member, or None."""
        for item in self.articles:
            if item.article_id == article_id:
                return item
        return None


@dataclass(frozen=True)
class Story:
    """Articles about the same event; the id derives from the earliest member."""

    id: str
    title: str
    member_ids: tuple[str, ...]  # sorted by chronological_key
    analysis: StoryAnalysis | None = None


@dataclass(frozen=True)
class Problem:
    """One problem found in the corpus: where, what, and how to fix it."""

    path: str
    line: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        """Format as `path:line: message`."""
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Corpus:
    """The loaded corpus: valid articles, outlets and the problems met on the way."""

    articles: tuple[Article, ...]
    sources: tuple[Source, ...]
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Site:
    """The analysed site, ready to render: articles, sources and stories, all sorted."""

    articles: tuple[Article, ...]
    sources: tuple[Source, ...]
    stories: tuple[Story, ...]
    story_of: dict[str, str] = field(default_factory=dict)  # article id -> story id

    def article(self, article_id: str) -> Article:
        """Return the article with this id."""
        return self._articles_by_id()[article_id]

    def source(self, key: str) -> Source:
        """Return the outlet with this key."""
        return self._index("_sources", lambda: {s.key: s for s in self.sources})[key]

    def story(self, story_id: str) -> Story:
        """Return the story with this id."""
        return self._index("_stories", lambda: {s.id: s for s in self.stories})[story_id]

    def _articles_by_id(self) -> dict[str, Article]:
        """Index the articles by id."""
        return self._index("_articles", lambda: {a.id: a for a in self.articles})

    def _index(self, name: str, make: Callable[[], dict]) -> dict:
        """Return a lookup table built once per instance (the instance stays frozen)."""
        cached = self.__dict__.get(name)
        if cached is None:
            cached = make()
            object.__setattr__(self, name, cached)
        return cached


def chronological_key(article: Article) -> tuple[bool, str, str, str]:
    """Order articles by publication (undated last), then by outlet, title and URL, then text.

    Ties on publication time are common (many outlets give a date only). Breaking them first
    by what names the article (hashed, so no outlet is favoured) rather than by its text
    means an edit of the body never reorders a story, so it never changes the story's id.
    File names never take part.
    """
    when = article.published.astimezone(UTC).isoformat() if article.published else ""
    label = "\n".join((article.source, article.title, article.url or ""))
    return (article.published is None, when, _digest(label), _digest(article.text))


def _digest(text: str) -> str:
    """Return the SHA-256 hex digest of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
