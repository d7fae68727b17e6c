# SPDX-License-Identifier: BSD-2-Clause
# Warnings are errors for our own code only: an INTERFACE target every
# component links, so no flag leaks into CMAKE_C_FLAGS or third-party code.
add_library(smx_warnings INTERFACE)
target_compile_options(smx_warnings INTERFACE
  -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith -Wcast-qual
  -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wundef -Wwrite-strings
  -Wnull-dereference -Wimplicit-fallthrough
  $<$<C_COMPILER_ID:GNU>:-Wlogical-op -Wduplicated-cond>
  -fstack-protector-strong)
if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug" AND NOT SMIME_SANITIZE)
  target_compile_definitions(smx_warnings INTERFACE _FORTIFY_SOURCE=2)
endif()
