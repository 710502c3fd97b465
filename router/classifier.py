"""Deterministic, dependency-free task classifier used by the router on every request.

The classifier maps a prompt to one of :data:`CATEGORIES` and one of :data:`COMPLEXITIES`
using weighted keyword matches. All keywords are compiled at import time into a single
trie-shaped regular expression, so one ``findall`` over the (lower-cased) prompt finds every
signal in a single linear pass. Long prompts are only scanned at a bounded head and tail so
the cost stays flat for pasted documents, while the token estimate still uses the full text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CATEGORIES",
    "COMPLEXITIES",
    "Classification",
    "classify",
    "estimate_tokens",
]

CATEGORIES: tuple[str, ...] = (
    "simple_quick",
    "general_development",
    "coding_implementation",
    "analysis_research",
    "creative_content",
    "complex_reasoning",
    "specialized",
)
COMPLEXITIES: tuple[str, ...] = ("basic", "intermediate", "advanced", "expert")
# Visual content goes to image models (priced per image), outside the seven text categories.
IMAGE_CATEGORY = "image_generation"
# "generate/create/draw/... an image/picture/illustration/logo/..." near the start of the prompt
_IMAGE_REQUEST = re.compile(
    r"^\W*(?:please\s+)?(?:generate|create|draw|paint|render|design|make|produce|sketch)\b"
    r"[^.?!\n]{0,40}?\b(?:image|images|picture|pictures|illustration|illustrations|drawing|"
    r"logo|icon|photo|photograph|poster|painting|artwork|sketch)\b(?!-)",
    re.IGNORECASE,
)

_SIMPLE, _GENERAL, _CODING, _ANALYSIS, _CREATIVE, _REASONING, _SPECIALIZED = range(7)
# Pseudo-category for vocabulary shared by general_development and coding_implementation.
_TECH = -1

# Beyond this many characters only the head and tail are scanned; the limits keep the
# per-request cost bounded while still catching an instruction placed before or after a
# pasted document.
_HEAD_CHARS = 2_000
_TAIL_CHARS = 600
_LONG_CHARS = _HEAD_CHARS + _TAIL_CHARS

# A prompt this long is almost always "here is a document, do something with it".
_DOCUMENT_TOKENS = 2_000
_DOCUMENT_BOOST = 4.0

# Ties go to the more demanding category (higher rank wins): routing slightly up costs
# money, routing down costs quality, and the latter is the worse failure for a router.
_TIE_RANK: tuple[int, ...] = (0, 1, 4, 3, 2, 5, 6)

# Keyword tables. Each value is "|"-separated; "{a,b}" expands to alternatives so word
# forms stay readable. Weights: 3 = near-decisive phrase, 2 = strong, 1 = supporting,
# 0.5 = weak hint that only matters when nothing else fires.
_CATEGORY_KEYWORDS: tuple[tuple[int, float, str], ...] = (
    (
        _SIMPLE,
        4.0,
        "stand{,s} for|what does it stand for",
    ),
    (
        _SIMPLE,
        3.0,
        "capital of|translate|translation of|how do you say|synonym{,s} for|antonym{,s} for"
        "|yes or no|true or false|define|definition of|abbreviation for|rephrase|reword"
        "|fix the grammar|proofread|shorten this|make this shorter"
        "|spell|spelling of|what year|what time is it|in celsius|to celsius|in fahrenheit"
        "|to fahrenheit|roman numeral{,s}|plural of|past tense of|convert {this ,}{date,dates"
        ",timestamp,number,temperature,miles,kilometers,km,inches,cm,pounds,kg,usd,eur}",
    ),
    (
        _SIMPLE,
        2.0,
        "who is|who was|who wrote|who invented|when did|when was"
        "|when is|where is|how many|how much|how long is|how far|how old|how tall|meaning of"
        "|convert|conversion|in utc|to utc|time zone|timezone|quick question|one word"
        "|in miles|to miles|to kilometers|to km|in spanish|in french|in german|in japanese"
        "|into spanish|into french|into german|into japanese|into italian|to spanish"
        "|to french|to german|exchange rate",
    ),
    (_SIMPLE, 1.5, "what is|what's|what are|which is"),
    (
        _SIMPLE,
        1.0,
        "quick|quickly|briefly|in one sentence|one sentence|short answer|fact|example of"
        "|uppercase|lowercase|title case|grammar|typo{,s}|round|formula for|acronym|one line"
        "|in one line|one line is enough",
    ),
    (
        _GENERAL,
        4.0,
        "what does this code do|why am i getting|why do i get|how do i fix|what could cause"
        "|{type,value,key,attribute,import,modulenotfound,syntax,reference,index,runtime,os"
        ",permission,zerodivision,assertion,connection}error|nullpointerexception"
        "|segmentation fault|undefined is not a function|cannot read propert{y,ies}",
    ),
    (
        _GENERAL,
        3.0,
        "why does|why is my|how do i|how can i|how should i|recommended way|the right way"
        "|error"
        "|exception|traceback|stack trace|stacktrace|segfault|merge conflict{,s}|git"
        "|debug{,ging}|best practice{,s}|difference between",
    ),
    (
        _GENERAL,
        2.0,
        "explain{,s,ing}|explanation|bug|crash{,es,ing}|fail{,s,ing,ed}|not working|doesn't work"
        "|broken|config|configuration|configur{e,ing}|install{,ing,ation}|dependenc{y,ies}"
        "|environment variable{,s}|docker|dockerfile|docker-compose|kubernetes|k8s|helm|npm"
        "|yarn|pip|venv|virtualenv|poetry|webpack|vite|eslint|linter|ci|ci/cd|github actions"
        "|compiler|build fails|build error|warning{,s}|deprecat{ed,ion}|upgrad{e,ing}|nginx"
        "|ssh|cors|timeout{,s}|permission denied|memory leak|hang{,s}|vs code|vscode|ide"
        "|terminal|command line|rebase|branch|commit|pull request|cherry-pick|gitignore"
        "|localhost|ssl|certificate|dns|proxy|debugger|breakpoint|profiler|under the hood"
        "|how does|should i use|which library|recommend|slow|stuck|wrong|unexpected|console"
        "|devtools|stack overflow|i'm getting|keeps failing|crashloopbackoff|oomkilled|pod{,s}"
        "|keeps restarting|restarting|what should i look at|what should i check"
        "|troubleshoot{,ing}|container{,s}|ingress|helm chart|bad practice|how to|runs fine"
        "|works locally|works fine|any ideas|ideas?|cron|good way to|best way to|feature flag{,s}"
        "|branching strategy|long-lived branches|should {we,our team} use|worth learning"
        "|still worth|bug report|code review|review my {pr,code,pull request}"
        "|review this {pr,code,pull request}",
    ),
    (
        _GENERAL,
        1.0,
        "why|rds|ec2|s3|iam|vpc|cloudformation|instance|cluster|deploy{,s,ed,ing,ment}"
        "|microservice{,s}|monorepo|setup|set up|structure|rails|laravel|spring boot|.net",
    ),
    (
        _GENERAL,
        1.0,
        "library|framework|package|linux|macos|windows|aws|gcp|azure|terraform|ansible"
        "|yaml|toml|zsh|version|node.js",
    ),
    (
        _CODING,
        3.0,
        "implement|implementation of|refactor{,ing}|unit test{,s}|write tests|write a test"
        "|write a script|write a class|write a function|sql query|write a query|write code"
        "|code that|generate code|boilerplate|scaffold|crud|python script|bash script"
        "|shell script|write a program|write a method|write a decorator|write a hook"
        "|{write,give me,create} a dockerfile|code up|github actions workflow"
        "|{python,typescript,javascript,go,golang,rust,java,kotlin,c#,ruby,php,swift,scala"
        ",sql,bash,react,node.js,node,c,c++} {function,script,class,program,module,component"
        ",query,method}",
    ),
    (
        _CODING,
        2.0,
        "function|class|method|script|endpoint|algorithm|regex|regular expression|parser"
        "|parse{,s}|component|test{,s} for|test case{,s}|pytest|jest|junit|migration"
        "|schema|dataclass|type hints|rewrite|port this|convert this code|migrations|trigger"
        "|command-line tool|graphql|query|group by|snippet|binary search|linked list"
        "|middleware|webhook|pagination|retry logic|rate limiter|add support for|add a"
        "|what i have so far|my attempt|starter code",
    ),
    (
        _CODING,
        3.5,
        "fix {this,the} {code,function,loop,query,script,method,class}|corrected code"
        "|fixed code|fixed version|stored procedure{,s}|off-by-one",
    ),
    (
        _CODING,
        1.0,
        "sql|program|function that|returns|input|output|array|integer|dictionary|dict"
        "|csv|table|validate|validation|pandas|numpy|build a|create a|sort|tree|loop|module"
        "|typed|type-safe|add|support for|write an|write me|workflow|tests|create an|build an"
        "|multi-stage build|sends|send a|slack message|game in|scraper|crawler"
        "|document this {function,code,class,api,module}|add docstrings|docstring{,s}"
        "|route{,s}",
    ),
    # Technical nouns say "software" but not whether the caller wants an explanation or
    # code written, so they count equally for both and let intent words decide.
    (
        _TECH,
        0.5,
        "python|javascript|typescript|java|golang|rust|c#|ruby|php|kotlin|swift|scala"
        "|code|api|json|http|https|url|database|server|file|files|path|string|cli"
        "|command line|postgres|mysql|redis|mongodb|sqlite|dynamodb|react|django|flask"
        "|fastapi|express|spring|next.js|node|css|html|cache|logging|port|shell|bash|docker"
        "|kubernetes|regex|thread{,s}|request{,s}|response|rest api",
    ),
    (
        _TECH,
        1.0,
        "async|await|coroutine|decorator|handler|lambda|iterator|generator|interface"
        "|struct|enum|recursion|recursive|closure{,s}|callback{,s}|promise{,s}",
    ),
    (
        _ANALYSIS,
        3.0,
        "summari{se,ze,sing,zing}|summary|tl;dr|analy{se,ze,sis,sing,zing}|compare|condense"
        "|distill|boil down"
        "|comparison|key findings|key takeaways|takeaways|insights|research|literature review"
        "|extract|identify trends|trends|themes|sentiment|pros and cons|evaluate|evaluation"
        "|assess|assessment|report",
    ),
    (
        _ANALYSIS,
        2.0,
        "findings|data|dataset|survey|responses|feedback|metrics|kpi{,s}|churn|retention"
        "|conversion rate|cohort{,s}|transcript|meeting notes|minutes|interview{,s}|document"
        "|paper|papers|study|studies|market|competitor{,s}|benchmark{,s}|quarterly|revenue"
        "|breakdown|categori{se,ze}|cluster|patterns|anomal{y,ies}|outliers|correlation"
        "|root cause|incident|postmortem|highlights|recommendations|action items|key points"
        "|which of these|best fit|a/b test|significant|statistically|decisions|list every"
        "|group them|identify|risks|rank them|prioriti{ze,se}|go through these|complaints"
        "|tell me the top|emails|swot|brief for|one-page brief|prd|what does the data say"
        "|break down|what's working|{according to,in,from} the table|segment{,s}|lifetime value"
        "|digest|email thread|agreed|what's open",
    ),
    (
        _ANALYSIS,
        1.0,
        "project plan|rank",
    ),
    (
        _ANALYSIS,
        1.0,
        "logs|numbers|chart|statistics|trend|over time|versus|vs|options|alternatives"
        "|review|notes|below|attached|following|this text|this document|article|bullet{,s}",
    ),
    (
        _CREATIVE,
        3.0,
        "story|short story|poem|poetry|haiku|limerick|sonnet|blog post|marketing copy"
        "|ad copy|slogan{,s}|tagline{,s}|headline{,s}|product description{,s}|tweet{,s}"
        "|linkedin post|instagram caption|caption{,s}|newsletter|video script|youtube script"
        "|lyrics|song|jingle|fairy tale|bedtime story|screenplay|press release"
        "|landing page copy|catchy|fiction|fictional|narrative|wedding toast|toast"
        "|rhyme{,s,ing}",
    ),
    (
        _CREATIVE,
        2.0,
        "creative{,ly}|character{,s}|plot|dialogue|brainstorm|names for|name ideas|witty"
        "|funny|humorous|playful|inspiring|persuasive|email campaign|campaign|social media"
        "|instagram|tiktok|youtube|podcast|episode|copywriting|marketing|brand|announcement"
        "|blog|essay|narrator|protagonist|villain|scene|chapter|novel|speech|verse|rap"
        "|storytelling|mascot|{15,20,30,45,60,90}-second|{tiktok,youtube,video,ad,podcast"
        ",promo,explainer} script|script for a {video,tiktok,youtube,podcast,commercial,promo}"
        "|commercial|email announcing|announcing|draft an email|write an email|announce"
        "|heartfelt|card message|greeting card|birthday card|thank-you note|retirement card"
        "|an ad|radio ad|write an ad|jingle|motivational|inspirational|pep talk|message for"
        "|app store listing|store listing|fun name|team name|clever name|a name for|name for",
    ),
    (
        _CREATIVE,
        1.0,
        "fun|friendly|video|article|copy|tone|voice|intro|audience|engaging|vivid|emotional",
    ),
    (
        _REASONING,
        3.0,
        "prove|proof|theorem|lemma|induction|puzzle|riddle|logic puzzle|step by step"
        "|step-by-step|derive|derivation|game theory|expected value|probability that"
        "|probability of|how many ways|combinatori{cs,al}|optimal strategy|paradox"
        "|counterexample|knights and knaves|reason through|think through|brain teaser"
        "|fermi estimate|river crossing|sudoku|syllogism|show that|why it works|balance scale"
        "|counterfeit",
    ),
    (
        _REASONING,
        4.0,
        "explain your reasoning|show your reasoning|show the steps|show your work"
        "|show all steps|show all your work",
    ),
    (
        _REASONING,
        2.0,
        "constraint{,s}|schedul{e,ing}|minimi{ze,se}|maximi{ze,se}|trade-off{,s}"
        "|tradeoff{,s}|dilemma|logic|logical{,ly}|deduce|deduction|contradiction|invariant"
        "|equation{,s}|solve|inequality|integer{,s}|prime{,s}|divisible|modulo|shortest path"
        "|np-hard|np-complete|big-o|asymptotic|lower bound|upper bound|axiom{,s}"
        "|rigorous{,ly}|formal{,ly}|chess|prisoner{,s}|weighings|infinitely many|irrational"
        "|optimal|feasible|allocate|allocation|scenario{,s}|implications|second-order"
        "|if all|therefore|definitely|necessarily|valid argument|mph|km/h|catch up"
        "|in what order|best sequencing|sequence the|exactly once|knight|how long will it take"
        "|smallest number|largest number|fastest plan|minimum number|maximum number"
        "|guarantee{,s}|crossing times|mutual|monty hall|careful argument|p equal to np"
        "|more likely|at least one|build or buy|whether to|reason it through|explain carefully",
    ),
    (
        _REASONING,
        0.5,
        "why",
    ),
    (
        _REASONING,
        1.0,
        "reasoning|careful{,ly}|exactly|guarantee|assume|assuming|given that"
        "|if and only if|must|cannot|at least|at most|minimum|maximum|fewest|probability"
        "|odds|math|mathematical{,ly}|plan|planning|strategy|decide|decision|budget|estimate",
    ),
    (
        _SPECIALIZED,
        3.0,
        "contract|clause{,s}|gdpr|hipaa|ccpa|soc 2|soc2|sox|pci dss|pci-dss"
        "|indemnif{y,ication}|liability|lawsuit|litigation|statute|jurisdiction|legal{,ly}"
        "|attorney|lawyer|tort|patent|trademark|nda|terms of service|privacy policy"
        "|regulat{ory,ion,ions,ed}|compliance|compliant|diagnos{is,e,tic}|symptom{,s}"
        "|dosage|dose|drug interaction{,s}|contraindicat{ed,ion,ions}|patient{,s}|clinical"
        "|medical|medication{,s}|icd-10|pharmacokinetic{,s}|pharmacolog{y,ical}|tax|taxes"
        "|taxable|taxed|taxation|deductible|deduction{,s}|irs|hmrc|vat|capital gains|depreciation"
        "|rsu{,s}|stock options|vesting|withholding|payroll tax"
        "|amortization|ifrs|gaap|valuation|dcf|ebitda|roth ira|estate planning|chemistry"
        "|chemical|molecule{,s}|molecular|reaction mechanism|synthesis|reagent{,s}|catalyst"
        "|stoichiometry|titration|protein{,s}|genom{e,es,ic,ics}|gene{,s}|crispr|rna|dna"
        "|rna-seq|variant calling|mutation{,s}|allele{,s}|enzyme{,s}|pcr|assay|spectroscopy"
        "|nmr|toxicology|epidemiolog{y,ical}|clinical trial|fda|basel iii|aml|kyc|mifid"
        "|10-k|fiduciary|actuarial|underwriting|oncology|cardiology|immunology"
        "|antibod{y,ies}|pathology|radiology|dsar",
    ),
    (
        _SPECIALIZED,
        2.0,
        "law|laws|court|lease|tenant|landlord|prescription|treatment|therapy|disease"
        "|financial|accounting|balance sheet|cash flow|income statement|portfolio"
        "|securities|bond{,s}|black-scholes|hedging|interest rate|mortgage|pension"
        "|retirement|physics|biology|biological|organism|isotope|polymer|molar|audit{,or}"
        "|compound|hazard|safety data sheet|ferpa|coppa|eu ai act|dpa|dpia|side effect{,s}"
        "|chronic|blood pressure|cholesterol|statin{,s}|antibiotic{,s}|vaccine{,s}"
        "|pregnan{t,cy}|diabetes|insulin|cancer|tumo{,u}r{,s}|biopsy|prognosis|surgery|surgical"
        "|physician|doctor|hospital|pediatric|dementia|deposit|eviction|custody|divorce"
        "|probate|fair use|defamation|eprivacy|cookie consent|non-compete|enforceable"
        "|immigration|visa|ira|401k|tax return|tax bracket|dividend{,s}|etf{,s}|annuity"
        "|accrual{,s}|revenue recognition|ifrs 15|asc 606|molarity|half-life|quantum mechanics"
        "|entropy|thermodynamic{,s}|cas9|crispr-cas9|double-strand|dna repair|mitochondri{a,al}"
        "|neuron{,s}|cell line{,s}|organic chemistry|{dna,gene,genome,rna,exome} sequencing"
        "|sequencing {data,run,reads,depth}|safe to take|is it safe to take|pharmacodynamic{,s}"
        "|beta blocker{,s}|ssri{,s}|antidepressant{,s}|drug{,s}|interaction{,s} with|agreement"
        "|employment agreement|termination terms|terms and conditions|melatonin|sertraline",
    ),
)

# False friends: phrases that contain a keyword but do not mean it ("user story" is not
# fiction, "protein bar" is not biochemistry). Matching them whole, with no weight, stops the
# embedded keyword from firing because the regex prefers the longest match.
_NEUTRAL_KEYWORDS = (
    "logs into|log into|logs in|protein bar{,s}|protein powder|protein shake|user stor{y,ies}"
    "|story point{,s}"
    "|toast notification{,s}|character encoding|special character{,s}|unicode character{,s}"
    "|test drive|tax-free|cover letter|report card|pull request template"
)

# Signed complexity points. Positive words indicate depth or rigor, negative words ask for
# a short answer; capped later so a keyword-stuffed prompt cannot swing the level alone.
_COMPLEXITY_KEYWORDS: dict[int, str] = {
    2: "prove|proof|formal{,ly}|distributed|concurrency|concurrent|lock-free|consensus"
    "|architecture|production|production-ready|scalable|at scale|rigorous{,ly}|thread-safe"
    "|race condition{,s}|fault-tolerant|fault tolerant|zero downtime|multi-region"
    "|exactly-once|byzantine",
    1: "optimi{ze,se,zation,sation}|performance|step by step|step-by-step|edge case{,s}"
    "|detailed|in depth|in-depth|comprehensive|thorough{,ly}|complex|trade-off{,s}"
    "|tradeoff{,s}|security|migration|benchmark|end-to-end|robust|deep dive|error handling"
    "|idempotent|throughput|latency|high availability|sharding|multi-tenant|derive",
    -1: "quick|quickly|briefly|brief|one line|one-liner|simple|short|one word|just|tl;dr"
    "|simply|in one sentence|yes or no|one sentence|eli5",
}
_COMPLEXITY_CAP = (-2, 3)

# Category priors for complexity: a proof or a tax question is rarely "basic" even when
# short, and a lookup is rarely more than that.
_CATEGORY_COMPLEXITY_PRIOR: tuple[int, ...] = (-1, 0, 1, 1, 0, 2, 2)

# (upper token bound inclusive, points) — length is the strongest complexity signal.
_LENGTH_POINTS: tuple[tuple[int, int], ...] = (
    (12, 0),
    (60, 1),
    (250, 2),
    (1_000, 3),
    (4_000, 4),
    (20_000, 5),
)
_LENGTH_POINTS_MAX = 6

# Only consulted when no keyword fired: code punctuation, snake_case or file names.
_TECH_HINT = re.compile(
    r"[{}\[\];=<>]|::|->|\(\)|\b[a-z]+_[a-z_]+\b|\b\w+\.(?:py|js|ts|tsx|json|ya?ml|toml|go|rs"
    r"|java|sql|sh|cfg|ini|lock)\b"
)
_SHORT_FALLBACK_TOKENS = 60

# Lookup phrasing ("what is", "how many") inside a long prompt is incidental; a quick
# question is short, so its score is damped once the prompt grows past this.
_QUICK_MAX_TOKENS = 30
_QUICK_DAMPING = 0.5

_BRACE = re.compile(r"\{([^{}]*)\}")

# Character trie; the "" key marks the end of a word.
_Trie = dict[str, "_Trie"]


@dataclass(frozen=True, slots=True)
class Classification:
    """Result of :func:`classify`.

    ``category`` is one of :data:`CATEGORIES`, ``complexity`` one of :data:`COMPLEXITIES`,
    ``confidence`` is in ``[0, 1]`` rounded to two decimals, ``reason`` is for humans.
    """

    category: str
    complexity: str
    confidence: float
    reason: str


def estimate_tokens(text: str) -> int:
    """Cheap token estimate (about four characters per token, at least one)."""
    return max(1, (len(text) + 3) // 4)


def _expand(term: str) -> list[str]:
    """Expand ``{a,b}`` groups, e.g. ``"fail{,s}"`` -> ``["fail", "fails"]``."""
    match = _BRACE.search(term)
    if match is None:
        return [term]
    head, tail = term[: match.start()], term[match.end() :]
    out: list[str] = []
    for option in match.group(1).split(","):
        out.extend(_expand(head + option + tail))
    return out


def _terms(spec: str) -> list[str]:
    """Split a ``|``-separated keyword spec, expanding brace groups.

    Braces may contain ``,`` but never ``|``, so splitting on ``|`` first is safe.
    """
    return [t for part in spec.split("|") for t in _expand(part.strip()) if t]


def _trie_regex(words: list[str]) -> str:
    """Compile words into a trie-shaped alternation.

    Python's ``re`` tries alternatives one by one; sharing prefixes turns hundreds of
    alternatives into a walk whose cost depends on the word length, not the word count.
    """
    trie: _Trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _trie_node(trie)


def _trie_node(node: _Trie) -> str:
    """Render one trie node; longer continuations are tried first (greedy)."""
    branches = [re.escape(ch) + _trie_node(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # An end-of-word marker makes the continuation optional.
    return "(?:" + body + ")?" if "" in node else body


def _build_tables() -> tuple[dict[str, dict[int, float]], dict[str, int], re.Pattern[str]]:
    """Build term -> {category: weight} and term -> points lookups and the combined pattern."""
    by_term: dict[str, dict[int, float]] = {}
    for cat, weight, spec in _CATEGORY_KEYWORDS:
        targets = (_GENERAL, _CODING) if cat == _TECH else (cat,)
        for term in _terms(spec):
            votes = by_term.setdefault(term, {})
            for target in targets:
                # A term listed twice for one category keeps its strongest weight, not the sum.
                votes[target] = max(weight, votes.get(target, 0.0))
    complexity = {t: pts for pts, spec in _COMPLEXITY_KEYWORDS.items() for t in _terms(spec)}
    words = sorted(set(by_term) | set(complexity) | set(_terms(_NEUTRAL_KEYWORDS)))
    # Lookarounds instead of \b so terms ending in punctuation ("c#", "tl;dr") still match.
    # The text is lower-cased first, so an ASCII class is enough and cheaper than \w.
    pattern = re.compile(r"(?<![a-z0-9_-])" + _trie_regex(words) + r"(?![a-z0-9_-])")
    # Every matchable term gets an entry (possibly empty) so lookups need no default.
    weights = {t: by_term.get(t, {}) for t in words}
    return weights, complexity, pattern


_TERM_WEIGHTS, _COMPLEXITY_POINTS, _PATTERN = _build_tables()


def _scan_text(prompt: str) -> tuple[str, bool]:
    """Return the lower-cased text to scan and whether it was cut to head + tail."""
    if len(prompt) > _LONG_CHARS:
        text = prompt[:_HEAD_CHARS] + "\n" + prompt[-_TAIL_CHARS:]
        truncated = True
    else:
        text, truncated = prompt, False
    return text.lower().replace("\u2019", "'"), truncated


def _score(terms: Iterable[str]) -> tuple[list[float], int, list[str]]:
    """Sum category weights and complexity points over distinct matched terms.

    Also returns the terms that carried complexity points, for the reason string.
    """
    scores = [0.0] * len(CATEGORIES)
    points = 0
    complexity_terms: list[str] = []
    for term in terms:
        for cat, weight in _TERM_WEIGHTS[term].items():
            scores[cat] += weight
        if term in _COMPLEXITY_POINTS:
            points += _COMPLEXITY_POINTS[term]
            complexity_terms.append(term)
    return scores, points, complexity_terms


def _rank(scores: list[float]) -> tuple[int, float, float]:
    """Best category index, its score and the runner-up score (ties -> more demanding)."""
    best = 0
    for cat in range(1, len(scores)):
        score = scores[cat]
        if score > scores[best] or (score == scores[best] and _TIE_RANK[cat] > _TIE_RANK[best]):
            best = cat
    return best, scores[best], sorted(scores)[-2]


def _evidence(terms: Iterable[str], category: int) -> list[str]:
    """Terms that voted for ``category``, strongest first, for the human-readable reason."""
    voters = [t for t in terms if category in _TERM_WEIGHTS[t]]
    # Stable sort: equal weights stay in order of first appearance.
    return sorted(voters, key=lambda t: _TERM_WEIGHTS[t][category], reverse=True)


def _confidence(best: float, second: float) -> float:
    """Blend the relative margin over the runner-up with the absolute signal strength."""
    margin = (best - second) / best
    strength = min(1.0, best / 4.0)
    return round(min(1.0, (0.3 + 0.7 * margin) * (0.5 + 0.5 * strength)), 2)


def _length_points(tokens: int) -> int:
    """Complexity points contributed by prompt length alone."""
    for bound, pts in _LENGTH_POINTS:
        if tokens <= bound:
            return pts
    return _LENGTH_POINTS_MAX


def _complexity(category: int, tokens: int, keyword_points: int) -> str:
    """Combine length, capped keyword points and the category prior into a level."""
    low, high = _COMPLEXITY_CAP
    total = (
        _length_points(tokens)
        + max(low, min(high, keyword_points))
        + _CATEGORY_COMPLEXITY_PRIOR[category]
    )
    if total <= 0:
        return "basic"
    if total <= 2:
        return "intermediate"
    if total <= 5:
        return "advanced"
    return "expert"


def _fallback(text: str, tokens: int) -> int:
    """Category when no keyword fired.

    Technical-looking text goes to general_development, as does any longer prompt (a
    lookup is short; a long prompt with no signal is more likely a question about
    something than a quick fact). Short, plain prompts go to simple_quick.
    """
    if _TECH_HINT.search(text) or tokens > _SHORT_FALLBACK_TOKENS:
        return _GENERAL
    return _SIMPLE


def _quoted(terms: list[str], limit: int) -> str:
    """Format up to ``limit`` terms as a quoted, comma-separated list."""
    return ", ".join(f"'{t}'" for t in terms[:limit])


def classify(prompt: str) -> Classification:
    """Classify ``prompt`` into a task category and complexity level.

    Deterministic and allocation-light: one regex pass over at most
    ``_HEAD_CHARS + _TAIL_CHARS`` characters, then a handful of dict lookups.
    """
    tokens = estimate_tokens(prompt)
    image = _IMAGE_REQUEST.search(prompt[:200])
    if image:
        reason = f"{IMAGE_CATEGORY}: asks for an image ('{image.group(0).strip()}')"
        return Classification(IMAGE_CATEGORY, "basic", 0.9, reason)
    text, truncated = _scan_text(prompt)
    # dict.fromkeys: distinct terms in first-seen order (a set's order would vary by process).
    terms = dict.fromkeys(_PATTERN.findall(text))
    scores, points, complexity_terms = _score(terms)
    is_document = tokens > _DOCUMENT_TOKENS
    if tokens > _QUICK_MAX_TOKENS:
        scores[_SIMPLE] *= _QUICK_DAMPING
    if is_document:
        scores[_ANALYSIS] += _DOCUMENT_BOOST
    best, top, second = _rank(scores)
    if top > 0:
        confidence = _confidence(top, second)
        why = "matched " + _quoted(_evidence(terms, best), 4)
        if is_document and best == _ANALYSIS:
            why += " + document length"
    else:
        best = _fallback(text, tokens)
        confidence = 0.3 if best == _GENERAL else 0.35
        why = "no strong signal, " + ("looks technical" if best == _GENERAL else "short prompt")
    level = _complexity(best, tokens, points)
    reason = _reason(best, why, level, tokens, complexity_terms, truncated)
    return Classification(CATEGORIES[best], level, confidence, reason)


def _reason(
    category: int, why: str, level: str, tokens: int, complexity_terms: list[str], truncated: bool
) -> str:
    """Assemble the human-readable explanation."""
    detail = f"~{tokens:,} tokens"
    if complexity_terms:
        detail += ", " + _quoted(complexity_terms, 3)
    if truncated:
        detail += ", long input: scanned head and tail only"
    return f"{CATEGORIES[category]}: {why}; {level}: {detail}"
