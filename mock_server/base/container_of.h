/* container_of: recover the struct that embeds a libuv handle from the handle's address. */
#ifndef FL_CONTAINER_OF_H
#define FL_CONTAINER_OF_H

#include <stddef.h>

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#endif
