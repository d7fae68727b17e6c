# SPDX-License-Identifier: BSD-2-Clause
# smx_check_headers(target header...): compiles each public header alone in
# a tiny object library, so a header that forgets an include breaks the build.
function(smx_check_headers target)
  set(_srcs)
  foreach(_h IN LISTS ARGN)
    get_filename_component(_name ${_h} NAME_WE)
    string(MAKE_C_IDENTIFIER "${_name}" _ident)
    set(_src ${CMAKE_CURRENT_BINARY_DIR}/hdrcheck_${target}_${_ident}.c)
    file(WRITE ${_src} "#include <smx/${_name}.h>\n#include <smx/${_name}.h>\nint smx_hdrcheck_${target}_${_ident}(void);\nint smx_hdrcheck_${target}_${_ident}(void) { return 0; }\n")
    list(APPEND _srcs ${_src})
  endforeach()
  add_library(${target}_hdrcheck OBJECT ${_srcs})
  target_link_libraries(${target}_hdrcheck PRIVATE ${target} smx_warnings)
endfunction()
