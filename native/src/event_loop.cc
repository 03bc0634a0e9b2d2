#include "event_loop.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#if ECHO_HAVE_EPOLL
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif

namespace echo {

EventLoop::~EventLoop() {
#if ECHO_HAVE_EPOLL
  if (epoll_ >= 0) ::close(epoll_);
  if (wakeRead_ >= 0) ::close(wakeRead_);
#else
  if (wakeRead_ >= 0) ::close(wakeRead_);
  if (wakeWrite_ >= 0) ::close(wakeWrite_);
#endif
}

bool EventLoop::init(std::string& error) {
#if ECHO_HAVE_EPOLL
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  wakeRead_ = wakeWrite_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_ < 0 || wakeRead_ < 0) {
    error = std::string("epoll/eventfd: ") + strerror(errno);
    return false;
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, wakeRead_, &event) != 0) {
    error = std::string("epoll_ctl: ") + strerror(errno);
    return false;
  }
  return true;
#else
  int fds[2];
  if (pipe(fds) != 0) {
    error = std::string("pipe: ") + strerror(errno);
    return false;
  }
  wakeRead_ = fds[0];
  wakeWrite_ = fds[1];
  for (int fd : fds) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  fds_.push_back(pollfd{wakeRead_, POLLIN, 0});
  tags_.push_back(nullptr);
  return true;
#endif
}

bool EventLoop::add(int fd, void* tag) {
#if ECHO_HAVE_EPOLL
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = tag;
  return epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) == 0;
#else
  fds_.push_back(pollfd{fd, POLLIN, 0});
  tags_.push_back(tag);
  return true;
#endif
}

void EventLoop::remove(int fd) {
#if ECHO_HAVE_EPOLL
  epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
#else
  for (size_t i = 1; i < fds_.size(); i++) {
    if (fds_[i].fd == fd) {
      fds_.erase(fds_.begin() + static_cast<long>(i));
      tags_.erase(tags_.begin() + static_cast<long>(i));
      return;
    }
  }
#endif
}

void EventLoop::wake() {
#if ECHO_HAVE_EPOLL
  const uint64_t one = 1;
  ssize_t ignored = write(wakeWrite_, &one, sizeof(one));
#else
  const uint8_t one = 1;
  ssize_t ignored = write(wakeWrite_, &one, sizeof(one));
#endif
  (void)ignored;  // a full pipe or counter already means "wake up"
}

int EventLoop::wait(void** ready, int max, int timeoutMs) {
#if ECHO_HAVE_EPOLL
  epoll_event events[64];
  if (max > 64) max = 64;
  const int count = epoll_wait(epoll_, events, max, timeoutMs);
  int out = 0;
  for (int i = 0; i < count; i++) {
    if (events[i].data.ptr == nullptr) {
      uint64_t drained;
      ssize_t ignored = read(wakeRead_, &drained, sizeof(drained));
      (void)ignored;
      continue;
    }
    ready[out++] = events[i].data.ptr;
  }
  return out;
#else
  const int count = poll(fds_.data(), fds_.size(), timeoutMs);
  if (count <= 0) return 0;
  int out = 0;
  for (size_t i = 0; i < fds_.size() && out < max; i++) {
    if ((fds_[i].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
    if (tags_[i] == nullptr) {
      uint8_t drained[64];
      while (read(wakeRead_, drained, sizeof(drained)) > 0) {
      }
      continue;
    }
    ready[out++] = tags_[i];
  }
  return out;
#endif
}

}  // namespace echo
