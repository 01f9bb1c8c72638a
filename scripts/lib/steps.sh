# Named, timed steps for scripts/test and .ci/run (sourced, not executed).

# step LABEL COMMAND...: print the label, run the command, print how long it took, and
# return the command's exit status.
# The command runs in a subshell with `set -e`, so that a failing line inside a shell
# function stops it. Call `step` as a plain command, never inside `if`, `||` or `&&`: bash
# ignores `set -e` in everything such a context runs. The caller's own -e is kept.
# With ECITIZEN_STEP_TIMES naming a file, "seconds<TAB>status<TAB>label" is appended to it:
# .ci/run prints that table at the end.
step() {
  local label="$1" start=$SECONDS status errexit=false took
  shift
  case $- in *e*) errexit=true ;; esac
  echo "== $label"
  set +e
  (set -e; "$@")
  status=$?
  if $errexit; then set -e; fi
  took=$((SECONDS - start))
  if [ "$status" = 0 ]; then
    echo "-- $label: $(duration "$took")"
  else
    echo "-- $label: $(duration "$took"), FAILED (exit status $status)"
  fi
  if [ -n "${ECITIZEN_STEP_TIMES:-}" ]; then
    printf '%s\t%s\t%s\n' "$took" "$status" "$label" >>"$ECITIZEN_STEP_TIMES"
  fi
  return "$status"
}

# duration SECONDS: "42 s" or "12 min 05 s".
duration() {
  if [ "$1" -lt 60 ]; then
    echo "$1 s"
  else
    printf '%d min %02d s\n' $(($1 / 60)) $(($1 % 60))
  fi
}
