#!/bin/sh
# The agent `make demo` runs in place of codex/claude: it does what a real
# agent does on its turn, in miniature. It reads its prompt on stdin, edits a
# file, commits it, and prints a few lines (orch copies them into the log).
#   galph (supervisor): writes input.md, the instructions for ralph
#                       (input.md is on the supervisor's doc/meta whitelist)
#   ralph (loop):       reads input.md and appends the step to src/progress.txt
# usage: demo-agent.sh galph|ralph
# orch sets ORCH_ACTOR, ORCH_ITERATION, ORCH_BRANCH, ORCH_LOG and ORCH_SUMMARY for
# the agent; like a real agent told so by its prompt, it leaves a short summary
# of its turn at $ORCH_SUMMARY (orch tail --source summaries shows them).
set -eu
role="${1:?usage: demo-agent.sh galph|ralph}"
iteration="${ORCH_ITERATION:-?}"

prompt=$(cat)
first_line=$(printf '%s\n' "$prompt" | sed -n '1p')
echo "$role: read the prompt ($(printf '%s' "$prompt" | wc -c | tr -d ' ') bytes): \"$first_line\""

case "$role" in
galph)
  printf '# Instructions for ralph (iteration %s)\n\nDo step %s: append "step %s done" to src/progress.txt and commit.\n' \
    "$iteration" "$iteration" "$iteration" >input.md
  git add input.md
  git commit -q -m "galph: plan step $iteration in input.md"
  echo "galph: wrote input.md: do step $iteration"
  ;;
ralph)
  task="(no input.md yet)"
  [ -f input.md ] && task=$(sed -n 's/^Do step \([0-9]*\):.*/step \1/p' input.md)
  echo "ralph: input.md says: ${task:-nothing}"
  mkdir -p src
  echo "${task:-step ?} done (iteration $iteration)" >>src/progress.txt
  git add src/progress.txt
  git commit -q -m "ralph: ${task:-work} done"
  echo "ralph: appended to src/progress.txt ($(wc -l <src/progress.txt | tr -d ' ') lines now)"
  ;;
*)
  echo "demo-agent: unknown role '$role' (expected galph or ralph)" >&2
  exit 2
  ;;
esac
echo "$role: committed $(git rev-parse --short HEAD)"
if [ -n "${ORCH_SUMMARY:-}" ]; then
  case "$role" in
  galph) printf '# galph, iteration %s\n\nAsked ralph for step %s in input.md.\n' "$iteration" "$iteration" ;;
  ralph) printf '# ralph, iteration %s\n\nDid %s: src/progress.txt has %s lines.\n' "$iteration" "${task:-a step}" "$(wc -l <src/progress.txt | tr -d ' ')" ;;
  esac >"$ORCH_SUMMARY"
fi
