#!/usr/bin/env bash
# The finsam demo. Sydöstra Skåne generates its 2027 meeting cycle from the
# rules in its förbund file; the plan for 2028 then walks the year's meetings:
# presidium and beredningsgrupp in September, the board sends it back at its
# September meeting (återremiss), the reworked revision goes round again and
# the board adopts it at its November meeting; the minutes are approved and
# the decision's appeal time is computed. The insatser's project leaders hand in
# their tertial reports with figures (from a TOML file or --set; one returned report
# comes back corrected), and the board's May and September meetings get the tertial
# overview, as a table and as XLSX. Between the steps the scheduler ticks
# every day at 08:00 (examples/run_year.py), sending reminders, kallelser and
# decision notices through a real SMTP server on loopback, and runs the rest
# of the year to December. Time is moved with FINSAM_NOW (the program's one
# clock); nobody sleeps. Run from the repository root (make
# demo): finsam.toml there points the CLI at demo-out/finsam.db.
set -euo pipefail
cd "$(dirname "$0")/.."
FINSAM="${FINSAM:-.venv/bin/finsam}"
PYTHON="${PYTHON:-$(dirname "$FINSAM")/python}"
unset FINSAM_DATABASE_URL FINSAM_USER
CHEF=annika.rasmusson@sydostraskane.example
CHAIR=karin.holm@ystad.example
VICE=lars.berg@skane.example
MEMBER=eva.lind@simrishamn.example

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
meetings() {  # the ids of meetings generated from rules, e.g. styrelse-2027-11, in one line
  "$FINSAM" cycle show --year 2027 --json |
    "$PYTHON" -c "import json,sys; ids = {m['key']: m['id'] for m in json.load(sys.stdin)}; print(*(ids[k] for k in sys.argv[1:]))" "$@"
}

rm -rf demo-out
mkdir -p demo-out

# a real SMTP server on loopback that saves what it receives in demo-out/mail/
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PYTHON" examples/mail_sink.py "$PORT" demo-out/mail > demo-out/mail-sink.log 2>&1 &
SINK=$!
trap 'kill $SINK 2>/dev/null || true' EXIT
export FINSAM_MAIL_URL="smtp://127.0.0.1:$PORT"
for _ in $(seq 50); do grep -q listening demo-out/mail-sink.log 2>/dev/null && break; sleep 0.1; done
tick() {  # the scheduler's ticks on a moving clock: every day at 08:00 up to $1, then at $1
  printf '$ finsam scheduler tick   # every day at 08:00 until %s\n' "$1"
  "$PYTHON" examples/run_year.py "$1"
}

step "January 2027: the database, the förbund, and the year's meetings from its rules"
at 2027-01-11T09:00 init --forbund examples/forbund/sydostra-skane.toml
at 2027-01-11T09:05 cycle generate --year 2027 --as $CHEF
at 2027-01-11T09:10 calendar export --year 2027 --ics demo-out/calendar-2027.ics
at 2027-01-11T09:10 cycle wheel --year 2027 -o demo-out/arshjul-2027.svg
IDS=$(meetings styrelse-2027-05 styrelse-2027-11)
read -r MAY_BOARD BOARD <<< "$IDS"

step "January: the insatser the förbund funds, and the reports they owe in 2027"
at 2027-01-12T09:00 insats add --name Mariamottagningen --owner region-skane --start 2019-05-01 \
  --end 2027-12-31 --leader-name "Sofia Ek" --leader-email sofia.ek@skane.example \
  --contact-name "Per Ohlsson" --contact-email per.ohlsson@skane.example --budget 2027=3000 --sus \
  --as $CHEF
at 2027-01-12T09:01 insats add --name "ESF IRIS Sydöstra Skåne" --owner simrishamn \
  --start 2020-09-01 --end 2027-12-31 --leader-name "Jonna Lund" \
  --leader-email jonna.lund@simrishamn.example --budget 2027=1500 --sus --as $CHEF
at 2027-01-12T09:02 insats add --name "Möjligheternas hus" --owner tomelilla --start 2018-08-01 \
  --leader-name "Kim Ros" --leader-email kim.ros@tomelilla.example --budget 2027=500 --as $CHEF
at 2027-01-12T09:05 reports generate --year 2027 --as $CHEF
tick 2027-01-12T09:10

step "April: tertial 1 and its figures; one approved, one returned and corrected, one never arrives"
printf 'Tertialrapport 1 2027, Mariamottagningen\n' > demo-out/mariamottagningen-t1.txt
printf 'Tertialrapport 1 2027, ESF IRIS\n' > demo-out/iris-t1.txt
# a report's figures as the project leader writes them: key = value, the keys of the
# förbund file's [[reports.fields]] (here the defaults); --set key=value wins over them
cat > demo-out/mariamottagningen-t1.toml <<'EOF'
participants_women = 38
participants_men = 21
participants_other = 1
participants_new = 17
ended_work_or_studies = 6
sus_up_to_date = true
costs_tkr = 940
goal_fulfilment = "Målen för perioden är nådda; fler unga kvinnor har börjat i insatsen."
EOF
cat > demo-out/iris-t1.toml <<'EOF'
participants_women = 13
participants_men = 18
participants_new = 9
ended_work_or_studies = 4
sus_up_to_date = false
costs_tkr = 455
goal_fulfilment = "Delvis: rekryteringen har gått långsammare än planerat."
deviations = "En coachtjänst var vakant i februari; den är tillsatt sedan mars."
EOF
tick 2027-02-08T08:00
tick 2027-02-18T09:00
at 2027-02-18T10:00 reports submit 1 --file demo-out/mariamottagningen-t1.txt --as sofia.ek@skane.example
tick 2027-03-01T08:00
tick 2027-04-05T08:00
tick 2027-04-15T09:00
printf '$ cat demo-out/mariamottagningen-t1.toml\n'
cat demo-out/mariamottagningen-t1.toml
at 2027-04-15T10:00 reports submit 4 --file demo-out/mariamottagningen-t1.txt \
  --figures demo-out/mariamottagningen-t1.toml --as sofia.ek@skane.example
at 2027-04-16T09:00 reports approve 4 --as $CHEF
at 2027-04-16T10:00 reports submit 5 --file demo-out/iris-t1.txt --figures demo-out/iris-t1.toml \
  --as jonna.lund@simrishamn.example
at 2027-04-20T09:00 reports return 5 --as $CHEF --comment "Komplettera med deltagarsiffror ur SUS"
at 2027-04-22T14:00 reports submit 5 --file demo-out/iris-t1.txt --figures demo-out/iris-t1.toml \
  --set participants_women=16 --set participants_men=22 --set participants_new=11 \
  --set sus_up_to_date=ja --as jonna.lund@simrishamn.example
tick 2027-04-26T08:00
tick 2027-05-03T08:30

step "3 May: before the board's May meeting, the late reports and the tertial-1 overview"
at 2027-05-03T09:00 reports status --year 2027 --late
at 2027-05-03T09:00 reports overview --year 2027 --kind tertial-1
at 2027-05-03T09:00 reports overview --year 2027 --kind tertial-1 --xlsx demo-out/tertialrapport-1-2027.xlsx
at 2027-05-03T09:00 meeting agenda "$MAY_BOARD"

step "16 August: the förbundschef drafts the plan for 2028 and checks its budget"
tick 2027-08-16T08:30
at 2027-08-16T09:00 plan new --from examples/demo/sydostra-skane-2028.toml --as $CHEF
at 2027-08-16T09:05 plan check 1

step "23 August: the draft goes to the presidium and lands on its next meeting"
tick 2027-08-23T09:00
at 2027-08-23T10:00 plan move 1 submit --as $CHEF

step "A submitted revision is frozen: editing it is refused (exit 2) and nothing changes"
if FINSAM_NOW=2027-08-24 "$FINSAM" plan edit 1 --from examples/demo/sydostra-skane-2028-rev2.toml --as $CHEF; then
  echo "unexpected: the frozen revision was edited" >&2; exit 1
fi

step "Late August: tertial 2 comes in from all three insatser, by figures file and by --set"
printf 'Tertialrapport 2 2027, Mariamottagningen\n' > demo-out/mariamottagningen-t2.txt
printf 'Tertialrapport 2 2027, ESF IRIS\n' > demo-out/iris-t2.txt
printf 'Tertialrapport 2 2027, Möjligheternas hus\n' > demo-out/mojligheternas-hus-t2.txt
cat > demo-out/mariamottagningen-t2.toml <<'EOF'
participants_women = 52
participants_men = 30
participants_other = 1
participants_new = 31
ended_work_or_studies = 11
sus_up_to_date = true
costs_tkr = 1980
goal_fulfilment = "Målen för perioden är nådda; elva deltagare har gått vidare till arbete eller studier."
EOF
at 2027-08-25T10:00 reports submit 7 --file demo-out/mariamottagningen-t2.txt \
  --figures demo-out/mariamottagningen-t2.toml --as sofia.ek@skane.example
tick 2027-08-30T09:00
at 2027-08-30T10:00 reports submit 8 --file demo-out/iris-t2.txt --set participants_women=21 \
  --set participants_men=27 --set participants_new=16 --set ended_work_or_studies=7 \
  --set sus_up_to_date=ja --set costs_tkr=960 \
  --set goal_fulfilment="Målen för perioden är nådda; rekryteringen har kommit ikapp." \
  --as jonna.lund@simrishamn.example
at 2027-08-30T11:00 reports submit 9 --file demo-out/mojligheternas-hus-t2.txt \
  --set participants_women=9 --set participants_men=12 --set participants_new=5 \
  --set ended_work_or_studies=4 --set sus_up_to_date=nej --set costs_tkr=310 \
  --set goal_fulfilment="Delvis: färre nya deltagare än väntat under sommaren." \
  --as kim.ros@tomelilla.example
at 2027-08-31T09:00 reports approve 7 --as $CHEF

step "6 September: presidium and beredningsgrupp recommend, each at its own meeting"
tick 2027-09-06T11:00
at 2027-09-06T11:30 plan move 1 recommend-adopt --as $CHAIR \
  --comment "Presidiet föreslår att styrelsen antar verksamhetsplan och budget 2028"
at 2027-09-06T15:00 plan move 1 recommend-adopt --as $CHEF \
  --comment "Beredningsgruppen tillstyrker förslaget"
tick 2027-09-06T15:05

step "14 September: the tertial-2 overview for the board's meeting on 21 September"
at 2027-09-14T09:30 reports overview --year 2027 --kind tertial-2
at 2027-09-14T09:30 reports overview --year 2027 --kind tertial-2 --xlsx demo-out/tertialrapport-2-2027.xlsx

step "21 September: the board sends the plan back (återremiss); revision 2 opens"
tick 2027-09-21T15:00
at 2027-09-21T16:00 plan move 1 send-back --as $CHEF \
  --comment "Återremiss: den nya insatsen ska minskas så att eget kapital räcker"

step "27 September: revision 2 is written and submitted; it goes round again in November"
at 2027-09-27T09:00 plan edit 1 --from examples/demo/sydostra-skane-2028-rev2.toml --as $CHEF
at 2027-09-27T09:05 plan move 1 submit --as $CHEF
tick 2027-09-27T09:10
tick 2027-11-08T11:00
at 2027-11-08T11:30 plan move 1 recommend-adopt --as $CHAIR \
  --comment "Presidiet föreslår att styrelsen antar den reviderade planen"
at 2027-11-08T15:00 plan move 1 recommend-adopt --as $CHEF --comment "Beredningsgruppen tillstyrker"

step "16 November: the kallelse to the board's November meeting goes out, by mail too"
tick 2027-11-16T15:00
at 2027-11-16T09:00 meeting agenda "$BOARD"
at 2027-11-16T09:00 meeting notice "$BOARD" --format html -o demo-out/kallelse-styrelsen-2027-11.html

step "23 November: the board adopts the plan at its meeting; the § follows from the agenda"
tick 2027-11-23T15:00
at 2027-11-23T16:00 plan move 1 adopt --as $CHEF \
  --comment "Styrelsen godkänner verksamhetsplanen och fastställer budgeten för 2028"

step "The minutes, in the browser: recorded, sent to the two justerare, one asks for a change, both justera"
"$PYTHON" examples/justering.py "$BOARD" demo-out/mail $CHEF $VICE $MEMBER \
  greta.ohman@sjobo.example:johan.ek@sjobo.example
at 2027-11-26T10:00 meeting minutes "$BOARD" -o demo-out/protokoll-styrelsen-2027-11.md
cat demo-out/protokoll-styrelsen-2027-11.md
step "With the minutes approved, each member organisation's registry gets a protokollsutdrag"
tick 2027-11-26T10:01

step "The plan, what the återremiss changed, and its history"
at 2027-11-26T10:05 plan show 1
run plan diff 1 --from 1 --to 2
run plan history 1
run plan render 1 --format html -o demo-out/verksamhetsplan-2028.html

step "The calendar again: the cycle as it stands, exported for everyone's calendar"
at 2027-11-26T10:10 cycle show --year 2027 --body styrelse
at 2027-11-26T10:10 calendar export --year 2027 --ics demo-out/calendar-2027.ics

step "December: the scheduler runs the rest of the year; its status at New Year's Eve"
tick 2027-12-31T12:00
at 2027-12-31T12:00 scheduler status

step "The year 2027 month by month: what the scheduler queued and sent"
"$PYTHON" examples/run_year.py --summary

step "The mail sent last, to whom (50 a page; each one is in demo-out/mail/ as an .eml file)"
run outbox list --state sent

step "The audit trail: verified, and its head to write into the minutes"
run audit verify
run audit head
step "One thing's whole life in the trail: the November board meeting, who did what in which role"
run audit log --subject "meeting:$BOARD"
echo
echo "Written to demo-out/: finsam.db, calendar-2027.ics, arshjul-2027.svg, mail/*.eml,"
echo "the reports with their figures (*-t1.txt, *-t1.toml, ...), the tertial overviews"
echo "tertialrapport-1-2027.xlsx and tertialrapport-2-2027.xlsx,"
echo "kallelse-styrelsen-2027-11.html, protokoll-styrelsen-2027-11.md, verksamhetsplan-2028.html."
echo "From this folder 'finsam plan list' finds the demo's database."

# The year in the browser: in a terminal, serve the demo's database and print sign-in
# links for the förbundschef, the chair and a project leader, read from the mail the
# demo's SMTP server received (Ctrl-C stops it); otherwise (CI, a script) say how.
# The web's clock stands at the end of the story, so the links stay valid.
export FINSAM_NOW=2027-12-31T12:05 FINSAM_BASE_URL=http://127.0.0.1:8000
LEADER=sofia.ek@skane.example
if [ -t 1 ] && [ -t 0 ]; then
  step "The year in the browser: finsam web at $FINSAM_BASE_URL"
  "$PYTHON" examples/serve_demo.py "$FINSAM" demo-out/mail $CHEF $CHAIR $LEADER
else
  echo
  echo "To see the year in the browser, serve the demo's database (Ctrl-C stops it):"
  echo "  FINSAM_NOW=$FINSAM_NOW $FINSAM web --port 8000"
  echo "and sign in at $FINSAM_BASE_URL/signin ('make demo' in a terminal does this and"
  echo "prints sign-in links for the förbundschef, the chair and a project leader)."
  echo "The November board meeting's notice is on the public anslagstavla:"
  echo "  $FINSAM_BASE_URL/sydostra-skane/anslagstavla"
fi
