"""Malformed framing and payloads on a live server: every case answered as the spec says, none fatal.

One long-lived ``wasi-lsp serve`` process takes all cases (a restart would
hide a crash); after each case a valid hover must come back right, which is
what "the session survives" means to an editor.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sizes import FUZZ_CASES
from rawpeer import RawServer, frame, serve_command

PARSE, INVALID, NOT_FOUND, PARAMS, NOT_INITIALIZED = -32700, -32600, -32601, -32602, -32002
HOVER = {"textDocument": {"uri": "file:///fuzz.txt"}, "position": {"line": 3, "character": 0}}
#: Methods the session must not receive from the fuzzer: they end or restart it on purpose.
LIFECYCLE = {"initialize", "initialized", "shutdown", "exit"}


@pytest.fixture(scope="module")
def server():
    peer = RawServer(serve_command("wasi_lsp_guest.minimal_server:server"))
    reply, _ = peer.request("textDocument/hover", HOVER, timeout=300)
    assert reply["error"]["code"] == NOT_INITIALIZED, reply
    reply, _ = peer.request("initialize", {"capabilities": {}}, timeout=120)
    assert "capabilities" in reply["result"], reply
    peer.send(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    yield peer
    assert peer.proc.poll() is None, peer.why("the server died during the fuzz run")
    reply, _ = peer.request("shutdown")
    assert reply["result"] is None
    reply, _ = peer.request("textDocument/hover", HOVER)
    assert reply["error"]["code"] == INVALID, reply  # requests after shutdown: InvalidRequest
    peer.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    assert peer.close() == 0


# A case is (bytes to send, what the replies before the probe must look like).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
not_a_length = st.binary(max_size=30).filter(
    lambda v: b"\r" not in v and b"\n" not in v and not v.strip().isdigit())


@st.composite
def bad_headers(draw):
    """A header block the server must refuse (-32700) without taking the next frame with it."""
    kind = draw(st.sampled_from(["missing", "not-a-number", "negative", "no-colon"]))
    if kind == "missing":
        block = b"Content-Type: application/vscode-jsonrpc; charset=utf-8"
    elif kind == "not-a-number":
        block = b"Content-Length: " + draw(not_a_length)
    elif kind == "negative":
        block = b"Content-Length: -%d" % draw(st.integers(1, 2**40))
    else:
        block = draw(st.binary(min_size=1, max_size=40).filter(lambda v: not set(v) & set(b":\r\n")))
    return block + b"\r\n\r\n", ("error", None, {PARSE})


@st.composite
def bad_bodies(draw):
    """Well framed, but not a JSON object: -32700 for bytes that are not JSON, -32600 for other JSON."""
    kind = draw(st.sampled_from(["binary", "invalid-utf8", "json-not-object", "truncated"]))
    if kind == "binary":
        body = draw(st.binary(min_size=1, max_size=200).filter(lambda b: not _is_json(b)))
        return frame(body), ("error", None, {PARSE})
    if kind == "invalid-utf8":
        body = b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe' + draw(st.binary(max_size=20)) + b'"}'
        return frame(body), ("error", None, {PARSE})
    if kind == "json-not-object":
        value = draw(json_values.filter(lambda v: not isinstance(v, dict)))
        return frame(json.dumps(value).encode()), ("error", None, {INVALID})
    # Declared longer than what arrives first: the rest follows later as NULs, never valid JSON.
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": HOVER}).encode()
    cut = draw(st.integers(0, len(body) - 1))
    missing = draw(st.integers(1, 1 << 20))
    head = b"Content-Length: %d\r\n\r\n" % (cut + missing)
    return head + body[:cut] + b"\0" * missing, ("error", None, {PARSE})


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


@st.composite
def bad_messages(draw, server_ids=st.integers(1, 10**6)):
    """JSON objects of the wrong JSON-RPC shape, unknown methods and wrong parameter types."""
    kind = draw(st.sampled_from(["shape", "unknown-method", "wrong-params", "random-object"]))
    msg_id = draw(server_ids)
    if kind == "shape":
        message = {"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/hover", "params": HOVER}
        field, value = draw(st.sampled_from(["jsonrpc", "method", "id"]).flatmap(
            lambda f: st.tuples(st.just(f), json_values.filter(lambda v: _wrong(f, v)))))
        message[field] = value
        reply_id = msg_id if field != "id" else value
        return frame(json.dumps(message).encode()), ("error", reply_id, {INVALID})
    if kind == "unknown-method":
        method = "fuzz/" + draw(st.text(max_size=20))
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if draw(st.booleans()):
            message["params"] = draw(json_values)
        return frame(json.dumps(message).encode()), ("error", msg_id, {NOT_FOUND})
    if kind == "wrong-params":
        method = draw(st.sampled_from(["textDocument/hover", "textDocument/completion"]))
        params = draw(json_values.filter(lambda v: not isinstance(v, dict) or "position" not in v))
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
        return frame(json.dumps(message).encode()), ("error", msg_id, {PARAMS})
    message = draw(st.dictionaries(st.sampled_from(["jsonrpc", "id", "method", "params", "result", "error"]),
                                   json_values, max_size=6))
    if isinstance(message.get("method"), str) and message["method"] in LIFECYCLE | {"$/cancelRequest"}:
        message["method"] = "fuzz/renamed"
    return frame(json.dumps(message).encode()), ("any", None, None)


@st.composite
def bad_cancels(draw):
    """``$/cancelRequest`` naming ids of every JSON type (a list id once crashed the read-ahead)."""
    target = draw(json_values.filter(lambda v: not isinstance(v, int) or v < 10**6))  # probes use 10**6 and up
    message = {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": draw(st.sampled_from([{"id": target}, target]))}
    return frame(json.dumps(message).encode()), ("any", None, None)


def _wrong(field: str, value) -> bool:
    if field == "jsonrpc":
        return value != "2.0"
    if field == "method":
        return not isinstance(value, str)
    return isinstance(value, bool) or not isinstance(value, (int, str))


cases = st.one_of(bad_headers(), bad_bodies(), bad_messages(), bad_cancels())
stats = {"cases": 0, "seconds": 0.0}


@settings(max_examples=FUZZ_CASES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(case=cases)
@example(case=(b"Content-Length: \xb2\r\n\r\n", ("error", None, {PARSE})))  # '\xb2'.isdigit(), int() fails
@example(case=(frame({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": [1]}}), ("any", None, None)))
@example(case=(frame({"jsonrpc": "2.0", "id": 7, "method": "fuzz/none"}), ("error", 7, {NOT_FOUND})))
def test_malformed_input_gets_the_specified_error_and_the_session_goes_on(server: RawServer, case):
    data, (kind, reply_id, codes) = case
    started = time.monotonic()
    server.send(data)
    probe, before = server.request("textDocument/hover", HOVER, timeout=30)
    stats["cases"] += 1
    stats["seconds"] += time.monotonic() - started
    assert probe.get("result") == {"contents": "line 3"}, server.why(f"probe after {data[:200]!r} got {probe}")
    answers = [m for m in before if "method" not in m]
    for answer in answers:
        assert isinstance(answer.get("error", {}).get("code"), int), answer
    if kind == "error":
        assert len(answers) == 1, f"{data[:200]!r} got {answers}"
        assert answers[0]["id"] == reply_id, answers[0]
        assert answers[0]["error"]["code"] in codes, f"{data[:200]!r} got {answers[0]}"


def test_every_fuzz_case_ran_on_the_one_server(server: RawServer):
    """The figure the README quotes: all cases, one process, still alive (run with -s to see it)."""
    if not stats["cases"]:
        pytest.skip("run together with the fuzz test")
    assert stats["cases"] >= FUZZ_CASES and server.proc.poll() is None
    print(f"\nfuzz: {stats['cases']} cases in {stats['seconds']:.1f} s on one server process; "
          f"server alive: {server.proc.poll() is None}; guest stderr lines: {server.stderr_count}")


def test_a_frame_over_100_mb_is_refused_without_allocating_it():
    """Declared 150 MB under a 128 MiB memory cap: refused at once, its bytes skipped, the session goes on."""
    peer = RawServer(serve_command("wasi_lsp_guest.minimal_server:server", "--max-memory", "128M"))
    reply, _ = peer.request("initialize", {"capabilities": {}}, timeout=300)
    assert "capabilities" in reply["result"], reply
    size = 150 << 20
    peer.send(b"Content-Length: %d\r\n\r\n" % size)
    refusal = peer.replies.get(timeout=30)  # before a single body byte was sent
    assert refusal["id"] is None and refusal["error"]["code"] == PARSE, refusal
    assert "exceeds the 104857600-byte limit" in refusal["error"]["message"]
    chunk = b"x" * (1 << 20)
    for _ in range(size // len(chunk)):
        peer.send(chunk)
    probe, before = peer.request("textDocument/hover", HOVER, timeout=120)
    assert probe["result"] == {"contents": "line 3"} and before == [], (probe, before)
    assert peer.request("shutdown")[0]["result"] is None
    peer.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    assert peer.close() == 0
    assert not any("memory limit" in line for line in peer.stderr), peer.why("the guest hit its memory cap")
