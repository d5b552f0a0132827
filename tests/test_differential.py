"""The differential command's parts, without servers: generation, normalisation,
clustering and ranking, shrinking, reports, baselines and the command's errors."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from conformance.differential import cli, ws
from conformance.differential.cluster import Clusters, behaviour, cluster_id, differences
from conformance.differential.generate import (
    MUTATIONS,
    PLACEHOLDER,
    PROBE_LINE,
    SEEDS,
    Case,
    all_mutation_names,
    generate,
    with_probe_id,
)
from conformance.differential.report import (
    BaselineError,
    Result,
    ServerRun,
    read_baseline,
    write_baseline,
    write_reports,
)
from conformance.differential.rfc import ruling, strict_outcome
from conformance.differential.run import (
    AppRequest,
    Interpretation,
    normalise_call,
    split_responses,
)
from conformance.differential.shrink import shrink
from conformance.probe import Record

# --- generation ----------------------------------------------------------------------------


def test_generation_is_deterministic_for_a_seed():
    assert list(generate(7, 60)) == list(generate(7, 60))
    assert list(generate(7, 60)) != list(generate(8, 60))
    assert list(ws.generate(7, 30)) == list(ws.generate(7, 30))


def test_every_mutation_is_generated_and_keeps_the_probe_id_line():
    seen: set[str] = set()
    for case in generate(0, 3000):
        seen.update(case.mutations)
        # The probe id header survives every mutation, name and value intact.
        assert PROBE_LINE in case.data, case
    assert seen == set(all_mutation_names()) | {f"seed/{name}" for name in SEEDS}
    ws_seen = {m for case in ws.generate(0, 600) for m in case.mutations}
    assert ws_seen == {f"ws-{name}" for name in ws.MUTATIONS} | {
        f"ws-seed/{name}" for name in ws.SEEDS}


def test_the_seeds_come_first_unmutated():
    first = list(generate(9, len(SEEDS)))
    assert [c.mutations for c in first] == [(f"seed/{name}",) for name in sorted(SEEDS)]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_changes_the_bytes_of_some_seed(name):
    changed = False
    for seed in SEEDS.values():
        reqs = seed()
        before = b"".join(r.serialize() for r in reqs)
        if MUTATIONS[name](reqs, random.Random(1)):
            after = b"".join(r.serialize() for r in reqs)
            assert PROBE_LINE in after
            changed = changed or after != before
    assert changed, f"{name} never changed a seed"


def test_every_mutation_has_a_ruling():
    for name in cli.mutation_names():
        assert ruling(name) is not None, name


def test_only_restricts_the_mutations_and_finds_a_seed_they_apply_to():
    cases = list(generate(3, 10, only=["cl/leading-zero"]))
    assert all(case.mutations == ("cl/leading-zero",) for case in cases)
    assert all(b"Content-Length: 011" in case.data for case in cases)


def test_probe_ids_keep_the_length_and_differ_per_server():
    case = next(generate(1, 1, only=["framing/cl-te"]))
    one, two = with_probe_id(case.data, 5, 0), with_probe_id(case.data, 5, 1)
    assert len(one) == len(two) == len(case.data)
    assert one != two and PLACEHOLDER not in one
    # The smuggled request inside the body carries the probe id too.
    assert case.data.count(PLACEHOLDER) == 2 and case.requests == 2


def test_split_delivery_cuts_the_same_bytes():
    case = next(c for c in generate(2, 400) if c.splits)
    pieces = case.pieces(case.data)
    assert len(pieces) > 1 and b"".join(pieces) == case.data


# --- the wire side and the app side ------------------------------------------------------


def test_split_responses_counts_framed_responses_and_spots_garbage():
    two = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
           b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbad\r\n0\r\n\r\n")
    wire = split_responses(two)
    assert (wire.statuses, wire.garbage, wire.complete) == ([100, 200, 400], False, True)
    wire = split_responses(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK")
    assert (wire.statuses, wire.garbage) == ([200], True)
    wire = split_responses(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok")
    assert (wire.statuses, wire.complete) == ([200], False)


def _record(kind: str, call: str = "1:1", **data) -> Record:
    return Record("p", call, 0, 1, 0.0, kind, data)


def _scope(**extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/a", "raw_path": b"/a",
            "query_string": b"x=1", "http_version": "1.1",
            "headers": [(b"x-probe-id", b"p"), (b"user-agent", b"u"), (b"host", b"h"),
                        (b"accept", b"1"), (b"accept", b"2")], **extra}


def test_normalise_call_drops_noise_and_keeps_what_the_app_relies_on():
    records = [_record("call", scope=_scope()),
               _record("receive", event={"type": "http.request", "body": b"ab",
                                         "more_body": True}),
               _record("receive", event={"type": "http.request", "body": b"c",
                                         "more_body": False})]
    request = normalise_call(records)
    assert request == AppRequest("POST", "/a", "/a?x=1", "1.1",
                                 (("accept", "1"), ("accept", "2"), ("host", "h"),
                                  ("user-agent", "u")), "abc")
    incomplete = normalise_call(records[:2])
    assert incomplete is not None and incomplete.body is None
    assert normalise_call([_record("call", scope={"type": "lifespan"})]) is None


# --- clustering ------------------------------------------------------------------------------


def _req(body: str | None = "", method: str = "GET", headers=()) -> AppRequest:
    return AppRequest(method, "/", "/", "1.1", tuple(headers), body)


OK = Interpretation((_req(),), (200,))
REFUSED = Interpretation((), (400,), closed="closed")
CLOSED = Interpretation((), (), closed="closed")


def test_outcomes_and_a_refusal_after_the_app_was_called():
    assert OK.outcome == "accepted" and REFUSED.outcome == "rejected"
    # Called before the body was in, then refused on a bad chunk: a refusal.
    assert Interpretation((_req(None),), (400,), closed="closed").outcome == "rejected"
    # Still waiting for the body, whether the app was called yet or not.
    assert Interpretation((_req(None),), ()).outcome == "waiting"
    assert Interpretation((), ()).outcome == "waiting"
    # A request served, then one still waiting: the waiting one is not compared.
    served = Interpretation((_req(), _req(None)), (200,))
    assert served.outcome == "accepted" and served.settled == (_req(),)


def test_websocket_outcomes():
    text = ws.WsMessage("text", "hi")
    assert Interpretation((), (101, "close 1002"), protocol="ws").outcome == "rejected"
    assert Interpretation((), (101,), protocol="ws").outcome == "waiting"
    served = Interpretation((text,), (101, "close 1000"), protocol="ws")
    assert served.outcome == "accepted" and not served.errored
    assert Interpretation((text,), (101, "close 1002"), protocol="ws").errored


@pytest.mark.parametrize(("views", "kind"), [
    ({"a": OK, "b": OK}, None),
    ({"a": OK, "b": Interpretation((_req("x"),), (200,))}, "desync"),
    ({"a": OK, "b": Interpretation((_req(), _req()), (200, 200))}, "desync"),
    ({"a": OK, "b": Interpretation((_req(headers=[("h", "1")]),), (200,))}, "divergent"),
    ({"a": OK, "b": REFUSED}, "split"),
    ({"a": REFUSED, "b": CLOSED}, "minor"),
    ({"a": OK, "b": Interpretation((), (), crashed=True)}, "crash"),
    # One server served the first request and refused the second: a split, not two
    # readings of the same bytes.
    ({"a": Interpretation((_req(), _req("x")), (200, 200)),
      "b": Interpretation((_req(),), (200, 400), closed="closed")}, "split"),
    # ... even when a third served both with other fields.
    ({"a": Interpretation((_req(), _req("x")), (200, 200)),
      "b": Interpretation((_req(), _req("x", headers=[("h", "1")])), (200, 200)),
      "c": Interpretation((_req(),), (200, 400), closed="closed")}, "split"),
    # Refused after reading the first message differently: still a desync.
    ({"a": Interpretation((_req("0\r\n\r\nGET /s"),), (200, 400), closed="closed"),
      "b": Interpretation((_req(), _req()), (200, 200))}, "desync"),
    # Buffering the body before calling the app, or not: the same reading.
    ({"a": Interpretation((_req(), _req(None)), (200,)),
      "b": Interpretation((_req(),), (200,))}, None),
    # Refused vs still waiting: nobody served it.
    ({"a": REFUSED, "b": Interpretation((), ())}, "minor"),
])
def test_behaviour_classes(views, kind):
    found = behaviour(views)
    assert (found.kind if found else None) == kind


def _case(index: int, *mutations: str, data: bytes = b"x") -> Case:
    return Case(index, "get", mutations, data)


def test_clusters_group_by_behaviour_and_families_with_stable_ids():
    clusters = Clusters()
    clusters.add(_case(0, "cl/plus"), {"a": OK, "b": REFUSED})
    clusters.add(_case(1, "cl/hex"), {"a": OK, "b": REFUSED})
    # A second mutation that changes nothing joins the cluster of the first alone.
    clusters.add(_case(2, "cl/plus", "host/empty"), {"a": OK, "b": REFUSED})
    clusters.add(_case(3, "target/space"), {"a": OK, "b": REFUSED})
    clusters.add(_case(4, "cl/plus"), {"a": OK, "b": OK})
    assert clusters.agreed == 1
    by_families = {c.families: c for c in clusters.by_id.values()}
    assert set(by_families) == {("cl",), ("target",)}
    cl = by_families[("cl",)]
    assert cl.cases == [0, 1, 2]
    assert cl.id == cluster_id("split", ["cl"], (("a",), ("b",)))


def test_a_disagreement_the_seed_already_has_is_the_seeds():
    merged = Interpretation((_req(headers=[("x-sum", "42")]),), (200,))
    clusters = Clusters()
    seed = Case(0, "trailers", ("seed/trailers",), b"plain")
    clusters.add(seed, {"a": OK, "b": merged})
    clusters.add(Case(1, "trailers", ("chunk/ext",), b"x"), {"a": OK, "b": merged})
    # Another disagreement on the same seed is the mutation's own.
    clusters.add(Case(2, "trailers", ("cl/plus",), b"y"), {"a": OK, "b": REFUSED})
    # The same disagreement on another seed is not this seed's.
    clusters.add(Case(3, "get", ("target/space",), b"z"), {"a": OK, "b": merged})
    by_families = {c.families: c.cases for c in clusters.by_id.values()}
    assert by_families == {("seed",): [0, 1], ("cl",): [2], ("target",): [3]}


def test_ranking_puts_desync_first_and_framing_splits_before_others():
    clusters = Clusters()
    clusters.add(_case(0, "target/space"), {"a": OK, "b": REFUSED})
    clusters.add(_case(1, "target/space"), {"a": OK, "b": REFUSED})
    clusters.add(_case(2, "cl/plus"), {"a": OK, "b": REFUSED})
    clusters.add(_case(3, "version/http12"), {"a": REFUSED, "b": CLOSED})
    clusters.add(_case(4, "framing/cl-te"), {"a": OK, "b": Interpretation(
        (_req(), _req()), (200, 200))})
    assert [c.kind for c in clusters.ranked()] == ["desync", "split", "split", "minor"]
    assert clusters.ranked()[1].families == ("cl",)  # framing-related first


def test_differences_name_what_the_app_saw_differently():
    views = {"a": Interpretation((_req("x", headers=[("te", "chunked")]),), (200,)),
             "b": Interpretation((_req("y", headers=[("te", "Chunked")]),), (200,)),
             "c": REFUSED}
    assert differences(views) == ["request 1 body", "request 1 field te"]
    assert differences({"a": OK, "b": REFUSED}) == []


def test_strict_reading_per_server():
    assert strict_outcome(["cl/plus"]) == "reject"
    assert strict_outcome(["target/absolute-form"]) == "accept"
    assert strict_outcome(["target/absolute-form", "fold/obs-fold"]) == "reject"
    clusters = Clusters()
    cluster = clusters.add(_case(0, "fold/obs-fold"), {"a": OK, "b": REFUSED})
    assert cluster is not None and cluster.strict_servers() == {"a": False, "b": True}
    # WebSocket: the message before a bad frame is delivered, then the connection fails.
    text = ws.WsMessage("text", "hi")
    failed = Interpretation((text,), (101, "close 1002"), protocol="ws")
    lost = Interpretation((), (101, "close 1002"), protocol="ws")
    case = Case(1, "ws-text", ("ws-control/fragmented-ping",), b"f", protocol="ws")
    cluster = clusters.add(case, {"a": failed, "b": lost})
    assert cluster is not None and cluster.strict_servers() == {"a": True, "b": False}


def test_strict_accept_is_judged_on_the_messages_the_case_holds():
    """A field the strict reading ignores (Transfer_Encoding is another field) leaves the
    chunked body as the next request-line: a 400 to those leftover bytes after the one
    request was served is no refusal of the case, but a 400 before it was served is."""
    served_then_400 = Interpretation((_req(""),), (200, 400), closed="closed")
    clusters = Clusters()
    cluster = clusters.add(_case(0, "te/name-underscore"),
                           {"a": served_then_400, "b": REFUSED, "c": OK})
    assert cluster is not None
    assert cluster.strict_servers() == {"a": True, "b": False, "c": True}
    # A pipelined pair whose second request was refused: only one of two was accepted.
    pair = Case(1, "pipelined", ("te/name-underscore",), b"x", requests=2)
    cluster = clusters.add(pair, {"a": served_then_400, "b": REFUSED})
    assert cluster is not None and cluster.strict_servers() == {"a": False, "b": False}


# --- shrinking -------------------------------------------------------------------------------

SMUGGLE = (b"POST / HTTP/1.1\r\nHost: h\r\nx-probe-id: " + PLACEHOLDER
           + b"\r\nUser-Agent: u\r\nAccept: a\r\nContent-Length: 011\r\n\r\nhello=world")


def _fake_run(case: Case) -> dict[str, Interpretation]:
    """Two "servers": b reads a leading-zero Content-Length as octal; a does not."""
    b_body = "hello=wor" if b"Content-Length: 011" in case.data else ""
    return {"a": OK, "b": Interpretation((_req(b_body),), (200,))}


def test_shrink_keeps_the_behaviour_and_drops_what_does_not_matter():
    clusters = Clusters()
    example = _case(0, "cl/leading-zero", data=SMUGGLE)
    cluster = clusters.add(example, _fake_run(example))
    assert cluster is not None and cluster.kind == "desync"
    shrink(cluster, _fake_run, max_runs=40)
    assert cluster.reproducer is not None
    assert b"Content-Length: 011" in cluster.reproducer and PLACEHOLDER in cluster.reproducer
    assert len(cluster.reproducer) < len(SMUGGLE) and b"User-Agent" not in cluster.reproducer
    assert cluster.shrink_runs <= 40


def test_shrink_is_bounded_and_leaves_an_unreproducible_example_alone():
    clusters = Clusters()
    example = _case(0, "cl/leading-zero", data=SMUGGLE)
    cluster = clusters.add(example, _fake_run(example))
    assert cluster is not None
    runs = []

    def flaky(case: Case) -> dict[str, Interpretation]:
        runs.append(case)
        return {"a": OK, "b": OK}

    shrink(cluster, flaky, max_runs=10)
    assert cluster.reproducer is None and len(runs) == 1
    shrink(cluster, _fake_run, max_runs=3)
    assert cluster.shrink_runs == 3


# --- reports and baselines -------------------------------------------------------------------


def _result() -> Result:
    clusters = Clusters()
    clusters.add(_case(0, "ctl/nul-in-value", data=b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n"),
                 {"a": OK, "b": REFUSED})
    clusters.add(_case(1, "cl/leading-zero", data=SMUGGLE), _fake_run(_case(1, data=SMUGGLE)))
    return Result(seed=4, protocol="http", clusters=clusters.ranked(), cases_run=2,
                  servers=[ServerRun("a", "1.0", "a {app}"), ServerRun("b", "2.0", "b")])


def test_reports_are_written_with_their_schema(tmp_path: Path):
    result = _result()
    paths = write_reports(result, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["kind"] == "asgi-conformance-differential" and data["seed"] == 4
    assert [s["name"] for s in data["servers"]] == ["a", "b"]
    first = data["clusters"][0]
    assert first["class"] == "desync" and first["rfc"][0]["reference"].startswith("RFC")
    assert {"id", "groups", "reproducer", "views", "strict_servers"} <= set(first)
    markdown = paths["md"].read_text()
    html = paths["html"].read_text()
    for cluster in result.clusters:
        assert cluster.id in markdown and f"id='c-{cluster.id}'" in html
    assert "\x00" not in html and "\\x00" in html  # control bytes shown, not sent raw
    assert "&lt;probe-id&gt;" in html


def test_baseline_round_trip_and_errors(tmp_path: Path):
    result = _result()
    path = tmp_path / "base.json"
    write_baseline(result, path)
    assert read_baseline(path) == {c.id for c in result.clusters}
    write_reports(result, tmp_path)
    assert read_baseline(tmp_path / "differential.json") == {c.id for c in result.clusters}
    (tmp_path / "list.json").write_text('["abc"]')
    assert read_baseline(tmp_path / "list.json") == {"abc"}
    (tmp_path / "bad.json").write_text('{"kind": "other"}')
    for bad in ("bad.json", "missing.json"):
        with pytest.raises(BaselineError):
            read_baseline(tmp_path / bad)


def test_gate_reports_only_clusters_missing_from_the_baseline():
    result = _result()
    ids = [c.id for c in result.clusters]
    assert cli.new_clusters(result.clusters, set(ids)) == []
    assert [c.id for c in cli.new_clusters(result.clusters, {ids[0]})] == ids[1:]


# --- the command's errors --------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["--servers", "reference,nosuch"], "unknown server 'nosuch'"),
    (["--servers", "reference", "--server-cmd", "x=run {app}"], "must contain"),
    (["--servers", "reference", "--server-cmd", "novalue"], "NAME=TEMPLATE"),
    (["--servers", "reference"], "at least two servers"),
    (["--servers", "reference,reference"], "each server name once"),
    (["--count", "0"], "--count"),
    (["--count", "many"], "invalid int value"),
    (["--time-budget", "-1"], "--time-budget"),
    (["--only", "nosuch"], "unknown mutation or family nosuch"),
    (["--protocol", "h3"], "invalid choice"),
    (["--baseline", "/nonexistent/base.json"], "cannot read"),
])
def test_bad_input_is_one_line_and_status_2(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_list_mutations(capsys):
    assert cli.main(["--list-mutations"]) == 0
    out = capsys.readouterr().out
    assert "framing/cl-te" in out and "RFC 9112 §6.1" in out and "ws-rsv/rsv1" in out

