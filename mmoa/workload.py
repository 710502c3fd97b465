"""Deterministic simulated day of LLM traffic for demos, tests and benchmarks.

:func:`generate` returns ``n`` :class:`WorkItem` requests spread over a time window with a
realistic daily shape (quiet nights, a late-morning peak and a sharper mid-afternoon spike),
a category mix close to production traffic, prompts built from many templates, and
team/feature/user tags with a few heavy users. Everything derives from one
``random.Random(seed)``, so the same arguments always yield the same list.
"""

from __future__ import annotations

import itertools
import math
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["CATEGORY_MIX", "WorkItem", "generate", "hourly_weights"]

_HOUR_NS = 3_600 * 10**9
_DAY_NS = 24 * _HOUR_NS

# Requests per hour of day (UTC), relative. The 14:00-16:00 spike is deliberate: later
# budget-enforcement work relies on it to push spend over a daily limit.
_HOURLY_SHAPE: tuple[float, ...] = (
    1.0, 0.7, 0.5, 0.5, 0.6, 0.9,  # 00-05 night
    1.6, 2.8, 4.5, 6.0, 7.0, 7.4,  # 06-11 morning ramp to late-morning peak
    5.5, 6.0, 9.5, 10.0, 7.0, 5.0,  # 12-17 lunch dip, afternoon spike
    3.6, 2.8, 2.2, 1.8, 1.5, 1.2,  # 18-23 evening tail
)  # fmt: skip

CATEGORY_MIX: Mapping[str, float] = MappingProxyType(
    {
        "simple_quick": 0.30,
        "general_development": 0.18,
        "coding_implementation": 0.18,
        "analysis_research": 0.14,
        "creative_content": 0.08,
        "complex_reasoning": 0.07,
        "specialized": 0.05,
    }
)
"""Target share of each category in generated traffic (sums to 1)."""

_MAX_TOKENS: dict[str, tuple[int, ...]] = {
    "simple_quick": (128, 256, 256, 256, 512),
    "general_development": (512, 1024, 1024, 2048),
    "coding_implementation": (1024, 2048, 2048, 4096),
    "analysis_research": (1024, 2048, 2048, 4096),
    "creative_content": (1024, 1024, 2048, 4096),
    "complex_reasoning": (2048, 4096, 4096, 8192),
    "specialized": (1024, 2048, 2048, 4096),
}

_TEAMS: dict[str, tuple[str, ...]] = {
    "search": ("query-rewrite", "answer-snippets", "autocomplete", "ranking-eval"),
    "support": ("ticket-triage", "reply-drafts", "kb-search", "escalation-summary"),
    "growth": ("campaign-copy", "landing-pages", "experiment-analysis", "seo-briefs"),
    "platform": ("code-assist", "incident-bot", "pr-review", "docs-qa"),
    "data": ("sql-assist", "report-builder", "research-notes", "compliance-review"),
}
_TEAM_NAMES = tuple(_TEAMS)
# Which teams send which kind of work (weights in _TEAM_NAMES order), so per-team cost
# reports look plausible: growth writes copy, platform writes code, data runs analyses.
_TEAM_AFFINITY: dict[str, tuple[float, ...]] = {
    "simple_quick": (0.45, 0.30, 0.10, 0.05, 0.10),
    "general_development": (0.10, 0.10, 0.00, 0.60, 0.20),
    "coding_implementation": (0.15, 0.00, 0.00, 0.55, 0.30),
    "analysis_research": (0.10, 0.20, 0.25, 0.00, 0.45),
    "creative_content": (0.05, 0.20, 0.75, 0.00, 0.00),
    "complex_reasoning": (0.20, 0.00, 0.10, 0.30, 0.40),
    "specialized": (0.00, 0.30, 0.20, 0.00, 0.50),
}

_USERS = tuple(f"u{i:04d}" for i in range(1, 401))
# Zipf-like with a small offset: the top user sends ~7% and the top ten ~30% of traffic,
# a heavy head without one account dwarfing everyone else.
_USER_CUM_WEIGHTS = tuple(
    itertools.accumulate(1.0 / (rank + 2) ** 1.05 for rank in range(1, len(_USERS) + 1))
)

# Analysis requests that carry a pasted document, and the document size range in tokens.
_LONG_DOC_RATE = 0.04
_MEDIUM_DOC_RATE = 0.25
_LONG_DOC_TOKENS = (3_000, 60_000)
_MEDIUM_DOC_TOKENS = (250, 1_800)
_CODE_SNIPPET_RATE = 0.3
_CONTEXT_RATE = 0.15

# Framing people add around the actual ask. Mostly nothing; occasionally a greeting, a
# courtesy or a steer on length, which is noise the classifier has to live with.
_OPENERS: tuple[str, ...] = ("",) * 8 + ("Hey, ", "Hi, ", "Hello, ", "Quick one: ")
_CLOSERS: tuple[str, ...] = ("",) * 8 + (
    " Thanks!",
    " Thanks in advance.",
    " Keep it concise.",
    " Please be thorough.",
    " This is for a customer-facing feature.",
)
_CONTEXT = "context"
_TECHNICAL = frozenset({"general_development", "coding_implementation"})
_CONTEXTS: tuple[str, ...] = (
    "For context, we're a {n}-person startup on {framework} and {db}. ",
    "Background: this runs in production on {host} and serves about {n}k requests a day. ",
    "Some context: I'm fairly new to {lang}. ",
)

# ---------------------------------------------------------------------------------------
# Fill-in vocabularies shared by the templates below.
# ---------------------------------------------------------------------------------------
_SLOTS: dict[str, tuple[str, ...]] = {
    "country": ("France", "Canada", "Kenya", "Australia", "Japan", "Brazil", "Norway", "Peru"),
    "word": ("ubiquitous", "ephemeral", "serendipity", "idempotent", "latency", "cadence"),
    "lang_word": ("Spanish", "French", "German", "Japanese", "Italian"),
    "phrase": (
        "good morning",
        "thank you for your patience",
        "the meeting is moved to Friday",
        "where is the train station",
        "your order has shipped",
    ),
    "acronym": ("SLA", "OKR", "ETA", "KPI", "SaaS", "GDPR", "ROI", "TLS"),
    "person": ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Marie Curie", "Nikola Tesla"),
    "lang": ("Python", "TypeScript", "Go", "Rust", "Java", "Kotlin", "C#", "Ruby"),
    "tool": ("Docker", "git", "npm", "pip", "Kubernetes", "nginx", "Terraform", "webpack"),
    "framework": ("Django", "FastAPI", "React", "Spring Boot", "Express", "Flask", "Next.js"),
    "db": ("Postgres", "MySQL", "Redis", "MongoDB", "SQLite", "DynamoDB"),
    "concept": (
        "closures",
        "async/await",
        "dependency injection",
        "the event loop",
        "database indexes",
        "connection pooling",
        "memoization",
        "generics",
    ),
    "errmsg": (
        "ModuleNotFoundError: No module named 'yaml'",
        "TypeError: Cannot read properties of undefined (reading 'map')",
        "ECONNREFUSED 127.0.0.1:5432",
        "fatal: refusing to merge unrelated histories",
        "OOMKilled",
        "SSL: CERTIFICATE_VERIFY_FAILED",
        "permission denied while trying to connect to the Docker daemon socket",
        "CrashLoopBackOff",
    ),
    "task": (
        "validates email addresses",
        "deduplicates a list of customer records by email",
        "parses ISO 8601 timestamps and converts them to UTC",
        "retries an HTTP call with exponential backoff",
        "reads a CSV file and returns the top 10 rows by revenue",
        "flattens a nested dictionary into dotted keys",
        "chunks a list into batches of a given size",
        "computes a rolling 7-day average from daily counts",
        "streams a large JSON file and counts records per type",
        "rate limits calls per API key using a token bucket",
    ),
    "entity": ("orders", "invoices", "users", "subscriptions", "tickets", "shipments"),
    "doc_kind": (
        "quarterly business review",
        "customer interview transcript",
        "incident postmortem",
        "support ticket export",
        "user survey results",
        "competitor pricing page",
        "research paper",
        "sales call notes",
    ),
    "metric": ("churn", "weekly active users", "conversion rate", "NPS", "ticket volume"),
    "product": (
        "a budgeting app for students",
        "our new noise-cancelling headphones",
        "a plant-based protein bar",
        "an AI meeting assistant",
        "a reusable coffee cup",
        "a project management tool for small agencies",
    ),
    "audience": ("busy parents", "software engineers", "small business owners", "students"),
    "theme": ("autumn", "the ocean", "a lighthouse keeper", "a lost robot", "city rain"),
    "platform": ("LinkedIn", "Instagram", "TikTok", "YouTube", "our company blog"),
    "n": ("3", "5", "7", "10", "12"),
    "reg": ("GDPR", "HIPAA", "SOC 2", "PCI DSS", "CCPA", "the EU AI Act"),
    "drug": ("ibuprofen", "metformin", "warfarin", "amoxicillin", "lisinopril"),
    "chem": ("aspirin", "ethyl acetate", "caffeine", "benzoic acid"),
    "gene": ("BRCA1", "TP53", "CFTR", "EGFR", "KRAS"),
    "month": ("March", "June", "September", "October"),
    "host": ("Kubernetes", "ECS", "a single VM", "Heroku", "Cloud Run", "bare metal"),
}

# ---------------------------------------------------------------------------------------
# Prompt templates per category. Wording mirrors what real callers send: terse lookups,
# pasted errors, half-specified coding asks, documents with a one-line instruction.
# ---------------------------------------------------------------------------------------
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "simple_quick": (
        "What is the capital of {country}?",
        "Translate '{phrase}' into {lang_word}.",
        "Define '{word}' in one sentence.",
        "What does {acronym} stand for?",
        "Quick question: how many days are there in a leap year?",
        "Convert 72 degrees Fahrenheit to Celsius.",
        "Who was {person}? One sentence please.",
        "What's a synonym for '{word}'?",
        "How do you say '{phrase}' in {lang_word}?",
        "Convert this date to ISO format: March 4th, 2024 3pm.",
        "Is Pluto a planet? Yes or no.",
        "Fix the grammar: 'me and him goes to the store yesterday'.",
        "How many ounces are in a pound?",
        "What year did {person} die?",
        "Rephrase this to sound friendlier: 'Your request has been denied.'",
        "What is the time zone of {country}?",
        "Convert 250 USD to EUR roughly.",
        "What's the plural of 'octopus'?",
        "Give me the definition of '{word}', briefly.",
        "Spell 'necessary' correctly.",
        "Who wrote 'The Left Hand of Darkness'?",
        "How many weeks until the end of the year if today is {month} 1st?",
        "Translate this to {lang_word}: '{phrase}'",
        "What's the exchange rate from GBP to USD, roughly?",
        "Convert 5 kg to pounds.",
        "What is {acronym}? One line is enough.",
        "Where is the headquarters of the United Nations?",
        "Reword this subject line so it's shorter: 'Reminder regarding the upcoming "
        "quarterly planning session'",
    ),
    "general_development": (
        "Why does {tool} fail with this error?\n{errmsg}",
        "How do I undo the last git commit but keep my changes?",
        "Explain {concept} in {lang} like I'm a junior developer.",
        "I'm getting '{errmsg}' when I start the service. What does it mean and how do I fix it?",
        "What's the difference between {db} and {db} for a session store?",
        "How can I configure {tool} to use a private registry behind a proxy?",
        "Best practices for structuring a {framework} project with multiple apps?",
        "Our CI pipeline fails only on main with '{errmsg}'. Any idea what to check first?",
        "How does {concept} work under the hood in {lang}?",
        "Why is my {framework} app so slow on the first request after deploy?",
        "How do I resolve a merge conflict in a lockfile without breaking dependencies?",
        "What does this code do?\n{snippet}",
        "Why am I getting this exception?\n{snippet}\nTraceback: {errmsg}",
        "Should I use {db} or {db} for a job queue with about 2k jobs per minute?",
        "How do I set an environment variable for a {tool} build step on Windows?",
        "Explain the difference between a rebase and a merge, and when to use each.",
        "The {framework} dev server is stuck at 'compiling...'. How do I debug this?",
        "How can I see which dependency pulls in an old version of a package with {tool}?",
        "What's the best practice for handling secrets in {framework} when deploying with {tool}?",
        "My {lang} tests pass locally but fail in CI with '{errmsg}'. What could cause that?",
        "How should I structure config for dev, staging and prod in a {framework} app?",
        "Why is {db} using so much memory on our staging box? It keeps getting OOMKilled.",
        "Explain how {db} transactions and isolation levels work, with an example.",
        "Is it worth migrating from {tool} to something else for a team of 8? What would you "
        "recommend?",
        "How do I debug a memory leak in a long-running {lang} worker?",
    ),
    "coding_implementation": (
        "Write a {lang} function that {task}.",
        "Implement a {lang} class for a {entity} repository backed by {db}, with unit tests.",
        "Refactor this code to be more readable and add type hints:\n{snippet}",
        "Write a SQL query that returns the top 5 customers by total {entity} value per month.",
        "Write unit tests with pytest for this function:\n{snippet}",
        "Implement a REST endpoint in {framework} to create and list {entity} with pagination.",
        "Write a bash script that backs up a {db} database nightly and keeps 7 days of dumps.",
        "Implement binary search in {lang} and handle the edge cases.",
        "Can you write a {lang} function that {task}? Include error handling.",
        "Port this function to {lang}:\n{snippet}",
        "Add retry logic with exponential backoff to this code:\n{snippet}",
        "Write a React component that shows a sortable table of {entity}.",
        "Implement an LRU cache in {lang} with O(1) get and put.",
        "Write a migration that adds a nullable status column to the {entity} table.",
        "Write a {lang} script that {task}, reading the path from the command line.",
        "Implement a thread-safe rate limiter in {lang} for a production API.",
        "Generate a {framework} middleware that logs request latency and status code.",
        "Write a regex that matches UK postcodes and a function that validates them.",
        "Write a {lang} class that wraps the {db} client and exposes get/set with a TTL.",
        "Implement pagination for the {entity} list endpoint; we use {framework} and {db}.",
        "Write a SQL query to find duplicate {entity} rows by email and keep the newest one.",
        "Refactor this function into smaller functions with clear names:\n{snippet}",
        "Write a GitHub Actions workflow that runs the {lang} unit tests and lint on every "
        "pull request.",
        "Create a {framework} endpoint that exports {entity} as CSV, streaming the response.",
        "Write a {lang} function that {task}, with docstrings and unit tests.",
        "Fix this code so it handles empty input, and return the corrected code:\n{snippet}",
    ),
    "analysis_research": (
        "Summarise the key findings of this {doc_kind} in {n} bullet points.",
        "Analyse our {metric} numbers for the last quarter and suggest causes for the trend.",
        "Compare {db} and {db} for an analytics workload: cost, latency, operations.",
        "Extract the main themes and sentiment from these customer feedback responses.",
        "Research the pros and cons of moving from a monolith to microservices for a team of 12.",
        "Write a short report on {metric} trends by cohort from the data below.",
        "Summarize this {doc_kind} for an executive audience.",
        "Compare the three pricing options below and recommend one with reasoning.",
        "What are the key takeaways from this {doc_kind}? Give me {n} insights.",
        "Analyze the survey data and identify the top {n} pain points.",
        "Evaluate these vendor proposals against our requirements and summarise the gaps.",
        "Give me a comparison of {framework} and {framework} for a new internal tool.",
        "Extract every action item and owner from these meeting notes.",
        "Analyse the root cause of this incident from the timeline below.",
        "Identify the top risks in the plan below and rank them by impact.",
        "Summarise what customers are saying about {metric} in the feedback below.",
        "Research how other SaaS companies price usage-based plans and summarise the patterns.",
        "Review the interview notes below and pull out the recurring themes.",
    ),
    "creative_content": (
        "Write a short story about {theme} for {audience}.",
        "Write a haiku about {theme}.",
        "Write a blog post announcing {product}, aimed at {audience}.",
        "Give me {n} catchy slogans for {product}.",
        "Draft a {platform} post launching {product}. Keep the tone playful.",
        "Write a 60-second video script for a YouTube ad about {product}.",
        "Write a poem about {theme} in the style of a sea shanty.",
        "Write marketing copy for the landing page of {product}.",
        "Write a product description for {product}, around 120 words.",
        "Brainstorm {n} names for {product} with a one-line tagline each.",
        "Write a bedtime story about {theme} for a five-year-old.",
        "Write a funny wedding toast for my best friend who loves hiking.",
        "Write a newsletter intro for {audience} about our spring release.",
        "Write {n} tweet ideas promoting {product}.",
        "Write a press release announcing {product}.",
        "Write a LinkedIn post celebrating our team's launch of {product}.",
        "Write an email announcing {product} to {audience}, fun and friendly.",
        "Write a limerick about {theme}.",
        "Write a heartfelt thank-you card message for a retiring colleague.",
        "Write a 30-second radio ad for {product}.",
        "Come up with {n} headline options for an article about {theme}.",
    ),
    "complex_reasoning": (
        "Prove that the square root of 2 is irrational.",
        "Solve this logic puzzle step by step: five houses, five owners, each with a "
        "different pet, drink and colour. The Norwegian lives in the first house...",
        "Prove by induction that the sum of the first n odd numbers is n^2.",
        "A bag has {n} red and 4 blue balls. What is the probability of drawing two reds "
        "without replacement? Show your reasoning.",
        "We must schedule 6 engineers across 3 on-call rotations with these constraints: no "
        "one works two weekends in a row, and each rotation needs a senior. Find a feasible "
        "schedule or prove none exists.",
        "How many ways can {n} people sit at a round table if two of them refuse to sit together?",
        "Think through the trade-offs of eventual vs strong consistency for a payment "
        "ledger, step by step, and decide which to use.",
        "Derive the expected number of coin flips to get two heads in a row.",
        "You have 12 coins, one counterfeit, and a balance scale. Find the fake in three "
        "weighings and explain why it works.",
        "Given a budget of $40k and these constraints, allocate spend across {n} channels to "
        "maximize signups. Reason through the optimal allocation.",
        "Is this argument logically valid? All A are B; some B are C; therefore some A are C. "
        "Give a counterexample if not.",
        "Find the optimal strategy for this game theory problem: two firms choose high or "
        "low prices with the payoff matrix below.",
        "Prove that every tree with n nodes has exactly n-1 edges.",
        "Three boxes are mislabelled: apples, oranges, mixed. With one draw, how do you fix all "
        "the labels? Explain your reasoning.",
        "Estimate how many piano tuners work in Chicago. Walk through the Fermi estimate.",
        "We need to sequence {n} migrations where some depend on others and two can't run on "
        "the same night. Plan the order and prove it meets every constraint.",
        "Solve for x and y step by step: 3x + 2y = 16 and x - y = 2.",
        "If all managers are reviewers and some reviewers are interns, can we conclude some "
        "managers are interns? Explain your reasoning.",
    ),
    "specialized": (
        "Does our data retention policy comply with {reg}? Which clauses are missing?",
        "What are the drug interactions between {drug} and {drug} for an elderly patient?",
        "Explain the tax treatment of capital gains on RSUs for a US employee.",
        "Review this NDA clause for liability and indemnification risks.",
        "What is the reaction mechanism for the synthesis of {chem}?",
        "Interpret these RNA-seq results for {gene} expression in tumour vs normal samples.",
        "Draft a {reg} compliance checklist for a SaaS product storing customer data.",
        "What dosage adjustments are recommended for {drug} in patients with kidney disease?",
        "How should deferred revenue be recognised under IFRS 15 for annual subscriptions?",
        "Which regulatory requirements apply under {reg} when a vendor processes our data?",
        "Explain the clinical significance of a {gene} mutation for treatment options.",
        "Summarise the contract termination clauses and our legal exposure if we exit early.",
        "What are the side effects of long-term {drug} use?",
        "How is a stock option exercise taxed if I sell the shares within a year?",
        "Can a landlord keep the deposit for normal wear and tear in {country}?",
        "Calculate the molar mass of {chem} and explain the stoichiometry.",
        "What does {reg} require for breach notification, and within what time frame?",
        "How do I account for depreciation of leased equipment under GAAP?",
    ),
}

_SNIPPETS: tuple[str, ...] = (
    "def load(path):\n    with open(path) as f:\n        data = json.load(f)\n"
    "    return [r for r in data if r['active'] == True]\n",
    "function total(items) {\n  let t = 0;\n  for (var i = 0; i <= items.length; i++) {\n"
    "    t += items[i].price * items[i].qty;\n  }\n  return t;\n}\n",
    "SELECT c.id, SUM(o.amount)\nFROM customers c JOIN orders o ON o.customer_id = c.id\n"
    "WHERE o.created_at > NOW() - INTERVAL '30 days'\nGROUP BY c.id;\n",
    "func fetch(url string) ([]byte, error) {\n\tresp, err := http.Get(url)\n"
    "\tif err != nil {\n\t\treturn nil, err\n\t}\n\treturn io.ReadAll(resp.Body)\n}\n",
    "class Cache:\n    def __init__(self):\n        self.store = {}\n"
    "    def get(self, key):\n        return self.store[key]\n",
    "async def handler(request):\n    body = await request.json()\n"
    "    user = await db.fetch_user(body['id'])\n    return web.json_response(user)\n",
)

# Sentence templates for pasted documents. Deliberately dull prose: the instruction, not
# the document body, is what should decide the category.
_DOC_SENTENCES: tuple[str, ...] = (
    "In week {n}, the {team} group reported that {entity} volume rose by {pct} percent.",
    "Customer {cust} mentioned that onboarding took longer than expected.",
    "The regional lead noted that {entity} in the north region were flat compared with last month.",
    "Participants described the new dashboard as clearer, though {pct} percent wanted "
    "more filters.",
    "At {hh}:{mm} the on-call engineer acknowledged the page and began investigating.",
    "Spend on paid channels was {pct} thousand dollars, slightly under plan.",
    "Several interviewees asked for better export options and shared folders.",
    "The team agreed to revisit the {entity} backlog at the next planning meeting.",
    "Median handling time for {entity} moved from {n} to {pct} minutes.",
    "One respondent wrote that the mobile app felt fast but the settings were hard to find.",
    "Finance flagged that renewals for {entity} were concentrated in the last two weeks.",
    "The moderator asked how often they used the reporting view; most said weekly.",
)
_DOC_PARAGRAPHS = 48


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One simulated request: when it arrives, what it asks, and who sent it."""

    index: int
    ts_ns: int
    prompt: str
    intended_category: str
    max_tokens: int
    tags: dict[str, str]


def hourly_weights() -> list[float]:
    """Relative request rate per UTC hour of day (index = hour), normalised to sum to 1."""
    total = sum(_HOURLY_SHAPE)
    return [w / total for w in _HOURLY_SHAPE]


def _compile_templates() -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Pre-parse every template's field names once so generation only draws and formats."""
    parser = string.Formatter()
    out: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
    for category, templates in {**_TEMPLATES, _CONTEXT: _CONTEXTS}.items():
        out[category] = tuple(
            (t, tuple(dict.fromkeys(f for _, f, _, _ in parser.parse(t) if f))) for t in templates
        )
    return out


_COMPILED = _compile_templates()
_CATEGORY_NAMES = tuple(CATEGORY_MIX)
_CATEGORY_CUM = tuple(itertools.accumulate(CATEGORY_MIX.values()))


def _build_paragraphs() -> tuple[str, ...]:
    """Pre-render document paragraphs once (fixed seed) so long texts are cheap joins."""
    rng = random.Random(20240611)
    paragraphs: list[str] = []
    for _ in range(_DOC_PARAGRAPHS):
        sentences = [
            rng.choice(_DOC_SENTENCES).format(
                n=rng.randint(1, 52),
                team=rng.choice(_TEAM_NAMES),
                entity=rng.choice(_SLOTS["entity"]),
                pct=rng.randint(2, 60),
                cust=f"C-{rng.randint(1000, 9999)}",
                hh=f"{rng.randint(0, 23):02d}",
                mm=f"{rng.randint(0, 59):02d}",
            )
            for _ in range(rng.randint(4, 9))
        ]
        paragraphs.append(" ".join(sentences))
    return tuple(paragraphs)


_PARAGRAPHS = _build_paragraphs()
_MEAN_PARAGRAPH_CHARS = sum(len(p) for p in _PARAGRAPHS) / len(_PARAGRAPHS)


def _fill(rng: random.Random, category: str) -> str:
    """Render a random template of ``category`` with random fill-ins."""
    template, fields = rng.choice(_COMPILED[category])
    values = {f: _slot_value(rng, f) for f in fields}
    return template.format_map(values)


def _slot_value(rng: random.Random, field: str) -> str:
    """Draw a fill-in; snippets live outside ``_SLOTS`` because they are multi-line."""
    if field == "snippet":
        return rng.choice(_SNIPPETS)
    return rng.choice(_SLOTS[field])


def _document(rng: random.Random, tokens_range: tuple[int, int]) -> str:
    """Build a pasted document of roughly log-uniform size within ``tokens_range``."""
    low, high = tokens_range
    target_chars = 4 * int(math.exp(rng.uniform(math.log(low), math.log(high))))
    count = int(target_chars / (_MEAN_PARAGRAPH_CHARS + 2)) + 1
    body = "\n\n".join(rng.choices(_PARAGRAPHS, k=count))
    return body[:target_chars]


def _analysis_prompt(rng: random.Random) -> str:
    """Analysis request, sometimes with a pasted document before or after the ask."""
    ask = _frame(rng, _fill(rng, "analysis_research"))
    roll = rng.random()
    if roll < _LONG_DOC_RATE:
        doc = _document(rng, _LONG_DOC_TOKENS)
    elif roll < _LONG_DOC_RATE + _MEDIUM_DOC_RATE:
        doc = _document(rng, _MEDIUM_DOC_TOKENS)
    else:
        return ask
    # Callers put the instruction first more often than last.
    if rng.random() < 0.7:
        return f"{ask}\n\n---\n{doc}\n---"
    return f"{doc}\n\n---\n{ask}"


def _frame(rng: random.Random, ask: str) -> str:
    """Wrap an ask in an optional greeting and closing remark."""
    opener = rng.choice(_OPENERS)
    if opener and ask[1:2].islower():
        # "Hey, write a ..." reads naturally; "Hey, I'm ..." and "Hey, SQL ..." keep case.
        ask = ask[0].lower() + ask[1:]
    return opener + ask + rng.choice(_CLOSERS)


def _prompt(rng: random.Random, category: str) -> str:
    """Prompt text for one request of ``category``."""
    if category == "analysis_research":
        return _analysis_prompt(rng)
    ask = _fill(rng, category)
    if category in _TECHNICAL and rng.random() < _CONTEXT_RATE:
        ask = _fill(rng, _CONTEXT) + ask
    prompt = _frame(rng, ask)
    # Templates that already embed a snippet are multi-line; don't paste a second one.
    pasteable = category == "coding_implementation" and "\n" not in prompt
    if pasteable and rng.random() < _CODE_SNIPPET_RATE:
        prompt += "\n\nHere is what I have so far:\n" + rng.choice(_SNIPPETS)
    return prompt


def _timestamps(rng: random.Random, n: int, end_ns: int, span_ns: int) -> list[int]:
    """Draw ``n`` arrival times in ``[end_ns - span_ns, end_ns)`` following the daily shape.

    The window is cut at UTC hour boundaries; each piece is weighted by its hour's rate
    times its length, so partial hours at the edges stay proportional.
    """
    start_ns = end_ns - span_ns
    shape = hourly_weights()
    pieces: list[tuple[int, int]] = []
    weights: list[float] = []
    cursor = start_ns
    while cursor < end_ns:
        boundary = min(end_ns, (cursor // _HOUR_NS + 1) * _HOUR_NS)
        pieces.append((cursor, boundary - cursor))
        weights.append(shape[(cursor % _DAY_NS) // _HOUR_NS] * (boundary - cursor))
        cursor = boundary
    chosen = rng.choices(pieces, weights=weights, k=n)
    return [lo + min(width - 1, int(rng.random() * width)) for lo, width in chosen]


def _tags(rng: random.Random, category: str) -> dict[str, str]:
    """Team (by category affinity), feature and (heavily skewed) user tags."""
    team = rng.choices(_TEAM_NAMES, weights=_TEAM_AFFINITY[category])[0]
    return {
        "team": team,
        "feature": rng.choice(_TEAMS[team]),
        "user": rng.choices(_USERS, cum_weights=_USER_CUM_WEIGHTS)[0],
    }


def generate(
    n: int, *, seed: int = 7, end_ns: int, span_ns: int = 24 * 3600 * 10**9
) -> list[WorkItem]:
    """Generate ``n`` simulated requests arriving in ``[end_ns - span_ns, end_ns)``.

    Deterministic for ``(n, seed, end_ns, span_ns)``. Items are sorted by ``ts_ns`` and
    ``index`` is the position after sorting.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if span_ns <= 0:
        raise ValueError(f"span_ns must be > 0, got {span_ns}")
    rng = random.Random(seed)
    times = sorted(_timestamps(rng, n, end_ns, span_ns))
    categories = rng.choices(_CATEGORY_NAMES, cum_weights=_CATEGORY_CUM, k=n)
    return [
        WorkItem(
            index=i,
            ts_ns=ts,
            prompt=_prompt(rng, category),
            intended_category=category,
            max_tokens=rng.choice(_MAX_TOKENS[category]),
            tags=_tags(rng, category),
        )
        for i, (ts, category) in enumerate(zip(times, categories, strict=True))
    ]
