// Command line -> AppOptions. Two passes, as memcached does:
//  1. Options are read in order. Each is stored in its gflags flag; the checks memcached makes
//     while reading (threads, connections, factor, -o sub-options, ...) fail at once, and -h, -V
//     and -i stop the reading (so `memcached -h --bogus` prints help).
//  2. The flags are turned into AppOptions and the remaining checks run (item size against memory,
//     ports, unsupported capabilities, running as root), in memcached's order.
#include "mcd/app/options.h"

#include <gflags/gflags.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "mcd/util/numbers.h"
#include "option_values.h"

// Values are strings where memcached reads them leniently ("5x" is 5), which gflags' typed flags
// would refuse. The names are memcached's long names with '_' for '-'.
DEFINE_string(port, "11211", "-p: TCP port");
DEFINE_string(udp_port, "0", "-U: UDP port");
DEFINE_string(unix_socket, "", "-s: UNIX socket path");
DEFINE_string(unix_mask, "700", "-a: UNIX socket access mask, octal");
DEFINE_bool(enable_shutdown, false, "-A: enable the shutdown command");
DEFINE_string(listen, "", "-l: comma separated interfaces (repeats accumulate)");
DEFINE_bool(daemon, false, "-d: run as a daemon");
DEFINE_bool(enable_coredumps, false, "-r: maximize the core file limit");
DEFINE_string(user, "", "-u: user to run as");
DEFINE_string(memory_limit, "64", "-m: item memory in megabytes");
DEFINE_bool(disable_evictions, false, "-M: error instead of evicting");
DEFINE_string(conn_limit, "1024", "-c: max simultaneous connections");
DEFINE_bool(lock_memory, false, "-k: lock down paged memory");
DEFINE_int32(verbose, 0, "-v: verbosity (each -v adds one)");
DEFINE_string(pidfile, "", "-P: pid file");
DEFINE_string(slab_growth_factor, "1.25", "-f: chunk size growth factor");
DEFINE_string(slab_min_size, "48", "-n: minimum key+value+flags space");
DEFINE_bool(enable_largepages, false, "-L: use large memory pages");
DEFINE_string(prefix_delimiter, ":", "-D: key prefix delimiter; turns on detailed stats");
DEFINE_string(threads, "4", "-t: worker threads");
DEFINE_string(max_reqs_per_event, "20", "-R: requests per event");
DEFINE_bool(disable_cas, false, "-C: disable CAS");
DEFINE_string(listen_backlog, "1024", "-b: listen backlog");
DEFINE_string(protocol, "auto", "-B: ascii, binary or auto");
DEFINE_string(max_item_size, "1m", "-I: max item size (k and m suffixes)");
DEFINE_bool(enable_sasl, false, "-S: SASL (unsupported)");
DEFINE_bool(disable_flush_all, false, "-F: disable flush_all");
DEFINE_bool(disable_dumping, false, "-X: disable stats cachedump");
DEFINE_bool(disable_watch, false, "-W: disable watch");
DEFINE_string(auth_file, "", "-Y: ASCII authentication file (unsupported)");
DEFINE_string(memory_file, "", "-e: mmap file for item memory (unsupported)");
DEFINE_bool(enable_ssl, false, "-Z: TLS (unsupported)");
DEFINE_string(extended, "", "-o: comma separated extended options (repeats accumulate)");
DEFINE_string(napi_ids, "0", "-N: number of NAPI ids");

namespace mcd::app {
namespace {

using internal::ItemSizeBytes;
using internal::LenientDouble;
using internal::LenientInt;
using internal::LenientOctal;
using internal::MemoryLimitBytes;

constexpr int kExitSuccess = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 64;  // EX_USAGE
constexpr int kMaxFlagfileDepth = 8;

enum class Arg { kNone, kRequired, kOptional };

struct Spec {
  char short_name;
  const char* long_name;  // memcached's; nullptr when it has none
  const char* flag;       // gflags name; nullptr for -h -V -i
  Arg arg;
};

// memcached 1.6.18's options, in its getopt order.
constexpr Spec kSpecs[] = {
    {'A', "enable-shutdown", "enable_shutdown", Arg::kNone},
    {'a', "unix-mask", "unix_mask", Arg::kRequired},
    {'p', "port", "port", Arg::kRequired},
    {'s', "unix-socket", "unix_socket", Arg::kRequired},
    {'U', "udp-port", "udp_port", Arg::kRequired},
    {'m', "memory-limit", "memory_limit", Arg::kRequired},
    {'M', "disable-evictions", "disable_evictions", Arg::kNone},
    {'c', "conn-limit", "conn_limit", Arg::kRequired},
    {'h', "help", nullptr, Arg::kNone},
    {'i', "license", nullptr, Arg::kNone},
    {'V', "version", nullptr, Arg::kNone},
    {'k', "lock-memory", "lock_memory", Arg::kNone},
    {'v', "verbose", "verbose", Arg::kOptional},
    {'l', "listen", "listen", Arg::kRequired},
    {'d', "daemon", "daemon", Arg::kNone},
    {'r', "enable-coredumps", "enable_coredumps", Arg::kNone},
    {'R', "max-reqs-per-event", "max_reqs_per_event", Arg::kRequired},
    {'C', "disable-cas", "disable_cas", Arg::kNone},
    {'u', "user", "user", Arg::kRequired},
    {'P', "pidfile", "pidfile", Arg::kRequired},
    {'f', "slab-growth-factor", "slab_growth_factor", Arg::kRequired},
    {'n', "slab-min-size", "slab_min_size", Arg::kRequired},
    {'t', "threads", "threads", Arg::kRequired},
    {'D', nullptr, "prefix_delimiter", Arg::kRequired},
    {'L', "enable-largepages", "enable_largepages", Arg::kNone},
    {'b', "listen-backlog", "listen_backlog", Arg::kRequired},
    {'B', "protocol", "protocol", Arg::kRequired},
    {'I', "max-item-size", "max_item_size", Arg::kRequired},
    {'S', "enable-sasl", "enable_sasl", Arg::kNone},
    {'F', "disable-flush-all", "disable_flush_all", Arg::kNone},
    {'X', "disable-dumping", "disable_dumping", Arg::kNone},
    {'W', "disable-watch", "disable_watch", Arg::kNone},
    {'Y', "auth-file", "auth_file", Arg::kRequired},
    {'e', "memory-file", "memory_file", Arg::kRequired},
    {'Z', "enable-ssl", "enable_ssl", Arg::kNone},
    {'o', "extended", "extended", Arg::kRequired},
    {'N', "napi-ids", "napi_ids", Arg::kRequired},
};

const Spec* FindShort(char c) {
  for (const Spec& s : kSpecs) {
    if (s.short_name == c) return &s;
  }
  return nullptr;
}

std::string Dashed(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

bool FlagIsDefault(const char* name) {
  gflags::CommandLineFlagInfo info;
  return gflags::GetCommandLineFlagInfo(name, &info) && info.is_default;
}

bool ParseBoolValue(const std::string& v, bool* out) {
  static const char* kTrue[] = {"true", "1", "yes", "y", "t"};
  static const char* kFalse[] = {"false", "0", "no", "n", "f"};
  for (const char* t : kTrue) {
    if (strcasecmp(v.c_str(), t) == 0) return (*out = true, true);
  }
  for (const char* f : kFalse) {
    if (strcasecmp(v.c_str(), f) == 0) return (*out = false, true);
  }
  return false;
}

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// Lock-table size memcached derives from the thread count; -o hashpower must exceed it.
int ItemLockPower(int threads) {
  if (threads < 4) return 11;
  if (threads == 4) return 12;
  if (threads <= 10) return 13;
  if (threads <= 20) return 14;
  return 15;
}

// Reads options in order (pass 1).
class Reader {
 public:
  Reader(std::string prog, std::string* message, int* exit_code)
      : prog_(std::move(prog)), message_(message), exit_code_(exit_code) {}

  enum class Step { kContinue, kStop };  // kStop: outcome_ is final

  ParseOutcome outcome() const { return outcome_; }
  const std::string& warnings() const { return warnings_; }

  // Reads args as a command line (or the lines of a flagfile when in_flagfile).
  Step ReadArgs(const std::vector<std::string>& args, bool in_flagfile, int depth) {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg == "--") break;
      if (arg.size() > 2 && arg.starts_with("--")) {
        if (ReadLong(args, &i, in_flagfile, depth) == Step::kStop) return Step::kStop;
      } else if (arg.size() > 1 && arg[0] == '-') {
        if (ReadShorts(args, &i, in_flagfile) == Step::kStop) return Step::kStop;
      }
      // Anything else is a non-option argument, which memcached ignores.
    }
    return Step::kContinue;
  }

 private:
  Step Fail(std::string message, int code) {
    if (!message.ends_with('\n')) message += '\n';
    *message_ = std::move(message);
    *exit_code_ = code;
    outcome_ = ParseOutcome::kError;
    return Step::kStop;
  }
  Step GetoptFail(const std::string& what) {
    return Fail(prog_ + ": " + what + "\nIllegal argument \"?\"\n", kExitFailure);
  }

  Step ReadLong(const std::vector<std::string>& args, size_t* i, bool in_flagfile, int depth) {
    const std::string& arg = args[*i];
    std::string body = arg.substr(2);
    size_t eq = body.find('=');
    std::string name = Dashed(body.substr(0, eq));
    bool has_value = eq != std::string::npos;
    std::string value = has_value ? body.substr(eq + 1) : std::string();

    if (name == "flagfile") {
      if (!has_value) {
        if (*i + 1 >= args.size()) {
          return GetoptFail("option '--flagfile' requires an argument");
        }
        value = args[++*i];
      }
      return ReadFlagfile(value, depth + 1);
    }

    const Spec* spec = nullptr;
    bool negated = false;
    // Exact names first (memcached's long names, and gflags-only names such as prefix_delimiter).
    for (const Spec& s : kSpecs) {
      if ((s.long_name != nullptr && name == s.long_name) ||
          (s.flag != nullptr && name == Dashed(s.flag))) {
        spec = &s;
        break;
      }
    }
    // gflags' --noflag for switches, in flagfiles.
    if (spec == nullptr && in_flagfile && name.starts_with("no")) {
      for (const Spec& s : kSpecs) {
        if (s.arg == Arg::kNone && s.flag != nullptr && name.substr(2) == Dashed(s.flag)) {
          spec = &s;
          negated = true;
        }
      }
    }
    // Unique prefixes of memcached's long names, as getopt_long allows.
    if (spec == nullptr) {
      std::vector<const Spec*> matches;
      for (const Spec& s : kSpecs) {
        if (s.long_name != nullptr && std::string_view(s.long_name).starts_with(name)) {
          matches.push_back(&s);
        }
      }
      if (matches.size() > 1) {
        std::string what = "option '" + arg + "' is ambiguous; possibilities:";
        for (const Spec* m : matches) what += std::string(" '--") + m->long_name + "'";
        return GetoptFail(what);
      }
      if (matches.empty()) return GetoptFail("unrecognized option '" + arg + "'");
      spec = matches[0];
    }
    std::string shown = spec->long_name != nullptr ? spec->long_name : Dashed(spec->flag);

    switch (spec->arg) {
      case Arg::kNone:
        if (has_value && !in_flagfile) {
          return GetoptFail("option '--" + shown + "' doesn't allow an argument");
        }
        break;
      case Arg::kRequired:
        if (!has_value) {
          if (*i + 1 >= args.size()) {
            return GetoptFail("option '--" + shown + "' requires an argument");
          }
          value = args[++*i];
          has_value = true;
        }
        break;
      case Arg::kOptional:
        break;
    }
    if (negated) {
      if (has_value) return GetoptFail("option '" + arg + "' doesn't allow an argument");
      return Apply(*spec, "false", true, in_flagfile);
    }
    return Apply(*spec, value, has_value, in_flagfile);
  }

  Step ReadShorts(const std::vector<std::string>& args, size_t* i, bool in_flagfile) {
    const std::string& arg = args[*i];
    for (size_t j = 1; j < arg.size(); ++j) {
      const Spec* spec = FindShort(arg[j]);
      if (spec == nullptr) {
        return GetoptFail(std::string("invalid option -- '") + arg[j] + "'");
      }
      if (spec->arg != Arg::kRequired) {
        // Short -v takes no value: "-vv" is two of them.
        if (Apply(*spec, "", false, in_flagfile) == Step::kStop) return Step::kStop;
        continue;
      }
      std::string value;
      if (j + 1 < arg.size()) {
        value = arg.substr(j + 1);
      } else if (*i + 1 < args.size()) {
        value = args[++*i];
      } else {
        return GetoptFail(std::string("option requires an argument -- '") + arg[j] + "'");
      }
      return Apply(*spec, value, true, in_flagfile);
    }
    return Step::kContinue;
  }

  Step ReadFlagfile(const std::string& path, int depth) {
    if (depth > kMaxFlagfileDepth) {
      return Fail("flagfiles nested too deeply at '" + path + "'", kExitFailure);
    }
    std::ifstream in(path);
    if (!in) {
      char err[256];
      return Fail(
          prog_ + ": cannot read flagfile '" + path + "': " + ::strerror_r(errno, err, sizeof(err)),
          kExitFailure);
    }
    std::vector<std::string> args;
    std::string line;
    while (std::getline(in, line)) {
      size_t b = line.find_first_not_of(" \t\r");
      size_t e = line.find_last_not_of(" \t\r");
      if (b == std::string::npos || line[b] == '#') continue;
      line = line.substr(b, e - b + 1);
      if (line[0] != '-') {
        return Fail(std::string("flagfile '")
                        .append(path)
                        .append("': expected an option, got '")
                        .append(line)
                        .append("'"),
                    kExitFailure);
      }
      // "--name=value" is one argument (the value may hold blanks); "-p 11211" or
      // "--port 11211" are two.
      size_t blank = line.find_first_of(" \t");
      bool long_with_eq = line.starts_with("--") && line.find('=') < blank;
      if (blank == std::string::npos || long_with_eq) {
        args.push_back(line);
      } else {
        args.push_back(line.substr(0, blank));
        size_t v = line.find_first_not_of(" \t", blank);
        args.push_back(line.substr(v));
      }
    }
    return ReadArgs(args, /*in_flagfile=*/true, depth);
  }

  Step Set(const char* flag, const std::string& value) {
    if (gflags::SetCommandLineOption(flag, value.c_str()).empty()) {
      return Fail(std::string("invalid value '") + value + "' for --" + Dashed(flag), kExitFailure);
    }
    return Step::kContinue;
  }

  // Stores one option, with the checks memcached makes while reading.
  Step Apply(const Spec& spec, const std::string& value, bool has_value, bool in_flagfile) {
    switch (spec.short_name) {
      case 'h':
      case 'V':
      case 'i':
        outcome_ = ParseOutcome::kExitSuccess;
        *exit_code_ = kExitSuccess;
        if (spec.short_name == 'h') {
          AppOptions current;
          std::string ignored;
          BuildFromFlags(&current, &ignored);
          *message_ = HelpText(current);
        } else {
          *message_ = spec.short_name == 'V' ? VersionText() : LicenseText();
        }
        return Step::kStop;
      case 'v':
        if (in_flagfile && has_value) return Set("verbose", value);
        return Set("verbose", std::to_string(FLAGS_verbose + 1));
      case 'l':
        return Set("listen", FLAGS_listen.empty() ? value : FLAGS_listen + "," + value);
      case 'o': {
        std::string error;
        int code = kExitFailure;
        std::string scratch_warnings;
        if (!internal::ApplyExtended(value, &scratch_ext_, &error, &code, &scratch_warnings)) {
          return Fail(error, code);
        }
        std::string piece = value;
        while (!piece.empty() && piece.back() == ',') piece.pop_back();
        if (piece.empty()) return Step::kContinue;
        return Set("extended", FLAGS_extended.empty() ? piece : FLAGS_extended + "," + piece);
      }
      case 't':
        if (LenientInt(value) <= 0) {
          return Fail("Number of threads must be greater than 0", kExitFailure);
        }
        break;
      case 'c':
        if (LenientInt(value) <= 0) {
          return Fail("Maximum connections must be greater than 0", kExitFailure);
        }
        break;
      case 'n':
        // memcached refuses only 0; a negative size makes no sense, so mcd refuses it too.
        if (LenientInt(value) <= 0) return Fail("Chunk size must be greater than 0", kExitFailure);
        break;
      case 'f':
        // Written as !(f > 1) so that "nan", which passes memcached's `f <= 1.0`, is refused too.
        if (!(LenientDouble(value) > 1.0)) {
          return Fail("Factor must be greater than 1", kExitFailure);
        }
        break;
      case 'R':
        // memcached refuses only 0 (a negative value hangs it); mcd refuses both.
        if (LenientInt(value) <= 0) {
          return Fail("Number of requests per event must be greater than 0", kExitFailure);
        }
        break;
      case 'N':
        if (LenientInt(value) <= 0) {
          return Fail("Maximum number of NAPI IDs must be greater than 0", kExitFailure);
        }
        break;
      case 'B':
        if (value != "auto" && value != "binary" && value != "ascii") {
          return Fail("Invalid value for binding protocol: " + value +
                          "\n -- should be one of auto, binary, or ascii",
                      kExitUsage);
        }
        break;
      default:
        break;
    }
    if (spec.arg == Arg::kNone) {
      bool on = true;
      if (has_value && !ParseBoolValue(value, &on)) {
        return Fail("invalid value '" + value + "' for --" + Dashed(spec.flag), kExitFailure);
      }
      return Set(spec.flag, on ? "true" : "false");
    }
    return Set(spec.flag, value);
  }

 public:
  // Turns the flags into options without any check (used for -h and by pass 2).
  static void BuildFromFlags(AppOptions* o, std::string* warnings) {
    o->tcp_port = LenientInt(FLAGS_port);
    o->udp_port = LenientInt(FLAGS_udp_port);
    o->unix_socket = FLAGS_unix_socket;
    o->unix_mask = LenientOctal(FLAGS_unix_mask);
    o->user = FLAGS_user;
    o->daemonize = FLAGS_daemon;
    o->pidfile = FLAGS_pidfile;
    o->lock_memory = FLAGS_lock_memory;
    o->enable_coredumps = FLAGS_enable_coredumps;
    o->large_pages = FLAGS_enable_largepages;
    o->verbosity = FLAGS_verbose;
    o->protocol = FLAGS_protocol == "ascii"    ? Protocol::kAscii
                  : FLAGS_protocol == "binary" ? Protocol::kBinary
                                               : Protocol::kAuto;
    o->detail_enabled = !FlagIsDefault("prefix_delimiter");
    o->prefix_delimiter = FLAGS_prefix_delimiter.empty() ? '\0' : FLAGS_prefix_delimiter[0];
    o->watch_enabled = !FLAGS_disable_watch;
    o->napi_ids = FlagIsDefault("napi_ids") ? 0 : LenientInt(FLAGS_napi_ids);
    o->chunk_size = LenientInt(FLAGS_slab_min_size);

    o->ext = ExtendedOptions();
    std::string error;
    int code = 0;
    internal::ApplyExtended(FLAGS_extended, &o->ext, &error, &code, warnings);

    storage::CacheOptions& c = o->cache;
    c.memory_limit = MemoryLimitBytes(FLAGS_memory_limit);
    // As memcached 1.6: pages stay 1 MB whatever -I says; items above the largest chunk are
    // chunked, up to -I.
    c.page_size = internal::kSlabPageSize;
    c.item_size_max = static_cast<uint32_t>(ItemSizeBytes(FLAGS_max_item_size));
    c.chunk_min = static_cast<uint32_t>(o->chunk_size);
    c.growth_factor = LenientDouble(FLAGS_slab_growth_factor);
    if (o->ext.slab_chunk_max_page && c.item_size_max > internal::kSlabPageSize) {
      // As memcached: with -I above 1 MB the default half-page largest chunk comes back.
      o->ext.slab_chunk_max = internal::kSlabPageSize / 2;
      o->ext.slab_chunk_max_page = false;
    }
    c.slab_chunk_max =
        o->ext.slab_chunk_max_set || o->ext.slab_chunk_max_page ? o->ext.slab_chunk_max : 0;
    c.hashpower = o->ext.hashpower_init != 0 ? o->ext.hashpower_init : 16;
    c.use_cas = !FLAGS_disable_cas;
    c.evict = !FLAGS_disable_evictions;
    c.prealloc = FLAGS_enable_largepages;
    // The item memory always asks for transparent huge pages (a hint; where THP is off it keeps
    // normal pages): random lookups over millions of items otherwise spend most of their time
    // in TLB misses. -L still preallocates (compatibility.md C31).
    c.large_pages = true;
    // memcached's test-suite hook for faking a large allocation (t/64bit.t). Its companion
    // T_MEMD_SLABS_ALLOC is read by no 1.6 release, so it has no effect here either.
    // Read while options are parsed, before any thread starts.
    if (const char* fake = std::getenv("T_MEMD_INITIAL_MALLOC")) {  // NOLINT(concurrency-mt-unsafe)
      int64_t bytes = 0;
      if (ParseInt64(fake, &bytes) && bytes > 0) {
        c.initial_malloced = static_cast<uint64_t>(bytes);
      }
    }

    server::ServerOptions& s = o->server;
    s.port = o->unix_socket.empty() ? o->tcp_port : 0;
    s.listen = SplitList(FLAGS_listen);
    s.backlog = LenientInt(FLAGS_listen_backlog);
    s.threads = LenientInt(FLAGS_threads);
    s.max_connections = LenientInt(FLAGS_conn_limit);
    s.reqs_per_event = LenientInt(FLAGS_max_reqs_per_event);
    s.verbosity = o->verbosity;
    s.udp_port = o->unix_socket.empty() ? o->udp_port : 0;
    s.unix_socket = o->unix_socket;
    s.unix_mask = o->unix_mask;

    handler::HandlerOptions& h = o->handler;
    h.binding = o->protocol == Protocol::kAscii    ? handler::Binding::kAscii
                : o->protocol == Protocol::kBinary ? handler::Binding::kBinary
                                                   : handler::Binding::kAuto;
    h.flush_enabled = !FLAGS_disable_flush_all;
    h.dump_enabled = !FLAGS_disable_dumping;
    h.shutdown_enabled = FLAGS_enable_shutdown;
    h.use_cas = c.use_cas;
    h.version = MCD_VERSION_STRING;
    h.max_connections = static_cast<uint64_t>(s.max_connections);
    h.threads = s.threads;
    h.track_sizes = o->ext.track_sizes;
    c.slab_sizes = o->ext.slab_sizes;
    c.slab_reassign = o->ext.slab_reassign;
    c.lru_crawler = o->ext.lru_crawler;
    // -k: mlockall counts the reserved address space, so reserve no more than -m (cache_memlimit
    // then cannot grow past it; see docs/compatibility.md C24).
    if (FLAGS_lock_memory) c.reserve_bytes = c.memory_limit;
    c.lru_crawler_sleep = static_cast<uint32_t>(o->ext.lru_crawler_sleep);
    c.lru_crawler_tocrawl = o->ext.lru_crawler_tocrawl;
    c.lru_segmented = o->ext.lru_segmented;
    c.hot_lru_pct = static_cast<uint32_t>(o->ext.hot_lru_pct);
    c.warm_lru_pct = static_cast<uint32_t>(o->ext.warm_lru_pct);
    c.temp_lru = o->ext.temp_lru;
    c.temporary_ttl = o->ext.temporary_ttl;
    c.slab_automove = o->ext.slab_automove;
    c.automove_ratio = o->ext.slab_automove_ratio;
    c.automove_window = o->ext.slab_automove_window;
    c.hash_expand = o->ext.hash_expand;
    h.idle_timeout = o->ext.idle_timeout;
    h.maxconns_fast = o->ext.maxconns_fast;
    h.slab_reassign = o->ext.slab_reassign;
    h.lru_maintainer = o->ext.lru_maintainer;
    h.temp_lru = o->ext.temp_lru;
    s.idle_timeout = o->ext.idle_timeout;
    s.read_buf_mem_limit = o->ext.read_buf_mem_limit;
  }

 private:
  std::string prog_;
  std::string* message_;
  int* exit_code_;
  ParseOutcome outcome_ = ParseOutcome::kRun;
  std::string warnings_;
  ExtendedOptions scratch_ext_;  // -o read so far, for the in-order checks
};

// The checks memcached makes after reading all options (pass 2), in its order.
bool Validate(const AppOptions& o, unsigned euid, std::string* error, int* code) {
  *code = kExitUsage;
  const int32_t item_max = static_cast<int32_t>(o.cache.item_size_max);
  const uint32_t chunk_max = o.ext.slab_chunk_max;
  if (item_max < 1024) {
    *error = "Item max size cannot be less than 1024 bytes.";
    return false;
  }
  if (static_cast<uint64_t>(item_max) > o.cache.memory_limit / 2) {
    *error = "Cannot set item size limit higher than 1/2 of memory max.";
    return false;
  }
  if (item_max > 1024 * 1024 * 1024) {
    *error = "Cannot set item size limit higher than a gigabyte.";
    return false;
  }
  if (chunk_max > static_cast<uint32_t>(item_max)) {
    *error = "slab_chunk_max (bytes: " + std::to_string(chunk_max) +
             ") cannot be larger than -I (item_size_max " + std::to_string(item_max) + ")";
    return false;
  }
  if (static_cast<uint32_t>(item_max) % chunk_max != 0) {
    *error = "-I (item_size_max: " + std::to_string(item_max) +
             ") must be evenly divisible by slab_chunk_max (bytes: " + std::to_string(chunk_max) +
             ")";
    return false;
  }
  if (internal::kSlabPageSize % chunk_max != 0) {
    *error = "slab_chunk_max (bytes: " + std::to_string(chunk_max) + ") must divide evenly into " +
             std::to_string(internal::kSlabPageSize) + " (slab_page_size)";
    return false;
  }
  if (o.ext.hot_lru_pct + o.ext.warm_lru_pct > 80) {
    *error = "hot_lru_pct + warm_lru_pct cannot be more than 80% combined";
    return false;
  }
  uint32_t previous = 0;
  for (uint32_t size : o.ext.slab_sizes) {
    if (size < static_cast<uint32_t>(o.chunk_size) || size > chunk_max) {
      *error = "slab size " + std::to_string(size) + " is out of valid range";
      return false;
    }
    if (size <= previous) {
      *error = "slab size " + std::to_string(size) +
               " cannot be lower than or equal to a previous class size";
      return false;
    }
    previous = size;
  }
  // memcached checks only the upper bound of -p and none of -U; mcd refuses any port it could
  // not bind. -1 asks for a port of the kernel's choice (MEMCACHED_PORT_FILENAME tells which).
  if (o.tcp_port < -1 || o.tcp_port > 65535) {
    *error = "ERROR: Invalid port number " + std::to_string(o.tcp_port) + ".";
    return false;
  }
  if (o.udp_port < -1 || o.udp_port > 65535) {
    *error = "ERROR: Invalid UDP port number " + std::to_string(o.udp_port) + ".";
    return false;
  }
  // Capabilities mcd does not have are refused, never silently ignored.
  auto unsupported = [&](const char* option, const char* what) {
    *error = std::string("option ") + option + " is not supported by mcd: " + what;
    return false;
  };
  if (FLAGS_enable_sasl) return unsupported("-S (--enable-sasl)", "no SASL authentication");
  if (FLAGS_enable_ssl) return unsupported("-Z (--enable-ssl)", "no TLS");
  if (!FLAGS_memory_file.empty()) {
    return unsupported("-e (--memory-file)", "no file-backed, restartable item memory");
  }
  if (!FLAGS_auth_file.empty()) {
    return unsupported("-Y (--auth-file)", "no ASCII protocol authentication");
  }
  if (euid == 0 && o.user.empty()) {
    *error = "can't run as root without the -u switch";
    return false;
  }
  *code = kExitFailure;
  int lock_power = ItemLockPower(o.server.threads);
  if (o.ext.hashpower_init != 0 && o.ext.hashpower_init <= lock_power) {
    *error = "Hash table power size (" + std::to_string(o.ext.hashpower_init) +
             ") cannot be equal to or less than item lock table (" + std::to_string(lock_power) +
             ")\nItem lock table grows with `-t N` (worker threadcount)\n"
             "Hash table grows with `-o hashpower=N` ";
    return false;
  }
  return true;
}

}  // namespace

ParseOutcome ParseCommandLineAs(unsigned euid, int argc, char** argv, AppOptions* out,
                                std::string* message, int* exit_code) {
  int ignored_code = 0;
  if (exit_code == nullptr) exit_code = &ignored_code;
  *exit_code = kExitSuccess;
  message->clear();
  // Every flag is restored on return, so each call starts from the defaults.
  gflags::FlagSaver saver;

  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  Reader reader(argc > 0 ? argv[0] : "memcached", message, exit_code);
  if (reader.ReadArgs(args, /*in_flagfile=*/false, 0) == Reader::Step::kStop) {
    return reader.outcome();
  }

  AppOptions o;
  std::string warnings;
  Reader::BuildFromFlags(&o, &warnings);
  // As memcached, after reading the options (so -h shows -p as given): a UDP port given without
  // a TCP port is the TCP port too.
  if (!FlagIsDefault("udp_port") && o.udp_port != 0 && FlagIsDefault("port")) {
    o.tcp_port = o.udp_port;
    if (o.unix_socket.empty()) o.server.port = o.tcp_port;
  }
  std::string error;
  if (!Validate(o, euid, &error, exit_code)) {
    *message = error + "\n";
    return ParseOutcome::kError;
  }
  if (o.server.threads > 64) {
    warnings +=
        "WARNING: more than 64 worker threads is rarely useful; use about one per CPU core.\n";
  }
  o.handler.settings = SettingsStats(o);
  *out = std::move(o);
  *message = warnings;
  *exit_code = kExitSuccess;
  return ParseOutcome::kRun;
}

ParseOutcome ParseCommandLine(int argc, char** argv, AppOptions* out, std::string* message,
                              int* exit_code) {
  return ParseCommandLineAs(static_cast<unsigned>(geteuid()), argc, argv, out, message, exit_code);
}

}  // namespace mcd::app
