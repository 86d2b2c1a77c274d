# Warnings and sanitizers as an INTERFACE target that every Faultline target links,
# so the flags follow targets instead of leaking into dependencies' checks.
add_library(fl_options INTERFACE)
target_compile_options(fl_options INTERFACE -Wall -Wextra -Wshadow -Wstrict-prototypes
  -Wmissing-prototypes -Wno-unused-parameter)
target_compile_definitions(fl_options INTERFACE _GNU_SOURCE)
if(FL_WERROR)
  target_compile_options(fl_options INTERFACE -Werror)
endif()
if(FL_SANITIZE)
  target_compile_options(fl_options INTERFACE -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(fl_options INTERFACE -fsanitize=address,undefined)
endif()
