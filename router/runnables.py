"""Strategies as composable runnables: each wraps models (or other runnables) and is run like one.

- Chain: the cheapest candidate first; a provider error moves on to the next (`cheapest`).
- Cascade: start cheap, judge the answer; below the threshold escalate (`fallback`).
- Ensemble: several members at once; pick by consensus vote or have a model synthesise.
- Verify: a generator answers, a cheap verifier judges; on FAIL the next generator tries.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Protocol

from catalog import ModelSpec
from router.attempts import Attempter, Request
from router.judge import judge
from router.providers.base import Completion


@dataclass
class Outcome:
    """What a runnable produced: the answer (or None) and what it took to get there."""

    completion: Completion | None
    model: ModelSpec | None
    t: int
    escalations: int = 0
    agreement: float | None = None
    notes: list[str] = field(default_factory=list)


class Runnable(Protocol):
    """Anything that can answer a request: a model, or a strategy over models."""

    name: str

    def run(self, att: Attempter, req: Request, t: int) -> Outcome: ...


@dataclass
class Single:
    """One model, with the attempter's retries."""

    model: ModelSpec
    name: str = "single"

    def run(self, att: Attempter, req: Request, t: int) -> Outcome:
        if not att.usable(req, self.model, t):
            return Outcome(None, None, t)
        t, done, used = att.try_model(req, self.model, t)
        return Outcome(done, used if done else None, t)


@dataclass
class Chain:
    """Members in order; a failure (error, cap, open circuit) moves on to the next."""

    members: list[Runnable]
    max_members: int = 3
    name: str = "cheapest"

    def run(self, att: Attempter, req: Request, t: int) -> Outcome:
        tried = 0
        for member in self.members:
            if tried >= self.max_members or req.stopped or _past_deadline(req, t):
                break
            before = len(req.records)
            out = member.run(att, req, t)
            t = out.t
            tried += len(req.records) > before
            if out.completion is not None:
                return out
        return Outcome(None, None, t)


@dataclass
class Cascade:
    """Cheap first; escalate while the judged confidence is below the threshold."""

    members: list[Runnable]
    threshold: float = 0.7
    name: str = "fallback"

    def run(self, att: Attempter, req: Request, t: int) -> Outcome:
        best: Outcome = Outcome(None, None, t)
        escalations = 0
        for i, member in enumerate(self.members):
            if req.stopped or _past_deadline(req, t):
                break
            out = member.run(att, req, t)
            t = out.t
            if out.completion is None:
                continue  # an error also moves on, but is not an escalation
            verdict = judge(req.template.prompt, out.completion.text, out.completion.finish_reason)
            _mark(req, out, verdict.confidence)
            best = Outcome(out.completion, out.model, t, escalations, notes=list(verdict.reasons))
            if verdict.confidence >= self.threshold or i == len(self.members) - 1:
                break
            escalations += 1
        best.t, best.escalations = t, escalations
        return best


@dataclass
class Ensemble:
    """Members run concurrently; consensus vote on normalised answers, or a synthesis call."""

    members: list[Runnable]
    mode: str = "consensus"  # consensus | synthesis
    synthesizer: ModelSpec | None = None
    name: str = "ensemble"

    def run(self, att: Attempter, req: Request, t: int) -> Outcome:
        futures = [_pool().submit(m.run, att, req, t) for m in self.members]
        outs = [f.result() for f in futures]
        answered = [o for o in outs if o.completion is not None]
        end = max((o.t for o in outs), default=t)
        if not answered:
            return Outcome(None, None, end)
        votes = Counter(normalise(o.completion.text) for o in answered if o.completion)
        top, count = votes.most_common(1)[0]
        agreement = round(count / len(answered), 2)
        if self.mode == "synthesis" and self.synthesizer is not None and len(answered) > 1:
            return self._synthesise(att, req, answered, end, agreement)
        winner = next(o for o in answered if o.completion and normalise(o.completion.text) == top)
        return Outcome(winner.completion, winner.model, end, agreement=agreement)

    def _synthesise(
        self, att: Attempter, req: Request, answered: list[Outcome], t: int, agreement: float
    ) -> Outcome:
        assert self.synthesizer is not None
        drafts = "\n\n".join(
            f"Answer {i + 1}:\n{o.completion.text}" for i, o in enumerate(answered) if o.completion
        )
        prompt = (
            f"Merge these answers to the request into one best answer.\n\nRequest:\n"
            f"{req.template.prompt}\n\n{drafts}"
        )
        call = replace(req.template, prompt=prompt, purpose="synthesize")
        t, done, used = att.try_model(req, self.synthesizer, t, role="synthesizer", call=call)
        if done is None:  # the synthesizer failed: fall back to the vote
            first = answered[0]
            return Outcome(first.completion, first.model, t, agreement=agreement)
        return Outcome(done, used, t, agreement=agreement)


VERIFY_PROMPT = (
    "You check answers. Reply with PASS if the answer below correctly and fully answers the "
    "request, otherwise FAIL and one line saying why.\n\nRequest:\n{request}\n\nAnswer:\n{answer}"
)
_PASS = re.compile(r"^\W*pass\b", re.IGNORECASE)


@dataclass
class Verify:
    """Generators in order; a cheap verifier must say PASS, else the next generator tries."""

    generators: list[Runnable]
    verifier: ModelSpec
    name: str = "verify"

    def run(self, att: Attempter, req: Request, t: int) -> Outcome:
        last: Outcome = Outcome(None, None, t)
        escalations = 0
        for i, generator in enumerate(self.generators):
            if req.stopped:
                break
            out = generator.run(att, req, t)
            t = out.t
            if out.completion is None:
                continue
            last = Outcome(out.completion, out.model, t, escalations)
            check = replace(
                req.template,
                prompt=VERIFY_PROMPT.format(
                    request=req.template.prompt, answer=out.completion.text
                ),
                max_tokens=64,
                purpose="verify",
            )
            t, verdict, _ = att.try_model(req, self.verifier, t, role="verifier", call=check)
            passed = verdict is not None and bool(_PASS.match(verdict.text))
            if passed or verdict is None or i == len(self.generators) - 1:
                # no verdict (verifier down) keeps the answer rather than paying for escalation
                break
            escalations += 1
        last.t, last.escalations = t, escalations
        return last


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
# Ensemble members wait on providers, not the CPU: many threads, started once, reused.
POOL_THREADS = 64


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="mmoa-ensemble")
        return _POOL


def _past_deadline(req: Request, t: int) -> bool:
    if t < req.budget.deadline_ns:
        return False
    req.skip("the rest (deadline reached: max_latency_s or faults.deadline_s)")
    return True


def normalise(text: str) -> str:
    """An answer reduced for voting: case, punctuation and spacing do not count."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", folded).split())


def _mark(req: Request, out: Outcome, confidence: float) -> None:
    """Attach the judge's confidence to the attempt that produced `out`."""
    with req._lock:  # noqa: SLF001 - records are the request's own
        for i in range(len(req.records) - 1, -1, -1):
            r = req.records[i]
            if r.completion is out.completion:
                req.records[i] = replace(r, confidence=confidence)
                break
