# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# Debian's Sendmail without installing it: sendmail-bin conflicts with
# postfix as an installed package, so the tests unpack the two .debs into
# a private prefix instead. Source after tests/lib/common.sh.

SM_DEB_CACHE="$SMX_BUILD_DIR/sendmail-debs"

# sm_have_debs: true when both .debs are in the cache.
sm_have_debs() {
  compgen -G "$SM_DEB_CACHE/sendmail-bin_*.deb" >/dev/null &&
    compgen -G "$SM_DEB_CACHE/sendmail-cf_*.deb" >/dev/null
}

# sm_download_debs: fills the cache with `apt-get download` (kept across
# runs: the build directory is the cache). Downloads into a private
# directory first, so that a concurrent test never sees half a file.
sm_download_debs() {
  sm_have_debs && return 0
  command -v apt-get >/dev/null 2>&1 || return 1
  mkdir -p "$SM_DEB_CACHE"
  local tmp
  tmp=$(mktemp -d "$SM_DEB_CACHE/.download.XXXXXX") || return 1
  if (cd "$tmp" && apt-get download sendmail-bin sendmail-cf) \
       > "$tmp/download.log" 2>&1; then
    mv -f "$tmp"/sendmail-*.deb "$SM_DEB_CACHE/"
    rm -rf "$tmp"
    return 0
  fi
  cat "$tmp/download.log" >&2
  rm -rf "$tmp"
  return 1
}

# sm_unpack DIR: both packages unpacked under DIR (DIR/usr/libexec/...).
# Sets SM_BIN (the sendmail binary) and SM_CF_DIR (the m4 macro tree).
sm_unpack() {
  local dir=$1 deb
  mkdir -p "$dir"
  for deb in "$SM_DEB_CACHE"/sendmail-bin_*.deb "$SM_DEB_CACHE"/sendmail-cf_*.deb; do
    dpkg-deb -x "$deb" "$dir" || return 1
  done
  SM_BIN="$dir/usr/libexec/sendmail/sendmail"
  SM_CF_DIR="$dir/usr/share/sendmail/cf"
  [ -x "$SM_BIN" ] && [ -f "$SM_CF_DIR/m4/cf.m4" ]
}

# sm_build_cf MC CF: sendmail.cf from an .mc file, with the unpacked
# macro tree.
sm_build_cf() {
  m4 -D_CF_DIR_="$SM_CF_DIR/" "$SM_CF_DIR/m4/cf.m4" "$1" > "$2"
}

# sm_runner HOSTS NAME: sets SM_RUN, the command that runs the unpacked
# sendmail. Before reading its configuration, sendmail wants a qualified
# name for its host, and if the host name has no dot it sleeps 60 s and
# asks DNS. So sendmail runs in its own UTS and mount namespaces, under
# host NAME, with HOSTS (which must name NAME) mounted over /etc/hosts:
# nothing outside the test changes, and no DNS query is made. Where
# namespaces are not allowed, sendmail runs as is (slowly).
sm_runner() {
  local hosts=$1 name=$2
  local inside='hostname "$1" && mount --bind "$0" /etc/hosts && shift && exec "$@"'
  if unshare -u -m sh -c "$inside" "$hosts" "$name" true 2>/dev/null; then
    SM_RUN=(unshare -u -m sh -c "$inside" "$hosts" "$name" "$SM_BIN")
  else
    echo "note: no namespaces here; sendmail will wait 60 s per run for its host name" >&2
    SM_RUN=("$SM_BIN")
  fi
}
