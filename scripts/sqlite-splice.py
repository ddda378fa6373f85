#!/usr/bin/env python3
"""Writes SQLite's amalgamation with OrderSpot's trimmed grammar spliced in.

    sqlite-splice.py SQLITE3_C GRAMMAR_DIR OUT [COMPILER ARGS...]

The amalgamation bundled by libsqlite3-sys (SQLITE3_C) was generated with
every SQL feature in its parser; SQLite's SQLITE_OMIT_* options that change
the grammar (window functions, CTEs, views ...) only work with a parser
generated with the same options. GRAMMAR_DIR (openwrt/sqlite-grammar, made
by scripts/sqlite-grammar.sh) holds the files SQLite's build generates from
its grammar: parse.h, parse.c, opcodes.h, opcodes.c and keywordhash.h, and
`made-for`, the SQLITE_SOURCE_ID and the options they were generated for.
Each file's section of the amalgamation is replaced, the way SQLite's
mksqlite3c.tcl inserts it; the rest is copied as it is.

Refuses (exit 1) an amalgamation of another SQLite version, and, when the
compiler's arguments are given, a compile without every option the grammar
was generated with.
"""
import os
import re
import sys

GENERATED = ["parse.h", "opcodes.h", "opcodes.c", "parse.c", "keywordhash.h"]


def as_in_amalgamation(text):
    """A generated file as mksqlite3c.tcl copies it into the amalgamation."""
    lines = []
    for line in text.split("\n"):
        if line.startswith("#line"):
            continue
        line = line.rstrip()
        include = re.match(r"^#\s*include\s+(.*)$", line)
        if include:
            line = "/* #include %s */" % include.group(1)
        function = re.match(r"^((?:const )?[A-Za-z_][\w ]*?[ *]+)(sqlite3\w*)\(", line)
        if function and not line.startswith(("static", "SQLITE_")):
            public = function.group(2).startswith("sqlite3_")
            line = ("SQLITE_API " if public else "SQLITE_PRIVATE ") + line
        lines.append(line)
    return "\n".join(lines).rstrip("\n") + "\n\n"


def made_for(grammar_dir):
    fields = {}
    with open(grammar_dir + "/made-for") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep and not key.startswith("#"):
                fields[key] = value
    return fields["source_id"], fields["options"].split()


def splice(amalgamation, grammar_dir):
    for name in GENERATED:
        quoted = re.escape(name)
        section = re.compile(
            r"(/\*+ Begin file %s \*+/\n)(.*?)(/\*+ End of %s \*+/\n)" % (quoted, quoted),
            re.S,
        )
        if len(section.findall(amalgamation)) != 1:
            sys.exit("sqlite-splice: no single section for %s in the amalgamation" % name)
        with open(grammar_dir + "/" + name) as f:
            body = as_in_amalgamation(f.read())
        amalgamation = section.sub(lambda m: m.group(1) + body + m.group(3), amalgamation)
    return amalgamation


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    source, grammar_dir, out = sys.argv[1:4]
    compiler_args = sys.argv[4:]
    with open(source) as f:
        amalgamation = f.read()
    source_id, options = made_for(grammar_dir)
    found = re.search(r'#define SQLITE_SOURCE_ID\s+"([^"]*)"', amalgamation)
    if not found or found.group(1) != source_id:
        sys.exit(
            "sqlite-splice: %s is SQLite %s, the grammar in %s was generated for %s:"
            " run scripts/sqlite-grammar.sh"
            % (source, found and found.group(1), grammar_dir, source_id)
        )
    missing = [o for o in options if compiler_args and o not in compiler_args]
    if missing:
        sys.exit("sqlite-splice: the compile lacks the grammar's options %s" % " ".join(missing))
    spliced = splice(amalgamation, grammar_dir)
    with open(out + ".tmp", "w") as f:
        f.write(spliced)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
