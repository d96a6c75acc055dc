#!/usr/bin/env bash
# The quick-start demo: starts the ECS emulator seeded with a damaged live group (sg-web-prod) and its backup
# (sg-web-backup), shows the coloured plan of a Complete restore, applies exactly that plan by its hash, and plans
# again to show there is nothing left to do. Everything runs on 127.0.0.1 and stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

SEED=${SEED:-test/fixtures/demo.yaml}
REGION=cn-hangzhou ORIGINAL=sg-web-prod TARGET=sg-web-backup
log=$(mktemp)
node test/emulator/main.ts --seed "$SEED" --port 0 >"$log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null; wait $emulator 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
  endpoint=$(sed -n 's/^endpoint=//p' "$log" | head -1)
  [ -n "$endpoint" ] && break
  kill -0 $emulator 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "${endpoint:-}" ] || { echo "emulator did not start:"; cat "$log"; exit 1; }

export SGRESTORE_ECS_ENDPOINT=$endpoint ALIBABA_CLOUD_ACCESS_KEY_ID=test-ak ALIBABA_CLOUD_ACCESS_KEY_SECRET=test-secret
# Never probe the ECS metadata service from a workstation.
export ALIBABA_CLOUD_ECS_METADATA_DISABLED=true ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true
[ -t 1 ] && export FORCE_COLOR=1
sgr() { node bin/sgrestore.js "$@"; }
args=(--region $REGION --original $ORIGINAL --target $TARGET --mode complete)

echo "== ECS emulator at $endpoint, seeded from $SEED"
echo
echo "== 1. sgrestore plan ${args[*]}"
sgr plan "${args[@]}"
hash=$(sgr plan "${args[@]}" --output json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).planHash))')
echo
echo "== 2. sgrestore apply ${args[*]} --approve $hash"
sgr apply "${args[@]}" --approve "$hash" --log-level warn
echo
echo "== 3. sgrestore plan again: the original now holds the backup's rules"
sgr plan "${args[@]}"
