r"""Per-prompt analysis: what one prompt says about its sender's intent, in numbers.

``analyse_prompt`` turns the first ``MAX_CHARS`` characters of a prompt into a
``PromptProfile``: fingerprints that link prompts built from one template, the capability
area the prompt exercises, how hard it asks for exposed reasoning, whether it looks like
a benchmark item, and the position it gives itself in a list. No text is kept.

Everything is a pure function of the text (no I/O, clock or randomness) and identical
in every process: nothing depends on Python's salted ``hash()``. Two bounded memos
(frame skeletons of short segments, per-token SimHash spreads) change speed, not
results.

How it works, and why it is fast
--------------------------------
The budget is ~25 us per prompt in CPython, so the hot path does a handful of C-level
passes over the UTF-8 bytes and one pass of Python per *lexicon hit*, never per token:

1. **Masking** (readable form: ``normalise``). Fenced and inline code, URLs, e-mail
   addresses and quoted spans become placeholders (``_code_``, ``_url_``, ``_email_``,
   ``_q_``); each regex runs only when a byte test shows its trigger character. The
   masked-out code and quotes still count as area evidence (``def``, tool names), not in
   fingerprints. Non-ASCII text is lower-cased, its punctuation normalised, and CJK
   ideographs/kana are split into one token each.
2. **Tokens**. One ``bytes.translate`` lower-cases ASCII letters, turns punctuation into
   spaces and marks structure with whitespace bytes that ``split()`` still drops:
   VT ends a segment (line break, ``. ``, ``?``, ``!``, ``:``), FF flags a colon, TAB
   stands for each digit (numbers are masked: they are not tokens). ``split()`` gives
   the word tokens.
3. **Token vectors**. Every lexicon word (``lexicon.py``) maps to one precomputed int:
   16-bit per-area weights, 8-bit counts for the word lists that rules test (reasoning
   verbs and objects, possessives, override verbs, tool nouns, ...), and one bit per
   member of the lists whose words a later stage must name (reasoning trigger words,
   foreign phrase keys, enumeration keywords). One set intersection with the lexicon
   and one ``sum()`` over the hits yield all of it; as tokens are distinct, the bitmap
   bits never carry.
4. **Area** (``AREAS``). Summed per-area weights (strong 2.0, medium 1.0, weak 0.4;
   strong safety words 3.0), plus co-occurrence rules (``ignore`` + ``instructions``,
   ``developer`` + ``mode``, ``no`` + ``restrictions``: safety probing; ``tools`` +
   ``available``: tool use; masked code: coding; digits: math) and script evidence
   (share of non-Latin letters, non-English function words, accented words:
   multilingual). The arg-max wins (ties go to the earlier area); below 0.8 total
   evidence the area is -1. ``area_confidence`` = (top / sum) x top / (top + 2).
5. **Reasoning cue**. Verb x object groups by co-occurrence (``show``/``explain``/
   ``lay out``/``justify``... with ``reasoning``/``derivation``/``rationale``/
   ``thought process``...; a soft object like ``work``/``steps``/``answer`` needs a
   possessive or quantifier: ``your``, ``each``, ``all``), ``walk/talk me through``,
   ``break it down``; special words read with their neighbours (``step by step``, but
   ``step-by-step recipe/guide`` only 0.45; ``one step at a time``, ``stepwise``,
   ``chain of thought``, ``think`` + carefully/through/step/before, ``let's think``,
   ``reason`` + through/about/carefully, ``thought/reasoning process``, ``before
   answering``, ``final answer``, ``rationale``, ``scratchpad``); phrases in a dozen
   other languages. Cue kinds combine by noisy-or. "step function", "stepmother", "the
   first step to open a bakery" score 0; "explain the steps to reset a router" 0.25.
6. **Template fingerprint**. A template is fixed *frame* text around variable *slots*.
   Segments (sentences, lines, colon-ended labels) are classified: *frame* when it is a
   short label (``Review:``), has >= 3 distinct scaffolding words (roles, task verbs,
   document and format nouns: ``you are an expert``, ``solve the following problem
   step by step``, ``summarize``, ``bullet points``, ``json``; ``SCAFFOLD_WORDS``), has
   no content word, or has >= 2 scaffolding words and no more content words than
   that. Words after the first preposition that follows the last scaffolding word are
   an inline slot, not content (``You are an expert in {domain}.``, ``I have a
   question about {topic}.``); long segments are judged by their first 64 bytes. The
   segment after a colon-ended one is always slot (``Translate to French: {text}``).
   The fingerprint hashes the *skeletons* (sorted scaffolding words) of the leading
   frame segments (up to 4, before the first slot) and the trailing ones (up to 2,
   after the last slot; a trailing segment over 100 bytes is taken as slot), plus the
   multiple-choice shape. A short segment that demands reasoning (cue strength >= 0.5:
   "Think step by step.", "Show your full chain of thought.") is frame whatever its
   words, and in a frame with other fixed text it reads as one slot, ``cot``: operators
   vary the demand's wording from prompt to prompt around one frame. A frame that is
   nothing but a demand keeps the demand's words (all but function words). Slot text
   in the middle (the question, the ticket, the document) never reaches the hash, so
   fillers of any length, topic or wording share the fingerprint. When no frame is found, the first
   32 tokens are hashed instead: then only re-sends of the same prompt (numbers,
   quotes and code masked) share it.
   Fingerprints are CRC-32 (high half) and Adler-32 (low half) of that key: 64 bits,
   deterministic, and cheap enough for the budget (``stable_hash64`` is BLAKE2b).
7. **Prefix**: the same 64-bit hash of the first 8 tokens.
8. **Multiple choice**: >= 2 in-order options ``A)``/``(a)``/``A.``/``[A]`` with an
   answer cue (``Answer:`` at the end, "which of the following", "correct option",
   ...), or >= 3 options after a question mark in the stem; a cheap byte test gates it.
9. **Enumeration**: ``Question 17``, ``Problem #42``, ``item 3 of 100``, ``Q17``,
   ``Exercise no. 8``, ``17. ...``/``17) ...``/``[17/100]`` at the start, ``第17题``; in
   the first 300 characters; only looked for when the prompt has digits and either
   starts like a list item or has one of the keywords.
10. **SimHash** did not fit the budget (it costs about a third of a full analysis): the
    profile carries 0 and ``simhash64(text)`` computes it off the per-event path.

Known limits
------------
* Template: a filler whose own first or last sentence reads like an instruction
  ("Explain any window functions you use.") joins the frame and splits the template; a
  template whose slot sits inside a sentence that is mostly content ("Explain why
  {phenomenon}.") has no frame, so only exact re-sends share it; generic frames
  ("can you explain this" + slot) are shared by unrelated senders, so weigh a
  fingerprint by how many distinct accounts use it; templates that differ only in
  content words of the frame ("in the style of Tolkien" vs "of Austen") or in word
  order of the frame are one template here.
* Area: a bag of words. Riddles that read like arithmetic land in math; prompts mixing
  areas get the dominant one with lower confidence; non-English prompts are
  ``multilingual`` whatever their topic; English lexicon only for topics.
* Reasoning: verb x object is co-occurrence in the whole prompt, not a parse, so
  "explain the logic gates of a CPU" scores like "explain your logic".
* Only ``MAX_CHARS`` characters are read; masking is heuristic (a quoted span needs its
  closing quote within 300 characters on one line).
"""

from __future__ import annotations

import re
import struct
from collections import OrderedDict
from dataclasses import dataclass
from hashlib import blake2b
from typing import Final
from zlib import adler32, crc32

from detectors.exceptions import ConfigError
from detectors.lexicon import (
    AREA_INDEX,
    AREA_LEXICON,
    AREAS,
    FOREIGN_FUNCTION_WORDS,
    FOREIGN_REASON_PHRASES,
    FOREIGN_REASON_STEMS,
    FUNCTION_WORDS,
    REASON_ADVERBS,
    REASON_POSSESSIVES,
    REASON_SOFT_OBJECTS,
    REASON_STRONG_OBJECTS,
    REASON_VERBS,
    SCAFFOLD_WORDS,
    THINK_FOLLOWERS,
)

__all__ = [
    "AREAS",
    "MAX_CHARS",
    "ProfileCache",
    "PromptProfile",
    "analyse_prompt",
    "normalise",
    "simhash64",
    "stable_hash64",
]

#: Only this many leading characters of a prompt are analysed.
MAX_CHARS: Final = 2000


@dataclass(frozen=True, slots=True)
class PromptProfile:
    """What one prompt says about its sender's intent, in numbers (no text kept).

    Attributes:
        template: 64-bit fingerprint of the prompt's template (frame text with the
            slots left out); prompts filled from one template usually share it.
        prefix: 64-bit hash of the first 8 word tokens after masking (linkage key).
        simhash: always 0 from ``analyse_prompt``: SimHash does not fit the per-event
            budget; ``simhash64(text)`` computes it where it is needed.
        area: index into ``AREAS`` of the dominant capability area, -1 if none.
        area_confidence: in [0, 1]; 0.0 when ``area`` is -1.
        reasoning: in [0, 1], strength of reasoning-elicitation cues.
        multiple_choice: the prompt is shaped like a multiple-choice benchmark item.
        enumeration: ordinal the prompt gives itself in a list ("Question 17"), else None.
        n_tokens: word tokens (letter runs: numbers are not counted; masked code and
            quotes count their own words; each CJK character counts one).
        order: sortable code of the first three characters of the prompt's slot (its
            first quoted span, else the words after the preposition that follows the
            frame: "explanation of {item}"); 0 if none. Consecutive prompts of one
            template whose codes keep rising walk a sorted list ("abelian group",
            "amortized analysis", ...); three characters keep no prompt text.
        framed: the template fingerprint hashes a frame; False when the prompt has
            none and its first tokens are hashed instead (only re-sends share it).
    """

    template: int
    prefix: int
    simhash: int
    area: int
    area_confidence: float
    reasoning: float
    multiple_choice: bool
    enumeration: int | None
    n_tokens: int
    order: int = 0
    framed: bool = True


def stable_hash64(s: str) -> int:
    """Hash a string to an unsigned 64-bit int, identical in every process and run.

    BLAKE2b with an 8-byte digest over the UTF-8 bytes, read big-endian (lone
    surrogates are encoded with ``surrogatepass`` so that no string raises).
    """
    data = s.encode("utf-8", "surrogatepass")
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "big")


def _b(words: frozenset[str] | set[str] | str) -> frozenset[bytes]:
    """Encode words (a set, or one whitespace-separated string) as a set of bytes."""
    if isinstance(words, str):
        words = set(words.split())
    return frozenset(w.encode() for w in words)


# --- normalise (public, readable form of the masking) -------------------------------------

_SPAN_RE: Final = re.compile(
    r"(?P<code>```.*?(?:```|\Z)|`[^`\n]{1,200}`)"
    r"|(?P<url>(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"']+)"
    r"|(?P<email>\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+)"
    '|(?P<q>"[^"\\n]{1,300}"|\u201c[^\u201d\\n]{1,300}\u201d|\u00ab[^\u00bb\\n]{1,300}\u00bb'
    "|\u201e[^\u201c\u201d\\n]{1,300}[\u201c\u201d]|\u2018[^\u2019\\n]{1,300}\u2019"
    r"|(?<!\w)'[^'\n]{1,300}'(?!\w))",
    re.DOTALL,
)
_NUM_RE: Final = re.compile(r"\d+(?:[.,:/]\d+)*")
_WS_RE: Final = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case and mask a prompt's variable parts; collapse all whitespace to one space.

    Code (fenced or inline) becomes ``<code>``, URLs ``<url>``, e-mail addresses
    ``<email>``, quoted spans ``<q>`` and digit runs (``3``, ``3.14``, ``1,000``,
    ``12:30``) ``<num>``. Only the first ``MAX_CHARS`` characters are used. This is the
    readable form of the masking ``analyse_prompt`` applies internally (which drops
    digits rather than writing ``<num>``, and uses ``_q_``-style placeholders).
    """
    low = _SPAN_RE.sub(lambda m: f" <{m.lastgroup}> ", text[:MAX_CHARS].lower())
    return _WS_RE.sub(" ", _NUM_RE.sub("<num>", low)).strip()


# --- hot-path masking and byte tables ------------------------------------------------------

# Each masking rule runs only when a byte test on the UTF-8 text shows its trigger; each
# pattern starts with a literal so that the regex engine can skip ahead.
_CODE_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("```", re.compile(r"```.*?(?:```|\Z)", re.DOTALL)),
    ("`", re.compile(r"`[^`\n]{1,200}`")),
)
_URL_RE: Final = re.compile(r"(?i)(?:https?|ftp)://[^\s<>\"']+")
_EMAIL_RE: Final = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_DQUOTE_RE: Final = re.compile(r'"[^"\n]{1,300}"')
# An apostrophe between letters ("'Hume's ethics'") does not close a single-quoted span.
_SQUOTE_RE: Final = re.compile(r" '(?:[^'\n]|(?<=\w)'(?=\w)){1,300}'(?!\w)")
_UNICODE_QUOTE_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("\u201c", re.compile("\u201c[^\u201d\\n]{1,300}\u201d")),  # “...”
    ("\u00ab", re.compile("\u00ab[^\u00bb\\n]{1,300}\u00bb")),  # «...»
    ("\u201e", re.compile("\u201e[^\u201c\u201d\\n]{1,300}[\u201c\u201d]")),  # „...“
    ("\u2018", re.compile("\u2018[^\u2019\\n]{1,300}\u2019")),  # single curly quotes
)
_PLACEHOLDERS: Final = frozenset({b"_code_", b"_url_", b"_email_", b"_q_"})

# Non-ASCII punctuation, grouped by UTF-8 lead bytes: sentence marks keep their role,
# the rest become spaces (so that a curly apostrophe splits words like "'").
_UNICODE_PUNCT: Final[tuple[tuple[bytes, tuple[tuple[bytes, bytes], ...]], ...]] = tuple(
    (lead, tuple((ch.encode(), repl) for ch, repl in pairs))
    for lead, pairs in (
        (
            b"\xe2\x80",  # general punctuation: dashes, ellipsis, curly quotes, bullet
            (
                ("\u2014", b" "),
                ("\u2013", b" "),
                ("\u2026", b". "),
                ("\u2019", b" "),
                ("\u2018", b" "),
                ("\u201c", b" "),
                ("\u201d", b" "),
                ("\u2022", b" "),
            ),
        ),
        (b"\xe3\x80", (("\u3002", b". "), ("\u3001", b", "))),  # CJK full stop, comma
        (
            b"\xef\xbc",  # full-width forms
            (
                ("\uff0e", b". "),
                ("\uff1f", b"? "),
                ("\uff01", b"! "),
                ("\uff1a", b": "),
                ("\uff0c", b", "),
                ("\uff1b", b"; "),
            ),
        ),
        (
            b"\xc2",  # Latin-1: inverted marks, guillemets, middle dot, no-break space
            (
                ("\u00bf", b" "),
                ("\u00a1", b" "),
                ("\u00ab", b" "),
                ("\u00bb", b" "),
                ("\u00b7", b" "),
                ("\u00a0", b" "),
            ),
        ),
    )
)

# Bytes that belong to word tokens: ASCII letters, "_", and every byte of a multi-byte
# UTF-8 sequence (so accented and non-Latin letters stay inside their word).
_WORD_BYTES: Final = frozenset(
    set(range(ord("a"), ord("z") + 1)) | {ord("_")} | set(range(0x80, 0x100))
)
# Plain tokenizer (masked spans, phrase lists, simhash64): digits and punctuation are
# spaces, ASCII letters lower-cased.
_TOKEN_TABLE: Final = bytes(
    c + 32 if ord("A") <= c <= ord("Z") else (c if c in _WORD_BYTES else 0x20) for c in range(256)
)
# Hot-path tokenizer: as above, but structure is kept in whitespace bytes that split()
# drops: VT (0x0b) ends a segment (line break, "?", "!"; ". " and ":" are rewritten to
# it first), FF (0x0c) just before it flags a colon, TAB (0x09) replaces each digit.
_SEG_END: Final = b"\x0b"
_COLON_TAIL: Final = b"\x0c"
_DIGIT_MARK: Final = 0x09
_MARK_TABLE: Final = bytes(
    c + 32
    if ord("A") <= c <= ord("Z")
    else c
    if c in _WORD_BYTES or c in (0x0B, 0x0C)
    else _DIGIT_MARK
    if 0x30 <= c <= 0x39
    else 0x0B
    if c in b"?!\n"
    else 0x20
    for c in range(256)
)
_CJK_CHAR_RE: Final = re.compile(rb"[\xe3-\xe9][\x80-\xbf][\x80-\xbf]")
# Lead bytes of letters in non-Latin scripts: Greek..Arabic (2-byte), Indic/Thai and
# Georgian/Ethiopic/Vietnamese (3-byte 0xe0-0xe1), CJK and Hangul (0xe3-0xed).
_SCRIPT_LEADS: Final = bytes([*range(0xCE, 0xDC), 0xE0, 0xE1, *range(0xE3, 0xEE)])
_NOT_SCRIPT_LEADS: Final = bytes(c for c in range(256) if c not in _SCRIPT_LEADS)


def _sub_collect(pattern: re.Pattern[str], placeholder: str, low: str, sink: list[str]) -> str:
    """Replace every match of ``pattern`` by ``placeholder``, appending matches to ``sink``."""

    def repl(m: re.Match[str]) -> str:
        sink.append(m.group())
        return placeholder

    return pattern.sub(repl, low)


def _mask(low: str, data: bytes, sink: list[str]) -> str:
    """Replace code, URLs, e-mails and quoted spans by placeholders; collect their text.

    ``data`` is ``low`` as UTF-8: single-byte membership tests on it (memchr) tell
    cheaply which trigger characters occur at all.
    """
    if 0x60 in data:  # `
        for trigger, pattern in _CODE_RULES:
            if trigger in low:
                low = _sub_collect(pattern, " _code_ ", low, sink)
    if 0x2F in data and "://" in low:
        low = _sub_collect(_URL_RE, " _url_ ", low, sink)
    if 0x40 in data:  # @
        low = _sub_collect(_EMAIL_RE, " _email_ ", low, sink)
    if 0x22 in data:  # "
        low = _sub_collect(_DQUOTE_RE, " _q_ ", low, sink)
    if 0x27 in data and " '" in low:  # a ' quote opens after a space
        low = _sub_collect(_SQUOTE_RE, " _q_ ", low, sink)
    if not data.isascii() and (0xE2 in data or 0xC2 in data):  # curly quotes, guillemets
        for trigger, pattern in _UNICODE_QUOTE_RULES:
            if trigger in low:
                low = _sub_collect(pattern, " _q_ ", low, sink)
    return low


def _words(data: bytes) -> list[bytes]:
    """Split UTF-8 bytes into word tokens (plain tokenizer)."""
    return data.translate(_TOKEN_TABLE).split()


def _mark_segments(data: bytes) -> bytes:
    """Lower-case, mark segment ends, colons and digits, blank out punctuation."""
    if 0x3A in data:  # :
        data = data.replace(b":", b"\x0c\x0b")
    return data.replace(b". ", b" \x0b").translate(_MARK_TABLE)


# --- word lists used by the rules ------------------------------------------------------------

# Scaffolding (template frames) and function words (neutral), see lexicon.py.
_SCAF: Final = _b(SCAFFOLD_WORDS) | _PLACEHOLDERS
_FUNC: Final = _b(FUNCTION_WORDS)
_FRAME_WORDS: Final = _SCAF | _FUNC  # words that are not content
_SLOT_PREPOSITIONS: Final = _b("about in on for regarding concerning of with to")

# Area rules: a rare word that switches a rule on, and its partner words.
_OVERRIDE_VERBS: Final = _b("ignore ignoring disregard forget override bypass circumvent")
_OVERRIDE_OBJECTS: Final = _b(
    """instructions instruction rules guidelines prompt programming restrictions
    policies policy filters safeguards guardrails training"""
)
_NEGATORS: Final = _b("no without zero any")
_LIMIT_WORDS: Final = _b("restrictions filters limits rules censorship boundaries limitations")
_TOOL_NOUNS: Final = _b("tools tool functions apis plugins")
_TOOL_VERBS: Final = _b("access available call invoke use using calls")
_FOREIGN_WORDS: Final = _b(FOREIGN_FUNCTION_WORDS)

# Reasoning cues. Verb x object cues are judged on co-occurrence in the prompt (counts
# from the token vectors); only the special words need their neighbours.
_VERBS: Final = _b(REASON_VERBS)
_CORE_VERBS: Final = _b(
    """show shows showing explain explains explaining justify justifies justifying
    detail detailing outline outlining articulate articulating lay laying spell
    spelling describe describing present presenting trace tracing expose reveal
    verbalize verbalise unpack elaborate elaborating demonstrate demonstrating narrate
    clarify break breaking"""
)
_THROUGH_VERBS: Final = _b("walk walking talk talking take taking guide lead")
_PROCEDURE_NOUNS: Final = _b(
    "guide guides instructions recipe recipes tutorial tutorials directions manual walkthrough"
)
_POSSESSIVES: Final = _b(REASON_POSSESSIVES)
_STRONG_OBJECTS: Final = _b(REASON_STRONG_OBJECTS)
_SOFT_OBJECTS: Final = _b(REASON_SOFT_OBJECTS) | _b("explanation explanations proof")
_SOFT_LOW: Final = _b("steps work process")
_BREAK_VERBS: Final = _b("break breaking lay laying")
_ADVERBS: Final = _b(REASON_ADVERBS)
_THINK_ALL: Final = _b(THINK_FOLLOWERS)
_THINK_STRONG: Final = _THINK_ALL - _b("about first out")
_PROCESS_NOUNS: Final = _b("process trace traces steps chain path")
_REASON_AFTER: Final = _b(
    "through about carefully step out it logically before this things deeply thoroughly"
)
_NOT_VERB_REASON: Final = _b("the a this that main no one")
_ANSWER_WORDS: Final = _b("answering responding replying answer respond reply giving concluding")
_NOUN_CUES: Final[dict[bytes, float]] = {
    b"rationale": 0.5,
    b"justification": 0.5,
    b"workings": 0.5,
    b"scratchpad": 0.5,
    b"derivation": 0.35,
}
_SPECIAL: Final = _b(
    "step steps stepwise chain cot think thinking thought reason reasoning before final"
) | frozenset(_NOUN_CUES)
#: Words without which a segment cannot be a reasoning demand (a cheap gate).
_REASON_TRIGGERS: Final = _VERBS | _STRONG_OBJECTS | _THROUGH_VERBS | _SPECIAL


def _key_phrases(phrases: tuple[str, ...]) -> dict[bytes, tuple[bytes, ...]]:
    """Index phrases by their longest token (searched only when that token occurs)."""
    keyed: dict[bytes, list[bytes]] = {}
    for phrase in phrases:
        data = phrase.encode()
        key = max(_words(_CJK_CHAR_RE.sub(rb" \g<0> ", data)), key=len)
        keyed.setdefault(key, []).append(data)
    return {k: tuple(v) for k, v in keyed.items()}


_FOREIGN_KEYED: Final = _key_phrases(FOREIGN_REASON_PHRASES)
_FOREIGN_KEYS: Final = frozenset(_FOREIGN_KEYED)
_FOREIGN_STEMS: Final = tuple(p.encode() for p in FOREIGN_REASON_STEMS)

# Enumeration keywords ("Question 17", "Problem #42", "Pregunta 4", ...).
_ENUM_KEYWORDS: Final = (
    "question",
    "problem",
    "exercise",
    "item",
    "task",
    "puzzle",
    "challenge",
    "example",
    "sample",
    "query",
    "prompt",
    "entry",
    "case",
    "topic",
    "lesson",
    "chapter",
    "section",
    "unit",
    "part",
    "article",
    "concept",
    "term",
    "tema",
    "thema",
    "sujet",
    "prob",
    "q",
    "pregunta",
    "problema",
    "ejercicio",
    "frage",
    "aufgabe",
    "exercice",
    "domanda",
    "esercizio",
    "quest\u00e3o",
    "questao",
    "\u0432\u043e\u043f\u0440\u043e\u0441",  # вопрос
    "\u0437\u0430\u0434\u0430\u0447\u0430",  # задача
    "\u0437\u0430\u0434\u0430\u043d\u0438\u0435",  # задание
)

# --- token vectors -------------------------------------------------------------------------

# Every lexicon word maps to one int, little-endian byte fields:
#   bytes [0, 34)   16-bit weight per area, in tenths (AREAS order);
#   bytes [34, 57)  8-bit count per rule word list (the _F_* constants are offsets);
#   then bitmaps    one bit per member of a list whose words a stage must name.
# The prompt's lexicon words are distinct, so summing their ints adds the weights,
# counts the list members, and ORs the bitmaps, all in one sum().
_N_AREAS: Final = len(AREAS)
_SCALE: Final = 10  # area weights are summed as integers in tenths
(
    # The first six switch an area rule on (see _area); they are tested as one slice.
    _F_CODE,
    _F_OVERRIDE_VERB,
    _F_LIMIT,
    _F_DEVELOPER,
    _F_TOOL_NOUN,
    _F_FOREIGN_WORD,
    _F_OVERRIDE_OBJECT,
    _F_NEGATOR,
    _F_MODE,
    _F_TOOL_VERB,
    _F_R_VERB,
    _F_R_CORE,
    _F_R_STRONG,
    _F_R_SOFT,
    _F_R_SOFT_LOW,
    _F_R_POSSESSIVE,
    _F_R_ADVERB,
    _F_R_THROUGH_VERB,
    _F_R_THROUGH,
    _F_R_BREAK,
    _F_R_DOWN,
    _F_R_ANSWERING,
    _F_R_ANSWER,
) = range(2 * _N_AREAS, 2 * _N_AREAS + 23)
_COUNTS_BYTES: Final = 2 * _N_AREAS + 23
_TRIGGER_SLICE: Final = slice(_F_CODE, _F_CODE + 6)
_NO_TRIGGER: Final = bytes(6)
_COUNT_SETS: Final[tuple[tuple[int, frozenset[bytes]], ...]] = (
    (_F_CODE, frozenset({b"_code_"})),
    (_F_OVERRIDE_VERB, _OVERRIDE_VERBS),
    (_F_LIMIT, _LIMIT_WORDS),
    (_F_DEVELOPER, frozenset({b"developer"})),
    (_F_TOOL_NOUN, _TOOL_NOUNS),
    (_F_FOREIGN_WORD, _FOREIGN_WORDS),
    (_F_OVERRIDE_OBJECT, _OVERRIDE_OBJECTS),
    (_F_NEGATOR, _NEGATORS),
    (_F_MODE, frozenset({b"mode"})),
    (_F_TOOL_VERB, _TOOL_VERBS),
    (_F_R_VERB, _VERBS),
    (_F_R_CORE, _CORE_VERBS),
    (_F_R_STRONG, _STRONG_OBJECTS),
    (_F_R_SOFT, _SOFT_OBJECTS),
    (_F_R_SOFT_LOW, _SOFT_LOW),
    (_F_R_POSSESSIVE, _POSSESSIVES),
    (_F_R_ADVERB, _ADVERBS),
    (_F_R_THROUGH_VERB, _THROUGH_VERBS),
    (_F_R_THROUGH, frozenset({b"through"})),
    (_F_R_BREAK, _BREAK_VERBS),
    (_F_R_DOWN, _b("down out")),
    (_F_R_ANSWERING, _ANSWER_WORDS),
    (_F_R_ANSWER, frozenset({b"answer"})),
)
_SPECIAL_WORDS: Final = tuple(sorted(_SPECIAL))
_FOREIGN_KEY_WORDS: Final = tuple(sorted(_FOREIGN_KEYS))
_ENUM_WORDS: Final = tuple(sorted(k.encode() for k in _ENUM_KEYWORDS))
_BITMAPS: Final = (_SPECIAL_WORDS, _FOREIGN_KEY_WORDS, _ENUM_WORDS)
_BITMAP_STARTS: Final = tuple(
    _COUNTS_BYTES + sum((len(w) + 7) // 8 for w in _BITMAPS[:i]) for i in range(len(_BITMAPS))
)
_SPECIAL_SLICE, _FOREIGN_SLICE, _ENUM_SLICE = (
    slice(start, start + (len(words) + 7) // 8)
    for start, words in zip(_BITMAP_STARTS, _BITMAPS, strict=True)
)
_VECTOR_BYTES: Final = _ENUM_SLICE.stop
_NO_SPECIAL: Final = bytes(_SPECIAL_SLICE.stop - _SPECIAL_SLICE.start)
_NO_FOREIGN: Final = bytes(_FOREIGN_SLICE.stop - _FOREIGN_SLICE.start)
_NO_ENUM: Final = bytes(_ENUM_SLICE.stop - _ENUM_SLICE.start)


def _build_vectors() -> dict[bytes, int]:
    """Map every lexicon word to its packed vector (see the layout above)."""
    vectors: dict[bytes, int] = {}
    for tok, entries in AREA_LEXICON.items():
        vectors[tok.encode()] = sum(round(w * _SCALE) << (16 * a) for a, w in entries)
    for offset, words in _COUNT_SETS:
        for key in words:
            vectors[key] = vectors.get(key, 0) + (1 << (8 * offset))
    for start, bitmap in zip(_BITMAP_STARTS, _BITMAPS, strict=True):
        for bit, key in enumerate(bitmap):
            vectors[key] = vectors.get(key, 0) + (1 << (8 * start + bit))
    return vectors


_VECTORS: Final = _build_vectors()
_LEXICON_KEYS: Final = frozenset(_VECTORS)


def _decode(bits: int, words: tuple[bytes, ...]) -> list[bytes]:
    """Return the words whose bits are set in a bitmap."""
    out: list[bytes] = []
    while bits:
        low = bits & -bits
        out.append(words[low.bit_length() - 1])
        bits ^= low
    return out


# --- capability area -----------------------------------------------------------------------

_AREA_UNPACK: Final = struct.Struct(f"<{_N_AREAS}H")
_MATH = AREA_INDEX["math"]
_CODING = AREA_INDEX["coding"]
_TOOL = AREA_INDEX["tool_use"]
_MULTI = AREA_INDEX["multilingual"]
_SAFETY = AREA_INDEX["safety_probing"]
_AREA_MIN: Final = 8  # tenths: a weak word or two is not a recognised area
_CONFIDENCE_SATURATION: Final = 20.0  # tenths


def _area(vector: bytes, data: bytes, n_chars: int, n_digits: int) -> tuple[int, float]:
    """Pick the dominant area; return (index into AREAS or -1, confidence).

    ``vector`` is the summed token vector as bytes; ``data`` the masked prompt as UTF-8
    (for script evidence); ``n_chars`` its length in characters.
    """
    scores = list(_AREA_UNPACK.unpack_from(vector))
    foreign = 0
    if vector[_TRIGGER_SLICE] != _NO_TRIGGER:
        if vector[_F_CODE]:
            scores[_CODING] += 30
        if vector[_F_OVERRIDE_VERB] and vector[_F_OVERRIDE_OBJECT]:
            scores[_SAFETY] += 30
        if vector[_F_LIMIT] and vector[_F_NEGATOR]:
            scores[_SAFETY] += 15
        if vector[_F_DEVELOPER] and vector[_F_MODE]:
            scores[_SAFETY] += 20
        if vector[_F_TOOL_NOUN] and vector[_F_TOOL_VERB]:
            scores[_TOOL] += 25
        foreign = vector[_F_FOREIGN_WORD]
    if n_digits >= 3:
        scores[_MATH] += min(2 * n_digits, 16)
    if len(data) != n_chars:  # some non-ASCII text
        n_script = len(data) - len(data.translate(None, _NOT_SCRIPT_LEADS))
        if n_script:
            share = n_script / max(1, n_chars - data.count(0x20))
            scores[_MULTI] += 10 + round(80 * min(share, 1.0))
        foreign += (data.count(0xC3) + data.count(0xC4) + data.count(0xC5)) // 3
    if foreign >= 2:
        scores[_MULTI] += 8 * min(foreign, 10)
    top = max(scores)
    if top < _AREA_MIN:
        return -1, 0.0
    return scores.index(top), (top / sum(scores)) * (top / (top + _CONFIDENCE_SATURATION))


# --- reasoning cue -------------------------------------------------------------------------


def _next_words(spaced: bytes, word: bytes) -> list[tuple[bytes, bytes]]:
    """Return (previous token, next token) around the first two uses of ``word``.

    ``spaced`` is the token text with whitespace between tokens and a space at both
    ends, so that b" word " finds whole tokens only.
    """
    needle = b" " + word + b" "
    out: list[tuple[bytes, bytes]] = []
    i = spaced.find(needle)
    while i >= 0 and len(out) < 2:
        end = i + len(needle)
        nxt = spaced[end : end + 24].split(None, 1)
        prev = spaced[max(0, i - 24) : i].rsplit(None, 1)
        out.append((prev[-1] if prev else b"", nxt[0] if nxt else b""))
        i = spaced.find(needle, end - 1)
    return out


def _special_cue(  # noqa: PLR0911, PLR0912 - one flat dispatch over the cue words
    word: bytes, spaced: bytes, f: bytes
) -> tuple[str, float]:
    """Return the cue kind and weight of one special reasoning word (0.0: no cue)."""
    if word == b"step":
        at = spaced.find(b" step by step")
        if at >= 0:
            # "step-by-step instructions/recipe/guide" asks for a procedure, not reasoning.
            after = spaced[at + 13 : at + 40].split(None, 1)
            return "sbs", 0.45 if after and after[0] in _PROCEDURE_NOUNS else 0.9
        if spaced.find(b" one step at a time") >= 0:
            return "sbs", 0.85
        return ("each_step", 0.5) if f[_F_R_POSSESSIVE] else ("", 0.0)
    if word == b"steps":
        return ("each_step", 0.55) if f[_F_R_POSSESSIVE] else ("", 0.0)
    if word == b"stepwise":
        return "sbs", 0.75
    if word == b"chain":
        if spaced.find(b" chain of thought") >= 0 or spaced.find(b" chain of reasoning") >= 0:
            return "cot", 0.9
        return "", 0.0
    if word == b"cot":
        return "cot", 0.5
    if word in (b"think", b"thinking"):
        best = 0.0
        for _, nxt in _next_words(spaced, word):
            if nxt in _THINK_STRONG:
                best = 0.7
            elif word == b"thinking" and nxt in _PROCESS_NOUNS:
                return "process", 0.8
            elif nxt in _THINK_ALL:
                best = max(best, 0.4)
        if word == b"think" and (
            spaced.find(b" let s think ") >= 0 or spaced.find(b" let us think ") >= 0
        ):
            best = 0.7
        return "think", best
    if word in (b"thought", b"reasoning"):
        for _, nxt in _next_words(spaced, word):
            if nxt in _PROCESS_NOUNS:
                return "process", 0.8
        return ("verb_object", 0.6) if f[_F_R_POSSESSIVE] else ("", 0.0)
    if word == b"reason":
        for prev, nxt in _next_words(spaced, word):
            if nxt in _REASON_AFTER and prev not in _NOT_VERB_REASON:
                return "reason", 0.7
        return "", 0.0
    if word == b"before":
        return ("before", 0.45) if f[_F_R_ANSWERING] else ("", 0.0)
    if word == b"final":
        return ("final", 0.25) if f[_F_R_ANSWER] else ("", 0.0)
    return "noun", _NOUN_CUES.get(word, 0.0)


def _reasoning(  # noqa: PLR0912 - a flat list of independent cue checks
    marked: bytes, vector: bytes, text: bytes, foreign: bool
) -> float:
    """Combine reasoning-elicitation cues into a [0, 1] strength (noisy-or of cue kinds).

    ``marked`` is the token text (tokens separated by whitespace); ``vector`` the summed
    token vector, whose counts and bitmaps say which cue words occur. ``text`` is the
    lower-cased prompt as UTF-8, searched for the non-English phrases whose key token
    occurs, and for word stems when ``foreign`` says it has non-ASCII text.
    """
    f = vector
    cues: dict[str, float] = {}
    if f[_F_R_VERB]:
        core = f[_F_R_CORE]
        if f[_F_R_STRONG]:  # "explain your reasoning", "lay out the derivation"
            cues["verb_object"] = 0.75 if core else 0.65
        elif f[_F_R_SOFT] and f[_F_R_POSSESSIVE]:  # "show your work", "justify each step"
            cues["verb_object"] = 0.55 if core else 0.45
        elif core and f[_F_R_SOFT_LOW]:  # "explain the steps": a procedure, weak
            cues["verb_object"] = 0.25
        if f[_F_R_BREAK] and f[_F_R_DOWN]:  # "break it down", "lay out"
            cues["break_down"] = 0.5
    if f[_F_R_THROUGH_VERB] and f[_F_R_THROUGH]:  # "walk me through", "talk us through"
        spaced = b" " + marked + b" "
        if spaced.find(b" me through ") >= 0 or spaced.find(b" us through ") >= 0:
            cues["through"] = 0.65
        elif spaced.find(b" walk through ") >= 0 or spaced.find(b" talk through ") >= 0:
            cues["through"] = 0.55
    special = f[_SPECIAL_SLICE]
    if special != _NO_SPECIAL:
        spaced = b" " + marked + b" "
        for word in _decode(int.from_bytes(special, "little"), _SPECIAL_WORDS):
            kind, weight = _special_cue(word, spaced, f)
            if weight > cues.get(kind, 0.0):
                cues[kind] = weight
    foreign_keys = f[_FOREIGN_SLICE]
    if foreign_keys != _NO_FOREIGN:
        for key in _decode(int.from_bytes(foreign_keys, "little"), _FOREIGN_KEY_WORDS):
            if any(text.find(phrase) >= 0 for phrase in _FOREIGN_KEYED[key]):
                cues["foreign"] = 0.85
                break
    if foreign and any(text.find(stem) >= 0 for stem in _FOREIGN_STEMS):
        cues["foreign"] = 0.85
    cues.pop("", None)
    if not cues:
        return 0.0
    if f[_F_R_ADVERB]:  # "carefully", "rigorously": only together with another cue
        cues["adverb"] = 0.2
    miss = 1.0
    for weight in cues.values():
        miss *= 1.0 - weight
    return 1.0 - miss


# --- template fingerprint ------------------------------------------------------------------

_HEAD_SEGMENTS: Final = 4
_TAIL_SEGMENTS: Final = 2
_FALLBACK_TOKENS: Final = 32
_FALLBACK: Final = b"0|"  # opens the key of a prompt without a frame
_FRAME_SCAFFOLD: Final = 3  # this many distinct scaffolding words make a segment frame
_LABEL_TOKENS: Final = 4  # a colon-ended segment with this few words is a label
_OPTION_LETTERS: Final = _b("a b c d e f g h")
_SEGMENT_BYTES: Final = 100  # longer segments: judged on their opening; slot at the tail
_LONG_SEGMENT_BYTES: Final = 64
_COT_FLAG: Final = b"\x01"  # skeleton prefix of a reasoning demand (never in marked text)
_COT_STRENGTH: Final = 0.5  # a short segment asking this hard for reasoning is a demand
_COT_SLOT: Final = b"cot"  # what a demand reads as within a frame of other fixed text
_SKELETON_CACHE: dict[bytes, bytes | None] = {}
_SKELETON_CACHE_MAX: Final = 1 << 14
_MISS: Final = b"\xff"  # cache sentinel (compared by identity; never a skeleton)


def _classify(seg: bytes, options: bool) -> bytes | None:
    """Classify one marked segment: its frame skeleton, b"" if it has no words, or None.

    A segment is frame when it is a short label ending in a colon ("Review:"), has at
    least ``_FRAME_SCAFFOLD`` distinct scaffolding words, has no content word, or has
    at least two scaffolding words and no more distinct content words than that
    (function words are neutral). Words after the first preposition that follows the
    last scaffolding word are an inline slot and do not count ("You are an expert in
    {domain}.", "I have a question about {topic}."). When ``options`` says the
    prompt may list lettered options, a segment opening with a lone letter ("B) 42")
    is slot. A segment over ``_SEGMENT_BYTES`` is judged by its first
    ``_LONG_SEGMENT_BYTES`` (to a word boundary). The skeleton is the sorted set of
    scaffolding words, plus " :" when the segment ended with a colon.
    """
    colon = seg.endswith(_COLON_TAIL)
    if len(seg) > _SEGMENT_BYTES:
        cut = seg.rfind(b" ", 0, _LONG_SEGMENT_BYTES)
        seg = seg[: cut if cut > 0 else _LONG_SEGMENT_BYTES]
    words = seg.split()
    if not words:
        return b""
    if options and words[0] in _OPTION_LETTERS:
        return None
    scaf = _SCAF.intersection(words)
    if len(scaf) < _FRAME_SCAFFOLD and not (colon and len(words) <= _LABEL_TOKENS):
        content = set(words).difference(_FRAME_WORDS)
        if content:
            if not scaf:
                return None
            # An inline slot: the words after the first preposition that follows the
            # last scaffolding word ("an expert in {tax law for small businesses}").
            rev = words[::-1]
            after = words[len(words) - min(map(rev.index, scaf)) :]
            preps = _SLOT_PREPOSITIONS.intersection(after[:-1])
            if preps:
                content.difference_update(after[min(map(after.index, preps)) + 1 :])
            if content and (len(scaf) < 2 or len(content) > len(scaf)):
                return None
    if colon:
        return b" ".join(sorted(scaf)) + b" :"
    return b" ".join(sorted(scaf)) or b"-"


def _demand(seg: bytes, options: bool) -> bytes | None:
    """Return the flagged skeleton of a short segment that demands reasoning, else None.

    A demand ("Think step by step.", "Show your full chain of thought.") is frame
    whatever its words; its skeleton (its words less function words, so that a
    person's "check my essay for typos step by step" stays theirs) carries
    ``_COT_FLAG`` so that ``_template_key`` can read it as one slot when the frame has
    other fixed text.
    """
    words = seg.split()
    if (
        len(seg) > _SEGMENT_BYTES
        or _REASON_TRIGGERS.isdisjoint(words)
        or (options and words[0] in _OPTION_LETTERS)
    ):
        return None
    hits = _LEXICON_KEYS.intersection(words)
    vector = sum(map(_VECTORS.__getitem__, hits)).to_bytes(_VECTOR_BYTES, "little")
    if _reasoning(seg, vector, seg, False) < _COT_STRENGTH:
        return None
    wording = b" ".join(sorted(set(words).difference(_FUNC)))
    return _COT_FLAG + wording + (b" :" if seg.endswith(_COLON_TAIL) else b"")


def _skeleton(seg: bytes, options: bool) -> bytes | None:
    """Classify a segment on a ``_SKELETON_CACHE`` miss, memoising short segments.

    Template frames are short and recur; the verdict is not memoised when ``options``
    (lettered options) can change it.
    """
    skel = _demand(seg, options)
    if skel is None:
        skel = _classify(seg, options)
    if not options and len(seg) <= _SEGMENT_BYTES:
        if len(_SKELETON_CACHE) >= _SKELETON_CACHE_MAX:
            _SKELETON_CACHE.clear()
        _SKELETON_CACHE[seg] = skel
    return skel


def _template_key(marked: bytes, tokens: list[bytes], options: bool) -> bytes:
    """Build the bytes that the template fingerprint hashes (see the module docstring).

    Segments are split off the two ends of ``marked`` only as far as needed; byte
    offsets keep the tail scan out of the segment that ended the head scan.
    """
    cache = _SKELETON_CACHE
    head: list[bytes] = []
    parts = marked.split(_SEG_END, _HEAD_SEGMENTS)
    pos = 0  # offset of the current segment
    stop = -1  # offset of the last byte the head scan claimed
    forced = False  # the previous segment ended with a colon: this one is slot
    for seg in parts[:_HEAD_SEGMENTS]:
        skel = None if forced else _MISS if options else cache.get(seg, _MISS)
        if skel is _MISS:
            skel = _skeleton(seg, options)
        if skel is None:
            stop = pos + len(seg)
            break
        if skel:
            head.append(skel)
            forced = seg.endswith(_COLON_TAIL)
        pos += len(seg) + 1
    else:
        if len(parts) <= _HEAD_SEGMENTS:  # every segment is frame
            return _frame_key(head, [])
        stop = pos - 1
    tail: list[bytes] = []
    parts = marked.rsplit(_SEG_END, _TAIL_SEGMENTS)
    end = len(marked)
    for back in range(len(parts) - 1, 0, -1):
        seg = parts[back]
        start = end - len(seg)
        if (
            start <= stop
            or len(seg) > _SEGMENT_BYTES  # closing instructions are short: this is slot
            or parts[back - 1].endswith(_COLON_TAIL)
        ):
            break
        skel = _MISS if options else cache.get(seg, _MISS)
        if skel is _MISS:
            skel = _skeleton(seg, options)
        if skel is None:
            break
        if skel:
            tail.append(skel)
        end = start - 1
    if not head and not tail:
        return _FALLBACK + b" ".join(tokens[:_FALLBACK_TOKENS])
    tail.reverse()
    return _frame_key(head, tail)


def _frame_key(head: list[bytes], tail: list[bytes]) -> bytes:
    """Join the leading and trailing frame skeletons into the key, demands read as slots."""
    key = b" | ".join(head) + b" || " + b" | ".join(tail)
    return _demands_as_slots(key, head, tail) if _COT_FLAG in key else key


def _demands_as_slots(key: bytes, head: list[bytes], tail: list[bytes]) -> bytes:
    """Read the reasoning demands of a frame as one slot when it has other fixed text.

    Operators vary the wording of the demand from prompt to prompt ("Think step by
    step." / "Show your full chain of thought.") around one fixed frame; the frame is
    the template. A frame that is nothing but a demand keeps its wording: then the
    wording is all the template there is.
    """
    if all(part.startswith(_COT_FLAG) for part in head + tail):
        return key.replace(_COT_FLAG, b"")

    def slot(part: bytes) -> bytes:
        if not part.startswith(_COT_FLAG):
            return part
        return _COT_SLOT + b" :" if part.endswith(b" :") else _COT_SLOT

    return b" | ".join(map(slot, head)) + b" || " + b" | ".join(map(slot, tail))


# --- multiple choice and enumeration -------------------------------------------------------

_OPT_LINE_RE: Final = re.compile(r"(?m)^[ \t]*(?:option[ \t]+)?[(\[]?([a-h])[).\]:][ \t]+\S")
_OPT_INLINE_RE: Final = re.compile(r"(?:^|\s)[(\[]?([a-h])[)\]][ \t]*\S")
_MC_CUE_RE: Final = re.compile(
    r"\banswer\s*:?\s*$|\b(?:options?|choices?|answers?)\s*:"
    r"|\b(?:which of the following|which one of the following"
    r"|correct (?:answer|option|choice|letter|response)|best (?:answer|option|choice)"
    r"|choose (?:the|one|from)|select (?:the|one)|pick (?:the|one)|the letter"
    r"|answer choices?|respond with (?:only )?(?:the|a|one)|multiple[- ]choice"
    r"|answer with)\b"
)


def _may_have_options(data: bytes) -> bool:
    r"""Cheaply test whether the prompt could list lettered options ("B)", "(b)", "\nB.")."""
    if 0x29 in data and (data.find(b"B)") >= 0 or data.find(b"b)") >= 0):  # )
        return True
    if 0x0A not in data:  # newline
        return False
    for line_b in (b"\nB", b"\nb"):
        at = data.find(line_b)
        if at >= 0 and data[at + 2 : at + 3] in (b".", b":", b"]"):
            return True
    return False


def _multiple_choice(low: str) -> tuple[bool, int]:
    """Detect a multiple-choice item in lower-cased text; return (is_mc, n in-order options).

    Call only when ``_may_have_options`` is true (it is the cheap gate).
    """
    matches = list(_OPT_LINE_RE.finditer(low))
    if len(matches) < 2:
        matches = list(_OPT_INLINE_RE.finditer(low))
    expect = ord("a")
    first = 0
    for m in matches:
        if ord(m.group(1)) == expect:
            if expect == ord("a"):
                first = m.start()
            expect += 1
    n_opts = expect - ord("a")
    if n_opts < 2:
        return False, n_opts
    if _MC_CUE_RE.search(low):
        return True, n_opts
    return n_opts >= 3 and "?" in low[:first], n_opts


_ENUM_SPAN: Final = 300
_ENUM_LEAD_RE: Final = re.compile(
    r"\s*(?:#\s*([0-9]{1,7})(?![0-9])"  # "#3", "# 12"
    r"|[\[(]?\s*([0-9]{1,7})\s*(?:/|of)\s*[0-9]{1,7}\s*[\])]?(?=\s)"  # "[12/250]", "3 of 100"
    r"|[\[(]?\s*([0-9]{1,7})\s*(?:[.):\]]|\s-)\s)"  # "17. ", "17) ", "(4) ", "5 - "
)
_ENUM_AFTER_RE: Final = re.compile(
    "\\s*(?:#|no\\.?|nr\\.?|num(?:ber)?\\.?|\u2116)?\\s*([0-9]{1,7})(?![0-9])"  # \u2116: №
)
_ENUM_CJK_RE: Final = re.compile(
    "\u7b2c\\s*([0-9]{1,7})\\s*[\u9898\u984c\u95ee\u554f\u9053\u4e2a]"  # 第 N 题/題/问/問/道/个
    "|\u95ee\u9898\\s*([0-9]{1,7})|\u554f\u984c\\s*([0-9]{1,7})"  # 问题 N, 問題 N
)
_LEAD_ENUM_CHARS: Final = frozenset("#[(0123456789")


def _enumeration(head: str, keyword_bits: int) -> int | None:
    """Return the list position a prompt gives itself ("Question 17" -> 17), else None.

    ``head`` is the lower-cased start of the prompt (``_ENUM_SPAN`` characters);
    ``keyword_bits`` the bitmap of the ``_ENUM_KEYWORDS`` among its tokens. Call only
    when the prompt has digits and either starts like a list item or has a keyword.
    """
    m = _ENUM_LEAD_RE.match(head)
    if m:
        return int(next(g for g in m.groups() if g is not None))
    best: tuple[int, int] | None = None
    for key in _decode(keyword_bits, _ENUM_WORDS):
        word = key.decode()
        at = head.find(word)
        while at >= 0:
            end = at + len(word)
            if (at == 0 or not head[at - 1].isalnum()) and (
                end == len(head) or not head[end].isalpha()
            ):
                m = _ENUM_AFTER_RE.match(head, end)
                if m and (best is None or at < best[0]):
                    best = (at, int(m.group(1)))
                    break
            at = head.find(word, end)
    if best is not None:
        return best[1]
    if not head.isascii():
        m = _ENUM_CJK_RE.search(head)
        if m:
            return int(next(g for g in m.groups() if g is not None))
    return None


_QUOTE_OPENERS: Final = frozenset("\"'\u201c\u00ab\u201e\u2018")
_ORDER_CHARS: Final = 3
_ORDER_SCAN: Final = 24  # tokens searched for the frame's last scaffolding word


def _order_code(text: str) -> int:
    """Pack the first ``_ORDER_CHARS`` characters of ``text``, lower-cased, into an int.

    Codes compare like the strings do (a shorter text sorts first); "" gives 0.
    """
    code = 0
    chars = text[:_ORDER_CHARS].lower()
    for ch in chars:
        code = code << 16 | min(ord(ch), 0xFFFF)
    return code << 16 * (_ORDER_CHARS - len(chars))


def _order(tokens: list[bytes], sink: list[str]) -> int:
    """Return the sortable code of a prompt's slot (see ``PromptProfile.order``), else 0.

    The slot is the first quoted span; without one, the two words after the first
    slot preposition that follows the last scaffolding word with one after it, among
    the first ``_ORDER_SCAN`` tokens ("give an in-depth explanation of {bloom
    filters}": "in" follows no scaffolding word, "of" follows "explanation").
    """
    for span in sink:
        body = span.lstrip()
        if body[:1] in _QUOTE_OPENERS:
            return _order_code(body[1:].lstrip())
    head = tokens[:_ORDER_SCAN]
    slot = -1
    pending = False  # a scaffolding word seen since the last slot preposition
    for i, token in enumerate(head):
        if token in _SCAF:
            pending = True
        elif pending and token in _SLOT_PREPOSITIONS:
            slot = i + 1
            pending = False
    if slot < 0 or slot >= len(head):
        return 0
    return _order_code(b" ".join(head[slot : slot + 2]).decode("utf-8", "replace"))


# --- SimHash (off the hot path) ------------------------------------------------------------

# A token's 64 hash bits are "spread" into 64 8-bit fields of one 512-bit int (bit i of
# the hash -> field i); summing spreads counts, per bit, how many tokens have it set.
_BYTE_SPREAD: Final = tuple(
    int.from_bytes(bytes((b >> k) & 1 for k in range(7, -1, -1)), "big") for b in range(256)
)
_ONES8: Final = int.from_bytes(b"\x01" * 64, "big")
_ONES16: Final = int.from_bytes(b"\x00\x01" * 64, "big")
_MAX8: Final = 255  # 8-bit fields hold counts and bias for up to this many tokens
# c_i + 128 - ceil(n/2) stays in [0, 255] for n <= 255 and has its top bit set exactly
# when 2*c_i >= n, i.e. when bit i wins the majority vote.
_BIAS8: Final = tuple((128 - (n + 1) // 2) * _ONES8 for n in range(_MAX8 + 1))
_TOP_BIT_TO_CHAR: Final = bytes(0x31 if b & 0x80 else 0x30 for b in range(256))
_SPREAD_CACHE: dict[bytes, int] = {}
_SPREAD_CACHE_MAX: Final = 1 << 16


def _spread(token: bytes) -> int:
    """Spread a token's 64 hash bits into 64 8-bit fields of one int (bit i -> field i)."""
    spread = 0
    for byte in blake2b(token, digest_size=8).digest():
        spread = (spread << 64) | _BYTE_SPREAD[byte]
    return spread


def _simhash(tokset: set[bytes]) -> int:
    """Compute the 64-bit SimHash of a token set with one int sum of memoised spreads."""
    n = len(tokset)
    if n == 0:
        return 0
    cache = _SPREAD_CACHE
    try:
        total = sum(map(cache.__getitem__, tokset))
    except KeyError:
        if len(cache) >= _SPREAD_CACHE_MAX:
            cache.clear()
        for tok in tokset:
            if tok not in cache:
                cache[tok] = _spread(tok)
        total = sum(map(cache.__getitem__, tokset))
    if n <= _MAX8:
        return int((total + _BIAS8[n]).to_bytes(64, "big").translate(_TOP_BIT_TO_CHAR), 2)
    # More tokens than 8-bit fields can count: add the spreads in chunks widened to 16.
    spreads = list(map(cache.__getitem__, tokset))
    wide = 0
    buf = bytearray(128)
    for start in range(0, n, _MAX8):
        buf[1::2] = sum(spreads[start : start + _MAX8]).to_bytes(64, "big")
        wide += int.from_bytes(buf, "big")
    wide += ((1 << 15) - (n + 1) // 2) * _ONES16
    return int(wide.to_bytes(128, "big")[0::2].translate(_TOP_BIT_TO_CHAR), 2)


def simhash64(text: str) -> int:
    """Return the 64-bit SimHash of a prompt's normalised word tokens (0 if it has none).

    Charikar SimHash over the set of distinct word tokens of ``normalise(text)``
    (unweighted; CJK characters count one token each). Near duplicates differ in few
    bits: one changed word among ~50 distinct ones moves about 3 (90th percentile 6),
    unrelated prompts differ in about 28 of 64. It costs about a third of
    ``analyse_prompt`` again, which is why ``PromptProfile.simhash`` is left 0: call it
    off the per-event path (sampled events, or the prompts behind an alert).
    """
    data = normalise(text).encode("utf-8", "surrogatepass")
    if not data.isascii():
        data = _CJK_CHAR_RE.sub(rb" \g<0> ", data)
    return _simhash(set(_words(data)))


# --- public entry point --------------------------------------------------------------------

_PREFIX_TOKENS: Final = 8
# A frozen dataclass's generated __init__ sets each field through object.__setattr__,
# which costs more than a microsecond per event; analyse_prompt fills the slots through
# their descriptors instead. The result equals PromptProfile(...) (tested).
_NEW_PROFILE: Final = PromptProfile.__new__
(
    _SET_TEMPLATE,
    _SET_PREFIX,
    _SET_SIMHASH,
    _SET_AREA,
    _SET_CONFIDENCE,
    _SET_REASONING,
    _SET_MC,
    _SET_ENUMERATION,
    _SET_N_TOKENS,
    _SET_ORDER,
    _SET_FRAMED,
) = (
    PromptProfile.__dict__[name].__set__
    for name in (
        "template",
        "prefix",
        "simhash",
        "area",
        "area_confidence",
        "reasoning",
        "multiple_choice",
        "enumeration",
        "n_tokens",
        "order",
        "framed",
    )
)


def analyse_prompt(text: str) -> PromptProfile:  # noqa: PLR0915 - one flat hot path, inlined for speed
    """Analyse the first ``MAX_CHARS`` characters of one prompt into a ``PromptProfile``.

    Never raises on any ``str`` (empty, whitespace only, odd Unicode, lone surrogates).
    """
    low = text[:MAX_CHARS]
    ascii_only = low.isascii()
    if not ascii_only:  # ASCII letters are lower-cased by the byte tables
        low = low.lower()
    n_chars = len(low)
    data = low.encode("utf-8", "surrogatepass")
    sink: list[str] = []
    masked = _mask(low, data, sink)
    if sink:
        data = masked.encode("utf-8", "surrogatepass")
        n_chars = len(masked)
    text_bytes = data
    if not ascii_only:
        for lead, pairs in _UNICODE_PUNCT:
            if data.find(lead) >= 0:
                for ch, repl in pairs:
                    if data.find(ch) >= 0:
                        data = data.replace(ch, repl)
        text_bytes = data
        if _CJK_CHAR_RE.search(data):
            data = _CJK_CHAR_RE.sub(rb" \g<0> ", data)
    marked = _mark_segments(data)
    tokens = marked.split()
    n_tokens = len(tokens)
    n_digits = marked.count(_DIGIT_MARK) if _DIGIT_MARK in marked else 0
    hits = _LEXICON_KEYS.intersection(tokens)
    if sink:  # masked code and quotes still count as area evidence
        extra = _words(" ".join(sink).encode("utf-8", "surrogatepass"))
        n_tokens += len(extra) - len(sink)
        hits = hits | _LEXICON_KEYS.intersection(extra)
    vector = sum(map(_VECTORS.__getitem__, hits)).to_bytes(_VECTOR_BYTES, "little")
    area, confidence = _area(vector, data, n_chars, n_digits)
    options = _may_have_options(data)
    is_mc, n_opts = _multiple_choice(low.lower()) if options else (False, 0)
    key = _template_key(marked, tokens, options)
    if is_mc:
        key += b"|mc%d" % n_opts
    enumeration = None
    if n_digits:
        keywords = vector[_ENUM_SLICE]
        if (
            keywords != _NO_ENUM
            or low[:8].lstrip()[:1] in _LEAD_ENUM_CHARS
            or not ascii_only  # CJK ordinals ("第12题")
        ):
            enumeration = _enumeration(low[:_ENUM_SPAN].lower(), int.from_bytes(keywords, "little"))
    profile = _NEW_PROFILE(PromptProfile)
    # Fingerprints: CRC-32 in the high half, Adler-32 in the low (cheap, deterministic).
    _SET_TEMPLATE(profile, crc32(key) << 32 | adler32(key))
    prefix = b" ".join(tokens[:_PREFIX_TOKENS])
    _SET_PREFIX(profile, crc32(prefix) << 32 | adler32(prefix))
    _SET_SIMHASH(profile, 0)  # see simhash64()
    _SET_AREA(profile, area)
    _SET_CONFIDENCE(profile, confidence)
    _SET_REASONING(
        profile,
        _reasoning(marked, vector, marked if ascii_only else text_bytes, not ascii_only),
    )
    _SET_MC(profile, is_mc)
    _SET_ENUMERATION(profile, enumeration)
    _SET_N_TOKENS(profile, n_tokens)
    _SET_ORDER(profile, _order(tokens, sink))
    _SET_FRAMED(profile, not key.startswith(_FALLBACK))
    return profile


class ProfileCache:
    """A bounded LRU of ``analyse_prompt`` results, keyed by the analysed text.

    The same prompt text comes back often (CI loops, retries, evaluation suites, batch
    jobs): about a quarter of the simulator's prompts repeat one of the last 4,096.
    Profiles are immutable, so a hit returns the very object analysed before. The key is
    the prompt's first ``MAX_CHARS`` characters, all that ``analyse_prompt`` reads.
    ``size=0`` turns the cache off.
    """

    __slots__ = ("_cache", "hits", "size")

    def __init__(self, size: int = 4096) -> None:
        if size < 0:
            raise ConfigError("ProfileCache size must be >= 0")
        self.size = size
        self.hits = 0
        self._cache: OrderedDict[str, PromptProfile] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cache)

    def analyse(self, text: str) -> PromptProfile:
        """Return ``analyse_prompt(text)``, from the cache when the text was seen lately."""
        if not self.size:
            return analyse_prompt(text)
        key = text[:MAX_CHARS]  # the very object when shorter (CPython)
        cache = self._cache
        profile = cache.get(key)
        if profile is not None:
            cache.move_to_end(key)
            self.hits += 1
            return profile
        profile = cache[key] = analyse_prompt(key)
        if len(cache) > self.size:
            cache.popitem(last=False)
        return profile
