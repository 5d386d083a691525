#!/usr/bin/env bash
# Drift check of one stack: `pulumi preview --refresh --expect-no-changes` reads every resource from the cloud
# and the cluster and compares it with what the program on this commit and the stack's config declare.
# Writes <out-dir>/<stack>.status (clean, drift, missing or error) and <out-dir>/<stack>.diff (the preview's
# output; secrets stay masked, as Pulumi masks them without --show-secrets). Exit 0 when the stack is clean,
# drifted or not deployed (the report job turns those into issues); 1 when the preview itself failed, so the
# run goes red instead of a broken preview passing for drift.
# Usage: .github/scripts/drift-check.sh <stack> <out-dir>   (PULUMI overrides the CLI, for tests)
set -uo pipefail

stack="${1:?usage: drift-check.sh <stack> <out-dir>}"
out="${2:?usage: drift-check.sh <stack> <out-dir>}"
pulumi="${PULUMI:-pulumi}"
mkdir -p "$out"

report() {
  printf '%s\n' "$1" >"$out/$stack.status"
  echo "drift-check: $stack: $1"
}

if ! stacks=$("$pulumi" stack ls --json 2>"$out/$stack.diff"); then
  report error
  cat "$out/$stack.diff" >&2
  exit 1
fi
if ! jq -e --arg s "$stack" 'map(.name | split("/") | last) | index($s) != null' <<<"$stacks" >/dev/null; then
  : >"$out/$stack.diff"
  report missing
  exit 0
fi

# --expect-no-changes makes a preview with changes exit non-zero with Pulumi's NoChangesExpectedError; any other
# failure (credentials, an unreachable cluster, a program error) is an error, not drift.
"$pulumi" preview --stack "$stack" --refresh --expect-no-changes --diff --non-interactive --color never \
  --suppress-progress >"$out/$stack.diff" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
  report clean
elif grep -Eq 'no changes were expected( for [a-z]+)? but changes were proposed' "$out/$stack.diff"; then
  report drift
else
  report error
  tail -n 50 "$out/$stack.diff" >&2
  exit 1
fi
