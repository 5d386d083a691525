#!/usr/bin/env bash
# DNS failover readiness of one stack: Route 53 moves the model and Grafana names by itself (health-checked
# failover records, components/traffic/failover.ts); nothing is switched by hand. This waits until every
# Route 53 health check of the stack (stack output `failover.healthChecks`) is healthy, i.e. more than 18% of
# Route 53's checkers report success (Route 53's own rule), and prints the stack's switch time
# (`failover.switchSeconds`: interval x failure threshold + TTL). Exit 0 when all are healthy, 1 when one is
# still unhealthy at the deadline or the stack exports no failover.
# Usage: .github/scripts/failover-status.sh <stack> [timeout-seconds, default 600]
#   (PULUMI and AWS override the CLIs, for tests; POLL_SECONDS the wait between rounds, default 15)
set -euo pipefail

stack="${1:?usage: failover-status.sh <stack> [timeout-seconds]}"
timeout="${2:-600}"
pulumi="${PULUMI:-pulumi}"
aws="${AWS:-aws}"
poll="${POLL_SECONDS:-15}"

failover=$("$pulumi" stack output failover --json --stack "$stack" 2>/dev/null || true)
if [ -z "$failover" ] || [ "$(jq -r 'type' <<<"$failover")" != "object" ]; then
  echo "failover-status: stack $stack exports no failover (no dns in its config?)" >&2
  exit 1
fi
mapfile -t checks < <(jq -r '.healthChecks | to_entries[] | .key as $c | .value | to_entries[] | "\($c) \(.key) \(.value)"' <<<"$failover")
[ "${#checks[@]}" -gt 0 ] || { echo "failover-status: stack $stack has no health checks" >&2; exit 1; }

deadline=$((SECONDS + timeout))
while :; do
  unhealthy=()
  for entry in "${checks[@]}"; do
    read -r cluster host id <<<"$entry"
    share=$("$aws" route53 get-health-check-status --health-check-id "$id" --output json |
      jq '[.HealthCheckObservations[].StatusReport.Status | startswith("Success")] | if length == 0 then 0 else (map(select(.)) | length) / length end')
    if jq -e --argjson s "$share" -n '$s > 0.18' >/dev/null; then
      echo "ok: $host on $cluster (health check $id)"
    else
      unhealthy+=("$host on $cluster (health check $id)")
    fi
  done
  [ "${#unhealthy[@]}" -eq 0 ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    printf 'failover-status: unhealthy after %ss: %s\n' "$timeout" "${unhealthy[*]}" >&2
    exit 1
  fi
  echo "waiting for: ${unhealthy[*]}"
  sleep "$poll"
done
jq -r '.switchSeconds | "failover-status: all health checks healthy; switch time \(.totalSeconds) s (detection \(.detectionSeconds) s + TTL \(.ttlSeconds) s, plus resolvers that keep answers past their TTL)"' <<<"$failover"
