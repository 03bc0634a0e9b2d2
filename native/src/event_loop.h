// What the data-plane thread waits on: its sockets, wake-ups from the JavaScript thread, and a
// timeout for DTLS retransmissions. epoll and an eventfd on Linux; poll(2) and a pipe elsewhere.
#pragma once

#include <string>
#include <vector>

#include "io_config.h"

#if !ECHO_HAVE_EPOLL
#include <poll.h>
#endif

namespace echo {

class EventLoop {
 public:
  EventLoop() = default;
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  bool init(std::string& error);
  /** Watches `fd` for reading; `tag` comes back from wait(). */
  bool add(int fd, void* tag);
  void remove(int fd);
  /** From any thread: makes a wait() in progress return. */
  void wake();
  /** Up to `max` tags of readable fds; 0 after a wake-up or the timeout (-1: none). */
  int wait(void** ready, int max, int timeoutMs);

 private:
  int wakeRead_ = -1;
  int wakeWrite_ = -1;
#if ECHO_HAVE_EPOLL
  int epoll_ = -1;
#else
  std::vector<pollfd> fds_;
  std::vector<void*> tags_;
#endif
};

}  // namespace echo
