if(CORDON_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(CORDON_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CORDON_FUZZ needs clang (libFuzzer)")
  endif()
  # Coverage instrumentation everywhere, so that libFuzzer is guided by the libraries under test
  # and not only by the targets' own files. The targets add -fsanitize=fuzzer (libFuzzer's
  # main); other binaries link without it.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
