# cordon_glob_library(NAME DIR LINK...) builds every DIR/*.cpp into static library NAME, so that
# adding a file needs no CMake edit. A directory without sources yet yields an INTERFACE
# library with the same links, so dependants configure either way.
function(cordon_glob_library name dir)
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.cpp)
  if(sources)
    add_library(${name} STATIC ${sources})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC ${ARGN})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARGN})
  endif()
endfunction()
