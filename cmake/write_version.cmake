# Writes base/version.h, the version `faultline --version` prints and every report records:
# the project version, then the git revision when the sources are a git checkout of their own
# ("0.1.0 (git d0dc810)", "-dirty" when tracked files have uncommitted changes), or REVISION
# when given (a build from an archive that knows its revision), or nothing ("0.1.0").
#
# Run at every build (cmake -P), so the revision follows commits and edits without a
# reconfigure. The header is rewritten only when its text changes (file(CONFIGURE) leaves an
# identical file alone), so an unchanged revision recompiles nothing.
#
#   cmake -DSOURCE_DIR=DIR -DOUTPUT=FILE -DVERSION=X.Y.Z [-DREVISION=REV] -P write_version.cmake
foreach(var SOURCE_DIR OUTPUT VERSION)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "write_version.cmake: -D${var}= is required")
  endif()
endforeach()

set(rev "${REVISION}")
if(NOT rev MATCHES "^[0-9A-Za-z._+-]*$")
  message(FATAL_ERROR "write_version.cmake: REVISION '${rev}' may hold only letters, digits and ._+-")
endif()
if(rev STREQUAL "")
  find_program(GIT_EXECUTABLE git)
  if(GIT_EXECUTABLE)
    # Only a checkout whose top is SOURCE_DIR itself: sources unpacked inside some other
    # repository (a vendored copy, a distribution's packaging tree) must not report its commit.
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} rev-parse --show-toplevel
                    OUTPUT_VARIABLE top RESULT_VARIABLE rc ERROR_QUIET
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(rc EQUAL 0)
      file(REAL_PATH "${top}" top)
      file(REAL_PATH "${SOURCE_DIR}" src)
      if(top STREQUAL src)
        # --exclude='*' ignores every tag, so --always yields the abbreviated commit; --dirty
        # appends "-dirty" for uncommitted changes to tracked files (untracked ones don't count).
        execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} describe --always --dirty
                                --abbrev=7 --exclude=*
                        OUTPUT_VARIABLE rev RESULT_VARIABLE rc ERROR_QUIET
                        OUTPUT_STRIP_TRAILING_WHITESPACE)
        if(NOT rc EQUAL 0)
          set(rev "")
        endif()
      endif()
    endif()
  endif()
endif()

if(rev STREQUAL "")
  set(full "${VERSION}")
else()
  set(full "${VERSION} (git ${rev})")
endif()

file(CONFIGURE OUTPUT "${OUTPUT}" @ONLY CONTENT [[
/* base/version.h: generated at build time by cmake/write_version.cmake. Do not edit. */
#ifndef FL_BASE_VERSION_H
#define FL_BASE_VERSION_H

/** The project version, from project(... VERSION) in CMakeLists.txt. */
#define FL_VERSION_NUMBER "@VERSION@"
/** The git revision built ("d0dc810", "d0dc810-dirty"); "" when not built from a checkout. */
#define FL_VERSION_REVISION "@rev@"
/** The whole version: "0.1.0 (git d0dc810)", or "0.1.0" without a revision. */
#define FL_VERSION "@full@"

#endif
]])
