#include "sock_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace mcd::server {

std::string FormatSockAddr(std::string_view transport, const sockaddr* sa, socklen_t len) {
  char ip[INET6_ADDRSTRLEN] = {};
  std::string out;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
    out.append(transport).append(":").append(ip).append(":");
    out.append(std::to_string(ntohs(in->sin_port)));
  } else if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
    out.append(transport).append("6:[").append(ip).append("]:");
    out.append(std::to_string(ntohs(in6->sin6_port)));
  } else if (sa->sa_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(sa);
    size_t path_len = len > offsetof(sockaddr_un, sun_path)
                          ? static_cast<size_t>(len) - offsetof(sockaddr_un, sun_path)
                          : 0;
    path_len = strnlen(un->sun_path, std::min(path_len, sizeof(un->sun_path)));
    out.append("unix:").append(un->sun_path, path_len);
  } else {
    out.append("?:<AF ").append(std::to_string(sa->sa_family)).append(">");
  }
  return out;
}

std::string LocalAddr(int fd, std::string_view transport) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return FormatSockAddr(transport, reinterpret_cast<sockaddr*>(&ss), len);
}

std::string PeerAddr(int fd, std::string_view transport) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return FormatSockAddr(transport, reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace mcd::server
