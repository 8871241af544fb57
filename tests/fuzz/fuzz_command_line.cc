// Fuzz target for the command line: app::ParseCommandLineAs over an argv and a --flagfile built
// from the input.
//
// Input: byte 0 bit 0 picks the effective uid (0 = root, else 1000). The rest is split at the
// first "\0\0": before it, the arguments (split on NUL; argv[0] is "memcached"); after it, the
// contents of a flagfile. "@F" in an argument or in the flagfile is replaced by the flagfile's
// path (a memfd), so inputs can pass --flagfile=@F, and a flagfile can include itself.
//
// Invariants:
// - the outcome is one of the three; kRun and kExitSuccess exit 0, kExitSuccess prints
//   something, kError prints a message and exits 1 or 64 (memcached's codes);
// - on kRun the option structs are usable: threads >= 1 (the same in server and handler),
//   connections and requests per event >= 1, item size 1 KB..1 GB and at most half of -m,
//   growth factor > 1 (not nan), chunk size >= 1, hashpower 12..32 when given (cache 1..32),
//   slab_chunk_max dividing -I, slab_sizes increasing within range, ports 0..65535, LRU
//   percentages 1..79 summing to at most 80, crawler sleep 0..1000000 and the crawler's switch,
//   sleep and tocrawl passed to the cache, root only with -u, -B passed to the handler;
// - parsing is repeatable: the same arguments give the same outcome, message, exit code and
//   `stats settings`, and a fixed command line parsed afterwards gives what it gave before the
//   first input (gflags' global flags are restored after every call).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_util.h"
#include "mcd/app/options.h"

namespace mcd::fuzz {
namespace {

using app::AppOptions;
using app::ParseOutcome;

struct Result {
  ParseOutcome outcome = ParseOutcome::kError;
  std::string message;
  int exit_code = -1;
  std::vector<std::pair<std::string, std::string>> settings;

  bool operator==(const Result& o) const {
    return outcome == o.outcome && message == o.message && exit_code == o.exit_code &&
           settings == o.settings;
  }
};

Result Parse(unsigned euid, const std::vector<std::string>& args, AppOptions* opts) {
  std::vector<std::string> storage = args;
  std::vector<char*> argv;
  for (std::string& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  Result r;
  r.outcome = app::ParseCommandLineAs(euid, static_cast<int>(storage.size()), argv.data(), opts,
                                      &r.message, &r.exit_code);
  if (r.outcome == ParseOutcome::kRun) r.settings = opts->handler.settings;
  return r;
}

std::string ReplaceAll(std::string s, std::string_view from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

void CheckRun(unsigned euid, const AppOptions& o, const std::string& ctx) {
  const auto& c = o.cache;
  const auto& e = o.ext;
  FUZZ_CHECK(o.server.threads >= 1 && o.handler.threads == o.server.threads, ctx);
  FUZZ_CHECK(o.server.max_connections >= 1, ctx);
  FUZZ_CHECK(o.handler.max_connections == static_cast<uint64_t>(o.server.max_connections), ctx);
  FUZZ_CHECK(o.server.reqs_per_event >= 1, ctx);
  FUZZ_CHECK(c.page_size == (1u << 20), ctx);  // pages stay 1 MB whatever -I says
  FUZZ_CHECK(c.item_size_max >= 1024 && c.item_size_max <= (1u << 30), ctx);
  FUZZ_CHECK(c.memory_limit / 2 >= c.item_size_max, ctx);
  FUZZ_CHECK(c.growth_factor > 1.0, ctx);  // false for nan; inf is memcached's too
  FUZZ_CHECK(o.chunk_size >= 1 && c.chunk_min == static_cast<uint32_t>(o.chunk_size), ctx);
  FUZZ_CHECK(c.hashpower >= 1 && c.hashpower <= 32, ctx);
  FUZZ_CHECK(e.hashpower_init == 0 || (e.hashpower_init >= 12 && e.hashpower_init <= 32), ctx);
  FUZZ_CHECK(e.slab_chunk_max > 0 && e.slab_chunk_max <= c.page_size, ctx);
  FUZZ_CHECK(e.slab_chunk_max <= c.item_size_max, ctx);
  FUZZ_CHECK(c.item_size_max % e.slab_chunk_max == 0, ctx);
  FUZZ_CHECK(
      c.slab_chunk_max == (e.slab_chunk_max_set || e.slab_chunk_max_page ? e.slab_chunk_max : 0),
      ctx);
  uint32_t previous = 0;
  for (uint32_t size : e.slab_sizes) {
    FUZZ_CHECK(size > previous && size >= c.chunk_min && size <= e.slab_chunk_max, ctx);
    previous = size;
  }
  // -1 asks the kernel for a port, as in memcached.
  FUZZ_CHECK(o.tcp_port >= -1 && o.tcp_port <= 65535, ctx);
  FUZZ_CHECK(o.udp_port >= -1 && o.udp_port <= 65535, ctx);
  FUZZ_CHECK(e.hot_lru_pct >= 1 && e.hot_lru_pct < 80, ctx);
  FUZZ_CHECK(e.warm_lru_pct >= 1 && e.warm_lru_pct < 80, ctx);
  FUZZ_CHECK(e.hot_lru_pct + e.warm_lru_pct <= 80, ctx);
  FUZZ_CHECK(e.lru_crawler_sleep >= 0 && e.lru_crawler_sleep <= 1000000, ctx);
  // The crawler's switch and pace reach the cache, which paces and reports them.
  FUZZ_CHECK(c.lru_crawler == e.lru_crawler, ctx);
  FUZZ_CHECK(c.lru_crawler_sleep == static_cast<uint32_t>(e.lru_crawler_sleep), ctx);
  FUZZ_CHECK(c.lru_crawler_tocrawl == e.lru_crawler_tocrawl, ctx);
  FUZZ_CHECK(euid != 0 || !o.user.empty(), ctx);
  // -B reaches the handler, which picks each connection's protocol from it.
  const handler::Binding binding = o.protocol == app::Protocol::kAscii ? handler::Binding::kAscii
                                   : o.protocol == app::Protocol::kBinary
                                       ? handler::Binding::kBinary
                                       : handler::Binding::kAuto;
  FUZZ_CHECK(o.handler.binding == binding, ctx);
  FUZZ_CHECK(o.verbosity >= 0 && o.server.verbosity == o.verbosity, ctx);
  FUZZ_CHECK(!o.handler.settings.empty(), ctx);
}

// The path of a memfd holding the flagfile: rewritten for every input, no file system litter.
const std::string& FlagfilePath(int* fd_out) {
  static int fd = memfd_create("mcd_fuzz_flagfile", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  *fd_out = fd;
  return path;
}

}  // namespace
}  // namespace mcd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mcd::app::AppOptions;
  using mcd::app::ParseOutcome;
  using mcd::fuzz::ByteReader;
  using mcd::fuzz::Escape;
  using mcd::fuzz::Parse;
  using mcd::fuzz::Result;

  int fd = -1;
  const std::string& path = mcd::fuzz::FlagfilePath(&fd);
  FUZZ_CHECK(fd >= 0, "memfd_create failed");
  static const std::vector<std::string> kBaselineArgs = {"memcached", "-u", "nobody", "-m", "128"};
  static const Result baseline = [] {
    AppOptions o;
    return Parse(0, kBaselineArgs, &o);
  }();

  ByteReader reader(data, size);
  const unsigned euid = (reader.Byte() & 1) != 0 ? 1000 : 0;
  const std::string_view rest = reader.Rest();
  const size_t sep = rest.find(std::string_view("\0\0", 2));
  const std::string_view arg_bytes = rest.substr(0, sep);
  const std::string flagfile =
      sep == std::string_view::npos ? std::string() : std::string(rest.substr(sep + 2));

  std::vector<std::string> args = {"memcached"};
  if (!arg_bytes.empty()) {
    size_t b = 0;
    for (;;) {
      size_t e = arg_bytes.find('\0', b);
      args.push_back(mcd::fuzz::ReplaceAll(std::string(arg_bytes.substr(b, e - b)), "@F", path));
      if (e == std::string_view::npos || args.size() > 256) break;
      b = e + 1;
    }
  }
  const std::string contents = mcd::fuzz::ReplaceAll(flagfile, "@F", path);
  FUZZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate");
  FUZZ_CHECK(
      pwrite(fd, contents.data(), contents.size(), 0) == static_cast<ssize_t>(contents.size()),
      "pwrite");

  std::string ctx = "args:";
  for (const std::string& a : args) ctx += " [" + Escape(a) + "]";
  ctx += "\nflagfile: " + Escape(contents) + "\neuid " + std::to_string(euid);

  AppOptions opts;
  const Result r = Parse(euid, args, &opts);
  ctx += "\noutcome " + std::to_string(static_cast<int>(r.outcome)) + " exit " +
         std::to_string(r.exit_code) + "\nmessage: " + Escape(r.message);
  switch (r.outcome) {
    case ParseOutcome::kRun:
      FUZZ_CHECK(r.exit_code == 0, ctx);
      mcd::fuzz::CheckRun(euid, opts, ctx);
      break;
    case ParseOutcome::kExitSuccess:
      FUZZ_CHECK(r.exit_code == 0 && !r.message.empty(), ctx);
      break;
    case ParseOutcome::kError:
      FUZZ_CHECK((r.exit_code == 1 || r.exit_code == 64) && !r.message.empty(), ctx);
      break;
    default:
      FUZZ_CHECK(false, ctx);
  }

  AppOptions again_opts;
  const Result again = Parse(euid, args, &again_opts);
  FUZZ_CHECK(again == r, ctx + "\nsecond parse: outcome " +
                             std::to_string(static_cast<int>(again.outcome)) + " message " +
                             Escape(again.message));
  AppOptions base_opts;
  FUZZ_CHECK(Parse(0, kBaselineArgs, &base_opts) == baseline,
             ctx + "\nthe fixed command line parses differently after this input");
  return 0;
}
