# SPDX-License-Identifier: BSD-2-Clause
# -DSMIME_SANITIZE=ON: ASan + UBSan on every target, and any UBSan finding
# aborts the program so that a test fails instead of printing and going on.
if(SMIME_SANITIZE)
  set(_smx_san -fsanitize=address,undefined -fno-sanitize-recover=all
               -fno-omit-frame-pointer)
  add_compile_options(${_smx_san})
  add_link_options(${_smx_san})
endif()

# -DSMIME_FUZZ=ON (clang): every object is instrumented for libFuzzer
# coverage and checked by ASan+UBSan; fuzz targets link -fsanitize=fuzzer.
if(SMIME_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SMIME_FUZZ needs clang: CC=clang cmake ...")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
