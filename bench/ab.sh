#!/usr/bin/env bash
# ab.sh — alternating loads of two eventlake binaries on one corpus.
#
# The host this project is measured on is shared: single timings move by
# ±15 % from minute to minute, so a change is judged by loading the same
# corpus with the binary before it (A) and after it (B), in turns, and
# comparing medians. Every load goes into a fresh lake; each pair checks
# that both binaries loaded the same number of records.
#
#   bench/ab.sh [-n PAIRS] [-idle SECONDS] CORPUS PROFILE BIN_A BIN_B [LOAD FLAG...]
#
#   bench/ab.sh -n 7 bench/out/corpus/pismo-raw pismo /tmp/eventlake-before bin/eventlake
#   bench/ab.sh bench/out/corpus/jwo-orders jwo-orders /tmp/before bin/eventlake --workers 4
#
# Copy both binaries (cp, then sync) before comparing them: a binary run
# right after the linker wrote it shows ≈ 35 MiB more file-backed RSS than
# a copy of the same file. Needs GNU time (/usr/bin/time, Debian: time).
set -euo pipefail

pairs=7
idle=0
while [[ $# -gt 0 ]]; do
	case $1 in
	-n) pairs=$2; shift 2 ;;
	-idle) idle=$2; shift 2 ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
if [[ $# -lt 4 ]]; then
	echo "usage: bench/ab.sh [-n PAIRS] [-idle SECONDS] CORPUS PROFILE BIN_A BIN_B [LOAD FLAG...]" >&2
	exit 2
fi
corpus=$1 profile=$2 a=$3 b=$4
shift 4
if [[ ! -x /usr/bin/time ]]; then
	echo "ab.sh: needs GNU time at /usr/bin/time" >&2
	exit 2
fi
for bin in "$a" "$b"; do
	[[ -x $bin ]] || { echo "ab.sh: $bin is not an executable" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=$work/runs

# load LABEL BIN: one load into a fresh lake; appends "LABEL wall cpu sys rss_kib out_bytes records".
load() {
	local label=$1 bin=$2 lake=$work/lake
	shift 2
	rm -rf "$lake"
	sleep "$idle"
	/usr/bin/time -o "$work/time" -f "%e %U %S %M" "$bin" load --lake "$lake" --settle 0 --json --profile "$profile" "$@" "$corpus" >"$work/out" 2>"$work/err" || {
		echo "ab.sh: $label ($bin) failed:" >&2
		cat "$work/err" >&2
		exit 1
	}
	local records
	records=$(grep -o '"records": *[0-9]*' "$work/out" | head -1 | grep -o '[0-9]*$' || true)
	read -r wall user sys rss <"$work/time"
	echo "$label $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $sys $rss $(du -sb "$lake/events" 2>/dev/null | cut -f1) ${records:-?}" >>"$runs"
	echo "$records"
}

for i in $(seq "$pairs"); do
	# The order alternates, so drift on the host hits both alike.
	if ((i % 2)); then first=A second=B; else first=B second=A; fi
	declare -A rec=()
	for label in $first $second; do
		bin=$a
		[[ $label == B ]] && bin=$b
		rec[$label]=$(load "$label" "$bin" "$@")
	done
	if [[ ${rec[A]} != "${rec[B]}" ]]; then
		echo "ab.sh: pair $i: A loaded ${rec[A]} records, B ${rec[B]}" >&2
		exit 1
	fi
	echo "pair $i/$pairs done (${rec[A]} records each)" >&2
done

# median COLUMN LABEL
median() {
	awk -v l="$2" -v c="$1" '$1 == l { print $c }' "$runs" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
printf '| binary | loads | median wall s | best wall s | median CPU s | median system s | peak RSS MiB | output MB |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
for label in A B; do
	bin=$a
	[[ $label == B ]] && bin=$b
	n=$(awk -v l=$label '$1 == l' "$runs" | wc -l)
	best=$(awk -v l=$label '$1 == l { print $2 }' "$runs" | sort -g | head -1)
	rss=$(awk -v l=$label '$1 == l { print $5 }' "$runs" | sort -g | tail -1)
	out=$(awk -v l=$label '$1 == l { print $6 }' "$runs" | tail -1)
	printf '| %s `%s` | %d | %s | %s | %s | %s | %.0f | %.1f |\n' "$label" "$bin" "$n" "$(median 2 $label)" "$best" \
		"$(median 3 $label)" "$(median 4 $label)" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(awk -v o="${out:-0}" 'BEGIN { print o / 1e6 }')"
done
awk -v a="$(median 2 A)" -v b="$(median 2 B)" -v ca="$(median 3 A)" -v cb="$(median 3 B)" \
	'BEGIN { printf "\nB against A: wall %.3f → %.3f s (%+.1f %%), CPU %.3f → %.3f s (%+.1f %%)\n", a, b, (b / a - 1) * 100, ca, cb, (cb / ca - 1) * 100 }'
