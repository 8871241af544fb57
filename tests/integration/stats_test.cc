// `stats` and its sub-commands: names as memcached 1.6.18 reports them, counters that move.
#include <cstdint>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

using StatsTest = ServerTest;

// The general `stats` names of memcached 1.6.18 (Debian build, no extstore/TLS/proxy), in order,
// as read from the real server.
const std::vector<std::string> kGeneralStats = {"pid",
                                                "uptime",
                                                "time",
                                                "version",
                                                "libevent",
                                                "pointer_size",
                                                "rusage_user",
                                                "rusage_system",
                                                "max_connections",
                                                "curr_connections",
                                                "total_connections",
                                                "rejected_connections",
                                                "connection_structures",
                                                "response_obj_oom",
                                                "response_obj_count",
                                                "response_obj_bytes",
                                                "read_buf_count",
                                                "read_buf_bytes",
                                                "read_buf_bytes_free",
                                                "read_buf_oom",
                                                "reserved_fds",
                                                "cmd_get",
                                                "cmd_set",
                                                "cmd_flush",
                                                "cmd_touch",
                                                "cmd_meta",
                                                "get_hits",
                                                "get_misses",
                                                "get_expired",
                                                "get_flushed",
                                                "delete_misses",
                                                "delete_hits",
                                                "incr_misses",
                                                "incr_hits",
                                                "decr_misses",
                                                "decr_hits",
                                                "cas_misses",
                                                "cas_hits",
                                                "cas_badval",
                                                "touch_hits",
                                                "touch_misses",
                                                "store_too_large",
                                                "store_no_memory",
                                                "auth_cmds",
                                                "auth_errors",
                                                "bytes_read",
                                                "bytes_written",
                                                "limit_maxbytes",
                                                "accepting_conns",
                                                "listen_disabled_num",
                                                "time_in_listen_disabled_us",
                                                "threads",
                                                "conn_yields",
                                                "hash_power_level",
                                                "hash_bytes",
                                                "hash_is_expanding",
                                                "slab_reassign_rescues",
                                                "slab_reassign_chunk_rescues",
                                                "slab_reassign_evictions_nomem",
                                                "slab_reassign_inline_reclaim",
                                                "slab_reassign_busy_items",
                                                "slab_reassign_busy_deletes",
                                                "slab_reassign_running",
                                                "slabs_moved",
                                                "lru_crawler_running",
                                                "lru_crawler_starts",
                                                "lru_maintainer_juggles",
                                                "malloc_fails",
                                                "log_worker_dropped",
                                                "log_worker_written",
                                                "log_watcher_skipped",
                                                "log_watcher_sent",
                                                "log_watchers",
                                                "unexpected_napi_ids",
                                                "round_robin_fallback",
                                                "bytes",
                                                "curr_items",
                                                "total_items",
                                                "slab_global_page_pool",
                                                "expired_unfetched",
                                                "evicted_unfetched",
                                                "evicted_active",
                                                "evictions",
                                                "reclaimed",
                                                "crawler_reclaimed",
                                                "crawler_items_checked",
                                                "lrutail_reflocked",
                                                "moves_to_cold",
                                                "moves_to_warm",
                                                "moves_within_lru",
                                                "direct_reclaims",
                                                "lru_bumps_dropped"};

// kGeneralStats without the names in `drop`, order kept.
std::vector<std::string> Without(const std::vector<std::string>& names,
                                 const std::vector<std::string>& drop) {
  std::vector<std::string> out;
  for (const std::string& n : names) {
    bool dropped = false;
    for (const std::string& d : drop) dropped = dropped || n == d;
    if (!dropped) out.push_back(n);
  }
  return out;
}

// The lines memcached 1.6.18 prints only while a part of its machinery is on.
const std::vector<std::string> kSlabReassignStats = {
    "slab_reassign_rescues",         "slab_reassign_chunk_rescues",
    "slab_reassign_evictions_nomem", "slab_reassign_inline_reclaim",
    "slab_reassign_busy_items",      "slab_reassign_busy_deletes",
    "slab_reassign_running",         "slabs_moved"};
const std::vector<std::string> kLruCrawlerStats = {"lru_crawler_running", "lru_crawler_starts"};
const std::vector<std::string> kLruMaintainerStats = {
    "lru_maintainer_juggles", "evicted_active",  "moves_to_cold",    "moves_to_warm",
    "moves_within_lru",       "direct_reclaims", "lru_bumps_dropped"};

std::vector<std::string> Concat(std::initializer_list<std::vector<std::string>> lists) {
  std::vector<std::string> out;
  for (const auto& l : lists) out.insert(out.end(), l.begin(), l.end());
  return out;
}

// Names of the STAT lines of a reply, in order.
std::vector<std::string> StatNames(const std::string& reply) {
  std::vector<std::string> names;
  std::istringstream in(reply);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("STAT ", 0) != 0) continue;
    size_t sp = line.find(' ', 5);
    names.push_back(line.substr(5, sp == std::string::npos ? std::string::npos : sp - 5));
  }
  return names;
}

uint64_t Num(std::map<std::string, std::string>& stats, const std::string& name) {
  auto it = stats.find(name);
  if (it == stats.end()) {
    ADD_FAILURE() << "missing stat " << name;
    return 0;
  }
  return std::stoull(it->second);
}

// Every line is "STAT <name> <value>\r\n" and the reply ends with exactly one "END\r\n".
void ExpectWellFormed(const std::string& reply) {
  ASSERT_GE(reply.size(), 5u);
  EXPECT_EQ(reply.substr(reply.size() - 5), "END\r\n");
  size_t pos = 0;
  while (pos < reply.size() - 5) {
    size_t eol = reply.find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos);
    std::string line = reply.substr(pos, eol - pos);
    EXPECT_EQ(line.rfind("STAT ", 0), 0u) << line;
    EXPECT_NE(line.find(' ', 5), std::string::npos) << line;
    pos = eol + 2;
  }
}

TEST_F(StatsTest, GeneralStatNamesInOrder) {
  std::string reply = c_->Call("stats\r\n");
  ExpectWellFormed(reply);
  EXPECT_EQ(StatNames(reply), kGeneralStats);
  auto s = c_->Stats();
  EXPECT_EQ(s["version"].rfind("1.6.", 0), 0u);
  EXPECT_EQ(s["pointer_size"], "64");
  EXPECT_EQ(s["threads"], "4");
  EXPECT_EQ(s["limit_maxbytes"], "67108864");
  EXPECT_EQ(s["max_connections"], "1024");
  EXPECT_EQ(s["accepting_conns"], "1");
  EXPECT_GT(Num(s, "pid"), 0u);
}

// memcached's t/stats.t starts the server with these options and expects exactly 83 names
// (memcached 1.6.18 hides the LRU crawler's and LRU maintainer's lines when they are off).
TEST_F(StatsTest, StatsTOptionsGiveMemcachedsEightyThreeNames) {
  ServerProcess other;
  ASSERT_TRUE(
      other.Start({"-I", "1024", "-o", "slab_chunk_max=1024,no_lru_crawler,no_lru_maintainer"}));
  Client c(other.port());
  std::string reply = c.Call("stats\r\n");
  ExpectWellFormed(reply);
  std::vector<std::string> names = StatNames(reply);
  EXPECT_EQ(names.size(), 83u);
  EXPECT_EQ(names, Without(kGeneralStats, Concat({kLruCrawlerStats, kLruMaintainerStats})));
}

// The other switches that hide lines in memcached 1.6.18 hide the same lines in mcd.
TEST_F(StatsTest, GeneralStatNamesFollowOptions) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> hidden;
  };
  const std::vector<Case> cases = {
      {{"-o", "no_maxconns_fast,no_slab_reassign"},
       Concat({{"rejected_connections"}, kSlabReassignStats})},
      // no_modern turns all four off.
      {{"-o", "no_modern"},
       Concat(
           {{"rejected_connections"}, kSlabReassignStats, kLruCrawlerStats, kLruMaintainerStats})},
  };
  for (const Case& tc : cases) {
    ServerProcess other;
    ASSERT_TRUE(other.Start(tc.args));
    Client c(other.port());
    EXPECT_EQ(StatNames(c.Call("stats\r\n")), Without(kGeneralStats, tc.hidden)) << tc.args[1];
  }
}

TEST_F(StatsTest, CountersMove) {
  auto before = c_->Stats();
  EXPECT_EQ(Num(before, "curr_items"), 0u);
  EXPECT_EQ(Num(before, "cmd_get"), 0u);
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n1\r\nset b 0 0 1\r\nx\r\n", "STORED\r\nSTORED\r\n"));
  EXPECT_TRUE(c_->Expect("get a b nope\r\n", "VALUE a 0 1\r\n1\r\nVALUE b 0 1\r\nx\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("gets nope2\r\n", "END\r\n"));
  EXPECT_TRUE(c_->Expect("incr a 1\r\nincr nope 1\r\ndecr a 1\r\ndecr nope 1\r\n",
                         "2\r\nNOT_FOUND\r\n1\r\nNOT_FOUND\r\n"));
  EXPECT_TRUE(c_->Expect("cas a 0 0 1 999999\r\n3\r\ncas nope 0 0 1 1\r\n3\r\n",
                         "EXISTS\r\nNOT_FOUND\r\n"));
  EXPECT_TRUE(c_->Expect("touch a 0\r\ntouch nope 0\r\n", "TOUCHED\r\nNOT_FOUND\r\n"));
  EXPECT_TRUE(c_->Expect("delete b\r\ndelete b\r\n", "DELETED\r\nNOT_FOUND\r\n"));
  EXPECT_TRUE(c_->Expect("flush_all 100\r\n", "OK\r\n"));
  auto s = c_->Stats();
  EXPECT_EQ(Num(s, "cmd_get"), 4u);  // one per key
  EXPECT_EQ(Num(s, "get_hits"), 2u);
  EXPECT_EQ(Num(s, "get_misses"), 2u);
  EXPECT_EQ(Num(s, "cmd_set"), 4u);  // cas attempts count as sets
  EXPECT_EQ(Num(s, "curr_items"), 1u);
  EXPECT_EQ(Num(s, "total_items"), 2u);
  EXPECT_EQ(Num(s, "incr_hits"), 1u);
  EXPECT_EQ(Num(s, "incr_misses"), 1u);
  EXPECT_EQ(Num(s, "decr_hits"), 1u);
  EXPECT_EQ(Num(s, "decr_misses"), 1u);
  EXPECT_EQ(Num(s, "cas_badval"), 1u);
  EXPECT_EQ(Num(s, "cas_misses"), 1u);
  EXPECT_EQ(Num(s, "cas_hits"), 0u);
  EXPECT_EQ(Num(s, "cmd_touch"), 2u);
  EXPECT_EQ(Num(s, "touch_hits"), 1u);
  EXPECT_EQ(Num(s, "touch_misses"), 1u);
  EXPECT_EQ(Num(s, "delete_hits"), 1u);
  EXPECT_EQ(Num(s, "delete_misses"), 1u);
  EXPECT_EQ(Num(s, "cmd_flush"), 1u);
  EXPECT_GT(Num(s, "bytes"), 0u);
  EXPECT_GT(Num(s, "bytes_read"), Num(before, "bytes_read"));
  EXPECT_GT(Num(s, "bytes_written"), Num(before, "bytes_written"));
}

TEST_F(StatsTest, CasHitCounts) {
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n1\r\n", "STORED\r\n"));
  std::string reply = c_->Call("gets a\r\n");
  size_t eol = reply.find("\r\n");
  ASSERT_NE(eol, std::string::npos);
  std::string cas = reply.substr(reply.rfind(' ', eol) + 1, eol - reply.rfind(' ', eol) - 1);
  EXPECT_TRUE(c_->Expect("cas a 0 0 1 " + cas + "\r\n2\r\n", "STORED\r\n"));
  auto s = c_->Stats();
  EXPECT_EQ(Num(s, "cas_hits"), 1u);
  EXPECT_EQ(Num(s, "total_items"), 2u);
}

TEST_F(StatsTest, ConnectionCounters) {
  // Only c_ is connected once the harness's readiness probe has been reaped.
  ASSERT_TRUE(PollUntil(
      [&] {
        auto s = c_->Stats();
        return Num(s, "curr_connections") == 1;
      },
      Duration(3000)));
  auto s0 = c_->Stats();
  const uint64_t curr0 = Num(s0, "curr_connections");
  const uint64_t total0 = Num(s0, "total_connections");
  {
    auto a = NewClient();
    auto b = NewClient();
    ASSERT_TRUE(a->Expect("version\r\n", "VERSION "));
    ASSERT_TRUE(b->Expect("version\r\n", "VERSION "));
    auto s1 = c_->Stats();
    EXPECT_EQ(Num(s1, "curr_connections"), curr0 + 2);
    EXPECT_EQ(Num(s1, "total_connections"), total0 + 2);
  }
  // The server notices the closes asynchronously.
  EXPECT_TRUE(PollUntil(
      [&] {
        auto s = c_->Stats();
        return Num(s, "curr_connections") == curr0;
      },
      Duration(3000)));
}

TEST_F(StatsTest, Settings) {
  std::string reply = c_->Call("stats settings\r\n");
  ExpectWellFormed(reply);
  auto s = c_->Stats("settings");
  EXPECT_EQ(s["maxbytes"], "67108864");
  EXPECT_EQ(s["maxconns"], "1024");
  EXPECT_EQ(s["tcpport"], std::to_string(server_.port()));
  EXPECT_EQ(s["growth_factor"], "1.25");
  EXPECT_EQ(s["chunk_size"], "48");
  EXPECT_EQ(s["num_threads"], "4");
  EXPECT_EQ(s["item_size_max"], "1048576");
  EXPECT_EQ(s["evictions"], "on");
  EXPECT_EQ(s["cas_enabled"], "yes");
}

TEST_F(StatsTest, SettingsFollowOptions) {
  ServerProcess other;
  ASSERT_TRUE(other.Start({"-m", "8", "-c", "100", "-t", "2", "-f", "2", "-n", "64", "-M"}));
  Client c(other.port());
  auto s = c.Stats("settings");
  EXPECT_EQ(s["maxbytes"], "8388608");
  EXPECT_EQ(s["maxconns"], "100");
  EXPECT_EQ(s["num_threads"], "2");
  EXPECT_EQ(s["growth_factor"], "2.00");
  EXPECT_EQ(s["chunk_size"], "64");
  EXPECT_EQ(s["evictions"], "off");
}

TEST_F(StatsTest, SlabsForActiveClass) {
  EXPECT_TRUE(c_->Expect("set a 0 0 5\r\nhello\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get a\r\n", "VALUE a 0 5\r\nhello\r\nEND\r\n"));
  std::string reply = c_->Call("stats slabs\r\n");
  ExpectWellFormed(reply);
  auto s = c_->Stats("slabs");
  // A 5-byte value with a 1-byte key lands in the smallest class.
  for (const char* f :
       {"chunk_size", "chunks_per_page", "total_pages", "total_chunks", "used_chunks",
        "free_chunks", "free_chunks_end", "get_hits", "cmd_set", "delete_hits", "incr_hits",
        "decr_hits", "cas_hits", "cas_badval", "touch_hits"}) {
    EXPECT_EQ(s.count(std::string("1:") + f), 1u) << f;
  }
  // Class 1 is memcached's item header plus -n 48 in both servers: mcd keeps memcached's class
  // table although its own header is smaller (SlabAllocator).
  EXPECT_EQ(s["1:chunk_size"], "96");
  EXPECT_EQ(s["1:used_chunks"], "1");
  EXPECT_EQ(s["1:get_hits"], "1");
  EXPECT_EQ(s["1:cmd_set"], "1");
  EXPECT_EQ(s.count("active_slabs"), 1u);
  EXPECT_EQ(s.count("total_malloced"), 1u);
}

// Delete, incr, decr and touch hits count in the class of the item hit, as in memcached (mcd
// counted them only in the totals).
TEST_F(StatsTest, SlabsCountHitsPerClass) {
  EXPECT_TRUE(c_->Expect("set d 0 0 1\r\nv\r\nset n 0 0 2\r\n10\r\n", "STORED\r\nSTORED\r\n"));
  EXPECT_TRUE(c_->Expect("incr n 1\r\ndecr n 1\r\ndecr n 1\r\n", "11\r\n10\r\n9\r\n"));
  EXPECT_TRUE(c_->Expect("touch n 100\r\ndelete d\r\ndelete d\r\nincr zz 1\r\n",
                         "TOUCHED\r\nDELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\n"));
  auto s = c_->Stats("slabs");
  EXPECT_EQ(s["1:incr_hits"], "1");
  EXPECT_EQ(s["1:decr_hits"], "2");
  EXPECT_EQ(s["1:touch_hits"], "1");
  EXPECT_EQ(s["1:delete_hits"], "1");
  EXPECT_EQ(s["1:cmd_set"], "2");
}

// `stats items` names of one class, in memcached 1.6.18's order, with the default options.
const std::vector<std::string> kItemsNames = {"number",
                                              "number_hot",
                                              "number_warm",
                                              "number_cold",
                                              "age_hot",
                                              "age_warm",
                                              "age",
                                              "mem_requested",
                                              "evicted",
                                              "evicted_nonzero",
                                              "evicted_time",
                                              "outofmemory",
                                              "tailrepairs",
                                              "reclaimed",
                                              "expired_unfetched",
                                              "evicted_unfetched",
                                              "evicted_active",
                                              "crawler_reclaimed",
                                              "crawler_items_checked",
                                              "lrutail_reflocked",
                                              "moves_to_cold",
                                              "moves_to_warm",
                                              "moves_within_lru",
                                              "direct_reclaims",
                                              "hits_to_hot",
                                              "hits_to_warm",
                                              "hits_to_cold",
                                              "hits_to_temp"};

TEST_F(StatsTest, ItemsForActiveClass) {
  EXPECT_TRUE(c_->Expect("set a 0 0 5\r\nhello\r\n", "STORED\r\n"));
  std::string reply = c_->Call("stats items\r\n");
  ExpectWellFormed(reply);
  auto s = c_->Stats("items");
  for (const std::string& f : kItemsNames) EXPECT_EQ(s.count("items:1:" + f), 1u) << f;
  EXPECT_EQ(s["items:1:number"], "1");
  EXPECT_EQ(s["items:1:evicted"], "0");
  // Only classes holding items are listed.
  for (const auto& [name, value] : s) EXPECT_EQ(name.rfind("items:1:", 0), 0u) << name;
}

// memcached 1.6.18 prints the LRU segment lines of `stats items` only with its LRU maintainer
// on, and number_temp only with temporary_ttl as well.
TEST_F(StatsTest, ItemsNamesFollowLruOptions) {
  const std::vector<std::string>& segmented = kItemsNames;
  auto prefixed = [](std::vector<std::string> names) {
    for (std::string& n : names) n = "items:1:" + n;
    return names;
  };
  std::vector<std::string> with_temp = segmented;
  with_temp.insert(with_temp.begin() + 4, "number_temp");
  const std::vector<std::string> plain =
      Without(segmented,
              {"number_hot", "number_warm", "number_cold", "age_hot", "age_warm", "evicted_active",
               "moves_to_cold", "moves_to_warm", "moves_within_lru", "direct_reclaims",
               "hits_to_hot", "hits_to_warm", "hits_to_cold", "hits_to_temp"});
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{}, segmented},
      {{"-o", "temporary_ttl=100"}, with_temp},
      {{"-o", "no_lru_maintainer"}, plain},
  };
  for (const auto& [args, expected] : cases) {
    ServerProcess other;
    ASSERT_TRUE(other.Start(args));
    Client c(other.port());
    ASSERT_TRUE(c.Expect("set a 0 0 5\r\nhello\r\n", "STORED\r\n"));
    EXPECT_EQ(StatNames(c.Call("stats items\r\n")), prefixed(expected))
        << (args.empty() ? "defaults" : args[1]);
  }
}

TEST_F(StatsTest, EmptyServerItemsIsJustEnd) {
  EXPECT_TRUE(c_->Expect("stats items\r\n", "END\r\n"));
}

TEST_F(StatsTest, Sizes) {
  EXPECT_TRUE(c_->Expect("stats sizes\r\n", "STAT sizes_status disabled\r\nEND\r\n"));
}

TEST_F(StatsTest, UnknownSubcommand) { EXPECT_TRUE(c_->Expect("stats bogus\r\n", "ERROR\r\n")); }

TEST_F(StatsTest, ResetZeroesCounters) {
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n1\r\nget a\r\nget b\r\n",
                         "STORED\r\nVALUE a 0 1\r\n1\r\nEND\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("stats reset\r\n", "RESET\r\n"));
  auto s = c_->Stats();
  for (const char* name : {"cmd_get", "cmd_set", "get_hits", "get_misses", "total_items",
                           "total_connections", "evictions", "rejected_connections"}) {
    EXPECT_EQ(s[name], "0") << name;
  }
  // bytes_read counts the `stats` line itself once it is read; it was reset below that.
  EXPECT_LT(Num(s, "bytes_read"), 20u);
  // Gauges are not counters and survive a reset.
  EXPECT_EQ(s["curr_items"], "1");
  EXPECT_GE(Num(s, "curr_connections"), 1u);
}

TEST_F(StatsTest, CachedumpListsItems) {
  EXPECT_TRUE(c_->Expect("set dumpme 0 0 5\r\nhello\r\n", "STORED\r\n"));
  // memcached dumps only the COLD segment of its LRU, which items reach asynchronously (the LRU
  // maintainer moves them), so poll with a deadline.
  std::string reply;
  EXPECT_TRUE(PollUntil(
      [&] {
        reply = c_->Call("stats cachedump 1 100\r\n");
        return reply == "ITEM dumpme [5 b; 0 s]\r\nEND\r\n";
      },
      Duration(5000), Duration(50)))
      << Escape(reply);
  EXPECT_TRUE(c_->Expect("stats cachedump 2 100\r\n", "END\r\n"));
}

TEST_F(StatsTest, CachedumpShowsAbsoluteExptime) {
  EXPECT_TRUE(c_->Expect("set e 0 1000 3\r\nabc\r\n", "STORED\r\n"));
  auto s = c_->Stats();
  const uint64_t now = Num(s, "time");
  std::string reply;
  ASSERT_TRUE(PollUntil(
      [&] {
        reply = c_->Call("stats cachedump 1 0\r\n");
        return reply.rfind("ITEM e [3 b; ", 0) == 0;
      },
      Duration(5000), Duration(50)))
      << Escape(reply);
  uint64_t exp = std::stoull(reply.substr(13));
  EXPECT_GE(exp, now + 998);
  EXPECT_LE(exp, now + 1002);
  EXPECT_EQ(reply.substr(reply.find(" s]")), " s]\r\nEND\r\n");
}

TEST_F(StatsTest, CachedumpErrors) {
  EXPECT_TRUE(c_->Expect("stats cachedump\r\n", "CLIENT_ERROR bad command line\r\n"));
  EXPECT_TRUE(c_->Expect("stats cachedump 1\r\n", "CLIENT_ERROR bad command line\r\n"));
  EXPECT_TRUE(c_->Expect("stats cachedump abc 1\r\n", "CLIENT_ERROR bad command line format\r\n"));
  EXPECT_TRUE(c_->Expect("stats cachedump 200 1\r\n", "CLIENT_ERROR Illegal slab id\r\n"));
}

}  // namespace
}  // namespace mcd::testing
