"""collector.otlp: OTLP/HTTP trace requests decode to the same rows as in-process SDK spans."""

from __future__ import annotations

import base64
import gzip
import json
import tracemalloc
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from collector import otlp, rows
from collector.exporter import insert_table
from collector.otlp import MAX_BODY_BYTES, DecodeError, UnsupportedMediaType, decode
from collector.store import open_writer

PB = "application/x-protobuf"
JS = "application/json"
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SPAN = bytes.fromhex("b7ad6b7169203331")


# ---------------------------------------------------------------- real SDK spans


@pytest.fixture
def sdk_spans() -> Iterator[Sequence[ReadableSpan]]:
    """Spans as mmoa's router makes them, plus foreign GenAI spans with legacy attributes."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "app", "deployment.environment": "ci"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    ours = provider.get_tracer("mmoa.router")
    tags = {"mmoa.tag.team": "search", "mmoa.tag.user": "u-7"}
    with ours.start_as_current_span(
        "mmoa.route",
        attributes={
            "mmoa.request.id": "req-1",
            "mmoa.task.category": "code",
            "mmoa.task.complexity": "hard",
            "mmoa.task.confidence": 0.875,
            "mmoa.task.reason": "keywords",
            "mmoa.route.strategy": "cascade",
            "mmoa.route.candidates": ("gpt-4.1-mini", "claude-sonnet-4-5"),
            "mmoa.route.model": "gpt-4.1-mini",
            "mmoa.route.reason": "cheapest capable",
            "mmoa.route.attempts": 2,
            "mmoa.route.status": "ok",
            "mmoa.policy.version": 7,
            "mmoa.baseline.model": "claude-sonnet-4-5",
            "mmoa.cache.hit": False,
            "mmoa.route.escalations": 1,
            "mmoa.simulated": True,
            "mmoa.ensemble.agreement": 0.5,
            "mmoa.cost.usd": "0.0012345",
            "mmoa.cost.baseline_usd": "0.0150000",
            "mmoa.cost.max_usd": "0.05",
            **tags,
        },
    ):
        with ours.start_as_current_span(
            "chat gpt-4.1-mini",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4.1-mini",
                "gen_ai.response.model": "gpt-4.1-mini-2025-04-14",
                "gen_ai.response.id": "chatcmpl-" + "x" * 140,  # longer than one length byte
                "gen_ai.response.finish_reasons": ("stop",),
                "gen_ai.usage.input_tokens": 123_456,
                "gen_ai.usage.output_tokens": 300,
                "gen_ai.usage.cache_read.input_tokens": 0,
                "gen_ai.usage.cache_creation.input_tokens": 64,
                "gen_ai.usage.reasoning.output_tokens": 2**40,
                "server.address": "api.openai.com",
                "server.port": 443,
                "mmoa.request.id": "req-1",
                "mmoa.simulated": True,
                "mmoa.judge.confidence": 1.0,
                "mmoa.cost.usd": "0.0010000",
                "app.delta": -5,
                "app.scores": (1.5, -2.25),
                "app.flags": (True, False),
                "app.ids": (1, -2, 2**62),
                "app.empty": "",
                "app.unicode": "héllo ✓ 日本",
                **tags,
            },
        ):
            pass
        with ours.start_as_current_span(
            "chat claude-sonnet-4-5",
            kind=SpanKind.CLIENT,
            attributes={"gen_ai.operation.name": "chat", "error.type": "timeout", **tags},
        ) as failed:
            failed.set_status(StatusCode.ERROR, "provider timed out")
    foreign = provider.get_tracer("opentelemetry.instrumentation.openai_v2", "2.1b0")
    for kind in (SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER):
        with foreign.start_as_current_span(
            "chat gpt-4o",
            kind=kind,
            attributes={
                "gen_ai.system": "openai",
                "gen_ai.usage.prompt_tokens": 12,
                "gen_ai.usage.completion_tokens": 3,
                "gen_ai.usage.cache_read_input_tokens": 2,
                "gen_ai.usage.cost": 0.00123,
            },
        ) as span:
            span.set_status(StatusCode.OK)
    yield exporter.get_finished_spans()
    provider.shutdown()


def pb_body(spans: Sequence[ReadableSpan]) -> bytes:
    return bytes(encode_spans(spans).SerializeToString())


def otlp_json(spans: Sequence[ReadableSpan]) -> bytes:
    """The OTLP JSON encoding: protobuf's JSON mapping with trace and span ids in hex."""
    doc = json.loads(json_format.MessageToJson(encode_spans(spans)))
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for holder in (span, *span.get("links", ())):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in holder:
                            holder[key] = base64.b64decode(holder[key]).hex()
    return json.dumps(doc).encode()


def assert_same_rows(got: pa.Table, want: pa.Table) -> None:
    assert got.schema == rows.SCHEMA == want.schema
    assert got.num_rows == want.num_rows
    key = [("span_id", "ascending")]
    got, want = got.sort_by(key), want.sort_by(key)
    for name in rows.SCHEMA.names:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name


def test_protobuf_round_trip_equals_to_table(sdk_spans: Sequence[ReadableSpan]) -> None:
    table = decode(pb_body(sdk_spans), PB)
    assert_same_rows(table, rows.to_table(sdk_spans))
    assert table.num_rows == len(sdk_spans) == 6


def test_decoded_values(sdk_spans: Sequence[ReadableSpan]) -> None:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in decode(pb_body(sdk_spans), PB).to_pylist():
        by_name.setdefault(row["name"], []).append(row)
    (route,) = by_name["mmoa.route"]
    (call,) = by_name["chat gpt-4.1-mini"]
    (failed,) = by_name["chat claude-sonnet-4-5"]
    assert len(route["trace_id"]) == 32 and route["trace_id"] == route["trace_id"].lower()
    assert len(route["span_id"]) == 16
    assert route["parent_span_id"] is None
    assert call["parent_span_id"] == route["span_id"]
    assert (route["kind"], call["kind"]) == ("INTERNAL", "CLIENT")
    assert [r["kind"] for r in by_name["chat gpt-4o"]] == ["SERVER", "PRODUCER", "CONSUMER"]
    assert (route["status_code"], route["status_message"]) == ("UNSET", None)
    assert (failed["status_code"], failed["status_message"]) == ("ERROR", "provider timed out")
    assert call["end_ns"] >= call["start_ns"] > 1_600_000_000 * 10**9
    assert route["source"] == call["source"] == "mmoa"
    assert by_name["chat gpt-4o"][0]["source"] == "opentelemetry.instrumentation.openai_v2"
    assert route["a"]["mmoa.route.candidates"] == ["gpt-4.1-mini", "claude-sonnet-4-5"]
    assert route["a"]["mmoa.cost.usd"] == "0.0012345"
    assert route["a"]["mmoa.task.confidence"] == 0.875
    assert route["a"]["mmoa.cache.hit"] is False
    assert dict(route["tags"]) == {"team": "search", "user": "u-7"}
    assert json.loads(route["attributes"]) == {"mmoa.cost.max_usd": "0.05"}
    assert call["a"]["gen_ai.usage.input_tokens"] == 123_456
    assert call["a"]["gen_ai.usage.reasoning.output_tokens"] == 2**40
    assert call["a"]["gen_ai.response.id"] == "chatcmpl-" + "x" * 140
    assert json.loads(call["attributes"]) == {
        "app.delta": -5,
        "app.empty": "",
        "app.flags": [True, False],
        "app.ids": [1, -2, 2**62],
        "app.scores": [1.5, -2.25],
        "app.unicode": "héllo ✓ 日本",
    }
    resource = json.loads(route["resource"])
    assert resource["service.name"] == "app"
    assert resource["deployment.environment"] == "ci"


def test_mistyped_known_attributes_match_to_table() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("some.lib")
    with tracer.start_as_current_span(
        "chat", attributes={"gen_ai.usage.input_tokens": "12", "server.port": 1.5, "z": 1}
    ):
        pass
    with tracer.start_as_current_span("ok", attributes={"gen_ai.usage.input_tokens": 5}):
        pass
    spans = exporter.get_finished_spans()
    table = decode(pb_body(spans), PB)
    assert_same_rows(table, rows.to_table(spans))
    first = table.sort_by("start_ns").to_pylist()[0]
    assert first["a"]["gen_ai.usage.input_tokens"] is None
    assert json.loads(first["attributes"]) == {
        "z": 1,
        "gen_ai.usage.input_tokens": "12",
        "server.port": 1.5,
    }


def test_legacy_genai_span_maps_aliases_and_keeps_cost(
    sdk_spans: Sequence[ReadableSpan], tmp_path: Path
) -> None:
    table = decode(pb_body(sdk_spans), PB)
    legacy = [r for r in table.to_pylist() if r["name"] == "chat gpt-4o"]
    assert len(legacy) == 3
    a = legacy[0]["a"]
    assert a["gen_ai.system"] == "openai"
    assert a["gen_ai.usage.prompt_tokens"] == 12
    assert a["gen_ai.usage.completion_tokens"] == 3
    assert a["gen_ai.usage.cache_read_input_tokens"] == 2
    assert json.loads(legacy[0]["attributes"]) == {"gen_ai.usage.cost": 0.00123}
    conn = open_writer(tmp_path / "s.duckdb")
    insert_table(conn, table)
    stored = conn.execute(
        "SELECT provider, input_tokens, output_tokens, cache_read_tokens, cost_usd,"
        " CAST(json_extract(attributes, '$.\"gen_ai.usage.cost\"') AS DOUBLE), source"
        " FROM spans WHERE name = 'chat gpt-4o'"
    ).fetchall()
    assert (
        stored
        == [("openai", 12, 3, 2, None, 0.00123, "opentelemetry.instrumentation.openai_v2")] * 3
    )
    conn.close()


# ---------------------------------------------------------------- JSON


def test_json_round_trip_equals_to_table(sdk_spans: Sequence[ReadableSpan]) -> None:
    table = decode(otlp_json(sdk_spans), "application/json; charset=utf-8")
    assert_same_rows(table, rows.to_table(sdk_spans))


HAND_WRITTEN = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [{"key": "service.name", "value": {"stringValue": "other-app"}}]
            },
            "scopeSpans": [
                {
                    "scope": {"name": "openlit", "version": "1.0"},
                    "spans": [
                        {
                            "traceId": "5B8EFFF798038103D269B633813FC60C",
                            "spanId": "EEE19B7EC3C1B174",
                            "parentSpanId": "",
                            "name": "chat gpt-4o",
                            "kind": 3,
                            "startTimeUnixNano": "1544712660000000000",
                            "endTimeUnixNano": 1544712661000000000,
                            "attributes": [
                                {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                                {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "12"}},
                                {"key": "gen_ai.usage.completion_tokens", "value": {"intValue": 3}},
                                {"key": "gen_ai.usage.cost", "value": {"doubleValue": 0.00123}},
                                {"key": "stream", "value": {"boolValue": True}},
                                {
                                    "key": "gen_ai.response.finish_reasons",
                                    "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}},
                                },
                                {
                                    "key": "nested",
                                    "value": {
                                        "kvlistValue": {
                                            "values": [{"key": "k", "value": {"intValue": "-1"}}]
                                        }
                                    },
                                },
                                {"key": "blob", "value": {"bytesValue": "AAEC"}},
                                {"key": "nothing", "value": {}},
                                {"key": "mmoa.tag.team", "value": {"stringValue": "ml"}},
                            ],
                            "links": [
                                {
                                    "traceId": "5b8efff798038103d269b633813fc60c",
                                    "spanId": "eee19b7ec3c1b175",
                                }
                            ],
                            "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
                            "someFutureField": {"ignored": True},
                        },
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b175",
                            "parentSpanId": "eee19b7ec3c1b174",
                            "name": "tool",
                            "kind": "SPAN_KIND_INTERNAL",
                            "startTimeUnixNano": "1544712660500000000",
                            "status": {"code": 1},
                        },
                    ],
                }
            ],
        }
    ]
}


def test_hand_written_otlp_json() -> None:
    table = decode(json.dumps(HAND_WRITTEN).encode(), JS)
    assert table.schema == rows.SCHEMA
    chat, tool = table.to_pylist()
    assert chat["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert (chat["span_id"], chat["parent_span_id"]) == ("eee19b7ec3c1b174", None)
    assert (chat["kind"], chat["status_code"], chat["status_message"]) == (
        "CLIENT",
        "ERROR",
        "boom",
    )
    assert (chat["start_ns"], chat["end_ns"]) == (1544712660000000000, 1544712661000000000)
    assert chat["source"] == "openlit"
    assert chat["a"]["gen_ai.system"] == "openai"
    assert chat["a"]["gen_ai.usage.prompt_tokens"] == 12
    assert chat["a"]["gen_ai.usage.completion_tokens"] == 3
    assert chat["a"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert dict(chat["tags"]) == {"team": "ml"}
    assert json.loads(chat["attributes"]) == {
        "blob": "AAEC",
        "gen_ai.usage.cost": 0.00123,
        "nested": {"k": -1},
        "stream": True,
    }
    assert json.loads(chat["resource"]) == {"service.name": "other-app"}
    assert tool["parent_span_id"] == "eee19b7ec3c1b174"
    assert (tool["kind"], tool["status_code"], tool["status_message"]) == ("INTERNAL", "OK", None)
    assert tool["end_ns"] == tool["start_ns"]  # no end time: a zero-length span, as rows.py
    assert (tool["tags"], tool["attributes"]) == ([], None)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"resourceSpans": [', "malformed JSON: "),
        (b"\xff\xfe\x00", "malformed JSON: "),
        (b"[]", "malformed JSON: the request must be an object"),
        (b'{"resourceSpans": 5}', "malformed JSON: "),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "not hex"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 1}]}]}]}', "malformed JSON: "),
        (b"[" * 100_000 + b"]" * 100_000, "malformed JSON: "),
    ],
)
def test_bad_json_is_a_decode_error(body: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(body, JS)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not isinstance(caught.value, UnsupportedMediaType)


# ---------------------------------------------------------------- framing


def test_empty_requests_give_empty_tables() -> None:
    for table in (decode(b"", PB), decode(b"{}", JS), decode(b'{"resourceSpans": []}', JS)):
        assert table.schema == rows.SCHEMA
        assert table.num_rows == 0


def test_gzip(sdk_spans: Sequence[ReadableSpan]) -> None:
    body = pb_body(sdk_spans)
    want = rows.to_table(sdk_spans)
    assert_same_rows(decode(gzip.compress(body), PB, "gzip"), want)
    assert_same_rows(decode(gzip.compress(body), PB, " GZip "), want)
    assert_same_rows(decode(gzip.compress(otlp_json(sdk_spans)), JS, "gzip"), want)
    half = len(body) // 2  # two gzip members, as `cat a.gz b.gz` makes
    two = gzip.compress(body[:half]) + gzip.compress(body[half:]) + b"\0" * 8
    assert_same_rows(decode(two, PB, "gzip"), want)
    assert_same_rows(decode(body, PB, "identity"), want)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not gzip at all", "malformed gzip: "),
        (gzip.compress(b"x" * 1000)[:-12], "malformed gzip: truncated"),
        (b"", "malformed gzip: truncated"),
        (gzip.compress(b"") + b"trailing garbage", "malformed gzip: "),
    ],
)
def test_bad_gzip_is_a_decode_error(body: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(body, PB, "gzip")


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    inflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    bomb = b"".join(inflater.compress(zeros) for _ in range(64)) + inflater.flush()
    assert len(bomb) < 200_000  # 64 MB of zeros
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError, match=f"body over {MAX_BODY_BYTES} bytes after"):
            decode(bomb, PB, "gzip")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_BODY_BYTES * 3 // 2  # the cap plus buffer slack, far from 64 MB


def test_oversized_body_is_refused() -> None:
    with pytest.raises(DecodeError, match=f"body over {MAX_BODY_BYTES} bytes$"):
        decode(bytes(MAX_BODY_BYTES + 1), PB)


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        ("text/plain", None),
        ("application/grpc", None),
        ("application/protobuf; proto=x", None),
        ("", None),
        (PB, "br"),
        (JS, "deflate"),
    ],
)
def test_unsupported_media_type(content_type: str, encoding: str | None) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        decode(b"{}", content_type, encoding)
    assert isinstance(caught.value, DecodeError)
    assert "unsupported content" in str(caught.value)


def test_content_type_parameters_and_case_are_ignored() -> None:
    assert decode(b"", "Application/X-Protobuf; charset=binary").num_rows == 0


# ---------------------------------------------------------------- malformed protobuf


def request(*spans: Span, scope: str = "lib") -> bytes:
    msg = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])]
    )
    msg.resource_spans[0].scope_spans[0].scope.name = scope
    return bytes(msg.SerializeToString())


def span(**fields: Any) -> Span:
    base: dict[str, Any] = {"trace_id": TRACE, "span_id": SPAN, "name": "s"}
    base.update(fields)
    return Span(**base)


def test_truncated_protobuf_is_a_decode_error(sdk_spans: Sequence[ReadableSpan]) -> None:
    body = pb_body(sdk_spans)
    for cut in (1, 7, len(body) // 2, len(body) - 1):
        with pytest.raises(DecodeError, match="^malformed protobuf: "):
            decode(body[:cut], PB)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (span(trace_id=TRACE[:15]), "trace_id must be 16 bytes"),
        (span(trace_id=bytes(16)), "trace_id must be 16 bytes, not all zero"),
        (span(span_id=b""), "span_id must be 8 bytes"),
        (span(parent_span_id=b"\1\2\3"), "parent_span_id must be 8 bytes or empty"),
        (span(start_time_unix_nano=2**63), "int64 nanosecond range"),
        (span(end_time_unix_nano=2**64 - 1), "int64 nanosecond range"),
    ],
)
def test_invalid_span_fields_are_decode_errors(bad: Span, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(request(bad), PB)


def test_invalid_utf8_in_an_attribute_is_a_decode_error() -> None:
    good = request(span(attributes=[KeyValue(key="KK", value=AnyValue(string_value="AB"))]))
    long = request(span(attributes=[KeyValue(key="KK", value=AnyValue(string_value="AB" * 99))]))
    for body in (
        good.replace(b"AB", b"\xff\xfe"),  # the value, short (decoded in Python)
        good.replace(b"KK", b"\xc0\x80"),  # the key (an overlong NUL)
        long.replace(b"AB", b"\xed\xa0", 1),  # a surrogate in a long value (decoded by upb)
    ):
        with pytest.raises(DecodeError, match="malformed protobuf"):
            decode(body, PB)


def test_unknown_enum_numbers_and_attribute_value_kinds() -> None:
    kvs = [
        KeyValue(key="none", value=AnyValue()),
        KeyValue(key="bytes", value=AnyValue(bytes_value=b"\0\1\2")),
        KeyValue(key="neg", value=AnyValue(int_value=-(2**63))),
        KeyValue(key="dbl", value=AnyValue(double_value=-0.5)),
        KeyValue(key="arr", value=AnyValue(array_value=ArrayValue(values=[AnyValue()]))),
        KeyValue(
            key="kv",
            value=AnyValue(
                kvlist_value=KeyValueList(
                    values=[KeyValue(key="a", value=AnyValue(bool_value=True))]
                )
            ),
        ),
        KeyValue(key="mmoa.tag.n", value=AnyValue(int_value=5)),
        KeyValue(key="mmoa.tag.gone", value=AnyValue()),
        KeyValue(key="dup", value=AnyValue(int_value=1)),
        KeyValue(key="dup", value=AnyValue(int_value=2)),  # the last one wins, as in a dict
    ]
    unknown_code: Any = 7  # numbers past the enum: a newer sender's values
    sp = span(kind=9, status=Status(code=unknown_code, message=""), attributes=kvs)
    (row,) = decode(request(sp, scope=""), PB).to_pylist()
    assert (row["kind"], row["status_code"], row["status_message"]) == ("INTERNAL", "UNSET", None)
    assert row["source"] == "unknown"
    assert dict(row["tags"]) == {"n": "5"}
    assert json.loads(row["attributes"]) == {
        "arr": [None],
        "bytes": "AAEC",
        "dbl": -0.5,
        "dup": 2,
        "kv": {"a": True},
        "neg": -(2**63),
    }


SCALARS = st.one_of(
    st.text(max_size=300),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
)


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.dictionaries(
        st.text(max_size=150).filter(lambda k: k not in rows.KNOWN and not k.startswith("mmoa.")),
        st.one_of(SCALARS, st.lists(SCALARS, max_size=4).map(tuple)),
        max_size=6,
    )
)
def test_attribute_values_decode_exactly(attrs: dict[str, Any]) -> None:
    kvs = [KeyValue(key=k, value=any_value(v)) for k, v in attrs.items()]
    (row,) = decode(request(span(attributes=kvs)), PB).to_pylist()
    want = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.items()}
    assert (json.loads(row["attributes"]) if row["attributes"] else {}) == want


# ---------------------------------------------------------------- fuzz: DecodeError or a table


def decodes_or_refuses(body: bytes, content_type: str, encoding: str | None = None) -> None:
    try:
        table = decode(body, content_type, encoding)
    except DecodeError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert table.schema == rows.SCHEMA


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=512), st.sampled_from([PB, JS]), st.sampled_from([None, "gzip"]))
def test_fuzz_random_bytes(body: bytes, content_type: str, encoding: str | None) -> None:
    decodes_or_refuses(body, content_type, encoding)


def _valid_body() -> bytes:
    kvs = [
        KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=300)),
        KeyValue(key="gen_ai.request.model", value=AnyValue(string_value="m")),
        KeyValue(key="mmoa.tag.team", value=AnyValue(string_value="t")),
        KeyValue(key="x", value=AnyValue(double_value=1.5)),
        KeyValue(
            key="gen_ai.response.finish_reasons",
            value=AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="stop")])),
        ),
    ]
    return request(
        span(kind=3, start_time_unix_nano=10**18, end_time_unix_nano=10**18 + 5, attributes=kvs),
        span(
            span_id=b"\1" * 8,
            parent_span_id=SPAN,
            status=Status(code=Status.STATUS_CODE_ERROR, message="e"),
        ),
    )


VALID = _valid_body()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    body = bytearray(VALID)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        if op == "flip" and body:
            body[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and body:
            body[at] = draw(st.integers(0, 255))
        elif op == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del body[at : at + draw(st.integers(1, 8))]
        else:
            del body[at:]
    return bytes(body)


def test_valid_body_decodes() -> None:
    assert decode(VALID, PB).num_rows == 2


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated())
def test_fuzz_mutated_protobuf(body: bytes) -> None:
    decodes_or_refuses(body, PB)
    decodes_or_refuses(gzip.compress(body), PB, "gzip")


JSON_KEYS = st.sampled_from(
    [
        "resourceSpans", "scopeSpans", "spans", "resource", "scope", "attributes", "key", "value",
        "traceId", "spanId", "parentSpanId", "name", "kind", "status", "code", "message",
        "startTimeUnixNano", "endTimeUnixNano", "stringValue", "intValue", "doubleValue",
        "boolValue", "arrayValue", "kvlistValue", "bytesValue", "values", "links",
    ]
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "SPAN_KIND_CLIENT"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(JSON_KEYS, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(JSON_VALUES)
def test_fuzz_json_documents(doc: Any) -> None:
    decodes_or_refuses(json.dumps(doc).encode(), JS)


# ---------------------------------------------------------------- the store


def test_decoded_table_inserts_idempotently(
    sdk_spans: Sequence[ReadableSpan], tmp_path: Path
) -> None:
    table = decode(pb_body(sdk_spans), PB)
    conn = open_writer(tmp_path / "s.duckdb")
    insert_table(conn, table)
    assert conn.execute("SELECT count(*) FROM spans").fetchall() == [(len(sdk_spans),)]
    insert_table(conn, decode(otlp_json(sdk_spans), JS))
    assert conn.execute("SELECT count(*) FROM spans").fetchall() == [(len(sdk_spans),)]
    conn.close()


def test_stored_rows_equal_the_in_process_path(
    sdk_spans: Sequence[ReadableSpan], tmp_path: Path
) -> None:
    query = "SELECT * EXCLUDE (ingested_at) FROM spans ORDER BY span_id"
    stored = []
    for name, table in (
        ("sdk", rows.to_table(sdk_spans)),
        ("otlp", decode(pb_body(sdk_spans), PB)),
    ):
        conn = open_writer(tmp_path / f"{name}.duckdb")
        insert_table(conn, table)
        stored.append(conn.execute(query).fetchall())
        conn.close()
    assert stored[0] == stored[1]
    assert len(stored[0]) == len(sdk_spans)


def test_shadow_request_reads_the_otlp_wire_format(sdk_spans: Sequence[ReadableSpan]) -> None:
    # the fast message class sees each span attribute as its serialized KeyValue
    msg = otlp._Request.FromString(pb_body(sdk_spans))
    first = msg.resource_spans[0].scope_spans[0].spans[0]
    original = encode_spans(sdk_spans).resource_spans[0].scope_spans[0].spans[0]
    assert list(first.attributes) == [kv.SerializeToString() for kv in original.attributes]
    assert first.trace_id == original.trace_id
