// The slab page mover over real sockets (issue 11): `slabs reassign` with every reply memcached
// gives, `slabs automove` and `stats settings`, automove following a shift of value sizes, values
// intact while pages move under gets and sets from many connections, and the mover's stats.
//
// memcached 1.6.18 (and 1.6.45) answers `slabs reassign` with OK, BUSY, BADCLASS, NOSPARE, SAME or,
// with -o no_slab_reassign, "CLIENT_ERROR slab reassignment disabled". doc/protocol.txt also lists
// NOTFULL and UNSAFE, but no 1.6 release can send them: its reassign result type has no such
// values. Every case here runs against memcached as well (MCD_TEST_BINARY=/usr/bin/memcached),
// and the reply strings are memcached 1.6.18's, byte for byte.
//
// Class ids are never written down: a class is found by storing a value and seeing which class's
// `stats items` count grew, or from `stats slabs` chunk sizes.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fault_util.h"
#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kOk = "OK\r\n";
constexpr std::string_view kBusy = "BUSY currently processing reassign request\r\n";
constexpr std::string_view kBadClass = "BADCLASS invalid src or dst class id\r\n";
constexpr std::string_view kNoSpare = "NOSPARE source class has no spare pages\r\n";
constexpr std::string_view kSame = "SAME src and dst class are identical\r\n";
constexpr std::string_view kDisabled = "CLIENT_ERROR slab reassignment disabled\r\n";
constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format\r\n";
constexpr std::string_view kError = "ERROR\r\n";

// Slab pages are 1 MB with the default -I.
constexpr uint64_t kPageSize = 1 << 20;
// Values of 50 KB: about 19 to a page, so a few stores fill pages.
constexpr size_t kBigValue = 50000;
// Bound on any wait for the mover (a move takes milliseconds; automove decides once a second).
constexpr Duration kMoveTimeout(10000);

uint32_t Hash(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char ch : s) h = (h ^ static_cast<uint8_t>(ch)) * 16777619u;
  return h;
}

// The value of `key`, `len` bytes: the key itself, then printable bytes that depend on the key
// and the offset, so a value served for another key, shifted, cut or spliced with another
// differs from it.
std::string ValueFor(std::string_view key, size_t len) {
  std::string v(key.substr(0, std::min(len, key.size())));
  v.reserve(len);
  const uint32_t h = Hash(key);
  for (size_t i = v.size(); i < len; ++i) {
    v.push_back(static_cast<char>('0' + (h + i * 7 + i / 251) % 75));
  }
  return v;
}

uint32_t FlagsFor(std::string_view key) { return Hash(key) % 65536; }

// prefix + i in a fixed width, so that keys of one test are all as long and values of one length
// all go to one class.
std::string NumKey(std::string_view prefix, int i) {
  std::string digits = std::to_string(i);
  return std::string(prefix) + std::string(digits.size() < 7 ? 7 - digits.size() : 0, '0') + digits;
}

std::string SetRequest(std::string_view key, size_t len) {
  return "set " + std::string(key) + " " + std::to_string(FlagsFor(key)) + " 0 " +
         std::to_string(len) + "\r\n" + ValueFor(key, len) + "\r\n";
}

// The whole reply to `get key` when key holds ValueFor(key, len).
std::string HitReply(std::string_view key, size_t len) {
  return "VALUE " + std::string(key) + " " + std::to_string(FlagsFor(key)) + " " +
         std::to_string(len) + "\r\n" + ValueFor(key, len) + "\r\nEND\r\n";
}

// One class's line group of `stats slabs`.
struct SlabRow {
  uint64_t chunk_size = 0;
  uint64_t chunks_per_page = 0;
  uint64_t total_pages = 0;
  uint64_t used_chunks = 0;
};

std::map<int, SlabRow> SlabRows(Client& c) {
  std::map<int, SlabRow> rows;
  for (const auto& [name, value] : c.Stats("slabs")) {
    const size_t colon = name.find(':');
    if (colon == std::string::npos) continue;
    SlabRow& r = rows[std::stoi(name.substr(0, colon))];
    const std::string field = name.substr(colon + 1);
    const uint64_t v = std::stoull(value);
    if (field == "chunk_size") r.chunk_size = v;
    if (field == "chunks_per_page") r.chunks_per_page = v;
    if (field == "total_pages") r.total_pages = v;
    if (field == "used_chunks") r.used_chunks = v;
  }
  return rows;
}

// items:N:number of `stats items`, by class.
std::map<int, uint64_t> ItemCounts(Client& c) {
  std::map<int, uint64_t> out;
  for (const auto& [name, value] : c.Stats("items")) {
    const size_t colon = name.rfind(':');
    if (name.rfind("items:", 0) != 0 || name.substr(colon + 1) != "number") continue;
    out[std::stoi(name.substr(6, colon - 6))] = std::stoull(value);
  }
  return out;
}

// A numeric stat, or UINT64_MAX when the server does not report it.
uint64_t Stat(Client& c, const std::string& name, std::string_view group = "") {
  const auto s = c.Stats(group);
  const auto it = s.find(name);
  return it == s.end() ? UINT64_MAX : std::stoull(it->second);
}

class SlabMoverTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& args) {
    ASSERT_TRUE(server_.Start(args));
    c_ = Client::Open(server_.port());
    ASSERT_TRUE(c_->Connected());
  }
  // Restarts the server with other options.
  void Restart(const std::vector<std::string>& args) {
    c_.reset();
    server_.Stop();
    Start(args);
  }
  uint64_t Stat(const std::string& name, std::string_view group = "") {
    return testing::Stat(*c_, name, group);
  }
  std::string Reassign(const std::string& args) {
    c_->Send("slabs reassign " + args + "\r\n");
    return c_->ReadLine();
  }
  std::string Set(const std::string& key, size_t len) {
    c_->Send(SetRequest(key, len));
    return c_->ReadLine();
  }
  // Stores NumKey(prefix, i) for i in [from, to), `len` bytes each, pipelined in batches.
  ::testing::AssertionResult SetRange(const std::string& prefix, int from, int to, size_t len) {
    constexpr int kBatch = 100;
    for (int first = from; first < to; first += kBatch) {
      std::string batch;
      const int last = std::min(to, first + kBatch);
      for (int i = first; i < last; ++i) batch += SetRequest(NumKey(prefix, i), len);
      if (!c_->Send(batch)) return ::testing::AssertionFailure() << "send failed";
      for (int i = first; i < last; ++i) {
        const std::string reply = c_->ReadLine();
        if (reply != "STORED\r\n") {
          return ::testing::AssertionFailure() << prefix << i << ": " << Escape(reply);
        }
      }
    }
    return ::testing::AssertionSuccess();
  }
  // Stores `key` (a new key) and returns the class that took it, or 0.
  int StoreAndFindClass(const std::string& key, size_t len) {
    const std::map<int, uint64_t> before = ItemCounts(*c_);
    if (Set(key, len) != "STORED\r\n") return 0;
    for (const auto& [id, n] : ItemCounts(*c_)) {
      const auto it = before.find(id);
      if (n == (it == before.end() ? 0 : it->second) + 1) return id;
    }
    return 0;
  }
  // Stores key<first>, key<first+1>, ... (`len` bytes) until class `id` has `pages` pages;
  // returns the next unused number.
  int FillPages(const std::string& prefix, int first, size_t len, int id, uint64_t pages) {
    int n = first;
    while (SlabRows(*c_)[id].total_pages < pages && n < first + 1000) {
      EXPECT_EQ(Set(prefix + std::to_string(n), len), "STORED\r\n");
      ++n;
    }
    EXPECT_EQ(SlabRows(*c_)[id].total_pages, pages);
    return n;
  }
  // Waits until no move runs and `moved` pages have moved in all.
  ::testing::AssertionResult WaitMoves(uint64_t moved) {
    if (PollUntil(
            [&] { return Stat("slab_reassign_running") == 0 && Stat("slabs_moved") == moved; },
            kMoveTimeout, Duration(5))) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "slabs_moved " << Stat("slabs_moved") << ", running " << Stat("slab_reassign_running")
           << ", waited for " << moved;
  }
  // Pages held by the classes and the pool, in bytes: what total_malloced counts.
  uint64_t PagesInUse() {
    uint64_t pages = Stat("slab_global_page_pool");
    for (const auto& [id, row] : SlabRows(*c_)) pages += row.total_pages;
    return pages * kPageSize;
  }

  ServerProcess server_;
  std::unique_ptr<Client> c_;
};

// Every reply of `slabs reassign`, in memcached's order of checks (a move running, same class,
// class range, spare pages), moves between classes, to the pool and back, and "-1" (any class).
TEST_F(SlabMoverTest, ReassignAnswersEveryReply) {
  Start({"-m", "8", "-o", "slab_automove=0"});
  const int big = StoreAndFindClass("a0", kBigValue);
  const int small = StoreAndFindClass("b0", 1000);
  ASSERT_GT(big, 0);
  ASSERT_GT(small, 0);
  ASSERT_NE(big, small);
  // A value larger than slab_chunk_max is stored in chunks of the largest class.
  const uint64_t chunk_max = Stat("slab_chunk_max", "settings");
  ASSERT_EQ(Set("c0", chunk_max + 100000), "STORED\r\n");
  const auto largest_row = *SlabRows(*c_).rbegin();
  ASSERT_EQ(largest_row.second.chunk_size, chunk_max);
  const std::string b = std::to_string(big);
  const std::string s = std::to_string(small);
  const std::string largest = std::to_string(largest_row.first);
  const std::string beyond = std::to_string(largest_row.first + 1);

  EXPECT_EQ(Reassign(b + " " + b), kSame);
  EXPECT_EQ(Reassign(beyond + " " + beyond), kSame);  // same is checked before the range
  EXPECT_EQ(Reassign("-1 -1"), kSame);
  EXPECT_EQ(Reassign(b + " " + s), kNoSpare);  // one page
  EXPECT_EQ(Reassign(b + " 0"), kNoSpare);     // to the pool: the same rule
  EXPECT_EQ(Reassign("0 " + s), kNoSpare);     // the pool is empty
  EXPECT_EQ(Reassign("-1 " + s), kBadClass);   // "any class": none has a page to spare
  EXPECT_EQ(Reassign("-2 " + s), kBadClass);
  EXPECT_EQ(Reassign(s + " -1"), kBadClass);
  EXPECT_EQ(Reassign(b + " " + beyond), kBadClass);
  EXPECT_EQ(Reassign(beyond + " " + b), kBadClass);
  EXPECT_EQ(Reassign(b + " " + largest), kNoSpare);  // the largest class is a destination
  EXPECT_EQ(Reassign(b + " 64"), kBadClass);
  EXPECT_EQ(Reassign(" " + b + "  " + s + " "), kNoSpare);  // spaces between tokens

  // Four pages of big values: the first page is full.
  const int n = FillPages("a", 1, kBigValue, big, 4);
  const SlabRow big_row = SlabRows(*c_)[big];
  ASSERT_EQ(Stat("evictions"), 0u);
  // a0, the class's first item, lies in its first page, the one a move empties (both servers
  // take the oldest page). Deleting it puts its chunk at the head of the free list, so the next
  // store of the class takes it.
  ASSERT_TRUE(c_->Expect("delete a0\r\n", "DELETED\r\n"));
  // A store that has sent half its value holds that chunk: the page cannot be emptied until the
  // rest arrives, so the move is still running for the commands below.
  Client holder(server_.port());
  ASSERT_TRUE(holder.Connected());
  const std::string h = SetRequest("h", kBigValue);
  const size_t half = h.size() / 2;
  ASSERT_TRUE(holder.Send(h.substr(0, half)));
  ASSERT_TRUE(PollUntil([&] { return SlabRows(*c_)[big].used_chunks == big_row.used_chunks; },
                        kMoveTimeout));
  const uint64_t malloced = Stat("total_malloced", "slabs");

  EXPECT_EQ(Reassign(b + " " + s), kOk);
  EXPECT_EQ(Reassign(b + " " + s), kBusy);
  EXPECT_EQ(Reassign(s + " " + b), kBusy);
  EXPECT_EQ(Reassign(b + " " + b), kBusy);  // a running move is checked first
  EXPECT_EQ(Reassign("-2 " + s), kBusy);
  EXPECT_TRUE(PollUntil(
      [&] { return Stat("slab_reassign_running") == 1 && Stat("slab_reassign_busy_items") > 0; },
      kMoveTimeout));
  EXPECT_EQ(Stat("slabs_moved"), 0u);
  ASSERT_TRUE(holder.Send(h.substr(half)));
  EXPECT_EQ(holder.ReadLine(), "STORED\r\n");
  ASSERT_TRUE(WaitMoves(1));

  std::map<int, SlabRow> rows = SlabRows(*c_);
  EXPECT_EQ(rows[big].total_pages, 3u);
  EXPECT_EQ(rows[small].total_pages, 2u);
  EXPECT_EQ(Stat("total_malloced", "slabs"), malloced);  // a moved page is not a new one
  EXPECT_EQ(Stat("slab_global_page_pool"), 0u);
  // Every chunk of the full first page held a live item (h in a0's place): each was rescued into
  // a free chunk of the class or, once there were none, evicted.
  const uint64_t evicted = Stat("slab_reassign_evictions_nomem");
  EXPECT_EQ(Stat("slab_reassign_rescues") + evicted, big_row.chunks_per_page);
  EXPECT_GT(evicted, 0u);
  EXPECT_EQ(Stat("slab_reassign_inline_reclaim"), 0u);
  EXPECT_EQ(Stat("slab_reassign_chunk_rescues"), 0u);
  EXPECT_EQ(Stat("evictions"), 0u);  // the mover's evictions are counted apart
  // a1..a<n-1>, h, b0 and c0 were stored; the evicted are gone, the rest hold their values.
  const uint64_t big_items = static_cast<uint64_t>(n - 1) + 1;
  EXPECT_EQ(Stat("curr_items"), big_items + 2 - evicted);
  uint64_t hits = 0;
  for (int i = 1; i <= n; ++i) {
    const std::string key = i == n ? "h" : "a" + std::to_string(i);
    const std::string reply = c_->Call("get " + key + "\r\n");
    if (reply == "END\r\n") continue;
    EXPECT_EQ(reply, HitReply(key, kBigValue)) << key;
    ++hits;
  }
  EXPECT_EQ(hits, big_items - evicted);

  // Pages to the pool and back. The pool, like a class, keeps its last page.
  EXPECT_EQ(Reassign(b + " 0"), kOk);
  ASSERT_TRUE(WaitMoves(2));
  EXPECT_EQ(Stat("slab_global_page_pool"), 1u);
  EXPECT_EQ(Reassign("0 " + s), kNoSpare);
  EXPECT_EQ(Reassign(b + " 0"), kOk);
  ASSERT_TRUE(WaitMoves(3));
  EXPECT_EQ(Stat("slab_global_page_pool"), 2u);
  EXPECT_EQ(SlabRows(*c_)[big].total_pages, 1u);
  EXPECT_EQ(Reassign(b + " " + s), kNoSpare);
  EXPECT_EQ(Reassign("0 " + s), kOk);
  ASSERT_TRUE(WaitMoves(4));
  EXPECT_EQ(Stat("slab_global_page_pool"), 1u);
  EXPECT_EQ(SlabRows(*c_)[small].total_pages, 3u);
  // "-1" takes a page from any class but the destination that has one to spare: only `small`.
  EXPECT_EQ(Reassign("-1 " + s), kBadClass);
  EXPECT_EQ(Reassign("-1 " + b), kOk);
  ASSERT_TRUE(WaitMoves(5));
  rows = SlabRows(*c_);
  EXPECT_EQ(rows[small].total_pages, 2u);
  EXPECT_EQ(rows[big].total_pages, 2u);
  EXPECT_EQ(Stat("total_malloced", "slabs"), malloced);
  EXPECT_EQ(PagesInUse(), malloced);
  // b0 lived in small's first page, which went to big with free chunks to spare: rescued.
  EXPECT_EQ(c_->Call("get b0\r\n"), HitReply("b0", 1000));
  EXPECT_EQ(c_->Call("get c0\r\n"), HitReply("c0", chunk_max + 100000));
}

// Malformed `slabs` lines, noreply, and -o no_slab_reassign.
TEST_F(SlabMoverTest, MalformedLinesAndReassignDisabled) {
  Start({"-o", "slab_automove=0"});
  std::string x19;
  for (int i = 0; i < 19; ++i) x19 += "x ";
  const std::vector<std::pair<std::string, std::string_view>> cases = {
      {"slabs\r\n", kError},
      {"slabs foo\r\n", kError},
      {"slabs reassign\r\n", kError},
      {"slabs reassign 1\r\n", kError},
      {"slabs reassign 1 2 3\r\n", kError},
      {"slabs reassign 1 2 noreply\r\n", kError},  // no noreply for reassign
      {"slabs reassign 1\t2\r\n", kError},         // tokens are split at spaces only
      {"SLABS reassign 1 1\r\n", kError},
      {"slabs REASSIGN 1 1\r\n", kError},
      {"slabs reassign a b\r\n", kBadFormat},
      {"slabs reassign 1 x\r\n", kBadFormat},
      {"slabs reassign 0x1 2\r\n", kBadFormat},
      {"slabs reassign 1 1\n", kSame},
      {"slabs reassign +3 3\r\n", kSame},
      {"slabs reassign -0 0\r\n", kSame},
      {"slabs automove\r\n", kError},
      {"slabs automove 3\r\n", kError},
      {"slabs automove -1\r\n", kBadFormat},
      {"slabs automove 1.0\r\n", kBadFormat},
      {"slabs automove x\r\n", kBadFormat},
      {"slabs automove ratio\r\n", kError},
      {"slabs automove ratio x\r\n", kError},
      {"slabs automove ratio 1e400\r\n", kError},
      {"slabs automove 01\r\n", kOk},
      {"slabs automove +2\r\n", kOk},
      {"slabs automove 0 x\r\n", kOk},
      {"slabs automove ratio 0.5\r\n", kOk},
      // noreply is the last token; memcached splits at most 22 tokens after "slabs".
      {"slabs automove 1 noreply\r\n", ""},
      {"slabs automove ratio 0.6 noreply\r\n", ""},
      {"slabs automove 2 x x x x x x x x noreply\r\n", ""},
      {"slabs automove 1 " + x19 + "noreply\r\n", ""},
      {"slabs automove 0 x " + x19 + "noreply\r\n", kOk},
      {"slabs automove 5 noreply\r\n", ""},  // errors too are silenced
  };
  for (const auto& [request, reply] : cases) {
    // A get of a missing key after each case shows that nothing more was replied.
    EXPECT_TRUE(c_->Expect(request + "get nokey\r\n", std::string(reply) + "END\r\n"))
        << Escape(request);
  }
  EXPECT_EQ(Stat("slab_automove", "settings"), 0u);

  Restart({"-o", "no_slab_reassign"});
  const auto settings = c_->Stats("settings");
  EXPECT_EQ(settings.at("slab_reassign"), "no");
  for (const char* request : {"slabs reassign 1 2\r\n", "slabs reassign 1 1\r\n",
                              "slabs reassign a b\r\n", "slabs reassign -1 1\r\n"}) {
    EXPECT_TRUE(c_->Expect(request, kDisabled)) << request;
  }
  EXPECT_TRUE(c_->Expect("slabs reassign\r\n", kError));
  EXPECT_TRUE(c_->Expect("slabs automove 2\r\n", kOk));  // the setting still changes
  EXPECT_EQ(Stat("slab_automove", "settings"), 2u);
  const auto stats = c_->Stats();
  for (const char* name : {"slab_reassign_rescues", "slab_reassign_running", "slabs_moved"}) {
    EXPECT_EQ(stats.count(name), 0u) << name;
  }
  EXPECT_EQ(stats.count("slab_global_page_pool"), 1u);
}

// `slabs automove 0|1|2` and `slabs automove ratio F` show in `stats settings`, as do the start
// options; refused values change nothing.
TEST_F(SlabMoverTest, AutomoveCommandFollowsInStatsSettings) {
  Start({});
  auto settings = c_->Stats("settings");
  EXPECT_EQ(settings["slab_reassign"], "yes");
  EXPECT_EQ(settings["slab_automove"], "1");
  EXPECT_EQ(settings["slab_automove_ratio"], "0.80");
  EXPECT_EQ(settings["slab_automove_window"], "30");
  for (const char* level : {"0", "2", "1", "2", "0"}) {
    EXPECT_TRUE(c_->Expect("slabs automove " + std::string(level) + "\r\n", kOk));
    EXPECT_EQ(c_->Stats("settings")["slab_automove"], level);
  }
  EXPECT_TRUE(c_->Expect("slabs automove 1 noreply\r\nslabs automove 3\r\n", kError));
  EXPECT_TRUE(c_->Expect("slabs automove -1\r\n", kBadFormat));
  EXPECT_EQ(c_->Stats("settings")["slab_automove"], "1");
  EXPECT_TRUE(c_->Expect("slabs automove ratio 0.5\r\n", kOk));
  EXPECT_TRUE(c_->Expect("slabs automove ratio x\r\n", kError));
  settings = c_->Stats("settings");
  EXPECT_EQ(settings["slab_automove_ratio"], "0.50");
  EXPECT_EQ(settings["slab_automove"], "1");

  Restart({"-o", "slab_automove=2,slab_automove_ratio=0.3,slab_automove_window=5"});
  settings = c_->Stats("settings");
  EXPECT_EQ(settings["slab_automove"], "2");
  EXPECT_EQ(settings["slab_automove_ratio"], "0.30");
  EXPECT_EQ(settings["slab_automove_window"], "5");
  EXPECT_TRUE(c_->Expect("slabs automove 0\r\n", kOk));
  EXPECT_EQ(c_->Stats("settings")["slab_automove"], "0");
}

// The stats of the mover and the pool: every slab_reassign_* line, total_malloced counting the
// pool's pages, and pool pages taken back, before any new page, by a class that needs memory.
TEST_F(SlabMoverTest, PoolPagesGoToTheClassThatNeedsMemory) {
  Start({"-m", "8", "-o", "slab_automove=0"});
  const auto stats = c_->Stats();
  for (const char* name :
       {"slab_reassign_rescues", "slab_reassign_chunk_rescues", "slab_reassign_evictions_nomem",
        "slab_reassign_inline_reclaim", "slab_reassign_busy_items", "slab_reassign_busy_deletes",
        "slab_reassign_running", "slabs_moved", "slab_global_page_pool"}) {
    EXPECT_EQ(stats.count(name), 1u) << name;
    if (stats.count(name) == 1) {
      EXPECT_EQ(stats.at(name), "0") << name;
    }
  }
  EXPECT_EQ(Stat("total_malloced", "slabs"), 0u);

  const int big = StoreAndFindClass("a0", kBigValue);
  ASSERT_GT(big, 0);
  const int n = FillPages("a", 1, kBigValue, big, 4);
  const uint64_t malloced = Stat("total_malloced", "slabs");
  EXPECT_EQ(malloced, PagesInUse());
  const std::string b = std::to_string(big);
  EXPECT_EQ(Reassign(b + " 0"), kOk);
  ASSERT_TRUE(WaitMoves(1));
  EXPECT_EQ(Reassign(b + " 0"), kOk);
  ASSERT_TRUE(WaitMoves(2));
  EXPECT_EQ(Stat("slab_global_page_pool"), 2u);
  EXPECT_EQ(SlabRows(*c_)[big].total_pages, 2u);
  EXPECT_EQ(Stat("total_malloced", "slabs"), malloced);  // pool pages stay allocated
  EXPECT_EQ(PagesInUse(), malloced);
  // Two pages' worth of items were evicted by the mover; nothing else was.
  const uint64_t evicted = Stat("slab_reassign_evictions_nomem");
  EXPECT_GT(evicted, 0u);
  EXPECT_EQ(Stat("curr_items"), static_cast<uint64_t>(n) - evicted);
  EXPECT_EQ(Stat("evictions"), 0u);

  // A new class takes its first two pages from the pool, then a new one.
  const int small = StoreAndFindClass("b0", 1000);
  ASSERT_GT(small, 0);
  EXPECT_EQ(Stat("slab_global_page_pool"), 1u);
  EXPECT_EQ(Stat("total_malloced", "slabs"), malloced);
  const int m = FillPages("b", 1, 1000, small, 2);
  EXPECT_EQ(Stat("slab_global_page_pool"), 0u);
  EXPECT_EQ(Stat("total_malloced", "slabs"), malloced);
  FillPages("b", m, 1000, small, 3);
  EXPECT_EQ(Stat("total_malloced", "slabs"), malloced + kPageSize);
  EXPECT_EQ(PagesInUse(), malloced + kPageSize);
  EXPECT_EQ(Stat("slabs_moved"), 2u);  // taking pool pages is not a move
  EXPECT_EQ(Stat("slab_reassign_running"), 0u);
}

// Tests that put load on the mover; a suite of their own, so ctest runs them beside the others.
using SlabMoverLoadTest = SlabMoverTest;

// The cache fills with small values, then the traffic moves to larger values of new keys
// (cache-aside: get, and set on a miss). The automover (default mode 1, a short window) gives
// the larger class pages from the small one until it stops evicting, and the hits return.
TEST_F(SlabMoverLoadTest, AutomoveFollowsASizeShift) {
  Start({"-m", "8", "-o", "slab_automove_window=3"});
  const auto t0 = SteadyClock::now();
  const int small = StoreAndFindClass(NumKey("s", 0), 100);
  ASSERT_GT(small, 0);
  // Fill until the cache evicts.
  constexpr int kBatch = 5000;
  for (int n = 1; Stat("evictions") == 0 && n < 100 * kBatch; n += kBatch) {
    ASSERT_TRUE(SetRange("s", n, n + kBatch, 100));
  }
  ASSERT_GT(Stat("evictions"), 0u);
  const int large = StoreAndFindClass(NumKey("L", 0), 4000);
  ASSERT_GT(large, 0);
  ASSERT_NE(large, small);
  std::map<int, SlabRow> rows = SlabRows(*c_);
  const uint64_t small_pages = rows[small].total_pages;
  const uint64_t large_pages = rows[large].total_pages;
  ASSERT_EQ(large_pages, 1u);
  ASSERT_GT(small_pages, 3u);
  // One and a half pages' worth of keys: they fit once the class has two pages.
  const int keys = static_cast<int>(rows[large].chunks_per_page * 3 / 2);

  // One pass over the keys: a multiget per 50 keys, each value checked, then a set of each
  // miss. Returns the share of hits.
  auto round = [&]() -> double {
    int hits = 0;
    constexpr int kBatch = 50;
    for (int first = 0; first < keys; first += kBatch) {
      const int last = std::min(keys, first + kBatch);
      std::string get = "get";
      for (int i = first; i < last; ++i) get += " " + NumKey("L", i);
      const std::string reply = c_->Call(get + "\r\n");
      std::string sets;
      size_t nsets = 0;
      size_t pos = 0;
      for (int i = first; i < last; ++i) {
        const std::string key = NumKey("L", i);
        std::string hit = HitReply(key, 4000);
        hit.resize(hit.size() - 5);  // without "END\r\n"
        if (reply.compare(pos, hit.size(), hit) == 0) {
          pos += hit.size();
          ++hits;
        } else {
          sets += SetRequest(key, 4000);
          ++nsets;
        }
      }
      EXPECT_EQ(reply.substr(pos), "END\r\n") << "a value differs from its key's";
      if (reply.substr(pos) != "END\r\n") return 0;
      if (nsets == 0) continue;
      c_->Send(sets);
      std::string stored;
      for (size_t k = 0; k < nsets; ++k) stored += "STORED\r\n";
      EXPECT_EQ(c_->ReadExactly(stored.size()), stored);
    }
    return static_cast<double>(hits) / keys;
  };
  round();  // the keys are new: all misses
  const double before = round();
  const auto shifted = SteadyClock::now();
  // Meanwhile a watcher measures how long a move runs (slab_reassign_running 1): a page of small
  // items empties in milliseconds, so a move seen running for long waited to be carried out.
  std::atomic<bool> stop{false};
  int64_t longest_move_ms = 0;
  std::thread watcher([&] {
    Client w(server_.port());
    bool was_running = false;
    SteadyClock::time_point since = SteadyClock::now();
    const auto end = since + std::chrono::seconds(25);
    while (!stop && w.Connected() && SteadyClock::now() < end) {
      const bool running = testing::Stat(w, "slab_reassign_running") == 1;
      const auto now = SteadyClock::now();
      if (running && !was_running) since = now;
      was_running = running;
      if (running) {
        longest_move_ms = std::max<int64_t>(
            longest_move_ms,
            std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the sampling period
    }
  });
  double after = 0;
  int rounds = 0;
  const bool recovered = PollUntil(
      [&] {
        after = round();
        ++rounds;
        return after >= 0.95 && Stat("slabs_moved") > 0;
      },
      Duration(20000), Duration(50));
  stop = true;
  watcher.join();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - shifted).count();
  rows = SlabRows(*c_);
  EXPECT_TRUE(recovered) << "hits " << after << " after " << rounds << " rounds, slabs_moved "
                         << Stat("slabs_moved") << ", large class pages "
                         << rows[large].total_pages;
  EXPECT_LT(before, 0.8) << "the large keys fit before any page moved";
  EXPECT_GT(rows[large].total_pages, large_pages);
  EXPECT_LT(rows[small].total_pages, small_pages);
  // Regression: a move the automover decided on waited a whole tick (1 s) before the mover
  // thread began it, because the thread that started it was the one it woke.
  EXPECT_LT(longest_move_ms, 600);
  fault::Figure("size_shift_ms_to_recover", static_cast<uint64_t>(seconds * 1000));
  fault::Figure("size_shift_hits_before_pct", static_cast<uint64_t>(before * 100));
  fault::Figure("size_shift_pages_moved", Stat("slabs_moved"));
  fault::Figure("size_shift_longest_move_ms", static_cast<uint64_t>(longest_move_ms));
  fault::Figure(
      "size_shift_total_ms",
      static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count()));
}

// Key groups of the load test: name prefix, number of keys, value length range. Each group's
// values fall in one or two classes, so that classes have pages to give; the 600 KB values are
// stored in chunks (over slab_chunk_max).
struct KeyGroup {
  char prefix;
  int keys;
  size_t min_len;
  size_t spread;
  int weight;  // share of the operations, in percent
};
constexpr KeyGroup kGroups[] = {
    {'s', 8000, 60, 40, 50},
    {'m', 2000, 1500, 200, 33},
    {'l', 200, 30000, 2000, 16},
    {'x', 6, 600000, 1000, 1},
};

size_t LenFor(const KeyGroup& g, std::string_view key) {
  return g.min_len + (Hash(key) >> 8) % g.spread;
}

// Reads one get reply for `keys` (in order, misses left out) and checks every value byte for
// byte. Returns the number of hits, or -1 with `error` set.
int ReadGetReply(Client& c, const std::vector<std::string>& keys, const KeyGroup& g,
                 std::string* error) {
  int hits = 0;
  size_t next = 0;
  while (true) {
    const std::string line = c.ReadLine();
    if (line == "END\r\n") return hits;
    // "VALUE <key> <flags> <bytes>\r\n"
    const size_t k = line.find(' ', 6);
    const size_t f = k == std::string::npos ? k : line.find(' ', k + 1);
    if (line.rfind("VALUE ", 0) != 0 || f == std::string::npos) {
      *error = "bad reply line " + Escape(line);
      return -1;
    }
    const std::string key = line.substr(6, k - 6);
    while (next < keys.size() && keys[next] != key) ++next;
    if (next == keys.size()) {
      *error = "unasked or repeated key in " + Escape(line);
      return -1;
    }
    ++next;
    const size_t len = LenFor(g, key);
    const std::string expect_line =
        "VALUE " + key + " " + std::to_string(FlagsFor(key)) + " " + std::to_string(len) + "\r\n";
    if (line != expect_line) {
      *error = "got " + Escape(line) + " for " + Escape(expect_line);
      return -1;
    }
    const std::string data = c.ReadExactly(len + 2);
    if (data != ValueFor(key, len) + "\r\n") {
      *error = "value of " + key + " differs (" + std::to_string(data.size()) + " bytes read)";
      return -1;
    }
    ++hits;
  }
}

// Gets and sets from 8 connections while pages move: a driver keeps asking for moves between
// the classes in use, to the pool and back, and automove 2 moves a page on evictions. Every value
// read is checked byte for byte against its key: a miss is allowed, a wrong value never.
TEST_F(SlabMoverLoadTest, ValuesStayIntactWhilePagesMove) {
  Start({"-m", "16", "-t", "4", "-o", "slab_automove=2"});
  // Every key stored once (about 18 MB, more than -m): the cache is full and evicting, and with
  // 16 pages over fewer classes some class has pages to spare from the start.
  for (const KeyGroup& g : kGroups) {
    constexpr int kBatch = 50;
    for (int first = 0; first < g.keys; first += kBatch) {
      std::string batch;
      const int last = std::min(g.keys, first + kBatch);
      for (int i = first; i < last; ++i) {
        const std::string key = NumKey(std::string(1, g.prefix), i);
        batch += SetRequest(key, LenFor(g, key));
      }
      ASSERT_TRUE(c_->Send(batch));
      for (int i = first; i < last; ++i) ASSERT_EQ(c_->ReadLine(), "STORED\r\n");
    }
  }
  ASSERT_GT(Stat("evictions"), 0u);
  constexpr int kThreads = 8;
  constexpr int kMaxOpsPerThread = 40000;
  const auto run_for = std::chrono::milliseconds(3000);
  const uint64_t moved_before = Stat("slabs_moved");
  const auto deadline = SteadyClock::now() + run_for;

  std::atomic<int> failures{0};
  std::mutex mu;
  std::vector<std::string> messages;
  auto fail = [&](const std::string& m) {
    if (failures.fetch_add(1) < 5) {
      std::lock_guard<std::mutex> lock(mu);
      messages.push_back(m);
    }
  };
  std::atomic<uint64_t> gets{0};
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> sets{0};
  // Stores refused for want of memory, by group.
  std::atomic<uint64_t> out_of_memory[std::size(kGroups)] = {};
  std::vector<std::vector<int64_t>> latencies(kThreads);  // get round trips, microseconds

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client c(server_.port());
      if (!c.Connected()) return fail("connect");
      std::mt19937 rng(static_cast<uint32_t>(t) * 7919u + 1);
      for (int op = 0; op < kMaxOpsPerThread && SteadyClock::now() < deadline; ++op) {
        int pick = static_cast<int>(rng() % 100);
        const KeyGroup* g = &kGroups[0];
        for (const KeyGroup& candidate : kGroups) {
          g = &candidate;
          if (pick < candidate.weight) break;
          pick -= candidate.weight;
        }
        auto key = [&] {
          return NumKey(std::string(1, g->prefix), static_cast<int>(rng() % g->keys));
        };
        if (rng() % 2 == 0) {
          const std::string k = key();
          c.Send(SetRequest(k, LenFor(*g, k)));
          const std::string reply = c.ReadLine();
          // memcached refuses a chunked value it cannot find chunks for with the second.
          if (reply == "SERVER_ERROR out of memory storing object\r\n" ||
              reply == "SERVER_ERROR Out of memory during read\r\n") {
            ++out_of_memory[g - kGroups];
          } else if (reply != "STORED\r\n") {
            return fail("set " + k + ": " + Escape(reply));
          }
          ++sets;
        } else {
          std::vector<std::string> keys(1 + rng() % 4);
          std::string get = "get";
          for (std::string& k : keys) {
            k = key();
            get += " " + k;
          }
          const auto start = SteadyClock::now();
          c.Send(get + "\r\n");
          std::string error;
          const int n = ReadGetReply(c, keys, *g, &error);
          if (n < 0) return fail(get + ": " + error);
          latencies[t].push_back(
              std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start)
                  .count());
          gets += keys.size();
          hits += static_cast<uint64_t>(n);
        }
      }
    });
  }
  // The driver: a move from a class with pages to spare (or the pool, or "any class") to
  // another class or the pool, the next once the last has ended.
  std::map<std::string, int> replies;
  {
    Client c(server_.port());
    std::mt19937 rng(42);
    while (c.Connected() && SteadyClock::now() < deadline) {
      std::vector<int> sources{-1};
      std::vector<int> targets{0};
      for (const auto& [id, row] : SlabRows(c)) {
        if (row.total_pages >= 2) sources.push_back(id);
        targets.push_back(id);
      }
      if (testing::Stat(c, "slab_global_page_pool") >= 2) sources.push_back(0);
      const int src = sources[rng() % sources.size()];
      const int dst = targets[rng() % targets.size()];
      c.Send("slabs reassign " + std::to_string(src) + " " + std::to_string(dst) + "\r\n");
      const std::string reply = c.ReadLine();
      ++replies[reply.substr(0, reply.find(' '))];
      if (reply != kOk && reply != kBusy && reply != kNoSpare && reply != kBadClass &&
          reply != kSame) {
        fail("reassign: " + Escape(reply));
        break;
      }
      PollUntil([&] { return testing::Stat(c, "slab_reassign_running") == 0; },
                std::chrono::duration_cast<Duration>(deadline - SteadyClock::now()), Duration(2));
    }
  }
  for (std::thread& th : threads) th.join();
  for (const std::string& m : messages) ADD_FAILURE() << m;
  EXPECT_EQ(failures.load(), 0);

  // Automove off, and the last move ended: the pages stay where they are from here on.
  ASSERT_TRUE(c_->Expect("slabs automove 0\r\n", kOk));
  ASSERT_TRUE(PollUntil([&] { return Stat("slab_reassign_running") == 0; }, kMoveTimeout));
  const uint64_t moved = Stat("slabs_moved") - moved_before;
  std::string summary = "reassign replies:";
  for (const auto& [reply, count] : replies)
    summary += " " + Escape(reply) + " x" + std::to_string(count);
  summary += "; pages by class:";
  for (const auto& [id, row] : SlabRows(*c_)) {
    summary += " " + std::to_string(id) + "=" + std::to_string(row.total_pages);
  }
  summary +=
      "; sets " + std::to_string(sets.load()) + ", evictions " + std::to_string(Stat("evictions"));
  EXPECT_GE(moved, 5u) << "too few pages moved to test anything; " << summary;
  EXPECT_GT(replies["OK\r\n"], 0);
  EXPECT_GT(hits.load(), 0u);
  EXPECT_GT(Stat("evictions") + Stat("slab_reassign_evictions_nomem"), 0u);
  // After the storm every key still there holds its own value.
  for (const KeyGroup& g : kGroups) {
    for (int first = 0; first < g.keys; first += 100) {
      std::vector<std::string> keys;
      std::string get = "get";
      for (int i = first; i < std::min(g.keys, first + 100); ++i) {
        keys.push_back(NumKey(std::string(1, g.prefix), i));
        get += " " + keys.back();
      }
      c_->Send(get + "\r\n");
      std::string error;
      ASSERT_GE(ReadGetReply(*c_, keys, g, &error), 0) << error;
    }
  }
  std::vector<int64_t> all;
  for (const auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  fault::Figure("mover_load_gets", gets.load());
  fault::Figure("mover_load_hits", hits.load());
  fault::Figure("mover_load_sets", sets.load());
  for (const KeyGroup& g : kGroups) {
    fault::Figure(std::string("mover_load_out_of_memory_") + g.prefix,
                  out_of_memory[&g - kGroups].load());
  }
  fault::Figure("mover_load_pages_moved", moved);
  fault::Figure("mover_load_reassign_ok", static_cast<uint64_t>(replies["OK\r\n"]));
  if (!all.empty()) {
    fault::Figure("mover_load_get_p99_us", static_cast<uint64_t>(all[all.size() * 99 / 100]));
  }
  if (ServerIsMcd(server_.port())) {
    EXPECT_EQ(out_of_memory[0].load() + out_of_memory[1].load() + out_of_memory[2].load(), 0u);
  }
}

}  // namespace
}  // namespace mcd::testing
