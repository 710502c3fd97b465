"""Spans -> rows of the `spans` table, built column-wise as one Arrow table per batch.

Our own attribute names and the OTel GenAI conventions map to typed columns (legacy aliases
accepted); everything else is kept, as JSON, in `attributes`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from opentelemetry.sdk.trace import ReadableSpan

TAG_PREFIX = "mmoa.tag."

# column -> attribute keys, first present wins (current name first, legacy aliases after)
TYPED: dict[str, tuple[str, ...]] = {
    "operation": ("gen_ai.operation.name",),
    "provider": ("gen_ai.provider.name", "gen_ai.system"),
    "request_model": ("gen_ai.request.model",),
    "response_model": ("gen_ai.response.model",),
    "response_id": ("gen_ai.response.id",),
    "finish_reasons": ("gen_ai.response.finish_reasons",),
    "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
    "cache_read_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
    ),
    "cache_write_tokens": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
    ),
    "reasoning_tokens": ("gen_ai.usage.reasoning.output_tokens",),
    "server_address": ("server.address",),
    "server_port": ("server.port",),
    "error_type": ("error.type",),
    "cost_usd": ("mmoa.cost.usd",),
    "category": ("mmoa.task.category",),
    "complexity": ("mmoa.task.complexity",),
    "confidence": ("mmoa.task.confidence",),
    "strategy": ("mmoa.route.strategy",),
    "route_model": ("mmoa.route.model",),
    "route_reason": ("mmoa.route.reason",),
    "candidates": ("mmoa.route.candidates",),
    "attempts": ("mmoa.route.attempts",),
    "route_status": ("mmoa.route.status",),
    "policy_version": ("mmoa.policy.version",),
    "baseline_model": ("mmoa.baseline.model",),
    "baseline_cost_usd": ("mmoa.cost.baseline_usd",),
    "cache_hit": ("mmoa.cache.hit",),
}
_LISTS = {"finish_reasons", "candidates"}
_CONSUMED = frozenset(k for keys in TYPED.values() for k in keys) | {
    "mmoa.request.id",
    "mmoa.simulated",
}

# Arrow types of the batch; SQL casts them to the table's types (decimals arrive as text).
SCHEMA = pa.schema(
    [
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("parent_span_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("start_ns", pa.int64()),
        ("end_ns", pa.int64()),
        ("status_code", pa.string()),
        ("status_message", pa.string()),
        ("request_id", pa.string()),
        ("operation", pa.string()),
        ("provider", pa.string()),
        ("request_model", pa.string()),
        ("response_model", pa.string()),
        ("response_id", pa.string()),
        ("finish_reasons", pa.list_(pa.string())),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("cache_read_tokens", pa.int64()),
        ("cache_write_tokens", pa.int64()),
        ("reasoning_tokens", pa.int64()),
        ("server_address", pa.string()),
        ("server_port", pa.int64()),
        ("error_type", pa.string()),
        ("cost_usd", pa.string()),
        ("category", pa.string()),
        ("complexity", pa.string()),
        ("confidence", pa.float64()),
        ("strategy", pa.string()),
        ("route_model", pa.string()),
        ("route_reason", pa.string()),
        ("candidates", pa.list_(pa.string())),
        ("attempts", pa.int64()),
        ("route_status", pa.string()),
        ("policy_version", pa.int64()),
        ("baseline_model", pa.string()),
        ("baseline_cost_usd", pa.string()),
        ("cache_hit", pa.bool_()),
        ("simulated", pa.bool_()),
        ("source", pa.string()),
        ("tags", pa.map_(pa.string(), pa.string())),
        ("attributes", pa.string()),
        ("resource", pa.string()),
    ]
)


def _pick(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None:
            return value
    return None


def _typed_column(column: str, keys: tuple[str, ...], attrs: list[Mapping[str, Any]]) -> list[Any]:
    if len(keys) == 1:
        values = [a.get(keys[0]) for a in attrs]
    else:
        values = [_pick(a, keys) for a in attrs]
    if column in _LISTS:
        return [list(v) if v is not None else None for v in values]
    if column in ("cost_usd", "baseline_cost_usd"):
        # floats from other instrumentations become text here; Python's repr is shortest-exact
        return [v if v is None or isinstance(v, str) else repr(v) for v in values]
    return values


def _rest(attrs: Mapping[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    """(tags, JSON of the attributes no typed column holds)."""
    tags: list[tuple[str, str]] = []
    extra: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in _CONSUMED:
            continue
        if key.startswith(TAG_PREFIX):
            tags.append((key[len(TAG_PREFIX) :], str(value)))
        else:
            extra[key] = list(value) if isinstance(value, tuple) else value
    return tags, (json.dumps(extra, separators=(",", ":")) if extra else None)


def _source(span: ReadableSpan) -> str:
    scope = span.instrumentation_scope
    name = scope.name if scope is not None else ""
    return "mmoa" if name.startswith("mmoa") else (name or "unknown")


def to_table(spans: Sequence[ReadableSpan]) -> pa.Table:
    """One Arrow table with a row per span, in SCHEMA's column order."""
    attrs = [s.attributes or {} for s in spans]
    contexts = [s.get_span_context() for s in spans]
    span_ids = [format(c.span_id, "016x") if c else "" for c in contexts]
    rest = [_rest(a) for a in attrs]
    resources = {}
    for s in spans:
        res = s.resource
        if id(res) not in resources:
            resources[id(res)] = json.dumps(dict(res.attributes), default=str) if res else None
    cols: dict[str, list[Any]] = {
        "trace_id": [format(c.trace_id, "032x") if c else "" for c in contexts],
        "span_id": span_ids,
        "parent_span_id": [format(s.parent.span_id, "016x") if s.parent else None for s in spans],
        "name": [s.name for s in spans],
        "kind": [s.kind.name for s in spans],
        "start_ns": [s.start_time or 0 for s in spans],
        "end_ns": [s.end_time or s.start_time or 0 for s in spans],
        "status_code": [s.status.status_code.name for s in spans],
        "status_message": [s.status.description for s in spans],
        "request_id": [a.get("mmoa.request.id") or sid for a, sid in zip(attrs, span_ids, strict=True)],
        "simulated": [bool(a.get("mmoa.simulated", False)) for a in attrs],
        "source": [_source(s) for s in spans],
        "tags": [r[0] for r in rest],
        "attributes": [r[1] for r in rest],
        "resource": [resources[id(s.resource)] for s in spans],
    }
    for column, keys in TYPED.items():
        cols[column] = _typed_column(column, keys, attrs)
    return pa.table([cols[f.name] for f in SCHEMA], schema=SCHEMA)
