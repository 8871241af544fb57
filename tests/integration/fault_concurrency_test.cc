// Fault suite, concurrency and lifecycle: incr from 8 threads, gets/cas loops that must never
// lose an update, cas uniques that never repeat, SIGTERM with half-sent requests, and kill -9
// followed by an immediate restart on the same port.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fault_util.h"
#include "gtest/gtest.h"
#include "server_process.h"

extern char** environ;

namespace mcd::testing {
namespace {

using fault::ServerAnswers;
using fault::StatNum;
using fault::SteadyClock;

using FaultConcurrencyTest = ServerTest;

// 8 threads x 2000 incr on one key: the end value is exact and every intermediate value was
// handed out exactly once.
TEST_F(FaultConcurrencyTest, EightThreadsIncrOneKeyExactly) {
  constexpr int kThreads = 8;
  constexpr int kIncrs = 2000;
  constexpr int kBatch = 50;
  ASSERT_TRUE(c_->Expect("set ctr 0 0 1\r\n0\r\n", "STORED\r\n"));
  std::vector<std::vector<uint64_t>> seen(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client c(server_.port());
      std::string batch;
      for (int i = 0; i < kBatch; ++i) batch += "incr ctr 1\r\n";
      for (int done = 0; done < kIncrs; done += kBatch) {
        if (!c.Send(batch)) {
          ++errors;
          return;
        }
        for (int i = 0; i < kBatch; ++i) {
          std::string line = c.ReadLine();
          if (line.size() < 3) {
            ++errors;
            return;
          }
          seen[t].push_back(std::stoull(line.substr(0, line.size() - 2)));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(errors.load(), 0);
  std::set<uint64_t> all;
  for (auto& v : seen) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kIncrs)) << "an increment was lost";
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kThreads * kIncrs));
  const std::string total = std::to_string(kThreads * kIncrs);
  EXPECT_TRUE(c_->Expect("get ctr\r\n", "VALUE ctr 0 " + std::to_string(total.size()) + "\r\n" +
                                            total + "\r\nEND\r\n"));
}

// 4 threads each add 1 through gets -> cas until it succeeds, 250 times: no update is lost, every
// successful cas used a different unique, and a unique never names two different values.
TEST_F(FaultConcurrencyTest, GetsCasLoopsNeverLoseAnUpdate) {
  constexpr int kThreads = 4;
  constexpr int kSuccesses = 250;
  constexpr int kMaxAttempts = 20000;  // per thread
  ASSERT_TRUE(c_->Expect("set c 0 0 1\r\n0\r\n", "STORED\r\n"));
  std::mutex mu;
  std::map<uint64_t, uint64_t> value_of_cas;  // cas unique -> value seen with it
  std::vector<uint64_t> winning_cas;
  std::atomic<int> errors{0};
  std::atomic<int> exists{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Client c(server_.port());
      int ok = 0;
      for (int attempt = 0; attempt < kMaxAttempts && ok < kSuccesses; ++attempt) {
        // "VALUE c 0 <len> <cas>\r\n<value>\r\nEND\r\n"
        std::string reply = c.Call("gets c\r\n");
        size_t nl = reply.find("\r\n");
        if (reply.rfind("VALUE c 0 ", 0) != 0 || nl == std::string::npos) {
          ++errors;
          return;
        }
        const std::string header = reply.substr(10, nl - 10);
        const size_t sp = header.find(' ');
        const uint64_t cas = std::stoull(header.substr(sp + 1));
        const size_t len = std::stoul(header.substr(0, sp));
        const uint64_t value = std::stoull(reply.substr(nl + 2, len));
        {
          std::lock_guard<std::mutex> lock(mu);
          auto [it, inserted] = value_of_cas.emplace(cas, value);
          if (!inserted && it->second != value) ++errors;
        }
        const std::string next = std::to_string(value + 1);
        std::string r = c.Call("cas c 0 0 " + std::to_string(next.size()) + " " +
                                   std::to_string(cas) + "\r\n" + next + "\r\n",
                               "\r\n");
        if (r == "STORED\r\n") {
          ++ok;
          std::lock_guard<std::mutex> lock(mu);
          winning_cas.push_back(cas);
        } else if (r == "EXISTS\r\n") {
          ++exists;
        } else {
          ++errors;
          return;
        }
      }
      if (ok < kSuccesses) ++errors;
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(errors.load(), 0);
  fault::Figure("cas_loop_exists_replies", static_cast<uint64_t>(exists.load()));
  const std::string total = std::to_string(kThreads * kSuccesses);
  EXPECT_TRUE(c_->Expect(
      "get c\r\n", "VALUE c 0 " + std::to_string(total.size()) + "\r\n" + total + "\r\nEND\r\n"));
  std::set<uint64_t> distinct(winning_cas.begin(), winning_cas.end());
  EXPECT_EQ(distinct.size(), winning_cas.size()) << "a cas unique won twice";
  EXPECT_EQ(winning_cas.size(), static_cast<size_t>(kThreads * kSuccesses));
}

// cas uniques handed out by stores from several threads on many keys never repeat.
TEST_F(FaultConcurrencyTest, CasUniquesNeverRepeat) {
  constexpr int kThreads = 4;
  constexpr int kStores = 500;
  std::vector<std::vector<uint64_t>> seen(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client c(server_.port());
      for (int i = 0; i < kStores; ++i) {
        const std::string k = "u" + std::to_string(i % 37);
        std::string r = c.Call("set " + k + " 0 0 1\r\nx\r\ngets " + k + "\r\n");
        size_t at = r.find("VALUE " + k + " 0 1 ");
        size_t nl = r.find("\r\n", at == std::string::npos ? 0 : at);
        if (r.rfind("STORED\r\n", 0) != 0 || at == std::string::npos || nl == std::string::npos) {
          ++errors;
          return;
        }
        const size_t from = at + 6 + k.size() + 5;
        seen[t].push_back(std::stoull(r.substr(from, nl - from)));
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(errors.load(), 0);
  // Each read follows the thread's own store, which took a unique above every earlier one, so
  // one thread's reads must be strictly increasing.
  for (auto& v : seen) {
    for (size_t i = 1; i < v.size(); ++i) ASSERT_LT(v[i - 1], v[i]) << "at " << i;
  }
  std::set<uint64_t> all;
  for (auto& v : seen) all.insert(v.begin(), v.end());
  EXPECT_GE(all.size(), static_cast<size_t>(kStores));
  EXPECT_GE(StatNum(*c_, "cmd_set"), static_cast<uint64_t>(kThreads * kStores));
}

// SIGTERM while connections hold half-sent lines, half-sent values and unread replies: the
// server exits 0 promptly.
TEST(FaultLifecycleTest, SigtermWithHalfSentRequestsExitsZeroPromptly) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  std::vector<std::unique_ptr<Client>> clients;
  const std::string big(200 * 1024, 'b');
  {
    Client c(server.port());
    ASSERT_TRUE(c.Expect("set big 0 0 204800\r\n" + big + "\r\n", "STORED\r\n"));
  }
  for (int i = 0; i < 30; ++i) {
    clients.push_back(Client::Open(server.port()));
    ASSERT_TRUE(clients.back()->Connected());
    switch (i % 3) {
      case 0:
        ASSERT_TRUE(clients.back()->Send("get bi"));
        break;
      case 1:
        ASSERT_TRUE(clients.back()->Send("set h 0 0 100000\r\n" + std::string(50000, 'h')));
        break;
      default:
        ASSERT_TRUE(clients.back()->Send("get big big big big big big big big big big\r\n"));
        break;
    }
  }
  ASSERT_TRUE(ServerAnswers(server.port()));
  const auto t0 = SteadyClock::now();
  server.Signal(SIGTERM);
  auto status = server.WaitExit(Duration(3000));
  const auto took = std::chrono::duration_cast<Duration>(SteadyClock::now() - t0);
  ASSERT_TRUE(status.has_value()) << "still running 3 s after SIGTERM";
  fault::Figure("sigterm_exit_ms", static_cast<uint64_t>(took.count()));
  EXPECT_TRUE(WIFEXITED(*status)) << "raw status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

// A server started by hand on a given port (ServerProcess always picks a new one).
class FixedPortServer {
 public:
  ~FixedPortServer() { Stop(); }
  ::testing::AssertionResult Start(int port) {
    std::vector<std::string> argv = {ServerBinary(), "-p", std::to_string(port), "-l", "127.0.0.1",
                                     "-U",           "0"};
    if (::geteuid() == 0) {
      argv.push_back("-u");
      argv.push_back("nobody");
    }
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    int rc = ::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      return ::testing::AssertionFailure() << "posix_spawn failed";
    }
    const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
    while (SteadyClock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return ::testing::AssertionFailure() << "exited during start-up, status " << status;
      }
      Client c(port, Duration(200));
      if (c.Connected() && c.Version().rfind("VERSION ", 0) == 0) {
        return ::testing::AssertionSuccess();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return ::testing::AssertionFailure() << "not serving within 5 s";
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (SteadyClock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// kill -9 with open connections (their server side is left in FIN_WAIT/TIME_WAIT), then an
// immediate restart on the same port works (SO_REUSEADDR).
TEST(FaultLifecycleTest, KillNineThenImmediateRestartOnSamePort) {
  ServerProcess first;
  ASSERT_TRUE(first.Start());
  const int port = first.port();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(Client::Open(port));
    ASSERT_TRUE(
        clients.back()->Expect("set k" + std::to_string(i) + " 0 0 1\r\nx\r\n", "STORED\r\n"));
  }
  first.Signal(SIGKILL);
  auto status = first.WaitExit(Duration(3000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  // The clients see the close and close their side: the server's side goes to TIME_WAIT.
  for (auto& c : clients) EXPECT_TRUE(c->WaitForClose(Duration(2000)));
  clients.clear();

  FixedPortServer second;
  ASSERT_TRUE(second.Start(port));
  Client c(port);
  EXPECT_TRUE(c.Expect("get k0\r\n", "END\r\n"));  // a fresh cache
  EXPECT_TRUE(c.Expect("set k 0 0 1\r\ny\r\nget k\r\n", "STORED\r\nVALUE k 0 1\r\ny\r\nEND\r\n"));
  second.Stop();
}

}  // namespace
}  // namespace mcd::testing
