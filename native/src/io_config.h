// Which system calls the data plane uses. Linux (glibc or musl) batches with recvmmsg and
// sendmmsg and waits with epoll; elsewhere (macOS has neither) a datagram at a time with
// recvfrom/sendto and poll(2). Define ECHO_PORTABLE_IO=1 to build the portable path on Linux.
// Linux also sends runs of equal-sized datagrams to one peer with UDP_SEGMENT (GSO), where
// its headers have it; a kernel that refuses it at run time gets them one by one.
#pragma once

#if defined(__linux__) && !(defined(ECHO_PORTABLE_IO) && ECHO_PORTABLE_IO)
#define ECHO_HAVE_MMSG 1
#define ECHO_HAVE_EPOLL 1
#include <netinet/udp.h>
#if defined(UDP_SEGMENT)
#define ECHO_HAVE_UDP_SEGMENT 1
#else
#define ECHO_HAVE_UDP_SEGMENT 0
#endif
#else
#define ECHO_HAVE_MMSG 0
#define ECHO_HAVE_EPOLL 0
#define ECHO_HAVE_UDP_SEGMENT 0
#endif
