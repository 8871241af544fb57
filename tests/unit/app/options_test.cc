// Tests of the memcached command line: every option in its short and long forms, value forms,
// clusters, -o lists, --flagfile, defaults, memcached's checks and their messages and exit codes,
// options mcd refuses, the root check, and -h/-V/-i. Expected behaviour was taken from running
// memcached 1.6.18.
#include "mcd/app/options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mcd::app {
namespace {

constexpr unsigned kUser = 1000;
constexpr unsigned kRoot = 0;

struct Result {
  ParseOutcome outcome;
  AppOptions options;
  std::string message;
  int exit_code = -1;
  std::string Stat(const std::string& name) const {
    for (const auto& [k, v] : SettingsStats(options)) {
      if (k == name) return v;
    }
    return "<no stat " + name + ">";
  }
};

Result Parse(std::vector<std::string> args, unsigned euid = kUser) {
  args.insert(args.begin(), "memcached");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Result r;
  r.outcome = ParseCommandLineAs(euid, static_cast<int>(args.size()), argv.data(), &r.options,
                                 &r.message, &r.exit_code);
  return r;
}

std::string Join(const std::vector<std::string>& args) {
  std::string s;
  for (const std::string& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

// A temporary file removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char name[] = "/tmp/mcd_app_test_XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(OptionsDefaults, NoArgumentsGiveMemcachedDefaults) {
  Result r = Parse({});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.message, "");
  EXPECT_EQ(r.exit_code, 0);
  const AppOptions& o = r.options;
  EXPECT_EQ(o.cache.memory_limit, 64ull << 20);
  EXPECT_EQ(o.cache.page_size, 1u << 20);
  EXPECT_EQ(o.cache.chunk_min, 48u);
  EXPECT_DOUBLE_EQ(o.cache.growth_factor, 1.25);
  EXPECT_EQ(o.cache.slab_chunk_max, 0u);
  EXPECT_EQ(o.cache.hashpower, 16);
  EXPECT_TRUE(o.cache.use_cas);
  EXPECT_TRUE(o.cache.evict);
  EXPECT_FALSE(o.cache.prealloc);
  EXPECT_EQ(o.server.port, 11211);
  EXPECT_TRUE(o.server.listen.empty());
  EXPECT_EQ(o.server.backlog, 1024);
  EXPECT_EQ(o.server.threads, 4);
  EXPECT_EQ(o.server.max_connections, 1024);
  EXPECT_EQ(o.server.reqs_per_event, 20);
  EXPECT_EQ(o.server.verbosity, 0);
  EXPECT_TRUE(o.handler.flush_enabled);
  EXPECT_TRUE(o.handler.dump_enabled);
  EXPECT_FALSE(o.handler.shutdown_enabled);
  EXPECT_TRUE(o.handler.use_cas);
  EXPECT_EQ(o.handler.version, MCD_VERSION_STRING);
  EXPECT_EQ(o.handler.max_connections, 1024u);
  EXPECT_EQ(o.handler.threads, 4);
  EXPECT_EQ(o.user, "");
  EXPECT_FALSE(o.daemonize);
  EXPECT_EQ(o.pidfile, "");
  EXPECT_FALSE(o.lock_memory);
  EXPECT_FALSE(o.enable_coredumps);
  EXPECT_FALSE(o.large_pages);
  EXPECT_EQ(o.verbosity, 0);
  EXPECT_EQ(o.tcp_port, 11211);
  EXPECT_EQ(o.udp_port, 0);
  EXPECT_EQ(o.unix_socket, "");
  EXPECT_EQ(o.unix_mask, 0700);
  EXPECT_EQ(o.protocol, Protocol::kAuto);
  EXPECT_EQ(o.handler.binding, handler::Binding::kAuto);
  EXPECT_EQ(o.prefix_delimiter, ':');
  EXPECT_FALSE(o.detail_enabled);
  EXPECT_TRUE(o.watch_enabled);
  EXPECT_EQ(o.napi_ids, 0);
  EXPECT_EQ(o.ext.idle_timeout, 0);
  EXPECT_EQ(o.ext.hashpower_init, 0);
}

// `stats settings` of memcached 1.6.18 started with no options (tcpport 11211).
TEST(OptionsDefaults, SettingsStatsMatchMemcachedExactly) {
  const std::vector<std::pair<std::string, std::string>> kExpected = {
      {"maxbytes", "67108864"},
      {"maxconns", "1024"},
      {"tcpport", "11211"},
      {"udpport", "0"},
      {"inter", "NULL"},
      {"verbosity", "0"},
      {"oldest", "0"},
      {"evictions", "on"},
      {"domain_socket", "NULL"},
      {"umask", "700"},
      {"shutdown_command", "no"},
      {"growth_factor", "1.25"},
      {"chunk_size", "48"},
      {"num_threads", "4"},
      {"num_threads_per_udp", "4"},
      {"stat_key_prefix", ":"},
      {"detail_enabled", "no"},
      {"reqs_per_event", "20"},
      {"cas_enabled", "yes"},
      {"tcp_backlog", "1024"},
      {"binding_protocol", "auto-negotiate"},
      {"auth_enabled_sasl", "no"},
      {"auth_enabled_ascii", "no"},
      {"item_size_max", "1048576"},
      {"maxconns_fast", "yes"},
      {"hashpower_init", "0"},
      {"slab_reassign", "yes"},
      {"slab_automove", "1"},
      {"slab_automove_ratio", "0.80"},
      {"slab_automove_window", "30"},
      {"slab_chunk_max", "524288"},
      {"lru_crawler", "yes"},
      {"lru_crawler_sleep", "100"},
      {"lru_crawler_tocrawl", "0"},
      {"tail_repair_time", "0"},
      {"flush_enabled", "yes"},
      {"dump_enabled", "yes"},
      {"hash_algorithm", "murmur3"},
      {"lru_maintainer_thread", "yes"},
      {"lru_segmented", "yes"},
      {"hot_lru_pct", "20"},
      {"warm_lru_pct", "40"},
      {"hot_max_factor", "0.20"},
      {"warm_max_factor", "2.00"},
      {"temp_lru", "no"},
      {"temporary_ttl", "61"},
      {"idle_timeout", "0"},
      {"watcher_logbuf_size", "262144"},
      {"worker_logbuf_size", "65536"},
      {"read_buf_mem_limit", "0"},
      {"track_sizes", "no"},
      {"inline_ascii_response", "no"},
      {"ext_item_size", "512"},
      {"ext_item_age", "4294967295"},
      {"ext_low_ttl", "0"},
      {"ext_recache_rate", "2000"},
      {"ext_wbuf_size", "4194304"},
      {"ext_compact_under", "0"},
      {"ext_drop_under", "0"},
      {"ext_max_sleep", "1000000"},
      {"ext_max_frag", "0.80"},
      {"slab_automove_freeratio", "0.010"},
      {"ext_drop_unread", "no"},
      {"ssl_enabled", "no"},
      {"ssl_chain_cert", "(null)"},
      {"ssl_key", "(null)"},
      {"ssl_verify_mode", "0"},
      {"ssl_keyformat", "1"},
      {"ssl_ciphers", "NULL"},
      {"ssl_ca_cert", "NULL"},
      {"ssl_wbuf_size", "16384"},
      {"ssl_session_cache", "no"},
      {"ssl_kernel_tls", "no"},
      {"ssl_min_version", "tlsv1.2"},
      {"num_napi_ids", "(null)"},
      {"memory_file", "(null)"},
  };
  Result r = Parse({});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun);
  EXPECT_EQ(SettingsStats(r.options), kExpected);
  EXPECT_EQ(r.options.handler.settings, kExpected);
}

TEST(OptionsDefaults, RepeatedCallsStartFromDefaults) {
  Result a = Parse({"-p", "1234", "-vv", "-l", "127.0.0.1", "-o", "idle_timeout=5", "-C"});
  ASSERT_EQ(a.outcome, ParseOutcome::kRun) << a.message;
  EXPECT_EQ(a.options.tcp_port, 1234);
  EXPECT_EQ(a.options.server.idle_timeout, 5);   // the workers' sweep
  EXPECT_EQ(a.options.handler.idle_timeout, 5);  // `stats` shows idle_kicks
  Result b = Parse({"-l", "10.0.0.1"});
  ASSERT_EQ(b.outcome, ParseOutcome::kRun) << b.message;
  EXPECT_EQ(b.options.tcp_port, 11211);
  EXPECT_EQ(b.options.verbosity, 0);
  EXPECT_EQ(b.options.server.listen, std::vector<std::string>{"10.0.0.1"});
  EXPECT_EQ(b.options.ext.idle_timeout, 0);
  EXPECT_EQ(b.options.server.idle_timeout, 0);
  EXPECT_TRUE(b.options.cache.use_cas);
}

// ---------------------------------------------------------------------------------------------
// Accepted options, checked through `stats settings` (memcached's observable view of them).

struct StatCase {
  std::vector<std::string> args;
  std::string stat;
  std::string expected;
};

class OptionsStatTest : public testing::TestWithParam<StatCase> {};

TEST_P(OptionsStatTest, SetsStat) {
  const StatCase& c = GetParam();
  Result r = Parse(c.args);
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << Join(c.args) << ": " << r.message;
  EXPECT_EQ(r.Stat(c.stat), c.expected) << Join(c.args);
}

INSTANTIATE_TEST_SUITE_P(
    AllForms, OptionsStatTest,
    testing::Values(
        // -p: separate, attached, long with '=' or separate, unique prefix, gflags spelling
        StatCase{{"-p", "1234"}, "tcpport", "1234"}, StatCase{{"-p1234"}, "tcpport", "1234"},
        StatCase{{"--port=1234"}, "tcpport", "1234"},
        StatCase{{"--port", "1234"}, "tcpport", "1234"},
        StatCase{{"--por=1234"}, "tcpport", "1234"},
        StatCase{{"-p", "5x"}, "tcpport", "5"},  // read like atoi, as memcached does
        StatCase{{"-p", "0"}, "tcpport", "0"},
        StatCase{{"-p", "1", "-p", "2"}, "tcpport", "2"},  // last one wins
        StatCase{{"-p", "-1"}, "tcpport", "-1"},           // a port of the kernel's choice
        // As memcached: a UDP port given without a TCP port is the TCP port too.
        StatCase{{"-U", "1234"}, "tcpport", "1234"}, StatCase{{"-U", "-1"}, "tcpport", "-1"},
        StatCase{{"-U", "1234", "-p", "11211"}, "tcpport", "11211"},
        StatCase{{"-U", "0"}, "tcpport", "11211"}, StatCase{{"-U", "1234"}, "udpport", "1234"},
        StatCase{{"--udp-port=1234"}, "udpport", "1234"},
        StatCase{{"--udp_port=1234"}, "udpport", "1234"}, StatCase{{"-U", "abc"}, "udpport", "0"},
        StatCase{{"-s", "/tmp/s"}, "domain_socket", "/tmp/s"},
        StatCase{{"--unix-socket=/tmp/s"}, "domain_socket", "/tmp/s"},
        StatCase{{"-a", "777"}, "umask", "777"}, StatCase{{"-a", "0777"}, "umask", "777"},
        StatCase{{"-a", "1777"}, "umask", "1777"}, StatCase{{"-a", "77x"}, "umask", "77"},
        StatCase{{"-a", "8"}, "umask", "0"}, StatCase{{"--unix-mask=755"}, "umask", "755"},
        StatCase{{"-A"}, "shutdown_command", "yes"},
        StatCase{{"--enable-shutdown"}, "shutdown_command", "yes"},
        StatCase{{"-l", "127.0.0.1"}, "inter", "127.0.0.1"},
        StatCase{{"-l127.0.0.1"}, "inter", "127.0.0.1"},
        StatCase{{"-l", "127.0.0.1,127.0.0.2"}, "inter", "127.0.0.1,127.0.0.2"},
        StatCase{{"-l", "127.0.0.1", "-l", "127.0.0.2"}, "inter", "127.0.0.1,127.0.0.2"},
        StatCase{{"--listen=127.0.0.1", "--listen", "::1"}, "inter", "127.0.0.1,::1"},
        StatCase{{"-l", "[::1]:11300,127.0.0.1:11301"}, "inter", "[::1]:11300,127.0.0.1:11301"},
        StatCase{{"-m", "100"}, "maxbytes", "104857600"},
        StatCase{{"-m100"}, "maxbytes", "104857600"},
        StatCase{{"--memory-limit=100"}, "maxbytes", "104857600"},
        StatCase{{"--memory_limit=100"}, "maxbytes", "104857600"},
        StatCase{{"-m", "100m"}, "maxbytes", "104857600"},  // no suffixes: atoi reads 100
        StatCase{{"-m", "4096"}, "maxbytes", "4294967296"},
        StatCase{{"-m", "-1"}, "maxbytes", "18446744073708503040"},  // wraps as in memcached
        StatCase{{"-M"}, "evictions", "off"}, StatCase{{"--disable-evictions"}, "evictions", "off"},
        StatCase{{"-c", "50"}, "maxconns", "50"}, StatCase{{"--conn-limit=50"}, "maxconns", "50"},
        StatCase{{"-c", "5x"}, "maxconns", "5"}, StatCase{{"-v"}, "verbosity", "1"},
        StatCase{{"-vv"}, "verbosity", "2"}, StatCase{{"-vvv"}, "verbosity", "3"},
        StatCase{{"-v", "-v"}, "verbosity", "2"}, StatCase{{"--verbose"}, "verbosity", "1"},
        StatCase{{"--verbose=2"}, "verbosity", "1"},  // the value is ignored, as in memcached
        StatCase{{"--verbose", "--verbose"}, "verbosity", "2"},
        StatCase{{"-dvv"}, "verbosity", "2"}, StatCase{{"-vvd"}, "verbosity", "2"},
        StatCase{{"-vp1234"}, "tcpport", "1234"}, StatCase{{"-vp", "1234"}, "tcpport", "1234"},
        StatCase{{"-f", "1.5"}, "growth_factor", "1.50"},
        StatCase{{"--slab-growth-factor=2"}, "growth_factor", "2.00"},
        StatCase{{"-f", "1e1"}, "growth_factor", "10.00"},
        StatCase{{"-f", "2x"}, "growth_factor", "2.00"}, StatCase{{"-n", "30"}, "chunk_size", "30"},
        StatCase{{"--slab-min-size=30"}, "chunk_size", "30"},
        StatCase{{"-D", "#"}, "stat_key_prefix", "#"}, StatCase{{"-D#"}, "detail_enabled", "yes"},
        StatCase{{"-D", "ab"}, "stat_key_prefix", "a"},
        StatCase{{"-D", ":"}, "detail_enabled", "yes"}, StatCase{{"-t", "8"}, "num_threads", "8"},
        StatCase{{"--threads=8"}, "num_threads_per_udp", "8"},
        StatCase{{"-t", "5x"}, "num_threads", "5"}, StatCase{{"-R", "5"}, "reqs_per_event", "5"},
        StatCase{{"--max-reqs-per-event=5"}, "reqs_per_event", "5"},
        StatCase{{"-C"}, "cas_enabled", "no"}, StatCase{{"--disable-cas"}, "cas_enabled", "no"},
        StatCase{{"-b", "5"}, "tcp_backlog", "5"},
        StatCase{{"--listen-backlog=5"}, "tcp_backlog", "5"},
        StatCase{{"-b", "0"}, "tcp_backlog", "0"}, StatCase{{"-b", "-1"}, "tcp_backlog", "-1"},
        StatCase{{"-B", "ascii"}, "binding_protocol", "ascii"},
        StatCase{{"-B", "binary"}, "binding_protocol", "binary"},
        StatCase{{"--protocol=auto"}, "binding_protocol", "auto-negotiate"},
        StatCase{{"-I", "2m"}, "item_size_max", "2097152"},
        StatCase{{"-I", "2M"}, "item_size_max", "2097152"},
        StatCase{{"-I", "512k"}, "item_size_max", "524288"},
        StatCase{{"-I", "2097152"}, "item_size_max", "2097152"},
        StatCase{{"-I", "1.5m"}, "item_size_max", "1048576"},
        StatCase{{"--max-item-size=32m"}, "item_size_max", "33554432"},
        StatCase{{"-I", "1024m", "-m", "4096"}, "item_size_max", "1073741824"},
        StatCase{{"-F"}, "flush_enabled", "no"},
        StatCase{{"--disable-flush-all"}, "flush_enabled", "no"},
        StatCase{{"-X"}, "dump_enabled", "no"},
        StatCase{{"--disable-dumping"}, "dump_enabled", "no"},
        StatCase{{"-N", "2"}, "num_napi_ids", "2"}, StatCase{{"--napi-ids=2"}, "num_napi_ids", "2"},
        // non-option arguments are ignored; "--" ends the options
        StatCase{{"foo", "-p", "1234"}, "tcpport", "1234"},
        StatCase{{"--", "-p", "1234"}, "tcpport", "11211"},
        // -o, alone, in lists, repeated, long form
        StatCase{{"-o", "idle_timeout=30"}, "idle_timeout", "30"},
        StatCase{{"-oidle_timeout=30"}, "idle_timeout", "30"},
        StatCase{{"--extended=idle_timeout=30"}, "idle_timeout", "30"},
        StatCase{{"-o", "idle_timeout=10,idle_timeout=20"}, "idle_timeout", "20"},
        StatCase{{"-o", "track_sizes", "-o", "idle_timeout=7"}, "track_sizes", "yes"},
        StatCase{{"-o", "track_sizes,", "-o", "idle_timeout=7"}, "idle_timeout", "7"},
        StatCase{{"-o", ""}, "idle_timeout", "0"},
        StatCase{{"-o", "idle_timeout=-5"}, "idle_timeout", "-5"},
        StatCase{{"-o", "hashpower=20"}, "hashpower_init", "20"},
        StatCase{{"-o", "hashpower=20x"}, "hashpower_init", "20"},
        StatCase{{"-o", "no_maxconns_fast"}, "maxconns_fast", "no"},
        StatCase{{"-o", "maxconns_fast=0"}, "maxconns_fast", "yes"},  // switches ignore values
        StatCase{{"-o", "tail_repair_time=10"}, "tail_repair_time", "10"},
        StatCase{{"-o", "hash_algorithm=xxh3"}, "hash_algorithm", "xxh3"},
        StatCase{{"-o", "no_lru_crawler"}, "lru_crawler", "no"},
        StatCase{{"-o", "lru_crawler_sleep=50"}, "lru_crawler_sleep", "50"},
        StatCase{{"-o", "lru_crawler_sleep=abc"}, "lru_crawler_sleep", "0"},
        StatCase{{"-o", "lru_crawler_tocrawl=5"}, "lru_crawler_tocrawl", "5"},
        StatCase{{"-o", "read_buf_mem_limit=10"}, "read_buf_mem_limit", "10485760"},
        StatCase{{"-o", "no_lru_maintainer"}, "lru_segmented", "no"},
        StatCase{{"-o", "hot_lru_pct=1"}, "hot_lru_pct", "1"},
        StatCase{{"-o", "hot_lru_pct=40,warm_lru_pct=40"}, "warm_lru_pct", "40"},
        StatCase{{"-o", "hot_max_factor=0.5"}, "hot_max_factor", "0.50"},
        StatCase{{"-o", "warm_max_factor=3"}, "warm_max_factor", "3.00"},
        StatCase{{"-o", "temporary_ttl=30"}, "temp_lru", "yes"},
        StatCase{{"-o", "temporary_ttl=-1"}, "temporary_ttl", "4294967295"},
        StatCase{{"-o", "watcher_logbuf_size=128"}, "watcher_logbuf_size", "131072"},
        StatCase{{"-o", "worker_logbuf_size=48"}, "worker_logbuf_size", "49152"},
        StatCase{{"-o", "slab_chunk_max=16384"}, "slab_chunk_max", "16384"},
        StatCase{{"-o", "slab_sizes=100-200-300"}, "item_size_max", "1048576"},
        StatCase{{"-o", "no_hashexpand"}, "item_size_max", "1048576"},
        StatCase{{"-o", "modern"}, "slab_reassign", "yes"},
        StatCase{{"-o", "no_modern"}, "slab_reassign", "no"},
        StatCase{{"-o", "no_modern"}, "lru_maintainer_thread", "no"},
        StatCase{{"-o", "no_modern"}, "maxconns_fast", "no"},
        StatCase{{"-o", "no_modern"}, "hash_algorithm", "jenkins"},
        StatCase{{"-o", "no_modern,hash_algorithm=xxh3"}, "hash_algorithm", "xxh3"},
        StatCase{{"-o", "no_slab_reassign"}, "slab_reassign", "no"},
        StatCase{{"-o", "slab_automove=2"}, "slab_automove", "2"},
        StatCase{{"-o", "slab_automove=abc"}, "slab_automove", "0"},
        StatCase{{"-o", "no_slab_automove"}, "slab_automove", "0"},
        StatCase{{"-o", "slab_automove_ratio=0.5"}, "slab_automove_ratio", "0.50"},
        StatCase{{"-o", "slab_automove_window=3"}, "slab_automove_window", "3"},
        StatCase{{"-o", "slab_automove_freeratio=0.02"}, "slab_automove_freeratio", "0.020"},
        StatCase{{"-o", "inline_ascii_resp,no_inline_ascii_resp"}, "inline_ascii_response", "no"},
        StatCase{
            {"-o", "drop_privileges,no_drop_privileges,sock_cookie_id=5"}, "tcpport", "11211"}));

// Options that have no stat: checked on the structs.
TEST(OptionsStructs, SwitchesAndStrings) {
  Result r = Parse({"-d", "-r", "-k", "-L", "-W", "-u", "nobody", "-P", "/tmp/p.pid"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_TRUE(r.options.daemonize);
  EXPECT_TRUE(r.options.enable_coredumps);
  EXPECT_TRUE(r.options.lock_memory);
  // mlockall counts reserved address space: with -k only -m is reserved.
  EXPECT_EQ(r.options.cache.reserve_bytes, r.options.cache.memory_limit);
  EXPECT_EQ(Parse({"-m", "64"}).options.cache.reserve_bytes, 0u);
  EXPECT_TRUE(r.options.large_pages);
  EXPECT_TRUE(r.options.cache.prealloc);
  EXPECT_TRUE(r.options.cache.large_pages);
  EXPECT_FALSE(r.options.watch_enabled);
  EXPECT_EQ(r.options.user, "nobody");
  EXPECT_EQ(r.options.pidfile, "/tmp/p.pid");

  Result l = Parse({"--daemon", "--enable-coredumps", "--lock-memory", "--enable-largepages",
                    "--disable-watch", "--user=nobody", "--pidfile", "/tmp/p.pid"});
  ASSERT_EQ(l.outcome, ParseOutcome::kRun) << l.message;
  EXPECT_TRUE(l.options.daemonize);
  EXPECT_TRUE(l.options.enable_coredumps);
  EXPECT_TRUE(l.options.lock_memory);
  EXPECT_TRUE(l.options.large_pages);
  EXPECT_FALSE(l.options.watch_enabled);
  EXPECT_EQ(l.options.user, "nobody");
  EXPECT_EQ(l.options.pidfile, "/tmp/p.pid");
}

TEST(OptionsStructs, BindingProtocolReachesTheHandler) {
  EXPECT_EQ(Parse({"-B", "binary"}).options.handler.binding, handler::Binding::kBinary);
  EXPECT_EQ(Parse({"-B", "ascii"}).options.handler.binding, handler::Binding::kAscii);
  EXPECT_EQ(Parse({"--protocol=auto"}).options.handler.binding, handler::Binding::kAuto);
  EXPECT_EQ(Parse({"-B", "binary"}).outcome, ParseOutcome::kRun);
}

// no_modern and no_chunked_items give memcached's 1.4 layout: the largest chunk is a whole
// 1 MB page, so a value just under 1 MB is one chunk (t/lru.t counts on it). A slab_chunk_max
// given before no_modern wins; with -I above 1 MB the half-page default comes back.
TEST(OptionsStructs, NoModernMakesTheLargestChunkAWholePage) {
  struct Case {
    std::vector<std::string> args;
    uint32_t cache_chunk_max;
    std::string stat;
  };
  const Case cases[] = {
      {{"-o", "no_modern"}, 1u << 20, "1048576"},
      {{"-o", "no_chunked_items"}, 1u << 20, "1048576"},
      {{"-o", "slab_chunk_max=65536,no_modern"}, 65536u, "65536"},
      {{"-o", "no_modern,slab_chunk_max=65536"}, 65536u, "65536"},
      {{"-I", "2m", "-o", "no_modern"}, 0u, "524288"},
      {{"-o", "modern"}, 0u, "524288"},
  };
  for (const Case& c : cases) {
    Result r = Parse(c.args);
    ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
    EXPECT_EQ(r.options.cache.slab_chunk_max, c.cache_chunk_max) << c.args.back();
    EXPECT_EQ(r.Stat("slab_chunk_max"), c.stat) << c.args.back();
  }
  Result r = Parse({"-I", "512k", "-o", "no_modern"});
  EXPECT_EQ(r.outcome, ParseOutcome::kError);
  EXPECT_NE(r.message.find(
                "slab_chunk_max (bytes: 1048576) cannot be larger than -I (item_size_max 524288)"),
            std::string::npos)
      << r.message;
}

// memcached's test hook T_MEMD_INITIAL_MALLOC (t/64bit.t) reaches the cache options.
TEST(OptionsStructs, InitialMallocTestHook) {
  ASSERT_EQ(setenv("T_MEMD_INITIAL_MALLOC", "4294967328", 1), 0);
  Result r = Parse({"-m", "4098", "-M"});
  unsetenv("T_MEMD_INITIAL_MALLOC");
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.cache.initial_malloced, 4294967328ull);
  EXPECT_EQ(Parse({}).options.cache.initial_malloced, 0u);
}

TEST(OptionsStructs, DerivedValuesAreCopied) {
  Result r =
      Parse({"-vv", "-C",  "-c", "77", "-t", "3",  "-m", "128",
             "-F",  "-X",  "-A", "-M", "-I", "2m", "-n", "64",
             "-f",  "1.1", "-R", "9",  "-b", "33", "-o", "hashpower=18,slab_chunk_max=65536"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  const AppOptions& o = r.options;
  EXPECT_EQ(o.verbosity, 2);
  EXPECT_EQ(o.server.verbosity, 2);
  EXPECT_FALSE(o.cache.use_cas);
  EXPECT_FALSE(o.handler.use_cas);
  EXPECT_EQ(o.server.max_connections, 77);
  EXPECT_EQ(o.handler.max_connections, 77u);
  EXPECT_EQ(o.server.threads, 3);
  EXPECT_EQ(o.handler.threads, 3);
  EXPECT_EQ(o.cache.memory_limit, 128ull << 20);
  EXPECT_FALSE(o.handler.flush_enabled);
  EXPECT_FALSE(o.handler.dump_enabled);
  EXPECT_TRUE(o.handler.shutdown_enabled);
  EXPECT_FALSE(o.cache.evict);
  EXPECT_EQ(o.cache.item_size_max, 2u << 20);
  EXPECT_EQ(o.cache.page_size, 1u << 20);  // pages stay 1 MB, as in memcached 1.6
  EXPECT_EQ(o.cache.chunk_min, 64u);
  EXPECT_DOUBLE_EQ(o.cache.growth_factor, 1.1);
  EXPECT_EQ(o.server.reqs_per_event, 9);
  EXPECT_EQ(o.server.backlog, 33);
  EXPECT_EQ(o.cache.hashpower, 18);
  EXPECT_EQ(o.cache.slab_chunk_max, 65536u);
  EXPECT_EQ(o.handler.settings, SettingsStats(o));
}

TEST(OptionsStructs, ListenEntriesAreSplit) {
  Result r = Parse({"-l", "127.0.0.1,[::1]", "-l", "::1", "--listen=10.0.0.1:11300"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.server.listen,
            (std::vector<std::string>{"127.0.0.1", "[::1]", "::1", "10.0.0.1:11300"}));
}

TEST(OptionsStructs, UnixSocketDisablesTcp) {
  Result r = Parse({"-s", "/tmp/mcd.sock", "-a", "755"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.unix_socket, "/tmp/mcd.sock");
  EXPECT_EQ(r.options.unix_mask, 0755);
  EXPECT_EQ(r.options.server.port, 0);
  EXPECT_EQ(r.Stat("tcpport"), "11211");  // memcached still reports it
}

TEST(OptionsStructs, EphemeralPortsAndUdpPortAsTcpPort) {
  Result r = Parse({"-p", "-1", "-U", "-1"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.server.port, -1);
  EXPECT_EQ(r.options.server.udp_port, -1);
  r = Parse({"-U", "11300"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.server.port, 11300);
  EXPECT_EQ(r.options.server.udp_port, 11300);
  r = Parse({"-U", "11300", "-s", "/tmp/mcd.sock"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.server.port, 0);
  EXPECT_EQ(r.Stat("tcpport"), "11300");
}

TEST(OptionsStructs, ExtendedValues) {
  Result r = Parse({"-o", "slab_sizes=100-200-300,no_hashexpand,sock_cookie_id=7,drop_privileges"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.ext.slab_sizes, (std::vector<uint32_t>{100, 200, 300}));
  EXPECT_FALSE(r.options.ext.hash_expand);
  EXPECT_EQ(r.options.ext.sock_cookie_id, 7);
  EXPECT_TRUE(r.options.ext.drop_privileges);
}

TEST(OptionsWarnings, ManyThreadsWarnButRun) {
  Result r = Parse({"-t", "65"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun);
  EXPECT_NE(r.message.find("WARNING"), std::string::npos);
  EXPECT_EQ(Parse({"-t", "64"}).message, "");
}

TEST(OptionsWarnings, DeprecatedSubOption) {
  Result r = Parse({"-o", "resp_obj_mem_limit=10"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun);
  EXPECT_NE(r.message.find("DEPRECATED: resp_obj_mem_limit"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Errors: memcached's message and exit code.

struct ErrorCase {
  std::vector<std::string> args;
  int exit_code;
  std::string message;  // expected substring
};

class OptionsErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(OptionsErrorTest, Fails) {
  const ErrorCase& c = GetParam();
  Result r = Parse(c.args);
  ASSERT_EQ(r.outcome, ParseOutcome::kError) << Join(c.args);
  EXPECT_EQ(r.exit_code, c.exit_code) << Join(c.args);
  EXPECT_NE(r.message.find(c.message), std::string::npos) << Join(c.args) << " gave: " << r.message;
  EXPECT_EQ(r.message.back(), '\n');
}

INSTANTIATE_TEST_SUITE_P(
    Getopt, OptionsErrorTest,
    testing::Values(ErrorCase{{"--bogus"}, 1, "memcached: unrecognized option '--bogus'\n"},
                    ErrorCase{{"--bogus"}, 1, "Illegal argument \"?\""},
                    ErrorCase{{"--napi_idz=1"}, 1, "unrecognized option '--napi_idz=1'"},
                    ErrorCase{{"-j"}, 1, "memcached: invalid option -- 'j'"},
                    ErrorCase{{"-vj"}, 1, "invalid option -- 'j'"},
                    ErrorCase{{"-v2"}, 1, "invalid option -- '2'"},
                    ErrorCase{{"-p"}, 1, "memcached: option requires an argument -- 'p'"},
                    ErrorCase{{"-B"}, 1, "option requires an argument -- 'B'"},
                    ErrorCase{{"--port"}, 1, "memcached: option '--port' requires an argument"},
                    ErrorCase{
                        {"--disable-cas=1"}, 1, "option '--disable-cas' doesn't allow an argument"},
                    ErrorCase{{"--mem=100"},
                              1,
                              "option '--mem=100' is ambiguous; possibilities: '--memory-limit' "
                              "'--memory-file'"},
                    ErrorCase{{"--p", "1"}, 1, "option '--p' is ambiguous"}));

INSTANTIATE_TEST_SUITE_P(
    Values, OptionsErrorTest,
    testing::Values(
        ErrorCase{{"-t", "0"}, 1, "Number of threads must be greater than 0"},
        ErrorCase{{"-t", "-1"}, 1, "Number of threads must be greater than 0"},
        ErrorCase{{"--threads=abc"}, 1, "Number of threads must be greater than 0"},
        ErrorCase{{"-c", "0"}, 1, "Maximum connections must be greater than 0"},
        ErrorCase{{"-c", "abc"}, 1, "Maximum connections must be greater than 0"},
        ErrorCase{{"-n", "0"}, 1, "Chunk size must be greater than 0"},
        ErrorCase{{"-n", "-1"}, 1, "Chunk size must be greater than 0"},
        ErrorCase{{"-f", "1.0"}, 1, "Factor must be greater than 1"},
        ErrorCase{{"-f", "1"}, 1, "Factor must be greater than 1"},
        ErrorCase{{"-f", "0.5"}, 1, "Factor must be greater than 1"},
        ErrorCase{{"-f", "abc"}, 1, "Factor must be greater than 1"},
        ErrorCase{{"-R", "0"}, 1, "Number of requests per event must be greater than 0"},
        ErrorCase{{"-R", "-1"}, 1, "Number of requests per event must be greater than 0"},
        ErrorCase{{"-N", "0"}, 1, "Maximum number of NAPI IDs must be greater than 0"},
        ErrorCase{{"-B", "foo"}, 64, "Invalid value for binding protocol: foo"},
        ErrorCase{{"-m", "0"}, 64, "Cannot set item size limit higher than 1/2 of memory max."},
        ErrorCase{{"-m", "1"}, 64, "Cannot set item size limit higher than 1/2 of memory max."},
        ErrorCase{{"-m", "1g"}, 64, "Cannot set item size limit higher than 1/2 of memory max."},
        ErrorCase{{"-m", "abc"}, 64, "higher than 1/2 of memory max"},
        ErrorCase{{"-I", "1023"}, 64, "Item max size cannot be less than 1024 bytes."},
        ErrorCase{{"-I", "0"}, 64, "Item max size cannot be less than 1024 bytes."},
        ErrorCase{{"-I", "-1"}, 64, "Item max size cannot be less than 1024 bytes."},
        ErrorCase{{"-I", "1g"}, 64, "Item max size cannot be less than 1024 bytes."},
        ErrorCase{{"-I", "2x"}, 64, "Item max size cannot be less than 1024 bytes."},
        ErrorCase{{"-I", "2048m", "-m", "8192"}, 64, "cannot be less than 1024 bytes"},
        ErrorCase{{"-I", "0", "-m", "0"}, 64, "cannot be less than 1024 bytes"},
        ErrorCase{{"-I", "33m"}, 64, "Cannot set item size limit higher than 1/2 of memory max."},
        ErrorCase{{"-I", "2m", "-m", "3"}, 64, "higher than 1/2 of memory max"},
        ErrorCase{{"-I", "1025m", "-m", "4096"},
                  64,
                  "Cannot set item size limit higher than a gigabyte."},
        ErrorCase{{"-I", "1k"},
                  64,
                  "slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 1024)"},
        ErrorCase{{"-I", "1048577"},
                  64,
                  "-I (item_size_max: 1048577) must be evenly divisible by slab_chunk_max "
                  "(bytes: 524288)"},
        ErrorCase{{"-o", "slab_chunk_max=3000"},
                  64,
                  "-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max "
                  "(bytes: 3000)"},
        ErrorCase{{"-I", "4m", "-o", "slab_chunk_max=2097152"},
                  64,
                  "slab_chunk_max (bytes: 2097152) must divide evenly into 1048576 "
                  "(slab_page_size)"},
        ErrorCase{{"-p", "70000"}, 64, "ERROR: Invalid port number 70000."},
        ErrorCase{{"-p", "-2"}, 64, "ERROR: Invalid port number -2."},
        // -U alone sets -p too, and memcached then names the TCP port.
        ErrorCase{{"-U", "70000"}, 64, "ERROR: Invalid port number 70000."},
        ErrorCase{{"-p", "1", "-U", "70000"}, 64, "Invalid UDP port number 70000"},
        ErrorCase{{"-p", "1", "-U", "-2"}, 64, "Invalid UDP port number -2"},
        // memcached's order: item size before port
        ErrorCase{{"-p", "70000", "-I", "1"}, 64, "cannot be less than 1024 bytes"},
        ErrorCase{{"-t", "0", "-I", "1"}, 1, "Number of threads"}));

INSTANTIATE_TEST_SUITE_P(
    Extended, OptionsErrorTest,
    testing::Values(
        ErrorCase{{"-o", "bogus_opt"}, 1, "Illegal suboption \"bogus_opt\""},
        ErrorCase{{"-o", "bogus=1"}, 1, "Illegal suboption \"bogus=1\""},
        ErrorCase{{"-o", ","}, 1, "Illegal suboption \"\""},
        ErrorCase{{"-o", "track_sizes,,modern"}, 1, "Illegal suboption \"\""},
        ErrorCase{{"-o", "temp_lru"}, 1, "Illegal suboption \"temp_lru\""},
        ErrorCase{{"-o", "hashpower"}, 1, "Missing numeric argument for hashpower"},
        ErrorCase{{"-o", "hashpower=11"}, 1, "Initial hashtable multiplier of 11 is too low"},
        ErrorCase{{"-o", "hashpower=abc"}, 1, "Initial hashtable multiplier of 0 is too low"},
        ErrorCase{{"-o", "hashpower=33"}, 1, "Initial hashtable multiplier of 33 is too high"},
        ErrorCase{{"-o", "hashpower=12"},
                  1,
                  "Hash table power size (12) cannot be equal to or less than item lock table "
                  "(12)"},
        ErrorCase{{"-t", "5", "-o", "hashpower=13"}, 1, "item lock table (13)"},
        ErrorCase{{"-t", "11", "-o", "hashpower=14"}, 1, "item lock table (14)"},
        ErrorCase{{"-t", "21", "-o", "hashpower=15"}, 1, "item lock table (15)"},
        ErrorCase{
            {"-o", "tail_repair_time=5"}, 1, "Cannot set tail_repair_time to less than 10 seconds"},
        ErrorCase{{"-o", "hash_algorithm=foo"},
                  1,
                  "Unknown hash_algorithm option (jenkins, murmur3, xxh3)"},
        ErrorCase{{"-o", "hash_algorithm"}, 1, "Missing hash_algorithm argument"},
        ErrorCase{{"-o", "lru_crawler_sleep=2000000"},
                  1,
                  "LRU crawler sleep must be between 0 and 1 second"},
        ErrorCase{{"-o", "lru_crawler_sleep=-1"}, 1, "LRU crawler sleep must be between"},
        ErrorCase{{"-o", "lru_crawler_tocrawl=abc"},
                  1,
                  "lru_crawler_tocrawl takes a numeric 32bit value"},
        ErrorCase{
            {"-o", "read_buf_mem_limit=abc"}, 1, "could not parse argument to read_buf_mem_limit"},
        ErrorCase{{"-o", "read_buf_mem_limit=-1"}, 1, "could not parse argument"},
        ErrorCase{{"-o", "read_buf_mem_limit=5x"}, 1, "could not parse argument"},
        ErrorCase{{"-o", "watcher_logbuf_size=abc"},
                  1,
                  "could not parse argument to watcher_logbuf_size"},
        ErrorCase{
            {"-o", "worker_logbuf_size=abc"}, 1, "could not parse argument to worker_logbuf_size"},
        ErrorCase{{"-o", "slab_chunk_max=16k"}, 1, "could not parse argument to slab_chunk_max"},
        ErrorCase{{"-o", "slab_chunk_max=0"}, 1, "could not parse argument to slab_chunk_max"},
        ErrorCase{{"-o", "hot_lru_pct=0"}, 1, "hot_lru_pct must be > 1 and < 80"},
        ErrorCase{{"-o", "hot_lru_pct=80"}, 1, "hot_lru_pct must be > 1 and < 80"},
        ErrorCase{{"-o", "warm_lru_pct=80"}, 1, "warm_lru_pct must be > 1 and < 80"},
        ErrorCase{{"-o", "hot_lru_pct=50,warm_lru_pct=50"},
                  64,
                  "hot_lru_pct + warm_lru_pct cannot be more than 80% combined"},
        ErrorCase{{"-o", "hot_max_factor=0"}, 1, "hot_max_factor must be > 0"},
        ErrorCase{{"-o", "warm_max_factor=abc"}, 1, "warm_max_factor must be > 0"},
        ErrorCase{{"-o", "slab_automove=3"}, 1, "slab_automove must be between 0 and 2"},
        ErrorCase{{"-o", "slab_automove_ratio=1"}, 1, "slab_automove_ratio must be > 0 and < 1"},
        ErrorCase{{"-o", "slab_automove_window=2"}, 1, "slab_automove_window must be > 2"},
        ErrorCase{{"-o", "slab_automove_freeratio=abc"},
                  1,
                  "could not parse argument to slab_automove_freeratio"},
        ErrorCase{{"-o", "idle_timeout"}, 1, "Missing numeric argument for idle_timeout"},
        ErrorCase{{"-o", "slab_sizes=47"}, 64, "slab size 47 is out of valid range"},
        ErrorCase{{"-o", "slab_sizes=100-524289"}, 64, "slab size 524289 is out of valid range"},
        ErrorCase{{"-n", "100", "-o", "slab_sizes=60"}, 64, "slab size 60 is out of valid range"},
        ErrorCase{{"-o", "slab_sizes=300-200"},
                  64,
                  "slab size 200 cannot be lower than or equal to a previous class size"}));

// Capabilities mcd does not have are refused, never ignored.
INSTANTIATE_TEST_SUITE_P(
    Unsupported, OptionsErrorTest,
    testing::Values(ErrorCase{{"-S"}, 64, "-S (--enable-sasl) is not supported"},
                    ErrorCase{{"--enable-sasl"}, 64, "-S (--enable-sasl) is not supported"},
                    ErrorCase{{"-Z"}, 64, "-Z (--enable-ssl) is not supported"},
                    ErrorCase{{"--enable-ssl"}, 64, "-Z (--enable-ssl) is not supported"},
                    ErrorCase{{"-e", "/tmp/x"}, 64, "-e (--memory-file) is not supported"},
                    ErrorCase{{"--memory-file=/tmp/x"}, 64, "-e (--memory-file)"},
                    ErrorCase{{"-Y", "/tmp/x"}, 64, "-Y (--auth-file) is not supported"},
                    ErrorCase{{"--auth-file", "/tmp/x"}, 64, "-Y (--auth-file)"},
                    ErrorCase{{"-o", "ext_path=/tmp/x:64m"},
                              64,
                              "-o ext_path: external storage (extstore) is not supported"},
                    ErrorCase{{"-o", "ext_threads=2"}, 64, "-o ext_threads: external storage"},
                    ErrorCase{{"-o", "ext_drop_unread"}, 64, "-o ext_drop_unread"},
                    ErrorCase{
                        {"-o", "ssl_chain_cert=/x"}, 64, "-o ssl_chain_cert: TLS is not supported"},
                    ErrorCase{{"-o", "ssl_session_cache"}, 64, "-o ssl_session_cache: TLS"},
                    ErrorCase{{"-o", "idle_timeout=5,ssl_key=/x"}, 64, "-o ssl_key"}));

// ---------------------------------------------------------------------------------------------
// Root

TEST(OptionsRoot, RootWithoutUserIsRefused) {
  Result r = Parse({"-p", "1234"}, kRoot);
  ASSERT_EQ(r.outcome, ParseOutcome::kError);
  EXPECT_EQ(r.message, "can't run as root without the -u switch\n");
  EXPECT_EQ(r.exit_code, 64);
}

TEST(OptionsRoot, RootWithUserRuns) {
  Result r = Parse({"-u", "nobody"}, kRoot);
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.user, "nobody");
  EXPECT_EQ(Parse({"--user=nobody"}, kRoot).outcome, ParseOutcome::kRun);
}

TEST(OptionsRoot, NonRootNeedsNoUser) { EXPECT_EQ(Parse({}, kUser).outcome, ParseOutcome::kRun); }

TEST(OptionsRoot, OtherErrorsComeFirst) {
  Result r = Parse({"-I", "1"}, kRoot);
  EXPECT_NE(r.message.find("less than 1024"), std::string::npos) << r.message;
  EXPECT_EQ(Parse({"-h"}, kRoot).outcome, ParseOutcome::kExitSuccess);
}

// ---------------------------------------------------------------------------------------------
// -h, -V, -i

TEST(OptionsInfo, HelpAndVersion) {
  for (const char* h : {"-h", "--help", "--he"}) {
    Result r = Parse({h});
    EXPECT_EQ(r.outcome, ParseOutcome::kExitSuccess) << h;
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.message, HelpText()) << h;
  }
  for (const char* v : {"-V", "--version"}) {
    Result r = Parse({v});
    EXPECT_EQ(r.outcome, ParseOutcome::kExitSuccess) << v;
    EXPECT_EQ(r.message, std::string("memcached ") + MCD_VERSION_STRING + "\n");
  }
  for (const char* i : {"-i", "--license"}) {
    Result r = Parse({i});
    EXPECT_EQ(r.outcome, ParseOutcome::kExitSuccess) << i;
    EXPECT_EQ(r.message, LicenseText());
  }
  EXPECT_EQ(VersionText(), std::string("memcached ") + MCD_VERSION_STRING + "\n");
}

TEST(OptionsInfo, HelpStopsReadingLikeMemcached) {
  EXPECT_EQ(Parse({"-h", "--bogus"}).outcome, ParseOutcome::kExitSuccess);
  EXPECT_EQ(Parse({"--bogus", "-h"}).outcome, ParseOutcome::kError);
  EXPECT_EQ(Parse({"-t", "0", "-h"}).outcome, ParseOutcome::kError);  // checked while reading
  EXPECT_EQ(Parse({"-B", "foo", "-h"}).outcome, ParseOutcome::kError);
  EXPECT_EQ(Parse({"-I", "1", "-h"}).outcome, ParseOutcome::kExitSuccess);  // checked after
  EXPECT_EQ(Parse({"-S", "-h"}).outcome, ParseOutcome::kExitSuccess);
  EXPECT_EQ(Parse({"-dh"}).outcome, ParseOutcome::kExitSuccess);
  EXPECT_EQ(Parse({"-V", "-h"}).message, VersionText());
}

TEST(OptionsInfo, HelpShowsValuesGivenBefore) {
  Result r = Parse({"-p", "1234", "-m", "100", "-c", "5", "-t", "3", "-U", "5", "-f", "1.5", "-n",
                    "30", "-a", "777", "-h"});
  ASSERT_EQ(r.outcome, ParseOutcome::kExitSuccess);
  for (const char* s :
       {"(default: 1234)", "(default: 100)", "(default: 5)", "(default: 3)", "(default: 5, off)",
        "(default: 1.50)", "(default: 30)", "(default: 777)"}) {
    EXPECT_NE(r.message.find(s), std::string::npos) << s;
  }
}

TEST(OptionsInfo, HelpListsEveryOption) {
  std::string h = HelpText();
  EXPECT_EQ(h.rfind(VersionText(), 0), 0u);
  for (const char* opt : {"-p, --port=",
                          "-U, --udp-port=",
                          "-s, --unix-socket=",
                          "-a, --unix-mask=",
                          "-A, --enable-shutdown",
                          "-l, --listen=",
                          "-d, --daemon",
                          "-r, --enable-coredumps",
                          "-u, --user=",
                          "-m, --memory-limit=",
                          "-M, --disable-evictions",
                          "-c, --conn-limit=",
                          "-k, --lock-memory",
                          "-v, --verbose",
                          "-vv",
                          "-vvv",
                          "-h, --help",
                          "-i, --license",
                          "-V, --version",
                          "-P, --pidfile=",
                          "-f, --slab-growth-factor=",
                          "-n, --slab-min-size=",
                          "-L, --enable-largepages",
                          "-D <char>",
                          "-t, --threads=",
                          "-R, --max-reqs-per-event",
                          "-C, --disable-cas",
                          "-b, --listen-backlog=",
                          "-B, --protocol=",
                          "-I, --max-item-size=",
                          "-S, --enable-sasl",
                          "-F, --disable-flush-all",
                          "-X, --disable-dumping",
                          "-W, --disable-watch",
                          "-Y, --auth-file=",
                          "-e, --memory-file=",
                          "-Z, --enable-ssl",
                          "-o, --extended",
                          "-N, --napi-ids",
                          "maxconns_fast",
                          "hashpower",
                          "tail_repair_time",
                          "hash_algorithm",
                          "no_lru_crawler",
                          "lru_crawler_sleep",
                          "lru_crawler_tocrawl",
                          "read_buf_mem_limit",
                          "no_lru_maintainer",
                          "hot_lru_pct",
                          "warm_lru_pct",
                          "hot_max_factor",
                          "warm_max_factor",
                          "temporary_ttl",
                          "idle_timeout",
                          "slab_chunk_max",
                          "watcher_logbuf_size",
                          "worker_logbuf_size",
                          "track_sizes",
                          "no_hashexpand",
                          "modern",
                          "no_modern",
                          "sock_cookie_id",
                          "(default: 11211)",
                          "(default: 64)",
                          "(default: 1024)",
                          "(default: 1.25)",
                          "(default: 48)",
                          "(default: 4)",
                          "(default: 20)",
                          "(default: 700)",
                          "(default: 0, off)",
                          "(default: 1m, min: 1k, max: 1024m)"}) {
    EXPECT_NE(h.find(opt), std::string::npos) << opt;
  }
}

// ---------------------------------------------------------------------------------------------
// --flagfile

TEST(OptionsFlagfile, ReadsEveryForm) {
  TempFile f(
      "# comment\n"
      "\n"
      "--port=1234\n"
      "--memory_limit=100\n"
      "  -c 77  \n"
      "-t3\n"
      "--listen 127.0.0.1\n"
      "-vv\n"
      "--extended=idle_timeout=9,track_sizes\n"
      "--disable_cas=true\n"
      "--nodisable_evictions\n"
      "--daemon=false\n");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--flagfile=" + f.path()},
                                               std::vector<std::string>{"--flagfile", f.path()}}) {
    Result r = Parse(args);
    ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
    EXPECT_EQ(r.options.tcp_port, 1234);
    EXPECT_EQ(r.options.cache.memory_limit, 100ull << 20);
    EXPECT_EQ(r.options.server.max_connections, 77);
    EXPECT_EQ(r.options.server.threads, 3);
    EXPECT_EQ(r.options.server.listen, std::vector<std::string>{"127.0.0.1"});
    EXPECT_EQ(r.options.verbosity, 2);
    EXPECT_EQ(r.options.ext.idle_timeout, 9);
    EXPECT_TRUE(r.options.ext.track_sizes);
    EXPECT_FALSE(r.options.cache.use_cas);
    EXPECT_TRUE(r.options.cache.evict);
    EXPECT_FALSE(r.options.daemonize);
  }
}

TEST(OptionsFlagfile, OrderAndAccumulationWithCommandLine) {
  TempFile f("--port=1234\n-l 127.0.0.1\n--verbose=3\n");
  Result r = Parse({"-l", "10.0.0.1", "--flagfile=" + f.path(), "-p", "999", "-v"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.tcp_port, 999);  // later on the command line wins
  EXPECT_EQ(r.options.server.listen, (std::vector<std::string>{"10.0.0.1", "127.0.0.1"}));
  EXPECT_EQ(r.options.verbosity, 4);  // --verbose=N in a flagfile sets N, then -v adds one
}

TEST(OptionsFlagfile, Nested) {
  TempFile inner("--port=4321\n");
  TempFile outer("--flagfile=" + inner.path() + "\n-t 2\n");
  Result r = Parse({"--flagfile=" + outer.path()});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.tcp_port, 4321);
  EXPECT_EQ(r.options.server.threads, 2);
}

TEST(OptionsFlagfile, SelfInclusionIsRefused) {
  TempFile f("");
  std::ofstream(f.path()) << "--flagfile=" << f.path() << "\n";
  Result r = Parse({"--flagfile=" + f.path()});
  EXPECT_EQ(r.outcome, ParseOutcome::kError);
  EXPECT_NE(r.message.find("nested too deeply"), std::string::npos) << r.message;
}

TEST(OptionsFlagfile, Errors) {
  Result missing = Parse({"--flagfile=/nonexistent/mcd.flags"});
  EXPECT_EQ(missing.outcome, ParseOutcome::kError);
  EXPECT_NE(missing.message.find("cannot read flagfile '/nonexistent/mcd.flags'"),
            std::string::npos);
  EXPECT_EQ(missing.exit_code, 1);

  EXPECT_EQ(Parse({"--flagfile"}).outcome, ParseOutcome::kError);

  TempFile bad_line("port=1\n");
  EXPECT_EQ(Parse({"--flagfile=" + bad_line.path()}).outcome, ParseOutcome::kError);

  TempFile bad_option("--bogus=1\n");
  Result b = Parse({"--flagfile=" + bad_option.path()});
  EXPECT_EQ(b.outcome, ParseOutcome::kError);
  EXPECT_NE(b.message.find("unrecognized option '--bogus=1'"), std::string::npos);

  TempFile bad_value("-t 0\n");
  EXPECT_NE(Parse({"--flagfile=" + bad_value.path()}).message.find("Number of threads"),
            std::string::npos);

  TempFile bad_bool("--daemon=maybe\n");
  EXPECT_EQ(Parse({"--flagfile=" + bad_bool.path()}).outcome, ParseOutcome::kError);
}

}  // namespace
}  // namespace mcd::app

namespace mcd::app {
namespace {

// Regression: -o track_sizes was parsed but never reached the handler, so `stats sizes` stayed
// disabled.
TEST(OptionsStructs, TrackSizesReachesTheHandler) {
  Result off = Parse({});
  ASSERT_EQ(off.outcome, ParseOutcome::kRun) << off.message;
  EXPECT_FALSE(off.options.handler.track_sizes);
  Result on = Parse({"-o", "track_sizes"});
  ASSERT_EQ(on.outcome, ParseOutcome::kRun) << on.message;
  EXPECT_TRUE(on.options.handler.track_sizes);
}

// Regression (found by tests/fuzz/fuzz_command_line): -f nan passed the growth factor check
// (`nan <= 1.0` is false), leaving a factor from which no slab class size can be computed.
TEST(OptionsRegression, GrowthFactorNanIsRefused) {
  for (const char* f : {"nan", "NAN", "-nan", "nan(0x1)"}) {
    Result r = Parse({"-f", f});
    EXPECT_EQ(r.outcome, ParseOutcome::kError) << f;
    EXPECT_EQ(r.exit_code, 1) << f;
    EXPECT_NE(r.message.find("Factor must be greater than 1"), std::string::npos) << f;
    Result long_form = Parse({"--slab-growth-factor=" + std::string(f)});
    EXPECT_EQ(long_form.outcome, ParseOutcome::kError) << f;
  }
  // memcached accepts an infinite or huge factor (one class, then the largest); so does mcd.
  for (const char* f : {"inf", "1e300"}) {
    Result r = Parse({"-f", f});
    ASSERT_EQ(r.outcome, ParseOutcome::kRun) << f << ": " << r.message;
    EXPECT_GT(r.options.cache.growth_factor, 1e299) << f;
  }
}

}  // namespace
}  // namespace mcd::app

namespace mcd::app {
namespace {

TEST(OptionsStructs, SlabSizesAndNoHashExpandReachTheCache) {
  Result d = Parse({});
  ASSERT_EQ(d.outcome, ParseOutcome::kRun) << d.message;
  EXPECT_TRUE(d.options.cache.slab_sizes.empty());
  EXPECT_TRUE(d.options.cache.hash_expand);
  Result r = Parse({"-o", "slab_sizes=100-200-300,no_hashexpand"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_EQ(r.options.cache.slab_sizes, (std::vector<uint32_t>{100, 200, 300}));
  EXPECT_FALSE(r.options.cache.hash_expand);
}

}  // namespace
}  // namespace mcd::app

namespace mcd::app {
namespace {

// The switches that decide which `stats` lines memcached prints reach the handler.
TEST(OptionsStructs, StatsListSwitchesReachTheHandler) {
  Result d = Parse({});
  ASSERT_EQ(d.outcome, ParseOutcome::kRun) << d.message;
  const handler::HandlerOptions& h = d.options.handler;
  EXPECT_TRUE(h.maxconns_fast);
  EXPECT_TRUE(h.slab_reassign);
  EXPECT_TRUE(d.options.cache.lru_crawler);  // the crawler's own state decides its lines
  EXPECT_EQ(d.options.cache.lru_crawler_sleep, 100u);
  EXPECT_EQ(d.options.cache.lru_crawler_tocrawl, 0u);
  EXPECT_TRUE(h.lru_maintainer);
  EXPECT_FALSE(h.temp_lru);
  Result r = Parse({"-o", "no_maxconns_fast,no_slab_reassign,no_lru_crawler,no_lru_maintainer"});
  ASSERT_EQ(r.outcome, ParseOutcome::kRun) << r.message;
  EXPECT_FALSE(r.options.handler.maxconns_fast);
  EXPECT_FALSE(r.options.handler.slab_reassign);
  EXPECT_FALSE(r.options.cache.lru_crawler);
  EXPECT_FALSE(r.options.handler.lru_maintainer);
  Result m = Parse({"-o", "no_modern"});
  ASSERT_EQ(m.outcome, ParseOutcome::kRun) << m.message;
  EXPECT_FALSE(m.options.handler.maxconns_fast);
  EXPECT_FALSE(m.options.handler.slab_reassign);
  EXPECT_FALSE(m.options.cache.lru_crawler);
  EXPECT_FALSE(m.options.handler.lru_maintainer);
  Result c = Parse({"-o", "lru_crawler_sleep=0,lru_crawler_tocrawl=7"});
  ASSERT_EQ(c.outcome, ParseOutcome::kRun) << c.message;
  EXPECT_EQ(c.options.cache.lru_crawler_sleep, 0u);
  EXPECT_EQ(c.options.cache.lru_crawler_tocrawl, 7u);
  Result t = Parse({"-o", "temporary_ttl=30"});
  ASSERT_EQ(t.outcome, ParseOutcome::kRun) << t.message;
  EXPECT_TRUE(t.options.handler.temp_lru);
}

}  // namespace
}  // namespace mcd::app
