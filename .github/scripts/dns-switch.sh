#!/usr/bin/env bash
# Moves traffic for a stack's model host names between the primary region and the DR region by setting the
# weights of two Route 53 weighted records per name, set identifiers `primary` and `dr` (created once, up
# front, with health checks: see docs/runbooks/disaster-recovery.md). The chosen side gets weight 100, the
# other 0; records stay in place, so fail-back is the same command with `primary`.
# Usage: .github/scripts/dns-switch.sh <hosted-zone-id> <dr|primary> <stack>
set -euo pipefail

zone="${1:?usage: dns-switch.sh <hosted-zone-id> <dr|primary> <stack>}"
to="${2:?usage: dns-switch.sh <hosted-zone-id> <dr|primary> <stack>}"
stack="${3:?usage: dns-switch.sh <hosted-zone-id> <dr|primary> <stack>}"
case "$to" in dr | primary) ;; *) echo "dns-switch: target must be dr or primary, got '$to'" >&2; exit 64 ;; esac

mapfile -t hosts < <(pulumi stack output endpoints --json --stack "$stack" | jq -r '.[] | sub("^https://"; "") | sub("/.*$"; "")')
[ "${#hosts[@]}" -gt 0 ] || { echo "dns-switch: stack $stack exports no endpoints" >&2; exit 1; }

changes='[]'
for host in "${hosts[@]}"; do
  records=$(aws route53 list-resource-record-sets --hosted-zone-id "$zone" --output json \
    --query "ResourceRecordSets[?Name == '${host}.' && (SetIdentifier == 'primary' || SetIdentifier == 'dr')]")
  if [ "$(jq length <<<"$records")" -ne 2 ]; then
    echo "dns-switch: $host needs exactly two weighted records (set identifiers primary and dr) in zone $zone" >&2
    exit 1
  fi
  changes=$(jq --arg to "$to" --argjson records "$records" \
    '. + [$records[] | .Weight = (if .SetIdentifier == $to then 100 else 0 end) | {Action: "UPSERT", ResourceRecordSet: .}]' \
    <<<"$changes")
done

batch=$(jq -n --arg c "Send traffic to $to (stack $stack)" --argjson changes "$changes" '{Comment: $c, Changes: $changes}')
change_id=$(aws route53 change-resource-record-sets --hosted-zone-id "$zone" --change-batch "$batch" --query ChangeInfo.Id --output text)
aws route53 wait resource-record-sets-changed --id "$change_id"
echo "dns-switch: ${hosts[*]} now weighted to $to (change $change_id in sync)"
