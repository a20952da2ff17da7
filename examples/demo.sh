#!/usr/bin/env bash
# The finsam demo: Sydöstra Skåne's plan for 2027 goes from draft through the
# presidium and the beredningsgrupp to the board, which sends it back once
# (återremiss) and adopts the revised plan at its next meeting.
# Time is moved with FINSAM_NOW (the program's one clock), nobody sleeps.
# Run from the repository root (make demo): finsam.toml there points the CLI at
# demo-out/finsam.db, so no FINSAM_DATABASE_URL is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
FINSAM="${FINSAM:-.venv/bin/finsam}"
unset FINSAM_DATABASE_URL
CHEF=annika.rasmusson@sydostraskane.example
CHAIR=karin.holm@ystad.example

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
show() {  # the command as one could paste it
  local line='$ finsam' arg
  for arg in "$@"; do
    if [[ $arg =~ [[:space:]] ]]; then line+=" '$arg'"; else line+=" $arg"; fi
  done
  printf '%s\n' "$line"
}
run() { show "$@"; "$FINSAM" "$@"; }
at() { local when=$1; shift; FINSAM_NOW=$when run "$@"; }

rm -rf demo-out
mkdir -p demo-out

step "1 oktober 2026: the förbundschef sets up the database and drafts the plan for 2027"
at 2026-10-01T09:00 init --forbund examples/forbund/sydostra-skane.toml
at 2026-10-01T09:05 plan new --from examples/demo/sydostra-skane-2027.toml --as $CHEF

step "The budget is checked: every sum recomputed; equity after ends below the recommendation"
run plan check 1

step "2 november: the draft goes to the presidium"
at 2026-11-02T10:00 plan move 1 submit --as $CHEF

step "A submitted revision is frozen: editing it is refused (exit 2) and nothing changes"
if FINSAM_NOW=2026-11-03 "$FINSAM" plan edit 1 --from examples/demo/sydostra-skane-2027-rev2.toml --as $CHEF; then
  echo "unexpected: the frozen revision was edited" >&2; exit 1
fi

step "9 november: presidium and beredningsgrupp each recommend (förslag till beslut)"
at 2026-11-09T10:00 plan move 1 recommend-adopt --as $CHAIR --meeting 2026-11-09 \
  --comment "Presidiet föreslår att styrelsen antar verksamhetsplan och budget 2027"
at 2026-11-09T15:00 plan move 1 recommend-adopt --as $CHEF --meeting 2026-11-09 \
  --comment "Beredningsgruppen tillstyrker förslaget"

step "24 november: the board sends the plan back (återremiss); revision 2 opens as a draft"
at 2026-11-24T16:00 plan move 1 send-back --as $CHEF --meeting 2026-11-24 --paragraph 45 \
  --comment "Återremiss: kostnaderna för insatserna ska ses över så att underskottet täcks av eget kapital"

step "26 november: the förbundschef reworks revision 2 and submits it again"
at 2026-11-26T09:00 plan edit 1 --from examples/demo/sydostra-skane-2027-rev2.toml --as $CHEF
at 2026-11-26T09:05 plan move 1 submit --as $CHEF
at 2026-12-07T10:00 plan move 1 recommend-adopt --as $CHAIR --meeting 2026-12-07 \
  --comment "Presidiet föreslår att styrelsen antar den reviderade planen"
at 2026-12-07T15:00 plan move 1 recommend-adopt --as $CHEF --meeting 2026-12-07 \
  --comment "Beredningsgruppen tillstyrker"

step "15 december: the board adopts the revised plan"
at 2026-12-15T15:30 plan move 1 adopt --as $CHEF --meeting 2026-12-15 --paragraph 52 \
  --comment "Styrelsen godkänner verksamhetsplanen och fastställer budgeten för 2027"

step "The plan, what the återremiss changed, and its history"
run plan show 1
run plan diff 1 --from 1 --to 2
run plan history 1

step "The adopted plan as a printable document (Swedish, A4)"
run plan render 1 --format html -o demo-out/verksamhetsplan-2027.html

step "The audit trail: verified, and its head to write into the minutes"
run audit verify
run audit head
echo
echo "The demo database is demo-out/finsam.db; from this folder 'finsam plan list' finds it."
echo "The adopted plan: demo-out/verksamhetsplan-2027.html (open it in a browser, or print it)."
