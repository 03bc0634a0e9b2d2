// A UDP address as the data plane keys and compares it: IPv4 or IPv6, an IPv4-mapped IPv6
// address always folded to IPv4, so a dual-stack socket and the TypeScript side agree.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace echo {

struct Endpoint {
  uint8_t family = 0;  // 4, 6, or 0 for none
  uint16_t port = 0;
  uint32_t scope = 0;  // IPv6 zone (interface index)
  uint8_t address[16] = {};

  bool valid() const { return family != 0; }
  bool operator==(const Endpoint& other) const;
  bool operator!=(const Endpoint& other) const { return !(*this == other); }
};

struct EndpointHash {
  size_t operator()(const Endpoint& endpoint) const;
};

/** Folds an IPv4-mapped IPv6 address to IPv4. False for a family other than IPv4 or IPv6. */
bool endpointFromSockaddr(const sockaddr* address, socklen_t size, Endpoint& endpoint);
/** Parses numeric text (no names, no brackets; `fe80::1%eth0` keeps its zone). */
bool endpointFromText(const std::string& address, int port, Endpoint& endpoint);
/** IPv4 dotted quad or IPv6 text, with `%zone` when it has one. */
std::string endpointAddressText(const Endpoint& endpoint);
/**
 * The sockaddr to send to `endpoint` from a socket of `socketFamily` (AF_INET or AF_INET6):
 * IPv4 from a dual-stack socket is IPv4-mapped; IPv6 from an IPv4 socket is impossible.
 */
bool endpointToSockaddr(const Endpoint& endpoint, int socketFamily, sockaddr_storage& out, socklen_t& size);

}  // namespace echo
