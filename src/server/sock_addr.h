// Socket addresses as `stats conns` prints them: "tcp:127.0.0.1:11211", "tcp6:[::1]:11211",
// "udp:...", "udp6:[...]:...", "unix:/path". Thread-safe (no shared state).
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

namespace mcd::server {

// `transport` is "tcp" or "udp"; IPv6 addresses get a "6" after it. AF_UNIX ignores it.
std::string FormatSockAddr(std::string_view transport, const sockaddr* sa, socklen_t len);
// The local (getsockname) or peer (getpeername) address of fd, formatted as above; "" on error.
std::string LocalAddr(int fd, std::string_view transport);
std::string PeerAddr(int fd, std::string_view transport);

}  // namespace mcd::server
