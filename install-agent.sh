#!/usr/bin/env bash
# Installs rexec-agent from this checkout: dependencies (pnpm, pinned, through npx), a build of
# shared + agent only, and a `rexec-agent` command on the PATH.
#
#   ./install-agent.sh                         install only
#   ./install-agent.sh --host URL --token T [--name N] [--tags a,b]   (T: enrollment token rxe_...)
#                                              install, register and start in the background
#   ./install-agent.sh --help
#
# Needs Node.js 20.19+ with npm, and python3, make and g++ to build node-pty.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
HOST="" TOKEN="" NAME="" TAGS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=${2:?--host needs a value}; shift 2 ;;
    --token) TOKEN=${2:?--token needs a value}; shift 2 ;;
    --name) NAME=${2:?--name needs a value}; shift 2 ;;
    --tags) TAGS=${2:?--tags needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-agent.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

command -v node >/dev/null || { echo "install-agent.sh: Node.js 20.19+ is required" >&2; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || { echo "install-agent.sh: Node.js 20.19+ is required (found $(node --version))" >&2; exit 1; }

PNPM=$(node -p 'require("./package.json").packageManager')
echo "==> installing agent dependencies ($PNPM)"
CI=true npx --yes "$PNPM" install --prefer-frozen-lockfile --filter @rexec/agent... --reporter=append-only
echo "==> building"
npx --yes "$PNPM" --filter @rexec/agent... run build

if [ "$(id -u)" = 0 ]; then BIN_DIR=/usr/local/bin; else BIN_DIR="$HOME/.local/bin"; mkdir -p "$BIN_DIR"; fi
ln -sf "$ROOT/agent/bin/rexec-agent.js" "$BIN_DIR/rexec-agent"
echo "==> installed $BIN_DIR/rexec-agent"
case ":$PATH:" in *":$BIN_DIR:"*) ;; *) echo "    (add $BIN_DIR to your PATH)";; esac

if [ -n "$HOST" ] || [ -n "$TOKEN" ]; then
  [ -n "$HOST" ] && [ -n "$TOKEN" ] || { echo "install-agent.sh: --host and --token go together" >&2; exit 2; }
  args=(register --host "$HOST" --token "$TOKEN")
  [ -n "$NAME" ] && args+=(--name "$NAME")
  [ -n "$TAGS" ] && args+=(--tags "$TAGS")
  "$BIN_DIR/rexec-agent" "${args[@]}"
  "$BIN_DIR/rexec-agent" start --daemon
fi
