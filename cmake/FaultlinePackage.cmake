# What `cmake --install` and the Debian package hold, all placed by GNUInstallDirs so any prefix
# works, and found by the binary relative to itself (harness/cli/paths.c):
#   bin/faultline                                the program (harness/CMakeLists.txt)
#   libexec/faultline/clients/robust, naive      the reference clients (clients/CMakeLists.txt)
#   share/faultline/scenarios/                   the catalog, with faultline.schema.json
#   share/man/man1/faultline.1.gz                the manual (docs/faultline.1)
#   share/bash-completion/completions/faultline  bash completion (docs/faultline-completion.bash)
#   share/doc/faultline/README.md
install(DIRECTORY scenarios/ DESTINATION ${FL_INSTALL_CATALOGDIR})

# Debian ships manual pages gzipped (policy 12.1); -n leaves the name and time out of the
# header, so the same page always gives the same bytes.
set(FL_MAN_GZ ${PROJECT_BINARY_DIR}/faultline.1.gz)
add_custom_command(OUTPUT ${FL_MAN_GZ}
  COMMAND sh -c "gzip -9nc \"$0\" > \"$1\"" ${PROJECT_SOURCE_DIR}/docs/faultline.1 ${FL_MAN_GZ}
  DEPENDS ${PROJECT_SOURCE_DIR}/docs/faultline.1 VERBATIM)
add_custom_target(fl_manpage ALL DEPENDS ${FL_MAN_GZ})
install(FILES ${FL_MAN_GZ} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES docs/faultline-completion.bash RENAME faultline
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The Debian package: `cpack -G DEB` in the build directory gives faultline_VERSION_ARCH.deb,
# installing under /usr. Its Depends come from dpkg-shlibdeps (dpkg-dev) reading the binaries'
# shared libraries, so they are exactly what this build links (libuv1, libyaml-0-2,
# libjansson4, libhttp-parser2.9, libxml2, libcurl4 for the clients, libc6).
set(FL_PACKAGE_MAINTAINER "Faultline maintainers <faultline@invalid>" CACHE STRING
  "The Debian package's Maintainer field (set it for a published package)")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME faultline)
set(CPACK_PACKAGE_VENDOR Faultline)
set(CPACK_PACKAGE_CONTACT "${FL_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "fault-injection test harness for streaming LLM clients")
set(CPACK_PACKAGE_DESCRIPTION
  "Faultline replays scripted Server-Sent Event streams in the wire formats of OpenAI Chat
Completions, OpenAI Responses and Anthropic Messages, breaks them the ways they break in the
field (resets, stalls, truncation, broken JSON, 429s), and scores how a client recovers.
Includes the scenario catalog, its JSON Schema and two reference clients.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
