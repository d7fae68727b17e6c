# SPDX-License-Identifier: BSD-2-Clause
# libmilter ships no pkg-config file: look for the header and the library.
find_path(LIBMILTER_INCLUDE_DIR libmilter/mfapi.h)
find_library(LIBMILTER_LIBRARY NAMES milter)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Libmilter
  REQUIRED_VARS LIBMILTER_LIBRARY LIBMILTER_INCLUDE_DIR)
if(Libmilter_FOUND AND NOT TARGET Libmilter::Libmilter)
  add_library(Libmilter::Libmilter UNKNOWN IMPORTED)
  set_target_properties(Libmilter::Libmilter PROPERTIES
    IMPORTED_LOCATION "${LIBMILTER_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LIBMILTER_INCLUDE_DIR}")
  find_package(Threads REQUIRED)
  target_link_libraries(Libmilter::Libmilter INTERFACE Threads::Threads)
endif()
