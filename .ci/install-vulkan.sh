#!/usr/bin/env bash
# Installs a Vulkan driver that exposes a WebGPU adapter on a machine without a GPU:
# Mesa >= 23 lavapipe (software Vulkan) from bookworm-backports, plus the Vulkan loader.
# Debian bookworm's own Mesa 22.3 lavapipe exposes no adapter to Dawn
# (shaderUniform*ArrayDynamicIndexing missing), so the WebGPU tests would skip.
#
# Idempotent and quiet: does nothing when a new-enough Mesa is already installed; prints one
# line on success and the apt log on failure. Run as root on Debian bookworm (the CI image).
# Used by .ci/run before `npm ci`.
set -euo pipefail

want_major=23
log=$(mktemp -t install-vulkan.XXXXXX.log)
trap 'rm -f "$log"' EXIT

mesa_major() {
  local v
  v=$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  case "$v" in
    "install ok installed "*) v=${v#install ok installed }; v=${v#*:}; echo "${v%%.*}" ;;
    *) echo 0 ;;
  esac
}

have=$(mesa_major)
if [ "$have" -ge "$want_major" ] && dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q 'ok installed'; then
  echo "install-vulkan: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-vulkan: must run as root (apt-get)" >&2
  exit 1
fi
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ "$codename" != "bookworm" ]; then
  echo "install-vulkan: expected Debian bookworm, found '${codename:-unknown}'; install Mesa >= $want_major (mesa-vulkan-drivers) and libvulkan1 by hand" >&2
  exit 1
fi

# Add the backports source when no apt source names it yet.
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Same mirror as the machine's own bookworm source (deb822 or one-line format).
  mirror=$(grep -hoE '^URIs:[[:space:]]*[^[:space:]]+/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | sed -E 's/^URIs:[[:space:]]*//')
  [ -n "$mirror" ] || mirror=$(grep -hoE '^deb[[:space:]]+[^[:space:]]+[[:space:]]+bookworm[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1 | awk '{print $2}')
  if [ -z "$mirror" ]; then
    echo "install-vulkan: found no Debian bookworm apt source to derive the backports source from" >&2
    exit 1
  fi
  echo "deb ${mirror%/} bookworm-backports main" > /etc/apt/sources.list.d/bookworm-backports.list
fi

export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1; } >"$log" 2>&1; then
  echo "install-vulkan: apt-get failed:" >&2
  cat "$log" >&2
  exit 1
fi

have=$(mesa_major)
if [ "$have" -lt "$want_major" ]; then
  echo "install-vulkan: mesa-vulkan-drivers is still major version $have after install (want >= $want_major)" >&2
  exit 1
fi
echo "install-vulkan: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) (lavapipe) and libvulkan1 $(dpkg-query -W -f='${Version}' libvulkan1)"
