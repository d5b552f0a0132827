"""HTML building blocks shared by the single-run page and the comparison page.

Both pages (:mod:`conformance.report.html`, :mod:`conformance.report.comparison`) are
self-contained and show text that came from the server under test, so they share one
stylesheet, one escaping function and one way to show a verdict; keeping those here means
neither writer imports the other.
"""

from __future__ import annotations

import html

from conformance.report._text import visible_controls
from conformance.verdicts import Verdict

CSS = """
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
body { margin: 2rem auto; max-width: 80rem; padding: 0 1rem; line-height: 1.4; }
h1 { margin-bottom: .25rem; }
dl.info { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.info dt { font-weight: 600; } dl.info dd { margin: 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 4px; padding: .5rem;
      white-space: pre-wrap; overflow-wrap: anywhere; margin: .25rem 0 .75rem; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left;
         vertical-align: top; }
thead th { background: #f6f8fa; }
table.matrix td, table.levels td { text-align: right; min-width: 4rem; }
td.zero { color: #8c959f; }
.v-pass { background: #dafbe1; color: #116329; }
.v-non-strict { background: #fff8c5; color: #7d4e00; }
.v-fail { background: #ffebe9; color: #a40e26; }
.v-na { background: #eaeef2; color: #424a53; }
.v-error { background: #fbefff; color: #6e2fc2; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; font-weight: 600;
         font-size: .85em; white-space: nowrap; }
.level { font-size: .8em; color: #57606a; }
.bar { display: flex; height: 1.5rem; border: 1px solid #d0d7de; border-radius: 4px;
       overflow: hidden; margin: .5rem 0; }
.bar span { display: block; height: 100%; }
.bar .v-pass { background: #2da44e; } .bar .v-non-strict { background: #d4a72c; }
.bar .v-fail { background: #cf222e; } .bar .v-na { background: #afb8c1; }
.bar .v-error { background: #8250df; }
ul.legend { list-style: none; padding: 0; display: flex; gap: 1rem; flex-wrap: wrap; }
.session-errors { border: 2px solid #cf222e; background: #ffebe9; border-radius: 6px;
                  padding: .5rem 1rem; margin: 1rem 0; }
details summary { cursor: pointer; }
tr.group th { background: #f6f8fa; }
tr.v-fail-row td:first-child, tr.v-error-row td:first-child { border-left: 4px solid #cf222e; }
blockquote { margin: .25rem 0 .75rem; padding-left: .75rem; border-left: 3px solid #d0d7de;
             color: #57606a; }
h4 { margin: .5rem 0 0; font-size: .9em; }
"""


def esc(text: str) -> str:
    """HTML-escape (quotes included, so it is safe in attributes too), with control
    characters made visible rather than left to the browser to drop."""
    return html.escape(visible_controls(text), quote=True)


def verdict_class(verdict: Verdict | str) -> str:
    """CSS class for a verdict: ``n/a`` is not a usable class name, so ``v-na``."""
    value = verdict.value if isinstance(verdict, Verdict) else verdict
    return "v-" + value.replace("/", "")


def badge(verdict: Verdict) -> str:
    return f'<span class="badge {verdict_class(verdict)}">{esc(verdict.value.upper())}</span>'
