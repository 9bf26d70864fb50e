# One EXIT trap for every library that needs cleaning up: each registers its
# clean-up function with qa_at_exit and they all run (last registered first)
# however the script ends, including on SIGINT/SIGTERM/SIGHUP.
# shellcheck shell=bash

if [ -z "${QA_ATEXIT_LOADED:-}" ]; then
    QA_ATEXIT_LOADED=1
    QA_ATEXIT_FNS=()

    _qa_run_at_exit() {
        local status=$? i
        trap - EXIT
        for ((i = ${#QA_ATEXIT_FNS[@]} - 1; i >= 0; i--)); do
            "${QA_ATEXIT_FNS[i]}" || true
        done
        QA_ATEXIT_FNS=()
        exit "$status"
    }

    # qa_at_exit FUNCTION: run FUNCTION when the script exits (once per name)
    qa_at_exit() {
        local f
        for f in "${QA_ATEXIT_FNS[@]}"; do
            [ "$f" = "$1" ] && return 0
        done
        QA_ATEXIT_FNS+=("$1")
        trap _qa_run_at_exit EXIT
        trap 'exit 129' HUP
        trap 'exit 130' INT
        trap 'exit 143' TERM
    }
fi

# pid_alive PID: the process exists and is not a zombie. (kill -0 alone is not
# enough: where PID 1 does not reap orphans, as in some containers, a daemon
# that has exited stays a zombie and kill -0 still succeeds.)
pid_alive() {
    local state
    [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
    state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
