#!/usr/bin/env bash
# The installer the package site serves: downloads the newest novij-telegram
# package of a channel, checks its SHA-256 against the channel index
# (docs/PACKAGES.md), installs it, then runs `novij-telegram setup` with the
# arguments given.
#
#   curl -fsSL <site>/install.sh | sudo bash -s -- tg.example.org --enable-tls [--wallet-id ID]
#   curl -fsSL <site>/install.sh | sudo bash -s -- --package-only
#
# --package-only installs the package and nothing else (proxy, TLS and the
# domain are set up later or elsewhere: `novij-telegram setup`). Every other
# argument goes to `setup`. Settings, from the environment:
#   NOVIJ_PACKAGE_SITE     the site (default https://packages.novij.tech/services/telegram)
#   NOVIJ_PACKAGE_CHANNEL  the channel (default latest)
# Needs Debian 12 or newer, curl and root.
set -euo pipefail

SITE="${NOVIJ_PACKAGE_SITE:-https://packages.novij.tech/services/telegram}"
SITE="${SITE%/}"
CHANNEL="${NOVIJ_PACKAGE_CHANNEL:-latest}"
PACKAGE=novij-telegram

die() {
  echo "install: $*" >&2
  exit 1
}

package_only=0
setup_args=()
for arg in "$@"; do
  case "$arg" in
    --package-only) package_only=1 ;;
    *) setup_args+=("$arg") ;;
  esac
done
if [[ "$package_only" == 0 && ${#setup_args[@]} -eq 0 ]]; then
  die "name the domain (install.sh tg.example.org --enable-tls), or pass --package-only"
fi
[[ "$(id -u)" == 0 ]] || die "run it as root (sudo bash -s -- ...)"
command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
command -v dpkg >/dev/null || die "this installs a Debian package: dpkg is missing"
[[ "$CHANNEL" =~ ^[a-z][a-z0-9-]{0,31}$ ]] || die "NOVIJ_PACKAGE_CHANNEL '$CHANNEL' is not a channel name"

arch="$(dpkg --print-architecture)"
index="$(curl -fsSL "$SITE/channels/$CHANNEL.json")" || die "cannot read channel '$CHANNEL' at $SITE"

# The index is JSON whose releases are flat objects (docs/PACKAGES.md): one
# per line is enough to pick the newest for this architecture without a JSON
# tool, which a fresh Debian lacks.
release="$(printf '%s' "$index" | tr -d '\n' | sed -e 's/": *"/":"/g' -e 's/" *, *"/","/g' -e 's/} *, *{/}\n{/g' |
  grep -m1 -E "\"architecture\":\"($arch|all)\"" || true)"
[[ -n "$release" ]] || die "channel '$CHANNEL' has no release for $arch"
field() {
  printf '%s' "$release" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"
}
version="$(field version)"
file="$(field file)"
sha256="$(field sha256)"
[[ "$sha256" =~ ^[0-9a-f]{64}$ ]] || die "the index gives no SHA-256 for $version"
# A relative path of plain segments, as the contract says: never another host.
[[ "$file" =~ ^[A-Za-z0-9][A-Za-z0-9._+~-]*(/[A-Za-z0-9][A-Za-z0-9._+~-]*)*$ && "$file" != *..* ]] ||
  die "the index names an unexpected file: $file"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
deb="$work/$PACKAGE.deb"
echo "install: downloading $PACKAGE $version ($CHANNEL) from $SITE" >&2
curl -fsSL -o "$deb" "$SITE/$file" || die "cannot download $SITE/$file"
echo "$sha256  $deb" | sha256sum --check --quiet >/dev/null 2>&1 ||
  die "checksum mismatch: $SITE/$file is not what the index says ($sha256); nothing was installed"

# apt-get pulls in the package's dependencies; dpkg keeps edited configuration.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confdef \
  -o Dpkg::Options::=--force-confold "$deb" >&2 ||
  die "the package did not install"
echo "install: $PACKAGE $version installed" >&2

if [[ "$package_only" == 1 ]]; then
  echo "install: next, sudo novij-telegram setup <domain> --enable-tls" >&2
  exit 0
fi
exec novij-telegram setup "${setup_args[@]}"
