"""BENCHMARKS.md's parts, each written by the script that measures it: the
text before the goals table (bench-peers.py) and each goal row's status, so
that no script overwrites what another measured."""
import http.client, re, socket, time

GOALS = "## Goals (issue 14)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, tries=600):
    """Until the server on `port` answers (a binary under qemu starts slowly)."""
    for _ in range(tries):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/shops")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers on port {port}")


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


def goals_summary(out):
    """The goals table as bench.sh prints it at its end: each goal with its
    status up to the first sentence's end (the figures), the rest in `out`."""
    text = open(out).read()
    lines = []
    for m in re.finditer(r"^\| ([^|]+) \| ([^|]+) \| (.+) \|$", text[text.find(GOALS):], re.M):
        what, goal, status = (cell.strip() for cell in m.groups())
        if what in ("what", "---"):
            continue
        first = re.split(r"(?<=[^0-9])\. ", status, maxsplit=1)[0]
        lines.append(f"{what} | {goal} | {first[:300]}")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys
    print(goals_summary(sys.argv[1]))
