#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The Debian package: cpack builds it in a scratch build directory, lintian
# finds no error in it, and dpkg installs, configures, removes and purges it
# as Debian expects: the system user, the state directory and the store,
# the conffile (an administrator's change survives a reinstallation), the
# systemd unit enabled, the milter starting on the packaged configuration
# and dropping to its user; "remove" keeps configuration and store,
# "purge" leaves nothing behind but the system user.
#
# dpkg runs for real, with its real maintainer scripts, but inside a
# private mount namespace whose /etc, /usr and /var are overlays on the
# machine's own: the machine sees none of it (an smime-milter installed by
# scripts/quickstart in /usr/local, its /etc/smime-milter and its store
# stay untouched, and the sandbox hides them so that the package meets a
# fresh machine). It still needs root and installs packages, so it runs
# only when SMX_ALLOW_SYSTEM_INSTALL=1 (scripts/test sets it as root).
#
# SMX_PACKAGE_DEB=FILE tests that package instead of building one.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"

if [ "${SMX_ALLOW_SYSTEM_INSTALL:-0}" != 1 ]; then
  echo "SKIP: installs a Debian package: set SMX_ALLOW_SYSTEM_INSTALL=1 (scripts/test does as root)" >&2
  exit 77
fi
[ "$(id -u)" = 0 ] || { echo "SKIP: installing a package needs root" >&2; exit 77; }
need_cmd cmake cpack dpkg dpkg-deb dpkg-shlibdeps lintian unshare mount gzip python3

work="$SMX_TEST_DIR"
sandbox_log="$work/sandbox.log"

build_package() {
  local build="$work/build-deb"
  # Kept between runs: a rebuild only compiles what changed.
  cmake -S "$SMX_SOURCE_DIR" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr \
    -DSMIME_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/cmake.log" 2>&1 \
    || { cat "$work/cmake.log" >&2; fail "cmake configure for the package failed"; }
  cmake --build "$build" -j2 >>"$work/cmake.log" 2>&1 \
    || { tail -50 "$work/cmake.log" >&2; fail "build for the package failed"; }
  rm -f "$build"/*.deb
  (cd "$build" && cpack -G DEB) >"$work/cpack.log" 2>&1 \
    || { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; }
  DEB=$(ls "$build"/smime-milter_*.deb)
  [ -f "$DEB" ] || fail "cpack made no .deb"
}

# check_package_license: the package says, in Debian's machine-readable
# format, that everything is BSD-2-Clause and carries the license text,
# the same as the source tree's LICENSE.
check_package_license() {
  local cr="$work/copyright"
  dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/share/doc/smime-milter/copyright >"$cr" \
    || fail "cannot read the package's copyright file"
  grep -qx 'Files: \*' "$cr" || fail "debian/copyright has no 'Files: *' paragraph"
  [ "$(grep -c '^License: BSD-2-Clause$' "$cr")" = 2 ] \
    || fail "debian/copyright does not license every file as BSD-2-Clause with its text"
  grep -qi 'unspecified\|not chosen' "$cr" && fail "debian/copyright still says no license"
  grep -q 'Redistributions in binary form must reproduce' "$SMX_SOURCE_DIR/LICENSE" \
    || fail "LICENSE is not the BSD 2-Clause text"
  grep -q 'Redistributions in binary form must reproduce' "$cr" \
    || fail "debian/copyright lacks the license text"
}

check_package_contents() {
  local listing="$work/contents.txt" control="$work/control.txt" f
  dpkg-deb -c "$DEB" >"$listing"
  dpkg-deb -I "$DEB" >"$control"
  for f in ./usr/sbin/smime-milter ./usr/bin/smimectl \
           ./etc/smime-milter/smime-milter.conf \
           ./lib/systemd/system/smime-milter.service \
           ./usr/share/doc/smime-milter/copyright \
           ./usr/share/doc/smime-milter/changelog.gz; do
    grep -q " $f\$" "$listing" || fail "the package lacks $f"
  done
  # Debian installs nothing in /usr/local; the state directory is made by
  # the postinst, owned by the system user.
  if grep -q -e ' ./usr/local' -e ' ./var/lib/smime-milter' "$listing"; then
    fail "the package ships /usr/local or /var/lib/smime-milter"
  fi
  if grep '/share/man/man[1-8]/.*[1-8]$' "$listing"; then
    fail "uncompressed manual pages"
  fi
  [ "$(dpkg-deb -f "$DEB" Section)" = mail ] || fail "Section is not mail"
  check_package_license
  dpkg-deb -f "$DEB" Depends | grep -q 'libmilter' \
    || fail "Depends was not computed by dpkg-shlibdeps: $(dpkg-deb -f "$DEB" Depends)"
  dpkg-deb -f "$DEB" Depends | grep -q 'adduser' || fail "Depends lacks adduser"
  dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles >"$work/conffiles"
  grep -qx /etc/smime-milter/smime-milter.conf "$work/conffiles" \
    || fail "the configuration file is not a conffile"
  # Stripped: no debug sections in the binaries.
  rm -rf "$work/extract" && dpkg-deb -x "$DEB" "$work/extract"
  for f in usr/sbin/smime-milter usr/bin/smimectl; do
    file "$work/extract/$f" | grep -q 'not stripped' && fail "$f is not stripped"
  done
  echo "package contents: ok ($(wc -l <"$listing") entries)"
}

run_lintian() {
  local out="$work/lintian.txt"
  # Lintian warns that it runs as root; that is not about the package.
  lintian --tag-display-limit 0 "$DEB" >"$out" 2>&1 || true
  grep -v 'running with root privileges' "$out" | sed 's/^/lintian: /'
  if grep -q '^E: ' "$out"; then
    fail "lintian reports errors"
  fi
  echo "lintian: no errors ($(grep -c '^W: ' "$out" || true) warnings)"
}

build_and_check() {
  if [ -n "${SMX_PACKAGE_DEB:-}" ]; then
    DEB=$SMX_PACKAGE_DEB
  else
    build_package
  fi
  echo "package: $DEB"
  check_package_contents
  run_lintian
}

# The sandbox: overlays whose upper layers live in this test's directory
# and vanish with the namespace; package-install.sh does the installing.
run_in_sandbox() {
  local ov="$work/overlay" d
  rm -rf "$ov"
  for d in etc usr var; do
    mkdir -p "$ov/$d/upper" "$ov/$d/work"
  done
  unshare --mount --propagation private -- bash -c '
    set -e
    for d in etc usr var; do
      mount -t overlay overlay \
        -o "lowerdir=/$d,upperdir=$1/$d/upper,workdir=$1/$d/work" "/$d"
    done
    shift
    exec bash "$@"' sandbox "$ov" "$SMX_SOURCE_DIR/tests/package/package-install.sh" "$DEB" \
    >"$sandbox_log" 2>&1
}

cleanup() {
  # The namespace is gone with its last process; so are its mounts.
  rm -rf "$work/overlay" "$work/extract"
}
trap cleanup EXIT

build_and_check
if ! run_in_sandbox; then
  cat "$sandbox_log" >&2
  fail "installing, checking or purging the package failed (above)"
fi
cat "$sandbox_log"
# Whatever the package's files were called, purge removed them: the upper
# layers hold no file named after it (whiteouts, character devices, are
# what the sandbox itself deleted to look fresh).
leftovers=$(find "$work/overlay" -path '*/upper/*' -name '*smime*' ! -type c)
[ -z "$leftovers" ] || fail "left after purge: $leftovers"
echo PASS
