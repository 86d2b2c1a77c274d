#!/usr/bin/env bash
# Installs what Faultline needs to build and test on Debian 12, then configures nothing:
# the build scripts do that. Safe to run again; installs only what is missing.
set -euo pipefail

pkgs=(build-essential cmake pkg-config curl
      libuv1-dev libhttp-parser-dev libyaml-dev libjansson-dev libxml2-dev
      libcriterion-dev libcurl4-openssl-dev jq bc)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
echo "setup: installing ${missing[*]}"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
