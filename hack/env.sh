# Source this file: `source hack/env.sh`. It makes a fresh machine ready for sgrestore development:
#   - Node.js >= 22.19 (installs Node 24 LTS from the npm registry into ~/.local/node24 when the machine's is older),
#   - node_modules from package-lock.json (npm ci) when missing or older than the lock file.
# It is idempotent and quick on a warm machine.

_sgr_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if [ -x "$HOME/.local/node24/bin/node" ]; then
  export PATH="$HOME/.local/node24/bin:$PATH"
fi
if ! _sgr_node_ok; then
  echo "sgrestore: installing Node.js 24 LTS into ~/.local/node24 (machine has $(node --version 2>/dev/null || echo none))" >&2
  npm install -g --prefix "$HOME/.local/node24" node@24 >&2 || return 1 2>/dev/null || exit 1
  export PATH="$HOME/.local/node24/bin:$PATH"
  _sgr_node_ok || { echo "sgrestore: Node.js >= 22.19 is still not on PATH" >&2; return 1 2>/dev/null || exit 1; }
fi

_sgr_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
if [ ! -d "$_sgr_root/node_modules" ] || [ "$_sgr_root/package-lock.json" -nt "$_sgr_root/node_modules/.package-lock.json" ]; then
  echo "sgrestore: npm ci" >&2
  (cd "$_sgr_root" && npm ci --no-audit --no-fund >&2) || return 1 2>/dev/null || exit 1
fi
unset _sgr_root
