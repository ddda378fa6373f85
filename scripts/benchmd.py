"""BENCHMARKS.md's parts, each written by the script that measures it: the
text before the goals table (bench-peers.py) and each goal row's status, so
that no script overwrites what another measured."""
import re

GOALS = "## Goals (issue 14)"


def set_row(out, what, status):
    """Replaces the status cell of the goal row whose first cell is `what`."""
    text = open(out).read()
    row = re.compile(rf"^\| {re.escape(what)} \|([^|]*)\|.*$", re.M)
    if not row.search(text):
        raise SystemExit(f"no row '{what}' in {out}")
    text = row.sub(lambda m: f"| {what} |{m.group(1)}| {status} |", text, count=1)
    open(out, "w").write(text)


def set_head(out, head):
    """Replaces everything before the goals table, keeping the table and what follows."""
    text = open(out).read()
    at = text.find(GOALS)
    if at < 0:
        raise SystemExit(f"no '{GOALS}' in {out}")
    open(out, "w").write(head.rstrip("\n") + "\n\n" + text[at:])
