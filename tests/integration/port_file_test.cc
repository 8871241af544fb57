// MEMCACHED_PORT_FILENAME: with the variable set, the server writes the ports it listens on to
// that file once it is listening, as memcached does ("TCP INET: <port>" / "UDP INET: <port>"
// lines, also for the ports the kernel picks for -p -1 and -U -1; nothing for -s).
//
// Runs against memcached too (MCD_TEST_BINARY=/usr/bin/memcached).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server_process.h"

extern char** environ;

namespace mcd::testing {
namespace {

// A server started with MEMCACHED_PORT_FILENAME pointing into a fresh directory; SIGKILLed
// when destroyed if still running.
class PortFileServer {
 public:
  PortFileServer() {
    char tmpl[] = "/tmp/mcd_ports_XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) dir_ = tmpl;
    ::chmod(dir_.c_str(), 01777);  // the server may write as `nobody`
    path_ = dir_ + "/ports";
  }
  ~PortFileServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // Starts the server with `args` (plus `-u nobody` as root).
  bool Start(std::vector<std::string> args) {
    std::vector<std::string> argv = {ServerBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    if (::geteuid() == 0) {
      argv.push_back("-u");
      argv.push_back("nobody");
    }
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<std::string> env = {"MEMCACHED_PORT_FILENAME=" + path_};
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string(*e).rfind("MEMCACHED_PORT_FILENAME=", 0) != 0) env.emplace_back(*e);
    }
    std::vector<char*> cenv;
    for (auto& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    int rc = ::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&actions);
    return rc == 0;
  }

  // Waits for the file; false if it never came or the server exited first (a port taken).
  bool WaitForFile() {
    PollUntil([&] { return ::access(path_.c_str(), F_OK) == 0 || Exited(); }, Duration(5000));
    return ::access(path_.c_str(), F_OK) == 0;
  }
  // True once the server has exited (and been reaped).
  bool Exited() {
    if (pid_ <= 0) return true;
    if (::waitpid(pid_, nullptr, WNOHANG) != pid_) return false;
    pid_ = -1;
    return true;
  }
  std::multimap<std::string, int> Ports() const {
    std::multimap<std::string, int> out;
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      size_t colon = line.find(": ");
      if (colon == std::string::npos) {
        ADD_FAILURE() << "bad line: " << line;
        continue;
      }
      out.emplace(line.substr(0, colon), std::stoi(line.substr(colon + 2)));
    }
    return out;
  }
  std::string Text() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string path_;
  pid_t pid_ = -1;
};

// Sends `version` over UDP (memcached's 8-byte frame header) and returns the reply payload.
std::string UdpVersion(int port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(port);
  const std::string request = std::string("\0\1\0\0\0\1\0\0", 8) + "version\r\n";
  ::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[512];
  ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  ::close(fd);
  return n > 8 ? std::string(buf + 8, static_cast<size_t>(n - 8)) : "";
}

TEST(PortFileTest, EphemeralTcpAndUdpPortsAreWrittenAndServed) {
  PortFileServer server;
  ASSERT_TRUE(server.Start({"-p", "-1", "-U", "-1", "-l", "127.0.0.1"}));
  ASSERT_TRUE(server.WaitForFile());
  auto ports = server.Ports();
  ASSERT_EQ(ports.size(), 2u) << server.Text();
  ASSERT_EQ(ports.count("TCP INET"), 1u) << server.Text();
  ASSERT_EQ(ports.count("UDP INET"), 1u) << server.Text();
  const int tcp = ports.find("TCP INET")->second;
  const int udp = ports.find("UDP INET")->second;
  EXPECT_GT(tcp, 0);
  EXPECT_GT(udp, 0);
  EXPECT_EQ(server.Text().rfind("TCP INET: ", 0), 0u) << "TCP lines come first";
  // Written whole under another name, then renamed: no lock file is left.
  EXPECT_NE(::access((server.path() + ".lck").c_str(), F_OK), 0);

  Client c(tcp);
  ASSERT_TRUE(c.Connected());
  EXPECT_EQ(c.Version().rfind("VERSION ", 0), 0u);
  EXPECT_EQ(UdpVersion(udp).rfind("VERSION ", 0), 0u) << "UDP port " << udp << " not served";
}

TEST(PortFileTest, UdpPortWithoutTcpPortIsBoth) {
  // The port is free for UDP when picked, but the server binds it for TCP too, and another test
  // may hold it (or grab it first): a server that exits without a file gets a fresh port.
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = FreePort(SOCK_DGRAM);
    ASSERT_NE(port, 0);
    PortFileServer server;
    ASSERT_TRUE(server.Start({"-U", std::to_string(port), "-l", "127.0.0.1"}));
    if (!server.WaitForFile()) {
      ASSERT_TRUE(server.Exited()) << "no port file from a running server";
      continue;
    }
    EXPECT_EQ(server.Text(),
              "TCP INET: " + std::to_string(port) + "\nUDP INET: " + std::to_string(port) + "\n");
    return;
  }
  FAIL() << "the server exited five times without a port file";
}

TEST(PortFileTest, NoPortsGiveAnEmptyFile) {
  PortFileServer server;
  ASSERT_TRUE(server.Start({"-p", "0", "-U", "0", "-l", "127.0.0.1"}));
  ASSERT_TRUE(server.WaitForFile());
  EXPECT_EQ(server.Text(), "");
}

TEST(PortFileTest, NoFileForAUnixSocket) {
  PortFileServer server;
  const std::string sock = server.dir() + "/mcd.sock";
  ASSERT_TRUE(server.Start({"-s", sock}));
  ASSERT_TRUE(PollUntil([&] { return Client(sock).Connected(); }, Duration(5000)));
  EXPECT_NE(::access(server.path().c_str(), F_OK), 0);
  EXPECT_NE(::access((server.path() + ".lck").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace mcd::testing
