# Warnings and sanitizers as an INTERFACE target that every Faultline target links,
# so the flags follow targets instead of leaking into dependencies' checks.
add_library(fl_options INTERFACE)
target_compile_options(fl_options INTERFACE -Wall -Wextra -Wshadow -Wstrict-prototypes
  -Wmissing-prototypes -Wno-unused-parameter)
target_compile_definitions(fl_options INTERFACE _GNU_SOURCE)
if(FL_WERROR)
  target_compile_options(fl_options INTERFACE -Werror)
endif()
# FL_FUZZ implies the sanitizers: a fuzzer without them finds only crashes.
if(FL_SANITIZE OR FL_FUZZ)
  target_compile_options(fl_options INTERFACE -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(fl_options INTERFACE -fsanitize=address,undefined)
endif()
# libFuzzer (tests/fuzz): every Faultline library gets libFuzzer's coverage instrumentation
# (edges and comparisons), so the fuzz targets that link them are guided through their code; only
# the fuzz targets themselves link libFuzzer's main (-fsanitize=fuzzer, tests/fuzz/CMakeLists.txt).
if(FL_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FL_FUZZ needs clang and libFuzzer: configure with CC=clang "
      "(Debian: apt-get install clang libclang-rt-14-dev)")
  endif()
  target_compile_options(fl_options INTERFACE -fsanitize=fuzzer-no-link)
  target_link_options(fl_options INTERFACE -fsanitize=fuzzer-no-link)
endif()
