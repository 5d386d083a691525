#!/usr/bin/env bash
# Turns the drift checks' results into issues, one per drifted stack: opens "Drift: stack <stack> differs from
# its code" with the preview's diff, or updates the open one (new body, and a comment so watchers hear of it);
# closes it once the stack is clean again. Stacks that are not deployed or whose preview failed are left alone
# (a failed preview fails its own job). Needs GH_TOKEN with issues: write, and GH_REPO.
# Usage: .github/scripts/drift-report.sh <results-dir> <run-url>   (GH overrides the gh CLI, for tests)
set -euo pipefail

dir="${1:?usage: drift-report.sh <results-dir> <run-url>}"
run_url="${2:?usage: drift-report.sh <results-dir> <run-url>}"
gh="${GH:-gh}"
label=drift
# GitHub rejects issue bodies over 65536 characters; leave room for the text around the diff.
max_diff=60000

shopt -s nullglob
results=("$dir"/*.status)
if [ "${#results[@]}" -eq 0 ]; then
  echo "drift-report: no results in $dir (no stack had credentials configured)"
  exit 0
fi
"$gh" label create "$label" --color B60205 --description "Live infrastructure differs from the code" --force >/dev/null

for result in "${results[@]}"; do
  stack=$(basename "$result" .status)
  status=$(<"$result")
  title="Drift: stack $stack differs from its code"
  number=$("$gh" issue list --label "$label" --state open --search "in:title \"$title\"" --json number,title \
    --jq "map(select(.title == \"$title\")) | .[0].number // empty")
  case "$status" in
    drift)
      body=$(mktemp)
      {
        echo "\`pulumi preview --refresh --expect-no-changes\` found differences between stack \`$stack\` and the"
        echo "code on the default branch ([run]($run_url)). Either someone changed the resources outside Pulumi"
        echo "(revert it, or make the code say it and deploy), or the code changed without a deploy (deploy it)."
        echo "See docs/operations.md, \"Drift detection\"."
        echo
        echo '````diff'
        head -c "$max_diff" "$dir/$stack.diff"
        [ "$(wc -c <"$dir/$stack.diff")" -le "$max_diff" ] || printf '\n... (cut: the whole diff is in the run'"'"'s artifacts)'
        echo
        echo '````'
      } >"$body"
      if [ -n "$number" ]; then
        "$gh" issue edit "$number" --body-file "$body" >/dev/null
        "$gh" issue comment "$number" --body "Still drifting as of $run_url (diff above updated)." >/dev/null
        echo "drift-report: $stack: updated #$number"
      else
        "$gh" issue create --title "$title" --label "$label" --body-file "$body" >/dev/null
        echo "drift-report: $stack: opened an issue"
      fi
      rm -f "$body"
      ;;
    clean)
      if [ -n "$number" ]; then
        "$gh" issue close "$number" --comment "No drift as of $run_url: closing." >/dev/null
        echo "drift-report: $stack: clean, closed #$number"
      fi
      ;;
    *) echo "drift-report: $stack: $status, no issue change" ;;
  esac
done
