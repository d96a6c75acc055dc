#!/usr/bin/env bash
# `npm run image:build`: builds the sgrestore image (the repository's Dockerfile) with podman.
#
#   npm run image:build                       # localhost/sgrestore:<package.json version>
#   BASE_IMAGE=node:24-bookworm-slim npm run image:build    # a base image of your choice (pulled if missing)
#
# 1. Set-up (root, idempotent): podman, runc and debootstrap from apt when missing; podman configured to use runc
#    and no default ulimits (see ../shared/reference/containers.md: crun and podman's default rlimits fail here).
# 2. The base image: BASE_IMAGE if given; else the official node:24-bookworm-slim when it is local or can be
#    pulled; else (no registry reachable) a local one, localhost/sgrestore-base:bookworm-node24, made from
#    `debootstrap --variant=minbase bookworm` (from the Debian mirror apt already uses) plus this machine's Node 24
#    binary and npm, laid out as the official image lays them out. Its ingredients are cached outside the clone
#    in ${SGRESTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sgrestore}/image/; nothing is rebuilt while the
#    image exists with the same Node and npm versions.
# 3. podman build --pull=never --network=host. The Dockerfile's npm ci steps read an optional build secret
#    `npmrc`; it is made from this machine's npm configuration (registry, CA, proxy), so npm inside the build reaches
#    the registry exactly as npm on the host does, and nothing of it lands in a layer. SGRESTORE_NPMRC=FILE uses
#    that file instead (e.g. one with an auth token).
#
# Environment: BASE_IMAGE, IMAGE (default localhost/sgrestore:<version>), SGRESTORE_CACHE_DIR,
# SGRESTORE_DEBIAN_MIRROR (overrides the mirror read from apt), SGRESTORE_NPMRC, SOURCE_URL (OCI label).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

START=$SECONDS
STEP_START=$SECONDS
step() {
  STEP_START=$SECONDS
  printf '\n== image:build: %s\n' "$*" >&2
}
log() { printf 'image:build: %s\n' "$*" >&2; }
took() { log "$1 ($((SECONDS - STEP_START)) s)"; }
die() {
  printf 'image:build: error: %s\n' "$*" >&2
  exit 1
}

OFFICIAL_BASE=node:24-bookworm-slim
LOCAL_BASE=localhost/sgrestore-base:bookworm-node24
# Bump when the recipe of the local base changes, so cached images made by an older recipe are rebuilt.
LOCAL_BASE_RECIPE=1
CACHE_ROOT=${SGRESTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sgrestore}
CACHE=$CACHE_ROOT/image

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sgrestore-image-build.XXXXXX")
cleanup() {
  # A rootfs extracted as root holds root-owned files; plain rm -rf is enough since we are root.
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- 1. podman, runc, debootstrap -------------------------------------------------------------------------------
step "1/3 podman + runc"
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else die "needs root for: $* (these machines run podman rootful; run as root)"; fi
}
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v flock >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
CONF=/etc/containers/containers.conf
WANT_CONF=$'[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n'
if [ ! -f "$CONF" ]; then
  log "writing $CONF (runtime runc, no default ulimits)"
  as_root mkdir -p /etc/containers
  printf '%s' "$WANT_CONF" | as_root tee "$CONF" >/dev/null
elif ! grep -Eq '^[[:space:]]*runtime[[:space:]]*=[[:space:]]*"runc"' "$CONF" || ! grep -Eq '^[[:space:]]*default_ulimits[[:space:]]*=[[:space:]]*\[[[:space:]]*\]' "$CONF"; then
  log "$CONF lacks runtime = \"runc\" or default_ulimits = []: saving it as $CONF.sgrestore-backup and replacing it"
  as_root cp "$CONF" "$CONF.sgrestore-backup"
  printf '%s' "$WANT_CONF" | as_root tee "$CONF" >/dev/null
fi
log "$(podman --version), runtime $(podman info --format '{{.Host.OCIRuntime.Name}}'), storage $(podman info --format '{{.Store.GraphDriverName}}')"
took "ready"

# --- 2. the base image --------------------------------------------------------------------------------------------
step "2/3 base image"

# The Node 24 binary for the local base: the one on PATH when it is 24, else the one hack/env.sh installs.
node24() {
  local candidate
  for candidate in "$(command -v node || true)" "$HOME/.local/node24/bin/node"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$("$candidate" -p 'process.versions.node.split(".")[0]')" = 24 ]; then
      readlink -f "$candidate"
      return
    fi
  done
  log "no Node 24 on this machine: npm install -g --prefix ~/.local/node24 node@24"
  npm install -g --prefix "$HOME/.local/node24" node@24 >&2
  readlink -f "$HOME/.local/node24/bin/node"
}

# The Debian mirror apt uses for bookworm (deb822 .sources or one-line sources.list).
debian_mirror() {
  if [ -n "${SGRESTORE_DEBIAN_MIRROR:-}" ]; then
    echo "$SGRESTORE_DEBIAN_MIRROR"
    return
  fi
  local uri=""
  shopt -s nullglob
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    # Stanzas are separated by blank lines; take the first deb stanza whose Suites has plain bookworm.
    uri=$(awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/) types = $i
          if ($i ~ /^URIs:/) uris = $i
          if ($i ~ /^Suites:/) suites = $i
        }
        if (types ~ /[[:space:]]deb([[:space:]]|$)/ && (" " suites " ") ~ /[[:space:]]bookworm[[:space:]]/) {
          sub(/^URIs:[[:space:]]*/, "", uris); split(uris, u, /[[:space:]]+/); print u[1]; exit
        }
      }' "$f")
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      uri=$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } if ($(i + 1) == "bookworm") { print $i; exit } }' "$f")
      [ -n "$uri" ] && break
    done
  fi
  shopt -u nullglob
  [ -n "$uri" ] || die "found no bookworm mirror in the apt sources; set SGRESTORE_DEBIAN_MIRROR"
  echo "$uri"
}

build_local_base() {
  local node_bin node_version npm_tgz npm_version rootfs minbase
  node_bin=$NODE
  node_version=$("$node_bin" -p process.versions.node)
  mkdir -p "$CACHE"

  # npm for the base (the build stages run npm ci): the npm 11 line, which Node 24 ships. Cached as its tarball.
  npm_tgz=$(find "$CACHE" -maxdepth 1 -name 'npm-11.*.tgz' | sort -V | tail -n 1)
  if [ -z "$npm_tgz" ]; then
    log "fetching npm@11 (npm pack) into $CACHE"
    (cd "$WORK" && npm pack --silent npm@11 >/dev/null)
    local packed
    packed=$(find "$WORK" -maxdepth 1 -name 'npm-11.*.tgz' | head -n 1)
    [ -n "$packed" ] || die "npm pack npm@11 produced no tarball"
    mv "$packed" "$CACHE/"
    npm_tgz=$CACHE/$(basename "$packed")
  fi
  npm_version=$(basename "$npm_tgz" .tgz)
  npm_version=${npm_version#npm-}

  if podman image exists "$LOCAL_BASE"; then
    local labels
    labels=$(podman image inspect --format '{{index .Labels "io.sgrestore.base.node-version"}} {{index .Labels "io.sgrestore.base.npm-version"}} {{index .Labels "io.sgrestore.base.recipe"}}' "$LOCAL_BASE")
    if [ "$labels" = "$node_version $npm_version $LOCAL_BASE_RECIPE" ]; then
      log "$LOCAL_BASE exists (node $node_version, npm $npm_version): reused"
      return
    fi
    log "$LOCAL_BASE exists but has (node npm recipe) = ($labels), want ($node_version $npm_version $LOCAL_BASE_RECIPE): rebuilding"
  fi

  minbase=$CACHE/debootstrap-bookworm-minbase-amd64.tar
  if [ "$(dpkg --print-architecture 2>/dev/null || echo amd64)" != amd64 ]; then
    minbase=$CACHE/debootstrap-bookworm-minbase-$(dpkg --print-architecture).tar
  fi
  if [ ! -s "$minbase" ]; then
    local mirror
    mirror=$(debian_mirror)
    log "debootstrap --variant=minbase bookworm from $mirror (once; cached as $minbase)"
    local t=$SECONDS
    rootfs=$WORK/minbase
    as_root debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 || {
      tail -n 30 "$WORK/debootstrap.log" >&2
      die "debootstrap failed (log above)"
    }
    tar --numeric-owner -C "$rootfs" -cf "$minbase.part" .
    mv "$minbase.part" "$minbase"
    rm -rf "$rootfs"
    log "debootstrap done ($((SECONDS - t)) s, $(du -h "$minbase" | cut -f1))"
  else
    log "debootstrap rootfs from cache: $minbase"
  fi

  rootfs=$WORK/rootfs
  mkdir -p "$rootfs"
  tar --numeric-owner -C "$rootfs" -xf "$minbase"
  # What the official slim image leaves out as well: docs, man pages, locales, apt indexes and caches, logs.
  (
    cd "$rootfs"
    rm -rf ./usr/share/doc/* ./usr/share/man/* ./usr/share/info/* ./usr/share/locale/* \
      ./var/lib/apt/lists/* ./var/cache/apt/*.bin ./var/cache/apt/archives/*.deb \
      ./var/cache/debconf/*-old ./var/log/* ./dev/* ./proc/* ./sys/* ./tmp/*
  )
  # Node where the official image has it: /usr/local/bin/node, npm in /usr/local/lib/node_modules/npm.
  install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner -xzf "$npm_tgz"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" /usr/local/bin/node --version >/dev/null || die "node does not run in the debootstrap rootfs"

  log "podman import -> $LOCAL_BASE (node $node_version, npm $npm_version)"
  tar --numeric-owner -C "$rootfs" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$node_version" \
    --change 'CMD ["node"]' \
    --change "LABEL io.sgrestore.base.node-version=$node_version" \
    --change "LABEL io.sgrestore.base.npm-version=$npm_version" \
    --change "LABEL io.sgrestore.base.recipe=$LOCAL_BASE_RECIPE" \
    --message "debootstrap --variant=minbase bookworm + node $node_version + npm $npm_version" \
    - "$LOCAL_BASE" >/dev/null
  rm -rf "$rootfs"
}

NODE=$(node24)
mkdir -p "$CACHE"
if [ -n "${BASE_IMAGE:-}" ]; then
  base=$BASE_IMAGE
  log "BASE_IMAGE=$base (given)"
  podman image exists "$base" || podman pull "$base" >&2
elif podman image exists "$OFFICIAL_BASE"; then
  base=$OFFICIAL_BASE
  log "official base $base is in local storage"
elif timeout 60 podman pull -q "$OFFICIAL_BASE" >"$WORK/pull.log" 2>&1; then
  base=$OFFICIAL_BASE
  log "pulled the official base $base"
else
  log "no registry reachable ($(tail -n 1 "$WORK/pull.log" | cut -c1-160))"
  log "using a local base image instead: $LOCAL_BASE"
  base=$LOCAL_BASE
  # One builder of the base at a time (two clones on one machine share the cache and podman's storage).
  exec 9>"$CACHE/.lock"
  flock 9
  build_local_base
  flock -u 9
fi
log "base $base: $(podman image inspect --format '{{.Size}}' "$base" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
took "base ready"

# --- 3. podman build ----------------------------------------------------------------------------------------------
step "3/3 podman build"
VERSION=$("$NODE" -p 'JSON.parse(require("node:fs").readFileSync("package.json", "utf8")).version')
IMAGE=${IMAGE:-localhost/sgrestore:$VERSION}

# The npm configuration the build's npm ci uses, as the build secret `npmrc` (never in a layer).
npmrc=$WORK/npmrc
if [ -n "${SGRESTORE_NPMRC:-}" ]; then
  cp "$SGRESTORE_NPMRC" "$npmrc"
else
  "$NODE" "$ROOT/hack/image/npmrc.ts" >"$npmrc"
fi
chmod 600 "$npmrc"

build_args=(--build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$VERSION")
[ -n "${SOURCE_URL:-}" ] && build_args+=(--build-arg "SOURCE_URL=$SOURCE_URL")
revision=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)
labels=()
[ -n "$revision" ] && labels+=(--label "org.opencontainers.image.revision=$revision")

log "podman build --pull=never --network=host --build-arg BASE_IMAGE=$base -t $IMAGE ."
podman build --pull=never --network=host --layers \
  --secret "id=npmrc,src=$npmrc" \
  "${build_args[@]}" "${labels[@]}" \
  -t "$IMAGE" "$ROOT"
took "built $IMAGE"

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
printf '\n== image:build: %s  size %s MB (%s bytes, uncompressed)  user %s  base %s  total %s s\n' \
  "$IMAGE" "$(awk -v s="$size" 'BEGIN { printf "%.0f", s / 1e6 }')" "$size" "$user" "$base" "$((SECONDS - START))" >&2
