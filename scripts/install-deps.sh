#!/usr/bin/env bash
# Installs the Debian packages listed in deps/debian-packages.txt that are not installed yet, then
# the browser tests' npm packages (tests/browser, from its package-lock.json) if they are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mapfile -t wanted < <(grep -vE '^\s*(#|$)' "$here/deps/debian-packages.txt")
# A package counts as present when an installed package provides it: NodeSource's nodejs, say,
# provides (and conflicts with) Debian's npm, and asking apt for npm would then fail.
provided=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null |
               awk '$1 == "ii" { $1 = ""; print }' | sed -E 's/\([^)]*\)//g' | tr ',' ' ' |
               tr -s ' \n' ' ') "
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
  [[ "$provided" == *" $p "* ]] && continue
  missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ! -d "$here/tests/browser/node_modules" ]; then
  echo "install-deps: npm ci --prefix tests/browser (playwright-core, for the browser tests)"
  npm ci --prefix "$here/tests/browser" --no-audit --no-fund
fi
