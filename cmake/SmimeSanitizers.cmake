# -DSMIME_SANITIZE=ON: ASan + UBSan on every target, and any UBSan finding
# aborts the program so that a test fails instead of printing and going on.
if(SMIME_SANITIZE)
  set(_smx_san -fsanitize=address,undefined -fno-sanitize-recover=all
               -fno-omit-frame-pointer)
  add_compile_options(${_smx_san})
  add_link_options(${_smx_san})
endif()
