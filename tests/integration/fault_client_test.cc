// Fault suite, slow and hostile clients: slowloris trickles beside a normal client, multigets of
// gigabytes that are never read, one hot key referenced by tens of thousands of pending replies,
// a 20 MB get line without a newline, and half-sent 1 MB values on 200 connections. Each case
// bounds the server's memory (RSS from /proc) and ends with the server answering a new client.
// Peak RSS figures are printed as "[ FIGURE   ]" lines (docs/testing.md, "Fault suite").
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fault_util.h"
#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

using fault::Figure;
using fault::PeakRssKiB;
using fault::RssKiB;
using fault::ServerAnswers;
using fault::StatNum;
using fault::SteadyClock;

using FaultClientTest = ServerTest;

std::string SeededValue(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string v(n, '\0');
  for (char& ch : v) ch = static_cast<char>('a' + rng() % 26);
  return v;
}

// 50 connections trickle set lines, values and gets one byte every few milliseconds while a
// normal client's requests keep their usual latency.
TEST_F(FaultClientTest, SlowlorisTricklesDoNotSlowOthers) {
  constexpr int kSlow = 50;
  constexpr int kRequests = 2000;  // of the normal client
  std::vector<std::unique_ptr<Client>> slow;
  std::vector<std::string> scripts, replies(kSlow);
  std::vector<size_t> sent(kSlow, 0);
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(NewClient());
    ASSERT_TRUE(slow.back()->Connected());
    const std::string k = "slow" + std::to_string(i);
    const std::string v = SeededValue(64, static_cast<uint32_t>(i));
    scripts.push_back("set " + k + " 0 0 64\r\n" + v + "\r\nget " + k + "\r\n");
  }
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(20);
    while (SteadyClock::now() < deadline) {
      // Once asked to stop, finish the first full script on every connection.
      bool all_done = true;
      for (int i = 0; i < kSlow; ++i) all_done = all_done && sent[i] >= scripts[i].size();
      if (stop.load() && all_done) break;
      for (int i = 0; i < kSlow; ++i) {
        const std::string& s = scripts[i];
        fault::SendSome(slow[i]->fd(), std::string_view(s).substr(sent[i] % s.size(), 1));
        ++sent[i];
        char buf[4096];
        ssize_t n = ::recv(slow[i]->fd(), buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) replies[i].append(buf, static_cast<size_t>(n));
      }
      // The pace of the attack (one byte per connection every ~3 ms), not a synchronisation.
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  });

  std::vector<int64_t> lat;
  lat.reserve(kRequests);
  const std::string v = SeededValue(100, 99);
  for (int i = 0; i < kRequests; ++i) {
    const std::string k = "fast" + std::to_string(i / 2 % 100);
    const bool set = i % 2 == 0;
    const std::string req = set ? "set " + k + " 0 0 100\r\n" + v + "\r\n" : "get " + k + "\r\n";
    const std::string want = set ? "STORED\r\n" : "VALUE " + k + " 0 100\r\n" + v + "\r\nEND\r\n";
    auto t0 = SteadyClock::now();
    bool ok = c_->Expect(req, want);
    lat.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t0).count());
    if (!ok) {
      ADD_FAILURE() << "request " << i << " failed";
      break;
    }
  }
  stop = true;
  trickle.join();

  const int64_t p50 = fault::QuantileUs(lat, 0.50);
  const int64_t p99 = fault::QuantileUs(lat, 0.99);
  Figure("slowloris_normal_p50_us", static_cast<uint64_t>(p50));
  Figure("slowloris_normal_p99_us", static_cast<uint64_t>(p99));
  Figure("slowloris_peak_rss_kib", PeakRssKiB(server_.pid()));
  if (fault::kBoundsMeaningful) {
    EXPECT_LT(p99, 50 * 1000) << "p99 of the normal client in microseconds";
  }

  // Every trickled command was answered correctly so far (a prefix of the repeated replies).
  for (int i = 0; i < kSlow; ++i) {
    const std::string k = "slow" + std::to_string(i);
    const std::string one = "STORED\r\nVALUE " + k + " 0 64\r\n" +
                            SeededValue(64, static_cast<uint32_t>(i)) + "\r\nEND\r\n";
    slow[i]->set_timeout(Duration(3000));
    std::string got = replies[i];
    if (got.size() < one.size()) got += slow[i]->ReadExactly(one.size() - got.size());
    ASSERT_GE(got.size(), one.size()) << "connection " << i << " got " << Escape(got);
    for (size_t at = 0; at < got.size(); at += one.size()) {
      ASSERT_EQ(got.substr(at, one.size()), one.substr(0, got.size() - at)) << i;
    }
  }
  EXPECT_TRUE(ServerAnswers(server_.port()));
}

// Hogs send one get line naming a 100 KB value 100,000 times (10 GB of replies) and never read.
// The server must stop producing output once a connection's pending output passes its limit,
// so memory stays bounded and the item survives the hogs' references; the others are served.
TEST_F(FaultClientTest, HugeMultigetThatIsNeverReadStaysBounded) {
  constexpr int kHogs = 5;
  constexpr size_t kValue = 100 * 1024;
  constexpr int kKeys = 100000;
  const std::string big = SeededValue(kValue, 1);
  ASSERT_TRUE(
      c_->Expect("set big 0 0 " + std::to_string(kValue) + "\r\n" + big + "\r\n", "STORED\r\n"));
  const uint64_t rss0 = RssKiB(server_.pid());
  std::string line = "get";
  line.reserve(4 * kKeys + 8);
  for (int i = 0; i < kKeys; ++i) line += " big";
  line += "\r\n";

  std::vector<std::unique_ptr<Client>> hogs;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  for (int h = 0; h < kHogs; ++h) {
    hogs.push_back(NewClient());
    ASSERT_TRUE(hogs.back()->Connected());
    size_t sent = fault::SendUntilStalled(hogs.back()->fd(), line, Duration(200), deadline);
    EXPECT_GT(sent, 0u);
  }
  EXPECT_TRUE(fault::PollUntilStatSettles(*c_, "cmd_get", Duration(5000)));
  const uint64_t rss1 = RssKiB(server_.pid());
  Figure("multiget_hogs_rss_growth_kib", rss1 > rss0 ? rss1 - rss0 : 0);
  Figure("multiget_hogs_peak_rss_kib", PeakRssKiB(server_.pid()));
  // memcached 1.6.18 buffers these replies (hundreds of MB); only mcd is held to the bound.
  if (ServerIsMcd(server_.port())) {
    if (fault::kBoundsMeaningful) {
      EXPECT_LT(rss1, rss0 + fault::kRssScale * 64 * 1024) << "RSS grew from " << rss0 << " KiB";
    }
  }

  auto other = NewClient();
  EXPECT_TRUE(
      other->Expect("set k 0 0 1\r\nx\r\nget k\r\n", "STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\n"));
  EXPECT_TRUE(other->Expect("get big\r\n", "VALUE big 0 102400\r\n" + big + "\r\nEND\r\n"));

  hogs.clear();
  EXPECT_TRUE(PollUntil([&] { return StatNum(*other, "curr_connections") <= 3; }, Duration(5000)));
  // The item was never freed under the hogs: rewrite its class many times, it is still intact.
  const std::string filler = SeededValue(kValue, 2);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(other->Expect(
        "set f" + std::to_string(i) + " 0 0 " + std::to_string(kValue) + "\r\n" + filler + "\r\n",
        "STORED\r\n"));
  }
  EXPECT_TRUE(other->Expect("get big\r\n", "VALUE big 0 102400\r\n" + big + "\r\nEND\r\n"));

  // A reader of the same kind of line gets every reply: output resumes as it drains.
  auto reader = NewClient();
  reader->set_timeout(Duration(20000));
  std::string small = "get";
  for (int i = 0; i < 500; ++i) small += " big";
  ASSERT_TRUE(reader->Send(small + "\r\n"));
  const std::string one = "VALUE big 0 102400\r\n" + big + "\r\n";
  for (int i = 0; i < 500; ++i) {
    std::string got = reader->ReadExactly(one.size());
    ASSERT_TRUE(got == one) << "reply " << i << ": " << Escape(got.substr(0, 60));
  }
  EXPECT_EQ(reader->ReadExactly(5), "END\r\n");
  EXPECT_TRUE(ServerAnswers(server_.port()));
}

// The same with values small enough to be copied into replies: the copies must stop at the
// output limit too, or a hog's unread replies would sit in the server's memory.
TEST_F(FaultClientTest, HugeMultigetOfSmallValuesStaysBounded) {
  constexpr int kHogs = 4;
  constexpr int kKeys = 100000;
  const std::string v = SeededValue(2000, 3);
  ASSERT_TRUE(c_->Expect("set s 0 0 2000\r\n" + v + "\r\n", "STORED\r\n"));
  const uint64_t rss0 = RssKiB(server_.pid());
  std::string line = "get";
  for (int i = 0; i < kKeys; ++i) line += " s";
  line += "\r\n";
  std::vector<std::unique_ptr<Client>> hogs;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  for (int h = 0; h < kHogs; ++h) {
    hogs.push_back(NewClient());
    fault::SendUntilStalled(hogs.back()->fd(), line, Duration(200), deadline);
  }
  EXPECT_TRUE(fault::PollUntilStatSettles(*c_, "cmd_get", Duration(5000)));
  const uint64_t rss1 = RssKiB(server_.pid());
  Figure("small_multiget_hogs_rss_growth_kib", rss1 > rss0 ? rss1 - rss0 : 0);
  Figure("small_multiget_hogs_peak_rss_kib", PeakRssKiB(server_.pid()));
  // Four hogs at a few MB each; before the fix each held 32 MB of copies. memcached 1.6.18
  // buffers far more; only mcd is held to the bound.
  if (ServerIsMcd(server_.port())) {
    if (fault::kBoundsMeaningful) {
      EXPECT_LT(rss1, rss0 + fault::kRssScale * 48 * 1024) << "RSS grew from " << rss0 << " KiB";
    }
  }
  hogs.clear();
  EXPECT_TRUE(ServerAnswers(server_.port()));
}

// One key named 50,000 times in one get. A reader gets all 50,000 values; 40 connections that
// never read hold more references to the item than its 16-bit count can hold, and the item must
// survive them intact.
TEST_F(FaultClientTest, HotKeyRepeated50000Times) {
  constexpr int kRepeat = 50000;
  constexpr size_t kValue = 2100;  // just above the size copied into replies: referenced
  const std::string hot = SeededValue(kValue, 4);
  ASSERT_TRUE(c_->Expect("set hot 0 0 2100\r\n" + hot + "\r\n", "STORED\r\n"));
  std::string line = "get";
  for (int i = 0; i < kRepeat; ++i) line += " hot";
  line += "\r\n";
  const std::string one = "VALUE hot 0 2100\r\n" + hot + "\r\n";

  {
    auto reader = NewClient();
    reader->set_timeout(Duration(20000));
    ASSERT_TRUE(reader->Send(line));
    for (int i = 0; i < kRepeat; ++i) {
      std::string got = reader->ReadExactly(one.size());
      ASSERT_TRUE(got == one) << "reply " << i << ": " << Escape(got.substr(0, 60));
    }
    EXPECT_EQ(reader->ReadExactly(5), "END\r\n");
  }

  const uint64_t rss0 = RssKiB(server_.pid());
  constexpr int kHogs = 40;
  std::vector<std::unique_ptr<Client>> hogs;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  for (int h = 0; h < kHogs; ++h) {
    hogs.push_back(NewClient());
    ASSERT_TRUE(hogs.back()->Connected());
    fault::SendUntilStalled(hogs.back()->fd(), line, Duration(100), deadline);
  }
  EXPECT_TRUE(fault::PollUntilStatSettles(*c_, "cmd_get", Duration(5000)));
  const uint64_t rss1 = RssKiB(server_.pid());
  Figure("hot_key_hogs_rss_growth_kib", rss1 > rss0 ? rss1 - rss0 : 0);
  Figure("hot_key_hogs_peak_rss_kib", PeakRssKiB(server_.pid()));
  // Bounded by the hogs' output limits (a few MB each), not by what they asked for (4 GB).
  // memcached 1.6.18 buffers far more; only mcd is held to the bound.
  if (ServerIsMcd(server_.port())) {
    if (fault::kBoundsMeaningful) {
      EXPECT_LT(rss1, rss0 + fault::kRssScale * kHogs * 6 * 1024)
          << "RSS grew from " << rss0 << " KiB";
    }
  }
  EXPECT_TRUE(c_->Expect("get hot\r\n", one + "END\r\n"));

  hogs.clear();
  EXPECT_TRUE(PollUntil([&] { return StatNum(*c_, "curr_connections") <= 2; }, Duration(5000)));
  // Had the count wrapped, the item would have been freed while linked; reuse its class.
  for (int i = 0; i < 300; ++i) {
    const std::string k = "w" + std::to_string(i);
    ASSERT_TRUE(c_->Expect("set " + k + " 0 0 2100\r\n" + SeededValue(kValue, 100 + i) + "\r\n",
                           "STORED\r\n"));
  }
  EXPECT_TRUE(c_->Expect("get hot\r\n", one + "END\r\n"));
  EXPECT_TRUE(
      c_->Expect("get w7\r\n", "VALUE w7 0 2100\r\n" + SeededValue(kValue, 107) + "\r\nEND\r\n"));
  EXPECT_TRUE(ServerAnswers(server_.port()));
}

// A get line of 20 MB that never ends: the keys are streamed, memory stays flat; when the line
// finally ends the reply is complete. memcached 1.6.18 buffers the line and does not answer it;
// the figures are recorded for both, the bounds and the reply are checked for mcd only.
TEST_F(FaultClientTest, UnterminatedTwentyMegabyteGetLine) {
  const bool is_mcd = ServerIsMcd(server_.port());
  ASSERT_TRUE(
      c_->Expect("set early 0 0 1\r\ne\r\nset late 0 0 1\r\nl\r\n", "STORED\r\nSTORED\r\n"));
  const uint64_t rss0 = RssKiB(server_.pid());
  auto g = NewClient();
  g->set_timeout(Duration(10000));
  ASSERT_TRUE(g->Send("get early"));
  std::string piece;
  for (int i = 0; piece.size() < 64 * 1024; ++i) piece += " miss" + std::to_string(i);
  size_t sent = 0;
  uint64_t rss_max = 0;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(20);
  while (sent < (20u << 20) && SteadyClock::now() < deadline) {
    ASSERT_TRUE(g->Send(piece)) << "server stopped reading after " << sent << " bytes";
    sent += piece.size();
    if ((sent / piece.size()) % 32 == 0) rss_max = std::max(rss_max, RssKiB(server_.pid()));
  }
  ASSERT_GE(sent, 20u << 20);
  rss_max = std::max(rss_max, RssKiB(server_.pid()));
  Figure("get_line_20mb_rss_growth_kib", rss_max > rss0 ? rss_max - rss0 : 0);
  Figure("get_line_20mb_peak_rss_kib", PeakRssKiB(server_.pid()));
  if (!is_mcd) {
    EXPECT_TRUE(ServerAnswers(server_.port()));
    return;
  }
  if (fault::kBoundsMeaningful) {
    EXPECT_LT(rss_max, rss0 + fault::kRssScale * 16 * 1024) << "RSS grew from " << rss0 << " KiB";
  }
  EXPECT_TRUE(g->Expect(" late\r\n", "VALUE early 0 1\r\ne\r\nVALUE late 0 1\r\nl\r\nEND\r\n"));
  EXPECT_TRUE(ServerAnswers(server_.port()));
}

// 200 connections each send half of a 1 MB value and stop. Memory is bounded by what the server
// allocated (-m); closing them frees the items: curr_items is unchanged and the memory is reused
// by complete values.
class FaultHalfSentTest : public ServerTest {
 protected:
  std::vector<std::string> ServerArgs() const override { return {"-m", "64", "-c", "400"}; }
};

TEST_F(FaultHalfSentTest, HalfSentMegabyteValuesOn200Connections) {
  constexpr int kConns = 200;
  constexpr size_t kValue = 1000000;
  const uint64_t items0 = StatNum(*c_, "curr_items");
  const uint64_t rss0 = RssKiB(server_.pid());
  const std::string half = SeededValue(kValue / 2, 5);
  std::vector<std::unique_ptr<Client>> conns;
  for (int i = 0; i < kConns; ++i) {
    conns.push_back(NewClient());
    ASSERT_TRUE(conns.back()->Connected()) << i;
    ASSERT_TRUE(conns.back()->Send("set half" + std::to_string(i) + " 0 0 " +
                                   std::to_string(kValue) + "\r\n" + half))
        << i;
  }
  EXPECT_TRUE(fault::PollUntilStatSettles(*c_, "bytes_read", Duration(5000), 7));
  const uint64_t rss1 = RssKiB(server_.pid());
  Figure("half_sent_rss_growth_kib", rss1 > rss0 ? rss1 - rss0 : 0);
  Figure("half_sent_peak_rss_kib", PeakRssKiB(server_.pid()));
  if (fault::kBoundsMeaningful) {
    EXPECT_LT(rss1, rss0 + fault::kRssScale * (64 + 32) * 1024)
        << "RSS grew from " << rss0 << " KiB";
  }
  EXPECT_EQ(StatNum(*c_, "curr_items"), items0);

  conns.clear();
  EXPECT_TRUE(PollUntil([&] { return StatNum(*c_, "curr_connections") <= 2; }, Duration(5000)));
  EXPECT_EQ(StatNum(*c_, "curr_items"), items0);
  EXPECT_TRUE(c_->Expect("get half0 half199\r\n", "END\r\n"));
  // The memory of the abandoned values is reusable.
  const std::string full = SeededValue(kValue, 6);
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(c_->Expect(
        "set full" + std::to_string(i) + " 0 0 " + std::to_string(kValue) + "\r\n" + full + "\r\n",
        "STORED\r\n"))
        << i;
  }
  EXPECT_TRUE(c_->Expect("get full0\r\n", "VALUE full0 0 1000000\r\n" + full + "\r\nEND\r\n"));
  EXPECT_EQ(StatNum(*c_, "curr_items"), items0 + 40);
  EXPECT_EQ(StatNum(*c_, "evictions"), 0u);
  EXPECT_TRUE(ServerAnswers(server_.port()));
}

}  // namespace
}  // namespace mcd::testing
