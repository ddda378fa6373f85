#!/usr/bin/env bash
# Lists what is left to translate: each key of catalogue/en.txt that another
# catalogue lacks, one a line with its English text ("es  key = text"), in
# en.txt's order. Exits 1 when anything is missing. Keys with other
# {name}s than English are caught by `cargo test --lib support::i18n`.
set -euo pipefail
cd "$(dirname "$0")/../catalogue"
missing=$(for file in *.txt; do
    [ "$file" = en.txt ] && continue
    # Read as src/support/i18n.rs does: trimmed `key = text` lines, `#` comments.
    awk -v lang="${file%.txt}" '
        function trim(s) { sub(/^[ \t\r]+/, "", s); sub(/[ \t\r]+$/, "", s); return s }
        {
            line = trim($0)
            at = index(line, "=")
            if (line == "" || substr(line, 1, 1) == "#" || at == 0) next
            key = trim(substr(line, 1, at - 1))
        }
        FILENAME == ARGV[1] { have[key] = 1; next }
        !(key in have) { printf "%s  %s = %s\n", lang, key, trim(substr(line, at + 1)) }
    ' "$file" en.txt
done)
[ -z "$missing" ] && exit 0
printf '%s\n' "$missing"
exit 1
