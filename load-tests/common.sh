# Functions the load-test scripts share; sourced, never run.

# Prints a free loopback port: nothing answers a connect to it. Bounded tries over the dynamic range.
free_port() {
    local candidate
    for _ in $(seq 1 50); do
        candidate=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "${0##*/}: found no free port on 127.0.0.1" >&2
    return 1
}

# Prints the number after "$1": in the JSON file $2 (the harness's summaries are indented, one property a line).
json_number() { sed -n "s/^ *\"$1\": *\([0-9.]*\).*/\1/p" "$2" | head -n 1; }

# Prints the field $2 (VmRSS, VmHWM, ...) of the process $1's /proc status, in KiB.
kib() { awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"; }

# Prints the user plus system CPU time the process $1 has used, in clock ticks (/proc/PID/stat fields 14 and 15,
# counted after the command name, which may hold spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
