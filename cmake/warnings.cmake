# Warnings are errors in every build: g++ 12 and clang 14 must both stay silent.
add_compile_options(
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough -Werror)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # Boost 1.74's Asio trips these in its own headers under g++ 12.
  add_compile_options(-Wno-maybe-uninitialized -Wno-null-dereference)
endif()
# Boost 1.74 headers: Asio needs <utility> first (see common/ipc/asio.h); silence deprecated
# bind placeholders that Beast pulls in.
add_compile_definitions(BOOST_BIND_GLOBAL_PLACEHOLDERS BOOST_ASIO_NO_DEPRECATED
                        BOOST_BEAST_USE_STD_STRING_VIEW)
