// The command line of `memcached` (mcd): memcached 1.6.18's options, spelled as memcached spells
// them, turned into the plain option structs each module takes.
//
// Accepted forms (getopt_long compatible, as memcached uses getopt_long):
//   short options with attached or separate values  -p11211  -p 11211
//   clusters of short options                        -vv  -dvv  -vp11211
//   long options, with '=' or a separate value       --port=11211  --port 11211
//   unique prefixes of long options                  --mem=64 is ambiguous, --memory-l=64 is not
//   repeatable options                               -l a -l b,c   -o k=v,flag -o k2=v2   -v -v
//   gflags spellings of long options                 --memory_limit=64 (underscores for dashes)
//   --flagfile=FILE (or --flagfile FILE)             one option per line, in any of the forms
//                                                    above; '#' starts a comment line. Inside a
//                                                    flagfile switches also take gflags values
//                                                    (--daemon=false, --nodaemon) and
//                                                    --verbose=N sets the verbosity to N.
// Non-option arguments are ignored and "--" ends the options, as in memcached.
//
// Every option is also a gflags flag (FLAGS_port, FLAGS_memory_limit, ...; see options.cc); the
// parser resets them to their defaults on each call, so it may be called repeatedly.
//
// Thread-safety: ParseCommandLine() writes gflags' global flag values; call it from one thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mcd/handler/session.h"
#include "mcd/server/server.h"
#include "mcd/storage/cache.h"

namespace mcd::app {

// -B
enum class Protocol { kAuto, kAscii, kBinary };

// -o: memcached's extended options. Most are tuning knobs of memcached's LRU and slab machinery
// that mcd accepts and reports in `stats settings`; a module may honour them when it has the
// matching machinery. Defaults are memcached 1.6.18's.
struct ExtendedOptions {
  bool maxconns_fast = true;               // maxconns_fast / no_maxconns_fast
  int hashpower_init = 0;                  // hashpower=N (0: not given; cache.hashpower stays 16)
  uint32_t tail_repair_time = 0;           // tail_repair_time=S (>= 10 when given)
  std::string hash_algorithm = "murmur3";  // hash_algorithm=jenkins|murmur3|xxh3
  bool lru_crawler = true;                 // lru_crawler / no_lru_crawler
  int lru_crawler_sleep = 100;             // lru_crawler_sleep=us, 0..1000000
  uint32_t lru_crawler_tocrawl = 0;        // lru_crawler_tocrawl=N
  uint64_t read_buf_mem_limit = 0;         // read_buf_mem_limit=MB, stored in bytes; 0 = unlimited
  bool lru_maintainer = true;              // lru_maintainer / no_lru_maintainer
  bool lru_segmented = true;               // off with no_lru_maintainer or no_modern
  int hot_lru_pct = 20;                    // hot_lru_pct=N, 1..79; hot + warm <= 80
  int warm_lru_pct = 40;                   // warm_lru_pct=N, 1..79
  double hot_max_factor = 0.2;             // hot_max_factor=F, > 0
  double warm_max_factor = 2.0;            // warm_max_factor=F, > 0
  bool temp_lru = false;                   // turned on by temporary_ttl
  uint32_t temporary_ttl = 61;             // temporary_ttl=S
  int idle_timeout = 0;                    // idle_timeout=S; 0 = never close idle connections
  uint32_t slab_chunk_max = 512 * 1024;    // slab_chunk_max=BYTES
  bool slab_chunk_max_set = false;  // slab_chunk_max was given (cache.slab_chunk_max is 0 if not)
  // no_modern (unless slab_chunk_max came first) and no_chunked_items make the largest chunk a
  // whole 1 MB page, so items up to 1 MB are never chunked (memcached's 1.4 layout).
  bool slab_chunk_max_page = false;
  uint32_t watcher_logbuf_size = 256 * 1024;  // watcher_logbuf_size=KB, stored in bytes
  uint32_t worker_logbuf_size = 64 * 1024;    // worker_logbuf_size=KB, stored in bytes
  bool track_sizes = false;                   // track_sizes
  bool hash_expand = true;                    // no_hashexpand turns off
  std::vector<uint32_t> slab_sizes;       // slab_sizes=A-B-C (custom class sizes), empty = factor
  bool slab_reassign = true;              // slab_reassign / no_slab_reassign
  int slab_automove = 1;                  // slab_automove=0..2 / no_slab_automove
  double slab_automove_ratio = 0.8;       // slab_automove_ratio=F, 0 < F < 1
  int slab_automove_window = 30;          // slab_automove_window=N, > 2
  double slab_automove_freeratio = 0.01;  // slab_automove_freeratio=F
  int sock_cookie_id = 0;                 // sock_cookie_id=N (SO_MARK on listening sockets)
  bool drop_privileges = false;           // drop_privileges / no_drop_privileges
};

struct AppOptions {
  storage::CacheOptions cache;      // -m -I -n -f -C -M -L, -o hashpower/slab_chunk_max
  server::ServerOptions server;     // -p (0 when -s is given) -l -b -t -c -R -v
  handler::HandlerOptions handler;  // -F -X -A -C, and copies of -c -t -m; settings filled in

  std::string user;               // -u
  bool daemonize = false;         // -d
  std::string pidfile;            // -P
  bool lock_memory = false;       // -k
  bool enable_coredumps = false;  // -r
  bool large_pages = false;       // -L (also sets cache.prealloc)
  int verbosity = 0;              // count of v's (also copied into server.verbosity)

  int tcp_port = 11211;     // -p as given, reported as `tcpport` even when -s disables TCP
  int udp_port = 0;         // -U; 0 = no UDP listener. Also 0 in effect when -s is given.
  std::string unix_socket;  // -s; when set, memcached listens only there (server.port is 0)
  int unix_mask = 0700;     // -a, octal
  Protocol protocol = Protocol::kAuto;  // -B
  char prefix_delimiter = ':';          // -D
  bool detail_enabled = false;          // -D turns per-prefix stats on
  bool watch_enabled = true;            // -W turns off
  int napi_ids = 0;                     // -N; 0 = not given
  int chunk_size = 48;                  // -n as given (cache.chunk_min)
  ExtendedOptions ext;                  // -o
};

enum class ParseOutcome {
  kRun,          // start the server; `message` may hold warnings for stderr
  kExitSuccess,  // -h, -V or -i: print `message` to stdout and exit 0
  kError,        // print `message` to stderr and exit with *exit_code
};

// Parses argv. On kRun, *out holds the options with every derived value copied (see options.cc).
// `message` receives the text to print (without a trailing newline being guaranteed absent: it is
// ready to write as is). `exit_code`, if non-null, receives memcached's exit status for the
// outcome: 0, 1 (getopt errors and most value checks) or 64 (EX_USAGE: size checks, running as
// root without -u, unsupported capabilities).
ParseOutcome ParseCommandLine(int argc, char** argv, AppOptions* out, std::string* message,
                              int* exit_code = nullptr);
// As above with the effective user id given, so the root check can be tested.
ParseOutcome ParseCommandLineAs(unsigned euid, int argc, char** argv, AppOptions* out,
                                std::string* message, int* exit_code = nullptr);

// `memcached -h`: memcached 1.6.18's options and defaults in mcd's words. First line is
// VersionText(). The defaults shown are those of `current` (memcached shows values given before
// -h, e.g. `memcached -p 1 -h` shows port 1).
std::string HelpText();
std::string HelpText(const AppOptions& current);
// "memcached <MCD_VERSION_STRING>\n"
std::string VersionText();
// `memcached -i`.
std::string LicenseText();

// `stats settings` in memcached 1.6.18's order and names. Values come from `options` where mcd
// has the setting and are memcached's defaults otherwise (extstore, TLS, SASL are off).
std::vector<std::pair<std::string, std::string>> SettingsStats(const AppOptions& options);

}  // namespace mcd::app
