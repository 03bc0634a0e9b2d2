// Which system calls the data plane uses. Linux (glibc or musl) batches with recvmmsg and
// sendmmsg and waits with epoll; elsewhere (macOS has neither) a datagram at a time with
// recvfrom/sendto and poll(2). Define ECHO_PORTABLE_IO=1 to build the portable path on Linux.
#pragma once

#if defined(__linux__) && !(defined(ECHO_PORTABLE_IO) && ECHO_PORTABLE_IO)
#define ECHO_HAVE_MMSG 1
#define ECHO_HAVE_EPOLL 1
#else
#define ECHO_HAVE_MMSG 0
#define ECHO_HAVE_EPOLL 0
#endif
