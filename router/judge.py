"""Cheap, deterministic confidence score for a model's answer, used by the fallback cascade.

The cascade asks a cheap model first and escalates to a stronger one when :func:`judge` scores
the answer below its threshold. The judge therefore runs on every cascaded request and must be
fast, dependency-free and reproducible: it only looks at the text (regular expressions compiled
at import, :mod:`json` parsing and :func:`compile` for Python), and it never executes anything.

Scoring starts at 1.0 and each rule that fires subtracts a fixed penalty and adds a reason:

=====================================================  =======
rule                                                   penalty
=====================================================  =======
empty or whitespace-only answer                        -> 0.0
finish reason ``length`` (truncated)                   0.5
finish reason ``content_filter`` (filtered)            0.7
refusal phrase in the first 300 characters             0.6
uncertainty phrase anywhere (counted once)             0.3
answer < 20 characters for a prompt > 200 characters   0.2
JSON asked for and none parses                         0.5
code asked for, a Python block does not compile        0.4
code asked for, another block has unbalanced brackets  0.3
code asked for, no code in the answer                  0.3
=====================================================  =======
"""

from __future__ import annotations

import ast
import functools
import json
import re
import textwrap
from dataclasses import dataclass

__all__ = ["Verdict", "judge", "wants_code", "wants_json"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judge's view of one answer.

    ``confidence`` is in ``[0.0, 1.0]`` rounded to 2 decimals; ``reasons`` names every rule that
    lowered it, in rule order (empty for a clean answer).
    """

    confidence: float
    reasons: tuple[str, ...]


# Penalties in hundredths: integer sums are exact, where 1.0 - 0.3 in floats is 0.7000000000000001.
_TRUNCATED = 50
_FILTERED = 70
_REFUSAL = 60
_UNCERTAIN = 30
_SHORT = 20
_BAD_JSON = 50
_BAD_PYTHON = 40
_UNBALANCED = 30
_NO_CODE = 30

# Providers normalise their stop reasons to "length"/"content_filter" where they know them; the
# raw names below are what an adapter passes through when it does not (Anthropic, Gemini, the
# OpenAI Responses API), so a truncated or blocked answer is never mistaken for a clean one.
_TRUNCATION_REASONS = frozenset(
    {"length", "max_tokens", "max_output_tokens", "model_context_window_exceeded"}
)
_FILTER_REASONS = frozenset(
    {
        "content_filter",
        "refusal",
        "safety",
        "recitation",
        "prohibited_content",
        "blocklist",
        "spii",
        "image_safety",
    }
)

_REFUSAL_WINDOW = 300
_SHORT_ANSWER = 20
_LONG_PROMPT = 200
# Format requests sit at the start or the end of a prompt; scanning a bounded head and tail keeps
# the cost flat when a long document is pasted in the middle.
_PROMPT_HEAD = 3000
_PROMPT_TAIL = 1500

REFUSAL_PHRASES: tuple[str, ...] = (
    "I'm sorry, but I can't",  # first: at the same position the longest phrase should be quoted
    "I can't help",
    "I cannot help",
    "I can't assist",
    "I'm unable to",
    "I am unable to",
    "I won't be able to",
    "as an AI",
    "I'm not able to",
    "I cannot comply",
)
UNCERTAINTY_PHRASES: tuple[str, ...] = (
    "I'm not sure",
    "I am not sure",
    "I don't know",
    "I do not know",
    "not certain",
    "I might be wrong",
    "I'm not confident",
    "it's unclear",
    "it is unclear",
    "hard to say",
    "cannot be determined",
    "I don't have enough information",
)


def _variants(phrases: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """(lower-cased spelling, index of its phrase): the search table for :func:`_first_phrase`.

    A comma after "sorry" is optional in practice, so each phrase also appears without commas.
    """
    out: dict[str, int] = {}
    for i, phrase in enumerate(phrases):
        for spelling in (phrase.lower(), phrase.lower().replace(",", "")):
            out.setdefault(spelling, i)
    return tuple(out.items())


_REFUSALS = _variants(REFUSAL_PHRASES)
_UNCERTAINTIES = _variants(UNCERTAINTY_PHRASES)


def _first_phrase(text: str, table: tuple[tuple[str, int], ...]) -> int | None:
    """Index of the phrase found earliest in `text` as whole words, or None.

    `text` is lower-cased with straight apostrophes and single spaces. A regex alternation over
    a 2,000-character answer costs ~50-500 µs in CPython's engine; one str.find per spelling
    is a C-speed scan, ~1 µs each, which keeps the judge within its per-request budget.
    """
    best: tuple[int, int] | None = None
    for spelling, index in table:
        pos = text.find(spelling)
        while pos >= 0:
            end = pos + len(spelling)
            # whole words only: "not certain" must not match "not certainly"
            if (pos == 0 or not text[pos - 1].isalnum()) and (
                end == len(text) or not text[end].isalnum()
            ):
                if best is None or (pos, index) < best:
                    best = (pos, index)
                break
            pos = text.find(spelling, pos + 1)
    return None if best is None else best[1]


def _normalise(text: str) -> str:
    """Lower-case, straight apostrophes, single spaces: the form phrases are looked for in."""
    text = text.lower()
    if "\u2019" in text:  # models write curly apostrophes as often as straight ones
        text = text.replace("\u2019", "'")
    # str.replace passes are C-speed; a regex substitution costs ~60 µs on 2,000 characters
    for space in "\n\t\r\f\v\xa0":
        if space in text:
            text = text.replace(space, " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return text


# --- what the prompt asks for (all matched against the lower-cased prompt) -----------------------

_JSON_ADJ = r"(?:(?:single|valid|strict|pure|raw|plain|well-formed|minified|proper)\s+)*"
# "JSON parser", "JSON to a file": JSON as the subject of code, not the format of the answer.
_NOT_FORMAT = r"(?!\s*(?:pars|librar|modul|serial|decod|encod|schema\s+valid|files?\b|to\b|from\b))"
_JSON_REQUEST_RE = re.compile(
    # "format the result as JSON", "respond in valid JSON", "list them in JSON"
    r"\b(?:respond|reply|answer|output|return|give|provide|produce|emit|generate|format|write|"
    r"list|print|send|put|express|encode|structure|present|show|dump|serialize|serialise)\w*\b"
    r"[^.?!\n]{0,60}?\b(?:in|as|into)\s+(?:an?\s+)?" + _JSON_ADJ + r"json\b" + _NOT_FORMAT + "|"
    # "return a JSON object", "respond with JSON", "give me only valid JSON"
    r"\b(?:respond|reply|answer|output|return|give|provide|produce|emit|generate|write|create|"
    r"print|send)\s+(?:me\s+|us\s+|back\s+)?(?:only\s+|just\s+)?(?:with\s+)?(?:an?\s+|the\s+)?"
    + _JSON_ADJ
    + r"json\b"
    + _NOT_FORMAT
    + "|"
    # "in JSON format", "as a JSON object", "JSON-only", "JSON formatted"
    r"\b(?:in|as|using)\s+(?:an?\s+)?" + _JSON_ADJ + r"json\s+(?:format|output|object|array|"
    r"response|reply|structure|mode)\b|\bjson(?:-|\s+)(?:only|formatted)\b|"
    # a bare "JSON format" unless it is the topic ("explain the JSON format")
    r"(?<!the )(?<!about )(?<!is )(?<!of )\bjson\s+format\b|"
    # "follow this JSON schema", "matching the following JSON structure"
    r"\b(?:follow(?:s|ing)?|match(?:es|ing)?|conform(?:s|ing)?\s+to|adher(?:e|es|ing)\s+to)\s+"
    r"(?:this|the|that|following)\s+(?:\w+\s+)?json\b"
)

_LANGUAGES = (
    r"python|javascript|typescript|java|go|golang|rust|c\+\+|c#|ruby|php|kotlin|swift|scala|"
    r"sql|bash|haskell|lua|perl|elixir|julia|dart"
)
_CODE_REQUEST_RE = re.compile(
    # "write a function", "fix this code", "create a React component"; a movie script is prose.
    r"\b(?:write|create|implement|build|generate|give\s+me|show\s+me|provide|fix|refactor|"
    r"rewrite|debug|complete|add|make|code|optimi[sz]e|modify|update|extend)\b[^.?!\n]{0,60}?"
    r"(?:\b(?:functions?|methods?|class(?:es)?|programs?|code|snippets?|modules?|regexp?|"
    r"query|queries|algorithm|unit\s+tests?|endpoints?|cli|one-liner|decorator|components?|"
    r"hooks?|macros?|lambda|struct|parsers?)\b|(?<!movie )(?<!film )(?<!video )(?<!podcast )"
    r"(?<!sales )(?<!youtube )(?<!tv )(?<!play )(?<!radio )\bscripts?\b)|"
    # "port this to Rust", "translate it into TypeScript" ("c++" ends in a non-word character,
    # so the language name is closed by a lookahead rather than \b)
    r"\b(?:convert|translate|port|rewrite)\b[^.?!\n]{0,60}?\b(?:to|into|in)\s+(?:"
    + _LANGUAGES
    + r")(?![\w+#])|"
    # "write a JSON parser in Python"
    r"\b(?:write|create|implement|build)\b[^.?!\n]{0,60}?\b(?:in|using)\s+(?:"
    + _LANGUAGES
    + r")(?![\w+#])|"
    r"\bimplement\b|\bcode\s+(?:up|me)\b|^\W*(?:please\s+)?code\b|"
    r"\b(?:code\s+(?:snippet|sample|example)s?|(?:sample|example)\s+code)\b"
)
_PYTHON_MENTION_RE = re.compile(
    r"\bpython\d?\b|\w\.py\b|\b(?:pandas|numpy|django|flask|fastapi|pytest|asyncio|pydantic)\b"
)

# --- what the answer contains -------------------------------------------------------------------

# A line of code in an unfenced answer: a definition or statement keyword at its start, or a
# line that ends the way C-family statements and blocks do. Checked with str.startswith/endswith
# over the lines, which is several times faster than a MULTILINE regex.
_CODE_LINE_STARTS = (
    "def ", "async def ", "class ", "function ", "function(", "return ", "return;", "import ",
    "from ", "const ", "let ", "var ", "fn ", "func ", "pub ", "public ", "private ",
    "package ", "#include", "SELECT ", "INSERT ", "CREATE ",
)  # fmt: skip
_CODE_LINE_ENDS = (";", "{")
_DOCTEST_RE = re.compile(r"^[ \t]*>>>", re.MULTILINE)
_DOCTEST_LINE_RE = re.compile(r"^[ \t]*(?:>>>|\.\.\.)(?: |$)(.*)$", re.MULTILINE)

_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})
_JSON_TAGS = frozenset({"json", ""})


def _tags(names: str) -> frozenset[str]:
    """A set of fence language tags from a space-separated list."""
    return frozenset(names.split())


# Output, prose and shell blocks are not checked: shell `case` arms close a ")" they never open,
# and a diff or a log need not balance anything.
_UNCHECKED_TAGS = _tags(
    "text txt plaintext plain output console log markdown md diff patch "
    "bash sh shell zsh shell-session csv tsv"
)
# Where "#" starts a comment, "//" (URLs in YAML, regexes in Ruby) does not.
_HASH_COMMENT_TAGS = _tags(
    "ruby rb perl pl r yaml yml toml ini powershell ps1 makefile make dockerfile "
    "elixir ex julia jl nim coffee cmake"
)
_DASH_COMMENT_TAGS = _tags(
    "sql plsql psql postgresql postgres mysql sqlite tsql lua haskell hs elm ada"
)
# Where "'" is a lifetime, a type variable, a prime or a quote, not a string delimiter.
_NO_SQ_STRING_TAGS = _tags(
    "rust rs haskell hs elm ocaml ml fsharp f# fs sml lisp clojure clj scheme racket "
    "elisp vb vbnet vba"
)

_DQ = r'"(?:\\.|[^"\\\n])*"'
_SQ = r"'(?:\\.|[^'\\\n])*'"
_CHAR = r"'(?:\\[^'\n]{1,8}|[^'\\\n])'"
_BT = r"`(?:\\.|[^`\\])*`"
_SLASH = r"//[^\n]*|/\*.*?\*/"
_HASH = r"(?:(?<=\s)|^)#[^\n]*"
_DASH = r"--[^\n]*|/\*.*?\*/"


def _skip_pattern(*parts: str) -> re.Pattern[str]:
    """Strings and comments, whose brackets do not count, as one alternation."""
    return re.compile("|".join(parts), re.DOTALL | re.MULTILINE)


_SKIP_C = _skip_pattern(_DQ, _SQ, _BT, _SLASH)
_SKIP_HASH = _skip_pattern(_DQ, _SQ, _HASH)
_SKIP_DASH = _skip_pattern(_DQ, _SQ, _DASH)
_SKIP_NO_SQ = _skip_pattern(_DQ, _CHAR, _SLASH, r"--[^\n]*")
_BRACKET_RE = re.compile(r"[()\[\]{}]")
_OPENERS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True, slots=True)
class _Fence:
    tag: str
    body: str


def _fences(answer: str) -> list[_Fence]:
    """Every fenced block, with its language tag lower-cased ("" when untagged).

    A fence is ``` or ~~~ (3 or more) at the start of a line; the same fence closes it, on its
    own line or glued to the end of the last code line as models often write it. An unclosed
    fence runs to the end, so a truncated answer's code is checked (and fails) as it stands.
    """
    if "```" not in answer and "~~~" not in answer:
        return []  # the common case, at C speed
    out: list[_Fence] = []
    fence, tag = "", ""  # fence: the opening run while inside a block
    body: list[str] = []
    for line in answer.split("\n"):
        stripped = line.strip()
        if not fence:
            if stripped.startswith(("```", "~~~")):
                info = stripped.lstrip(stripped[0])
                if stripped[0] not in info:  # ```x``` on one line is inline code, not a fence
                    fence = stripped[: len(stripped) - len(info)]
                    words = info.split()
                    tag = words[0].strip("{}.").lower() if words else ""
                    body = []
            continue
        run = len(stripped) - len(stripped.rstrip(fence[0]))  # trailing fence characters
        if run >= len(fence):
            glued = line.rstrip()[:-run]
            if glued.strip():
                body.append(glued)
            out.append(_Fence(tag, "".join(b + "\n" for b in body)))
            fence = ""
        else:
            body.append(line)
    if fence:
        out.append(_Fence(tag, "\n".join(body)))
    return out


def _scan_text(prompt: str) -> str:
    """The lower-cased part of the prompt that format requests are looked for in."""
    if len(prompt) > _PROMPT_HEAD + _PROMPT_TAIL:
        prompt = prompt[:_PROMPT_HEAD] + "\n" + prompt[-_PROMPT_TAIL:]
    return prompt.lower()


# The cascade judges every member's answer to the same prompt: remembering the last prompts'
# format requests makes the prompt-side regex scans (the costly part for long prompts) once per
# request instead of once per answer. lru_cache is thread-safe and the functions are pure.
@functools.lru_cache(maxsize=128)
def wants_json(prompt: str) -> bool:
    """True when the prompt asks for JSON output ("respond in JSON", "return a JSON object")."""
    text = _scan_text(prompt)
    return "json" in text and _JSON_REQUEST_RE.search(text) is not None


@functools.lru_cache(maxsize=128)
def wants_code(prompt: str) -> bool:
    """True when the prompt asks for code ("write a function", "implement", a ``` block)."""
    return "```" in prompt or _CODE_REQUEST_RE.search(_scan_text(prompt)) is not None


@functools.lru_cache(maxsize=128)
def _mentions_python(prompt: str) -> bool:
    return _PYTHON_MENTION_RE.search(_scan_text(prompt)) is not None


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; deep nesting recurses
        return False
    return True


_DECODER = json.JSONDecoder()


def _has_json(answer: str, fences: list[_Fence]) -> bool:
    """The whole answer, a json/untagged fenced block, or the first {...} or [...] span parses."""
    text = answer.strip()
    if _parses(text):
        return True
    if any(f.tag in _JSON_TAGS and _parses(f.body) for f in fences):
        return True
    # raw_decode parses one value from an index and ignores what follows: the "first span".
    starts = sorted(i for i in (text.find("{"), text.find("[")) if i >= 0)
    for start in starts:
        try:
            _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        return True
    return False


def _python_source(body: str) -> str:
    """The code of a block: REPL prompts removed, common indentation removed.

    Answers show interactive sessions (``>>> x = 1``) and excerpts of indented methods; both are
    valid Python once the prompts and the shared indent are gone, and line numbers are kept.
    """
    if _DOCTEST_RE.search(body):
        body = "\n".join(m.group(1) for m in _DOCTEST_LINE_RE.finditer(body))
    return textwrap.dedent(body)


def _compile_error(src: str) -> str | None:
    """Why `src` does not compile, or None. Compile only: nothing is ever executed."""
    try:
        # dont_inherit: this module's `from __future__` flags must not change the verdict;
        # top-level await is allowed because notebook-style snippets use it.
        compile(src, "<answer>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError as e:  # IndentationError and TabError are SyntaxErrors too
        return f"SyntaxError at line {e.lineno}" if e.lineno is not None else "SyntaxError"
    except ValueError as e:  # null bytes in the source (a SyntaxError from 3.12)
        return type(e).__name__
    return None


def _skip_for(tag: str) -> re.Pattern[str]:
    if tag in _HASH_COMMENT_TAGS:
        return _SKIP_HASH
    if tag in _DASH_COMMENT_TAGS and tag not in _NO_SQ_STRING_TAGS:
        return _SKIP_DASH
    if tag in _NO_SQ_STRING_TAGS:
        return _SKIP_NO_SQ
    return _SKIP_C


def _balanced(code: str) -> bool:
    """Each bracket kind is closed as often as it is opened (strings and comments removed).

    Counting is C-speed (~6 µs for 2,000 characters, where a Python loop over the brackets
    costs ~40 µs); it catches what the check is for, a truncated or sloppy block missing a
    closer, and lets crossed nesting such as "([)]" through.
    """
    return (
        code.count("(") == code.count(")")
        and code.count("[") == code.count("]")
        and code.count("{") == code.count("}")
    )


def _bracket_error(code: str) -> str:
    """Where the nesting breaks, for the reason (only run once the fast check has failed)."""
    stack: list[tuple[str, int]] = []
    for m in _BRACKET_RE.finditer(code):
        ch = m.group()
        if ch in "([{":
            stack.append((ch, m.start()))
        elif not stack or stack[-1][0] != _OPENERS[ch]:
            return f"unexpected '{ch}' at line {_line_of(code, m.start())}"
        else:
            stack.pop()
    if not stack:  # unreachable while both checks see the same brackets; never crash the judge
        return "mismatched brackets"
    ch, pos = stack[-1]
    return f"unclosed '{ch}' from line {_line_of(code, pos)}"


def _line_of(text: str, pos: int) -> str:
    return str(text.count("\n", 0, pos) + 1)


def _blank_skipped(m: re.Match[str]) -> str:
    # Keep the newlines of a skipped span so reported line numbers stay those of the block.
    return "\n" * m.group().count("\n")


def _code_penalties(prompt: str, answer: str, fences: list[_Fence]) -> list[tuple[int, str]]:
    """The code rules: Python must compile, other code must balance, and code must be there."""
    if not fences:
        for line in answer.split("\n"):
            if line.lstrip().startswith(_CODE_LINE_STARTS) or line.rstrip().endswith(
                _CODE_LINE_ENDS
            ):
                return []
        return [(_NO_CODE, "no code in the answer")]
    python_untagged = _mentions_python(prompt)
    python_error: str | None = None
    bracket_error: str | None = None
    for fence in fences:
        if fence.tag in _PYTHON_TAGS or (fence.tag == "" and python_untagged):
            if python_error is None:
                python_error = _compile_error(_python_source(fence.body))
        elif fence.tag not in _UNCHECKED_TAGS and bracket_error is None:
            skip = _skip_for(fence.tag)
            if not _balanced(skip.sub("", fence.body)):
                where = _bracket_error(skip.sub(_blank_skipped, fence.body))
                bracket_error = f"unbalanced brackets in {fence.tag or 'untagged'} code: {where}"
    out = []
    if python_error is not None:
        out.append((_BAD_PYTHON, f"code does not compile: {python_error}"))
    if bracket_error is not None:
        out.append((_UNBALANCED, bracket_error))
    return out


def judge(prompt: str, answer: str, finish_reason: str) -> Verdict:
    """Score `answer` to `prompt` from 0.0 (useless) to 1.0 (no warning sign), with reasons.

    Deterministic and side-effect free: the same inputs always give the same verdict. Code in the
    answer is compiled (Python) or bracket-checked (other languages), never run.
    """
    text = answer.strip()
    if not text:
        return Verdict(0.0, ("empty answer",))
    penalties: list[tuple[int, str]] = []
    reason = finish_reason.strip().lower()
    if reason in _TRUNCATION_REASONS:
        penalties.append((_TRUNCATED, f"finish_reason={reason}: truncated"))
    elif reason in _FILTER_REASONS:
        penalties.append((_FILTERED, f"finish_reason={reason}: filtered"))
    # Reasons quote the canonical phrase, so they never depend on the model's casing or quotes.
    normal = _normalise(text)
    found = _first_phrase(normal[:_REFUSAL_WINDOW], _REFUSALS)
    if found is not None:
        penalties.append((_REFUSAL, f"refusal: '{REFUSAL_PHRASES[found]}'"))
    found = _first_phrase(normal, _UNCERTAINTIES)
    if found is not None:
        penalties.append((_UNCERTAIN, f"uncertainty: '{UNCERTAINTY_PHRASES[found]}'"))
    if len(text) < _SHORT_ANSWER and len(prompt.strip()) > _LONG_PROMPT:
        penalties.append(
            (_SHORT, f"short answer: {len(text)} chars for a {len(prompt.strip())}-char prompt")
        )
    json_asked, code_asked = wants_json(prompt), wants_code(prompt)
    if json_asked or code_asked:
        fences = _fences(answer)  # parsed once, only when a format check needs it
        if json_asked and not _has_json(text, fences):
            penalties.append((_BAD_JSON, "invalid JSON"))
        if code_asked:
            penalties.extend(_code_penalties(prompt, answer, fences))
    score = max(0, 100 - sum(p for p, _ in penalties))
    return Verdict(round(score / 100, 2), tuple(r for _, r in penalties))
