#include "endpoint.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>

#include <cstring>

namespace echo {

namespace {
const uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
}

bool Endpoint::operator==(const Endpoint& other) const {
  if (family != other.family || port != other.port || scope != other.scope) return false;
  return memcmp(address, other.address, family == 4 ? 4 : 16) == 0;
}

size_t EndpointHash::operator()(const Endpoint& endpoint) const {
  // FNV-1a over the bytes that make an endpoint what it is.
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&hash](uint8_t byte) {
    hash ^= byte;
    hash *= 1099511628211ull;
  };
  mix(endpoint.family);
  mix(static_cast<uint8_t>(endpoint.port >> 8));
  mix(static_cast<uint8_t>(endpoint.port));
  const size_t size = endpoint.family == 4 ? 4 : 16;
  for (size_t i = 0; i < size; i++) mix(endpoint.address[i]);
  return static_cast<size_t>(hash ^ endpoint.scope);
}

bool endpointFromSockaddr(const sockaddr* address, socklen_t size, Endpoint& endpoint) {
  endpoint = Endpoint();
  if (address->sa_family == AF_INET && size >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    endpoint.family = 4;
    endpoint.port = ntohs(v4->sin_port);
    memcpy(endpoint.address, &v4->sin_addr, 4);
    return true;
  }
  if (address->sa_family == AF_INET6 && size >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    endpoint.port = ntohs(v6->sin6_port);
    const auto* bytes = reinterpret_cast<const uint8_t*>(&v6->sin6_addr);
    if (memcmp(bytes, kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
      endpoint.family = 4;
      memcpy(endpoint.address, bytes + 12, 4);
      return true;
    }
    endpoint.family = 6;
    endpoint.scope = v6->sin6_scope_id;
    memcpy(endpoint.address, bytes, 16);
    return true;
  }
  return false;
}

bool endpointFromText(const std::string& address, int port, Endpoint& endpoint) {
  if (port < 0 || port > 65535 || address.empty() || address.size() > 255) return false;
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(address.c_str(), nullptr, &hints, &result) != 0 || !result) return false;
  const bool ok = endpointFromSockaddr(result->ai_addr, result->ai_addrlen, endpoint);
  freeaddrinfo(result);
  if (ok) endpoint.port = static_cast<uint16_t>(port);
  return ok;
}

std::string endpointAddressText(const Endpoint& endpoint) {
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (endpoint.family == 4) {
    inet_ntop(AF_INET, endpoint.address, text, sizeof(text));
    return text;
  }
  if (endpoint.family == 6) {
    inet_ntop(AF_INET6, endpoint.address, text, sizeof(text));
    std::string out = text;
    if (endpoint.scope != 0) {
      char name[IF_NAMESIZE] = {};
      out += '%';
      out += if_indextoname(endpoint.scope, name) ? std::string(name) : std::to_string(endpoint.scope);
    }
    return out;
  }
  return "";
}

bool endpointToSockaddr(const Endpoint& endpoint, int socketFamily, sockaddr_storage& out, socklen_t& size) {
  memset(&out, 0, sizeof(out));
  if (socketFamily == AF_INET) {
    if (endpoint.family != 4) return false;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(endpoint.port);
    memcpy(&v4->sin_addr, endpoint.address, 4);
    size = sizeof(sockaddr_in);
    return true;
  }
  if (socketFamily == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(endpoint.port);
    auto* bytes = reinterpret_cast<uint8_t*>(&v6->sin6_addr);
    if (endpoint.family == 4) {
      memcpy(bytes, kMappedPrefix, sizeof(kMappedPrefix));
      memcpy(bytes + 12, endpoint.address, 4);
    } else if (endpoint.family == 6) {
      memcpy(bytes, endpoint.address, 16);
      v6->sin6_scope_id = endpoint.scope;
    } else {
      return false;
    }
    size = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

}  // namespace echo
