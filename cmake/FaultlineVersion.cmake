# The version header (base/version.h) and the install layout the binary relies on.
#
# fl_version: an INTERFACE target whose consumers include "base/version.h". The header is
# written once at configure time and again at every build by cmake/write_version.cmake, so
# `faultline --version` names the commit actually built, "-dirty" included.
set(FL_GIT_REVISION "" CACHE STRING
  "Git revision to report when the sources are not a git checkout (e.g. an archive)")
set(FL_GENERATED_DIR ${PROJECT_BINARY_DIR}/generated)
set(FL_VERSION_ARGS -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
  -DOUTPUT=${FL_GENERATED_DIR}/base/version.h -DVERSION=${PROJECT_VERSION}
  -DREVISION=${FL_GIT_REVISION})
execute_process(COMMAND ${CMAKE_COMMAND} ${FL_VERSION_ARGS}
  -P ${PROJECT_SOURCE_DIR}/cmake/write_version.cmake COMMAND_ERROR_IS_FATAL ANY)
add_custom_target(fl_version_header
  COMMAND ${CMAKE_COMMAND} ${FL_VERSION_ARGS} -P ${PROJECT_SOURCE_DIR}/cmake/write_version.cmake
  BYPRODUCTS ${FL_GENERATED_DIR}/base/version.h
  COMMENT "" VERBATIM)
add_library(fl_version INTERFACE)
target_include_directories(fl_version INTERFACE ${FL_GENERATED_DIR})
add_dependencies(fl_version fl_version_header)

# Where `cmake --install` and the Debian package put the data, relative to the prefix
# (GNUInstallDirs), and the same places relative to the installed binary's folder, which is
# how an installed faultline finds them wherever the tree was unpacked (harness/cli/paths.c).
set(FL_INSTALL_CATALOGDIR ${CMAKE_INSTALL_DATADIR}/faultline/scenarios)
set(FL_INSTALL_CLIENTDIR ${CMAKE_INSTALL_LIBEXECDIR}/faultline/clients)

# fl_path_from_bindir(OUT DIR): DIR (install-relative) as seen from CMAKE_INSTALL_BINDIR, e.g.
# "../share/faultline/scenarios"; an absolute DIR or BINDIR cannot move with the tree, so the
# absolute path is kept.
function(fl_path_from_bindir out dir)
  if(IS_ABSOLUTE "${dir}")
    set(rel "${dir}")
  elseif(IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
    set(rel "${CMAKE_INSTALL_PREFIX}/${dir}")
  else()
    cmake_path(RELATIVE_PATH dir BASE_DIRECTORY "${CMAKE_INSTALL_BINDIR}" OUTPUT_VARIABLE rel)
  endif()
  set(${out} "${rel}" PARENT_SCOPE)
endfunction()
