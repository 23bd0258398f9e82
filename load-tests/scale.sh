#!/usr/bin/env bash
# The engine in process against the data set's size: for each size, the benchmarks' quick mode (one process: generate
# and load the data set, then time N checks of every case) gives the load time, the managed heap after a full
# collection and the working set, and each case's time per check. Writes scale.dat (one row per size) and scale.png
# (gnuplot): the hot and scattered cases' ns per check and the heap's bytes per relationship, against relationships.
#
#   load-tests/scale.sh                                  # 7, 68, 1,000 organizations (~10 k, 100 k, 1.47 M relationships)
#   load-tests/scale.sh --orgs "7 68 1000 6800"          # and ~10 M (the process then holds ~4 GiB)
#   load-tests/scale.sh --checks 200000 --results DIR    # checks per case (default 1,000,000); where to write
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

sizes="7 68 1000"
checks=1000000
results=""
while [ $# -gt 0 ]; do
    case "$1" in
        --orgs) sizes="$2"; shift 2 ;;
        --checks) checks="$2"; shift 2 ;;
        --results) results="$2"; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "load-tests/scale.sh: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
done

command -v gnuplot >/dev/null 2>&1 || apt-get install -y -qq gnuplot-nox >/dev/null
results="${results:-$repo_root/load-tests/results/scale-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$results"
dotnet build -c Release -nologo -v quiet -clp:ErrorsOnly load-tests/AuthzGrpc.Benchmarks/AuthzGrpc.Benchmarks.csproj >/dev/null
benchmarks="$repo_root/load-tests/AuthzGrpc.Benchmarks/bin/Release/net10.0/AuthzGrpc.Benchmarks.dll"

cases="DirectRelation DeepInherited NestedGroups DeniedDeep EnvironmentTypeRole DeniedOutsider DeepInheritedScattered DeniedOutsiderScattered"
echo "# organizations relationships load_s heap_bytes_per_relationship working_set_bytes_per_relationship $cases (ns per check)" >"$results/scale.dat"
for orgs in $sizes; do
    dotnet "$benchmarks" --quick "$checks" "$orgs" >"$results/quick-$orgs.txt"
    # "data set: 7 organizations, ... 10,311 stored ...; load 0.4 s (...); managed heap after full GC 4 MiB; working set 80 MiB"
    row=$(awk -v orgs="$orgs" -v cases="$cases" '
        /^data set:/ {
            line = $0; gsub(/,/, "", line)
            match(line, /[0-9]+ stored/); stored = substr(line, RSTART, RLENGTH - 7)
            match(line, /load [0-9.]+ s/); load = substr(line, RSTART + 5, RLENGTH - 7)
            match(line, /full GC [0-9]+ MiB/); heap = substr(line, RSTART + 8, RLENGTH - 12)
            match(line, /working set [0-9]+ MiB/); ws = substr(line, RSTART + 12, RLENGTH - 16)
        }
        /^case / { table = 1; next }
        table && NF == 4 { ns[$1] = $3 }
        table && NF == 0 { table = 0 }
        END {
            printf "%s %s %s %.0f %.0f", orgs, stored, load, heap * 1048576 / stored, ws * 1048576 / stored
            n = split(cases, names, " ")
            for (i = 1; i <= n; i++) printf " %s", (names[i] in ns) ? ns[names[i]] : "NaN"
            printf "\n"
        }' "$results/quick-$orgs.txt")
    echo "$row" | tee -a "$results/scale.dat"
done

gnuplot <<GNUPLOT
set terminal pngcairo size 900,560
set output "$results/scale.png"
set title "The engine in process against the data set's size ($(nproc) shared cores; $checks checks per case)"
set xlabel "relationships loaded"
set logscale x
set format x "%.0s%c"
set xrange [5000:20000000]
set ylabel "ns per check"
set y2label "managed heap, bytes per relationship"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
set grid
plot "$results/scale.dat" using 2:13 with linespoints lw 2 lc rgb "#c0392b" title "DeniedOutsiderScattered", \
     "" using 2:12 with linespoints lw 2 lc rgb "#e67e22" title "DeepInheritedScattered", \
     "" using 2:9 with linespoints dt 2 lc rgb "#2471a3" title "DeniedDeep (hot)", \
     "" using 2:7 with linespoints dt 2 lc rgb "#5dade2" title "DeepInherited (hot)", \
     "" using 2:4 axes x1y2 with linespoints lw 2 lc rgb "#27ae60" title "heap per relationship (right)"
GNUPLOT
echo "results: $results (scale.dat, scale.png, quick-ORGS.txt)"
