#!/usr/bin/env bash
# Smoke-checks every model endpoint a stack exports (stack output `endpoints`, https://<model>.<domain>/v1)
# with the C# smoke command. Needs the Pulumi CLI logged in to the stack's backend and the .NET SDK.
# Usage: .github/scripts/smoke.sh <stack> <api-key-file>
set -euo pipefail

stack="${1:?usage: smoke.sh <stack> <api-key-file>}"
key_file="${2:?usage: smoke.sh <stack> <api-key-file>}"
[ -s "$key_file" ] || { echo "smoke: API key file $key_file is missing or empty" >&2; exit 1; }

mapfile -t endpoints < <(pulumi stack output endpoints --json --stack "$stack" | jq -r '.[]')
[ "${#endpoints[@]}" -gt 0 ] || { echo "smoke: stack $stack exports no endpoints" >&2; exit 1; }

for url in "${endpoints[@]}"; do
  base="${url%/}"
  base="${base%/v1}" # the smoke command takes the base URL and calls /readyz and /v1/... itself
  echo "smoke: $stack $base"
  dotnet run --project runtime/Smoke -c Release -- --url "$base" --api-keys-file "$key_file"
done
