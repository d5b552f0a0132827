"""Autobahn|Testsuite's WebSocket fuzzing-client cases, ported to this suite.

Autobahn|Testsuite is the standard WebSocket conformance suite; it is frozen on Python 2
and runs through Docker. This package restates its cases (categories 1-7, 9, 10, 12 and
13, with Autobahn's case IDs) and its verdict rules in Python 3, so they run inside the
same pytest session and report as the rest of the suite:

* :mod:`~conformance.autobahn.model`: verdict levels, events, client actions, a case;
* :mod:`~conformance.autobahn.cases`, :mod:`~conformance.autobahn.echo_cases`: the case
  definitions (scripted; echo loops of categories 9, 12, 13);
* :mod:`~conformance.autobahn.engine`: the fuzzing client that runs a case, with its
  opening handshake (:mod:`~conformance.autobahn.handshake`), bounds and result
  (:mod:`~conformance.autobahn.run`) and wire log (:mod:`~conformance.autobahn.wirelog`);
* :mod:`~conformance.autobahn.judge`: Autobahn's ``behavior``/``behaviorClose`` rules and
  their mapping onto this suite's verdicts;
* :mod:`~conformance.autobahn.deflate`: the client side of permessage-deflate;
* :mod:`~conformance.autobahn.utf8`, :mod:`~conformance.autobahn.testdata`: payloads;
* :mod:`~conformance.autobahn.results`: the pytest hooks writing an Autobahn-style
  ``index.json`` (``reports/<server>-autobahn.json``).

The cases run against ``fixtures.ws_echo:app`` (``conformance/suite/test_autobahn.py``).
"""
