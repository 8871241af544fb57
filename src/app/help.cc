// -h, -V, -i texts and the `stats settings` list.
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "mcd/app/options.h"

namespace mcd::app {
namespace {

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

const char* YesNo(bool b) { return b ? "yes" : "no"; }

}  // namespace

std::string VersionText() { return std::string("memcached ") + MCD_VERSION_STRING + "\n"; }

std::string LicenseText() {
  return VersionText() +
         "\nmcd is a memcached-compatible cache server written from scratch in C++.\n"
         "It reimplements the behaviour of memcached 1.6 and contains no memcached code.\n"
         "See the LICENSE file shipped with mcd for its terms, and libevent's own license\n"
         "for the event library it links.\n";
}

std::string HelpText() { return HelpText(AppOptions()); }

std::string HelpText(const AppOptions& o) {
  std::string h = VersionText();
  auto line = [&h](const std::string& s) { h += s + "\n"; };
  line(Format("-p, --port=<num>          TCP port to accept connections on (default: %d)",
              o.tcp_port));
  line(Format("-U, --udp-port=<num>      UDP port to accept requests on (default: %d, off)",
              o.udp_port));
  line("-s, --unix-socket=<file>  listen on this UNIX socket only (no TCP or UDP then)");
  line(Format("-a, --unix-mask=<mask>    permissions of the UNIX socket, octal (default: %o)",
              static_cast<unsigned>(o.unix_mask)));
  line("-A, --enable-shutdown     allow the ascii \"shutdown\" command");
  line("-l, --listen=<addr>       address to listen on, repeatable or comma separated;");
  line("                          host, host:port, [ipv6] or [ipv6]:port (default: all)");
  line("-d, --daemon              detach and run in the background");
  line("-r, --enable-coredumps    raise the core file size limit to its maximum");
  line("-u, --user=<user>         user to switch to when started as root");
  line(Format("-m, --memory-limit=<num>  megabytes of memory for items (default: %" PRIu64 ")",
              o.cache.memory_limit >> 20));
  line("-M, --disable-evictions   answer an error when memory is full instead of evicting");
  line(Format("-c, --conn-limit=<num>    most connections open at once (default: %d)",
              o.server.max_connections));
  line("-k, --lock-memory         lock all paged memory into RAM");
  line("-v, --verbose             print errors and warnings from the event loop");
  line("-vv                       also print client commands and responses");
  line("-vvv                      also print internal state transitions");
  line("-h, --help                show this text and exit");
  line("-i, --license             show license information and exit");
  line("-V, --version             show the version and exit");
  line("-P, --pidfile=<file>      write the process id to <file> (with -d)");
  line(Format("-f, --slab-growth-factor=<num> ratio between slab chunk sizes (default: %.2f)",
              o.cache.growth_factor));
  line(Format("-n, --slab-min-size=<bytes> smallest key+value+flags space (default: %d)",
              o.chunk_size));
  line("-L, --enable-largepages  use large memory pages when the system has them");
  line("-D <char>                 delimiter between key prefix and id for per-prefix stats");
  line("                          (default: \":\"); giving -D turns those stats on, otherwise");
  line("                          \"stats detail on\" does");
  line(Format("-t, --threads=<num>       worker threads (default: %d)", o.server.threads));
  line("-R, --max-reqs-per-event  requests served per connection before others get a turn");
  line(Format("                          (default: %d)", o.server.reqs_per_event));
  line("-C, --disable-cas         turn CAS off");
  line(Format("-b, --listen-backlog=<num> pending connection queue length (default: %d)",
              o.server.backlog));
  line("-B, --protocol=<name>     ascii, binary or auto (default: auto; mcd has no binary)");
  line("-I, --max-item-size=<num> largest item, with k or m suffix");
  line("                          (default: 1m, min: 1k, max: 1024m)");
  line("-S, --enable-sasl         SASL authentication (not supported by mcd)");
  line("-F, --disable-flush-all   refuse the flush_all command");
  line("-X, --disable-dumping     refuse stats cachedump and lru_crawler metadump");
  line("-W, --disable-watch       refuse the watch command");
  line("-Y, --auth-file=<file>    ascii authentication (not supported by mcd)");
  line("-e, --memory-file=<file>  file-backed item memory (not supported by mcd)");
  line("-Z, --enable-ssl          TLS (not supported by mcd)");
  line("-o, --extended            comma separated extended options, repeatable;");
  line("                          switches can be turned off with a no_ prefix");
  line("   - maxconns_fast:       close new connections at once over the limit (default: on)");
  line("   - hashpower:           log2 of the initial hash table size; it grows at run time");
  line("                          anyway. Pick it from \"STAT hash_power_level\" (default: 0)");
  line("   - tail_repair_time:    seconds before a stuck LRU tail item is reclaimed (off)");
  line("   - hash_algorithm:      jenkins, murmur3 or xxh3 (default: murmur3)");
  line("   - no_lru_crawler:      no background LRU crawler");
  line("   - lru_crawler_sleep:   crawler pause between items, microseconds (default: 100)");
  line("   - lru_crawler_tocrawl: most items crawled per class per run (default: 0, all)");
  line("   - read_buf_mem_limit:  megabytes for connection buffers, 0 = no limit (default: 0)");
  line("   - no_lru_maintainer:   no segmented LRU and its background thread");
  line("   - hot_lru_pct:         percent of class memory for the hot LRU (default: 20)");
  line("   - warm_lru_pct:        percent of class memory for the warm LRU (default: 40)");
  line("   - hot_max_factor:      hot items idle longer than cold age * this go (default: 0.20)");
  line("   - warm_max_factor:     warm items idle longer than cold age * this go (default: 2.00)");
  line("   - temporary_ttl:       items with shorter TTLs get their own LRU (default: 61)");
  line("   - idle_timeout:        close connections idle this many seconds (default: 0, never)");
  line("   - slab_chunk_max:      largest slab chunk, bytes (default: 524288)");
  line("   - watcher_logbuf_size: per-watcher buffer, kilobytes (default: 256)");
  line("   - worker_logbuf_size:  per-worker log buffer, kilobytes (default: 64)");
  line("   - slab_sizes:          explicit slab class sizes, dash separated");
  line("   - track_sizes:         keep the histogram reported by \"stats sizes\"");
  line("   - no_hashexpand:       never grow the hash table");
  line("   - modern:              today's defaults (nothing to change at present)");
  line("   - no_modern:           the defaults of the 1.4 series");
  line("   - slab_reassign, slab_automove=0..2, slab_automove_ratio, slab_automove_window,");
  line("     slab_automove_freeratio: slab page rebalancing knobs");
  line("   - sock_cookie_id:      mark listening sockets with this id (SO_MARK)");
  line("   - ext_*, ssl_*:        external storage and TLS (not supported by mcd)");
  line("-N, --napi-ids          number of NAPI ids for steering connections to threads");
  return h;
}

std::vector<std::pair<std::string, std::string>> SettingsStats(const AppOptions& o) {
  const ExtendedOptions& e = o.ext;
  std::string inter;
  for (const std::string& l : o.server.listen) inter += (inter.empty() ? "" : ",") + l;
  const char* protocol = o.protocol == Protocol::kAscii    ? "ascii"
                         : o.protocol == Protocol::kBinary ? "binary"
                                                           : "auto-negotiate";
  auto n = [](auto v) { return std::to_string(v); };
  return {
      {"maxbytes", n(o.cache.memory_limit)},
      {"maxconns", n(o.server.max_connections)},
      {"tcpport", n(o.tcp_port)},
      {"udpport", n(o.udp_port)},
      {"inter", inter.empty() ? "NULL" : inter},
      {"verbosity", n(o.verbosity)},
      {"oldest", "0"},
      {"evictions", o.cache.evict ? "on" : "off"},
      {"domain_socket", o.unix_socket.empty() ? "NULL" : o.unix_socket},
      {"umask", Format("%o", static_cast<unsigned>(o.unix_mask))},
      {"shutdown_command", YesNo(o.handler.shutdown_enabled)},
      {"growth_factor", Format("%.2f", o.cache.growth_factor)},
      {"chunk_size", n(o.chunk_size)},
      {"num_threads", n(o.server.threads)},
      {"num_threads_per_udp", n(o.server.threads)},
      {"stat_key_prefix", std::string(1, o.prefix_delimiter)},
      {"detail_enabled", YesNo(o.detail_enabled)},
      {"reqs_per_event", n(o.server.reqs_per_event)},
      {"cas_enabled", YesNo(o.cache.use_cas)},
      {"tcp_backlog", n(o.server.backlog)},
      {"binding_protocol", protocol},
      {"auth_enabled_sasl", "no"},
      {"auth_enabled_ascii", "no"},
      {"item_size_max", n(o.cache.item_size_max)},
      {"maxconns_fast", YesNo(e.maxconns_fast)},
      {"hashpower_init", n(e.hashpower_init)},
      {"slab_reassign", YesNo(e.slab_reassign)},
      {"slab_automove", n(e.slab_automove)},
      {"slab_automove_ratio", Format("%.2f", e.slab_automove_ratio)},
      {"slab_automove_window", n(e.slab_automove_window)},
      {"slab_chunk_max", n(e.slab_chunk_max)},
      {"lru_crawler", YesNo(e.lru_crawler)},
      {"lru_crawler_sleep", n(e.lru_crawler_sleep)},
      {"lru_crawler_tocrawl", n(e.lru_crawler_tocrawl)},
      {"tail_repair_time", n(e.tail_repair_time)},
      {"flush_enabled", YesNo(o.handler.flush_enabled)},
      {"dump_enabled", YesNo(o.handler.dump_enabled)},
      {"hash_algorithm", e.hash_algorithm},
      {"lru_maintainer_thread", YesNo(e.lru_maintainer)},
      {"lru_segmented", YesNo(e.lru_segmented)},
      {"hot_lru_pct", n(e.hot_lru_pct)},
      {"warm_lru_pct", n(e.warm_lru_pct)},
      {"hot_max_factor", Format("%.2f", e.hot_max_factor)},
      {"warm_max_factor", Format("%.2f", e.warm_max_factor)},
      {"temp_lru", YesNo(e.temp_lru)},
      {"temporary_ttl", n(e.temporary_ttl)},
      {"idle_timeout", n(e.idle_timeout)},
      {"watcher_logbuf_size", n(e.watcher_logbuf_size)},
      {"worker_logbuf_size", n(e.worker_logbuf_size)},
      {"read_buf_mem_limit", n(e.read_buf_mem_limit)},
      {"track_sizes", YesNo(e.track_sizes)},
      {"inline_ascii_response", "no"},
      // extstore is not supported: memcached's defaults.
      {"ext_item_size", "512"},
      {"ext_item_age", "4294967295"},
      {"ext_low_ttl", "0"},
      {"ext_recache_rate", "2000"},
      {"ext_wbuf_size", "4194304"},
      {"ext_compact_under", "0"},
      {"ext_drop_under", "0"},
      {"ext_max_sleep", "1000000"},
      {"ext_max_frag", "0.80"},
      {"slab_automove_freeratio", Format("%.3f", e.slab_automove_freeratio)},
      {"ext_drop_unread", "no"},
      // TLS is not supported: memcached's defaults.
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
      {"num_napi_ids", o.napi_ids == 0 ? "(null)" : n(o.napi_ids)},
      {"memory_file", "(null)"},
  };
}

}  // namespace mcd::app
