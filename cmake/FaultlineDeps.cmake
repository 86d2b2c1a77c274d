# Dependencies come from Debian's packages only: pkg-config where a .pc exists,
# find_path/find_library for http-parser, which ships none.
find_package(PkgConfig REQUIRED)
pkg_check_modules(UV REQUIRED IMPORTED_TARGET libuv)
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
# libcurl: the reference clients' HTTP, and the e2e tests' client.
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
# libcrypto (OpenSSL): base64 for the capture format's binary writes (model/capture.c).
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET libcrypto)
# JUnit reports are written with libxml2's xmlTextWriter (escaping and encoding done for us).
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)

find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY NAMES http_parser REQUIRED)
add_library(http_parser::http_parser UNKNOWN IMPORTED)
set_target_properties(http_parser::http_parser PROPERTIES
  IMPORTED_LOCATION "${HTTP_PARSER_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${HTTP_PARSER_INCLUDE_DIR}")

if(BUILD_TESTING)
  pkg_check_modules(CRITERION REQUIRED IMPORTED_TARGET criterion)
endif()
