"""Span names and attributes: OpenTelemetry GenAI semantic conventions plus `mmoa.*`.

The router only speaks OTel's API; where the spans go is the composition root's business.
Money travels as decimal strings: OTel attributes have no decimal type and floats are not money.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from opentelemetry.util.types import AttributeValue

from catalog import ModelSpec

if TYPE_CHECKING:
    from router.attempts import AttemptRecord
    from router.router import Decision

ROUTE_SPAN = "mmoa.route"
AttrMap = dict[str, AttributeValue]


def money(value: Decimal | None) -> str | None:
    """A cost as an exact decimal string (None stays None: unpriced)."""
    return None if value is None else format(value, "f")


def tag_attributes(tags: Mapping[str, str]) -> AttrMap:
    return {f"mmoa.tag.{k}": str(v) for k, v in tags.items()}


def operation(model: ModelSpec) -> str:
    """gen_ai.operation.name for a call to `model`: chat, or generate_content for images."""
    return "generate_content" if model.kind == "image" else "chat"


def attempt_attributes(a: AttemptRecord, d: Decision, request_id: str, tags: AttrMap) -> AttrMap:
    """Attributes of one provider call span (`chat {model}`, kind CLIENT); it carries its
    request's category and complexity, so call figures can be grouped by them."""
    m = a.model
    attrs: AttrMap = {
        "gen_ai.operation.name": operation(m),
        "gen_ai.provider.name": m.otel_provider,
        "gen_ai.request.model": m.name,
        "server.address": m.server,
        "server.port": 443,
        "mmoa.request.id": request_id,
        "mmoa.task.category": d.category,
        "mmoa.task.complexity": d.complexity,
        "mmoa.simulated": a.simulated,
    }
    c = a.completion
    if c is None:
        attrs["error.type"] = a.error_type or "error"
    else:
        u = c.usage
        attrs.update(
            {
                "gen_ai.response.model": c.response_model,
                "gen_ai.response.id": c.response_id,
                "gen_ai.response.finish_reasons": (c.finish_reason,),
                "gen_ai.usage.input_tokens": u.input_tokens,
                "gen_ai.usage.output_tokens": u.output_tokens,
                "gen_ai.usage.cache_read.input_tokens": u.cache_read_tokens,
                "gen_ai.usage.cache_creation.input_tokens": u.cache_write_tokens,
                "gen_ai.usage.reasoning.output_tokens": u.reasoning_tokens,
                "server.address": c.server_address,
                "server.port": c.server_port,
            }
        )
    if c is not None and m.kind == "image":
        attrs["mmoa.images.count"] = len(c.images)
    if a.confidence is not None:
        attrs["mmoa.judge.confidence"] = a.confidence
    if a.role != "answer":
        attrs["mmoa.attempt.role"] = a.role
    cost = money(a.cost)
    if cost is not None:
        attrs["mmoa.cost.usd"] = cost
    attrs.update(tags)
    return attrs


def decision_attributes(d: Decision, request_id: str, tags: AttrMap) -> AttrMap:
    """Attributes of the `mmoa.route` decision span (kind INTERNAL)."""
    attrs: AttrMap = {
        "mmoa.request.id": request_id,
        "mmoa.task.category": d.category,
        "mmoa.task.complexity": d.complexity,
        "mmoa.task.confidence": d.confidence,
        "mmoa.task.reason": d.classifier_reason,
        "mmoa.route.strategy": d.strategy,
        "mmoa.route.candidates": tuple(m.name for m in d.candidates),
        "mmoa.route.model": d.model or "",
        "mmoa.route.reason": d.reason,
        "mmoa.route.attempts": d.attempts,
        "mmoa.route.status": d.status,
        "mmoa.policy.version": d.policy_version,
        "mmoa.baseline.model": d.baseline_model,
        "mmoa.cache.hit": d.cache_hit,
        "mmoa.route.escalations": d.escalations,
        "mmoa.simulated": d.simulated,
    }
    if d.agreement is not None:
        attrs["mmoa.ensemble.agreement"] = d.agreement
    if d.role is not None:
        attrs["mmoa.role"] = d.role
    if d.max_cost is not None:
        attrs["mmoa.cost.max_usd"] = format(d.max_cost, "f")
    for key, value in (("mmoa.cost.usd", d.cost), ("mmoa.cost.baseline_usd", d.baseline_cost)):
        text = money(value)
        if text is not None:
            attrs[key] = text
    attrs.update(tags)
    return attrs
