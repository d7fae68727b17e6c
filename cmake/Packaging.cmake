# SPDX-License-Identifier: BSD-2-Clause
# The Debian package (cpack -G DEB), built from the same install rules as
# `cmake --install`. Configure with -DCMAKE_INSTALL_PREFIX=/usr for a
# package: Debian installs nothing under /usr/local.
#
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DSMIME_BUILD_TESTS=OFF
#   cmake --build build-deb && (cd build-deb && cpack -G DEB)
#
# What the package adds to the install rules: maintainer scripts
# (contrib/debian/: system user, state directory, store, systemd unit),
# the configuration file as a conffile, compressed manual pages, and the
# dependencies dpkg-shlibdeps computes from the binaries.
#
# This file is also CPack's pre-build script (CPACK_PRE_BUILD_SCRIPTS):
# then it runs in the staging tree, after the install rules and before the
# .deb is made, and only compresses the manual pages as Debian requires.

if(DEFINED CPACK_TEMPORARY_DIRECTORY)
  file(GLOB_RECURSE _pages
       "${CPACK_TEMPORARY_DIRECTORY}/*/share/man/man[1-8]/*.[1-8]")
  foreach(_page ${_pages})
    # -n: no name or time stamp inside, so that the package is reproducible.
    execute_process(COMMAND gzip -9nf ${_page} RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "gzip ${_page} failed")
    endif()
  endforeach()
  return()
endif()

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "Packaging: install prefix is ${CMAKE_INSTALL_PREFIX}; "
                 "configure with -DCMAKE_INSTALL_PREFIX=/usr to build a Debian package")
endif()

set(SMIME_PACKAGE_MAINTAINER "smime-milter maintainers <maintainers@smime-milter.invalid>"
    CACHE STRING "Maintainer field of the Debian package")

set(_deb_in ${PROJECT_SOURCE_DIR}/contrib/debian)
set(_deb_out ${PROJECT_BINARY_DIR}/debian)
file(MAKE_DIRECTORY ${_deb_out})

# Maintainer scripts get the installed paths; conffiles lists what dpkg
# must never overwrite silently (everything the package ships in /etc).
foreach(_script postinst prerm postrm)
  configure_file(${_deb_in}/${_script}.in ${_deb_out}/${_script} @ONLY)
endforeach()
file(WRITE ${_deb_out}/conffiles "${SMX_CONF_DIR}/smime-milter.conf\n")

# The changelog is kept by hand in Debian format; its top entry should
# name this version.
file(STRINGS ${_deb_in}/changelog _changelog_top LIMIT_COUNT 1)
if(NOT _changelog_top MATCHES "\\(${PROJECT_VERSION}\\)")
  message(WARNING "contrib/debian/changelog: the top entry is not version "
                  "${PROJECT_VERSION} (${_changelog_top})")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME smime-milter)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SMIME_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# The configuration file and the unit have absolute destinations (/etc,
# /lib/systemd): install into a DESTDIR staging tree, never the real /etc.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE
    GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_FILE})

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SMIME_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Added to what dpkg-shlibdeps finds: the postinst runs adduser
# (deb-systemd-helper comes from init-system-helpers, which is essential).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_ENHANCES "postfix, sendmail-bin")
# Keys in a PKCS#11 token (keys.pkcs11_module): the key process loads
# libp11's OpenSSL engine at run time, smimectl import-p12 --to-token runs
# pkcs11-tool; neither is linked, so dpkg-shlibdeps cannot see them.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libengine-pkcs11-openssl, opensc")
# CPack indents the lines after the first itself.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "S/MIME signing and encryption for a whole organization
smime-milter is a mail filter (milter) for Postfix and Sendmail that signs
and encrypts outbound mail and verifies and decrypts inbound mail with
S/MIME, as the organization's policy says, with nothing for end users to
do. Certificates and keys live in an embedded SQLite store or a shared
PostgreSQL database; recipients' certificates also come from an LDAP
directory; an organization CA can issue certificates to senders.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_deb_out}/postinst ${_deb_out}/prerm ${_deb_out}/postrm ${_deb_out}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
