// mcd_loadgen: closed-loop load generator for the memcached text protocol.
//
// Each connection keeps at most `depth` requests outstanding and sends a new
// one as soon as a reply completes. Replies are parsed (VALUE headers with
// byte counts, END, STORED, error lines) so that only complete replies count.
// Latency is measured per request, from the moment the request is handed to
// the kernel (the write() batch it belongs to) to the moment the read() that
// completed its reply returned, and recorded in a log-linear histogram
// (128 sub-buckets per power of two, < 0.8% relative error, fixed size).
//
// Output: one JSON line on stdout. Diagnostics go to stderr.
//
// Modes:
//   getset    single-key get / set mix (--ratio gets), depth 1 by default
//   multiget  gets of --multiget keys per request (ratio 1 by default)
//   meta      --multiget meta gets per request, pipelined as a proxy batches them:
//             `mg <key> v q O<i>` for i = 0..n-1, then `mn`; misses are suppressed by q, hits
//             come back as `VA <bytes> O<i>` in order, and `MN` closes the request
//   pipeline  single-key gets, --depth outstanding per connection
//   fill      store keys first..first+count-1 once (pipelined), wait for all STORED, exit
//   delete    delete keys first..first+count-1 once (pipelined), wait for every reply, exit
//   readthrough  single-key gets; a miss is followed by a set of that key on the same
//             connection, as a read-through cache client does after reading the database
//
// Every value received (VALUE or VA data blocks) is compared byte for byte with the value this
// load generator stores (--value-size bytes of 'abc...'); a difference counts as an error and in
// bad_values. --no-verify turns the check off (e.g. to read values someone else stored).
//
// Keys are <key-prefix><index, zero-padded to key-size>. They are picked uniformly, or with
// --zipf S by Zipf popularity (index i has weight 1/(i+1)^S).
//
// --interval S splits the measurement into windows of S seconds and reports each (hit ratio,
// get latency, ...). --server-stats adds the server's own counters (`stats`: evictions,
// slabs_moved, ...) and the pages of each slab class (`stats slabs`) for the whole window and for
// each interval, read on a separate connection (probe.h). --reassign A,B keeps the slab page
// mover busy during the run by moving pages between classes A and B.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "probe.h"

namespace {

using mcd_bench::ControlConn;
using mcd_bench::ServerSnapshot;

// ---------------------------------------------------------------- options --

enum class Mode { kGetSet, kMultiGet, kPipeline, kFill, kDelete, kReadThrough, kMeta };

// fill and delete go once over a range of keys, pipelined, and end when every reply is in.
bool IsBulk(Mode m) { return m == Mode::kFill || m == Mode::kDelete; }

struct Options {
  std::string host = "127.0.0.1";
  int port = 11211;
  int conns = 50;
  int threads = 1;
  double duration = 10.0;
  double warmup = 2.0;
  Mode mode = Mode::kGetSet;
  double ratio = 0.9;
  bool ratio_set = false;
  uint64_t keys = 100000;
  int key_size = 14;
  int value_size = 100;
  int multiget = 100;
  int depth = 16;
  bool depth_set = false;
  uint64_t count = 0;
  uint64_t first = 0;      // fill, delete: first key index
  double timeout = 300.0;  // fill: hard upper bound on run time
  uint64_t seed = 1;
  std::string key_prefix = "key:";
  double zipf = 0.0;      // 0: uniform
  double interval = 0.0;  // 0: no per-interval windows
  bool server_stats = false;
  bool verify = true;     // compare every value received with the stored one
  std::string stats_log;  // raw stats replies per snapshot, appended
  int reassign_src = -1;  // -1: no page moves
  int reassign_dst = -1;
  double reassign_rate = 0;  // moves per second; 0: one after the other
  size_t NumWindows() const {
    return interval > 0 ? static_cast<size_t>(std::ceil(duration / interval - 1e-9)) : 0;
  }
};

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kGetSet:
      return "getset";
    case Mode::kMultiGet:
      return "multiget";
    case Mode::kPipeline:
      return "pipeline";
    case Mode::kFill:
      return "fill";
    case Mode::kDelete:
      return "delete";
    case Mode::kReadThrough:
      return "readthrough";
    case Mode::kMeta:
      return "meta";
  }
  return "?";
}

[[noreturn]] void Usage(const char* msg) {
  if (msg) std::fprintf(stderr, "mcd_loadgen: %s\n", msg);
  std::fprintf(stderr,
               "usage: mcd_loadgen [--host 127.0.0.1] [--port 11211] [--conns 50] [--threads 1]\n"
               "  [--duration 10] [--warmup 2]\n"
               "  [--mode getset|multiget|meta|pipeline|fill|delete|readthrough]\n"
               "  [--ratio 0.9] [--keys 100000] [--key-size 14] [--value-size 100]\n"
               "  [--multiget 100] [--depth 16] [--count N] [--timeout 300] [--seed 1]\n"
               "  [--key-prefix key:] [--zipf S] [--interval S] [--server-stats]\n"
               "  [--stats-log FILE] [--reassign SRC,DST] [--reassign-rate R] [--first N]\n"
               "  [--no-verify]\n"
               "defaults: depth 1 for getset/multiget/meta/readthrough, 16 for pipeline, 64 for\n"
               "          fill; ratio 0.9 for getset, 1.0 for the others.\n");
  std::exit(2);
}

double ParseDouble(const char* name, const char* v) {
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(v, &end);
  if (errno != 0 || end == v || *end != '\0' || !std::isfinite(d)) {
    std::fprintf(stderr, "mcd_loadgen: bad value for %s: '%s'\n", name, v);
    std::exit(2);
  }
  return d;
}

uint64_t ParseU64(const char* name, const char* v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long x = std::strtoull(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || v[0] == '-') {
    std::fprintf(stderr, "mcd_loadgen: bad value for %s: '%s'\n", name, v);
    std::exit(2);
  }
  return x;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  bool count_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") Usage(nullptr);
    if (a.substr(0, 2) != "--") Usage("unexpected argument");
    if (a == "--server-stats") {
      o.server_stats = true;
      continue;
    }
    if (a == "--no-verify") {
      o.verify = false;
      continue;
    }
    std::string name(a.substr(2));
    std::string val;
    if (auto eq = name.find('='); eq != std::string::npos) {
      val = name.substr(eq + 1);
      name.resize(eq);
    } else {
      if (i + 1 >= argc) Usage("missing option value");
      val = argv[++i];
    }
    const char* v = val.c_str();
    if (name == "host")
      o.host = val;
    else if (name == "port")
      o.port = static_cast<int>(ParseU64("port", v));
    else if (name == "conns")
      o.conns = static_cast<int>(ParseU64("conns", v));
    else if (name == "threads")
      o.threads = static_cast<int>(ParseU64("threads", v));
    else if (name == "duration")
      o.duration = ParseDouble("duration", v);
    else if (name == "warmup")
      o.warmup = ParseDouble("warmup", v);
    else if (name == "ratio") {
      o.ratio = ParseDouble("ratio", v);
      o.ratio_set = true;
    } else if (name == "keys")
      o.keys = ParseU64("keys", v);
    else if (name == "key-size")
      o.key_size = static_cast<int>(ParseU64("key-size", v));
    else if (name == "value-size")
      o.value_size = static_cast<int>(ParseU64("value-size", v));
    else if (name == "multiget")
      o.multiget = static_cast<int>(ParseU64("multiget", v));
    else if (name == "depth") {
      o.depth = static_cast<int>(ParseU64("depth", v));
      o.depth_set = true;
    } else if (name == "count") {
      o.count = ParseU64("count", v);
      count_set = true;
    } else if (name == "timeout")
      o.timeout = ParseDouble("timeout", v);
    else if (name == "seed")
      o.seed = ParseU64("seed", v);
    else if (name == "key-prefix")
      o.key_prefix = val;
    else if (name == "zipf")
      o.zipf = ParseDouble("zipf", v);
    else if (name == "interval")
      o.interval = ParseDouble("interval", v);
    else if (name == "stats-log")
      o.stats_log = val;
    else if (name == "first")
      o.first = ParseU64("first", v);
    else if (name == "reassign-rate")
      o.reassign_rate = ParseDouble("reassign-rate", v);
    else if (name == "reassign") {
      size_t comma = val.find(',');
      if (comma == std::string::npos) Usage("--reassign needs SRC,DST");
      o.reassign_src = static_cast<int>(ParseU64("reassign", val.substr(0, comma).c_str()));
      o.reassign_dst = static_cast<int>(ParseU64("reassign", val.substr(comma + 1).c_str()));
    } else if (name == "mode") {
      if (val == "getset")
        o.mode = Mode::kGetSet;
      else if (val == "multiget")
        o.mode = Mode::kMultiGet;
      else if (val == "meta")
        o.mode = Mode::kMeta;
      else if (val == "pipeline")
        o.mode = Mode::kPipeline;
      else if (val == "fill")
        o.mode = Mode::kFill;
      else if (val == "delete")
        o.mode = Mode::kDelete;
      else if (val == "readthrough")
        o.mode = Mode::kReadThrough;
      else
        Usage("unknown --mode");
    } else {
      Usage(("unknown option --" + name).c_str());
    }
  }
  if (!o.depth_set) {
    o.depth = (o.mode == Mode::kPipeline) ? 16 : (IsBulk(o.mode) ? 64 : 1);
  }
  if (!o.ratio_set) o.ratio = (o.mode == Mode::kGetSet) ? 0.9 : 1.0;
  if (IsBulk(o.mode)) {
    if (!count_set) o.count = o.keys;
    o.keys = o.first + o.count;  // keys first..first+count-1 are used
    o.ratio = 0.0;
    o.warmup = 0.0;
  }
  if (o.port <= 0 || o.port > 65535) Usage("--port out of range");
  if (o.conns < 1 || o.conns > 100000) Usage("--conns out of range");
  if (o.threads < 1 || o.threads > 256) Usage("--threads out of range");
  if (o.threads > o.conns) o.threads = o.conns;
  if (o.duration <= 0 || o.duration > 86400) Usage("--duration out of range");
  if (o.warmup < 0 || o.warmup > 86400) Usage("--warmup out of range");
  if (o.timeout <= 0 || o.timeout > 86400) Usage("--timeout out of range");
  if (o.ratio < 0 || o.ratio > 1) Usage("--ratio must be within [0,1]");
  if (o.keys < 1 || o.keys > 200000000ULL || o.keys <= o.first)
    Usage("--keys/--count/--first out of range");
  if (o.key_size < 1 || o.key_size > 250) Usage("--key-size must be 1..250");
  if (o.value_size < 0 || o.value_size > (64 << 20)) Usage("--value-size out of range");
  if (o.multiget < 1 || o.multiget > 10000) Usage("--multiget out of range");
  if (o.depth < 1 || o.depth > 4096) Usage("--depth must be 1..4096");
  if (o.mode != Mode::kMultiGet && o.mode != Mode::kMeta) o.multiget = 1;
  if (o.mode == Mode::kMeta) o.ratio = 1.0;         // gets only
  if (o.mode == Mode::kReadThrough) o.ratio = 1.0;  // sets follow misses only
  if (o.zipf < 0 || o.zipf > 10) Usage("--zipf must be within [0,10]");
  if (o.zipf > 0 && o.keys > 50000000ULL) Usage("--zipf needs --keys <= 50000000");
  if (o.interval < 0 || (o.interval > 0 && o.interval < 0.1)) Usage("--interval out of range");
  if (IsBulk(o.mode) && (o.interval > 0 || o.reassign_src >= 0))
    Usage("--interval and --reassign do not apply to fill and delete");
  if (!IsBulk(o.mode) && o.first != 0) Usage("--first applies to fill and delete only");
  if (o.reassign_src >= 0 && (o.reassign_src < 1 || o.reassign_src > 255 || o.reassign_dst > 255 ||
                              o.reassign_src == o.reassign_dst))
    Usage("--reassign needs a source class 1..255 and another destination 0..255 (0: pool)");
  if (o.reassign_rate < 0 || o.reassign_rate > 100000) Usage("--reassign-rate out of range");
  if (o.key_prefix.size() >= static_cast<size_t>(o.key_size)) Usage("--key-prefix too long");
  return o;
}

// ------------------------------------------------------------------ time --

inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// ------------------------------------------------------------- histogram --

// Log-linear histogram of nanosecond values. Values < 256 are exact; above,
// each power of two [2^e, 2^(e+1)) is split into 128 equal sub-buckets.
class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kSub = 1ULL << kSubBits;  // 128
  static constexpr int kMaxShift = 40;                // ~2^47 ns, > 1 day
  static constexpr size_t kBuckets = (kMaxShift + 2) * kSub;

  Histogram() : counts_(kBuckets, 0) {}

  static size_t Index(uint64_t v) {
    if (v < 2 * kSub) return static_cast<size_t>(v);
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - kSubBits;
    if (shift > kMaxShift) return kBuckets - 1;
    return static_cast<size_t>(shift) * kSub + static_cast<size_t>(v >> shift);
  }
  // Midpoint of the bucket's value range.
  static double Value(size_t idx) {
    if (idx < 2 * kSub) return static_cast<double>(idx);
    size_t shift = idx / kSub - 1;
    uint64_t top = idx - shift * kSub;
    double lo = static_cast<double>(top << shift);
    return lo + static_cast<double>((1ULL << shift) - 1) / 2.0;
  }

  void Record(uint64_t v) {
    ++counts_[Index(v)];
    ++n_;
    sum_ += v;
    if (v > max_) max_ = v;
  }
  void Merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    n_ += o.n_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
  }
  void Reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    n_ = sum_ = max_ = 0;
  }
  uint64_t count() const { return n_; }
  double mean() const { return n_ ? static_cast<double>(sum_) / static_cast<double>(n_) : 0.0; }
  uint64_t max() const { return max_; }
  double Percentile(double p) const {
    if (n_ == 0) return 0.0;
    uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(n_)));
    if (rank < 1) rank = 1;
    uint64_t acc = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      acc += counts_[i];
      if (acc >= rank) return std::min(Value(i), static_cast<double>(max_));
    }
    return static_cast<double>(max_);
  }

 private:
  std::vector<uint64_t> counts_;
  uint64_t n_ = 0, sum_ = 0, max_ = 0;
};

// ------------------------------------------------------------ workload --

struct Workload {
  const Options* opt = nullptr;
  std::vector<char> keys;                // keys * key_size bytes, no separators
  std::string set_suffix;                // " 0 0 <value_size>\r\n"
  std::string value;                     // value bytes + "\r\n"
  std::vector<std::string> meta_suffix;  // meta: " v q O<i>\r\n" for batch index i
  std::vector<double> zipf_cdf;          // --zipf: cumulative popularity of key index 0..keys-1

  std::string_view Key(uint64_t i) const {
    return {keys.data() + i * static_cast<uint64_t>(opt->key_size),
            static_cast<size_t>(opt->key_size)};
  }
};

bool BuildWorkload(const Options& o, Workload* w) {
  w->opt = &o;
  const std::string& prefix = o.key_prefix;
  int digits = 1;
  for (uint64_t m = o.keys - 1; m >= 10; m /= 10) ++digits;
  int width = o.key_size - static_cast<int>(prefix.size());
  if (width < digits) {
    std::fprintf(stderr, "mcd_loadgen: --key-size %d too small for %" PRIu64 " keys (need %zu)\n",
                 o.key_size, o.keys, prefix.size() + static_cast<size_t>(digits));
    return false;
  }
  w->keys.resize(o.keys * static_cast<uint64_t>(o.key_size));
  char tmp[300];
  for (uint64_t i = 0; i < o.keys; ++i) {
    int n = std::snprintf(tmp, sizeof tmp, "%s%0*" PRIu64, prefix.c_str(), width, i);
    if (n != o.key_size) return false;
    std::memcpy(w->keys.data() + i * static_cast<uint64_t>(o.key_size), tmp,
                static_cast<size_t>(n));
  }
  w->set_suffix = " 0 0 " + std::to_string(o.value_size) + "\r\n";
  w->value.resize(static_cast<size_t>(o.value_size));
  for (int i = 0; i < o.value_size; ++i)
    w->value[static_cast<size_t>(i)] = static_cast<char>('a' + i % 26);
  w->value += "\r\n";
  if (o.mode == Mode::kMeta) {
    for (int i = 0; i < o.multiget; ++i)
      w->meta_suffix.push_back(" v q O" + std::to_string(i) + "\r\n");
  }
  if (o.zipf > 0) {
    w->zipf_cdf.resize(o.keys);
    double sum = 0;
    for (uint64_t i = 0; i < o.keys; ++i) {
      sum += std::pow(static_cast<double>(i + 1), -o.zipf);
      w->zipf_cdf[i] = sum;
    }
    for (double& c : w->zipf_cdf) c /= sum;
  }
  return true;
}

// -------------------------------------------------------------- connection --

enum ReqType : uint8_t { kGet = 0, kSet = 1, kDel = 2, kMetaGet = 3 };

struct Req {
  uint64_t send_ns;
  uint64_t key;      // first key requested
  uint32_t nkeys;    // keys requested (gets)
  uint32_t hits;     // VALUE / VA blocks received so far
  int32_t last_idx;  // meta: opaque (batch index) of the last VA, -1 before the first
  uint8_t type;
};

struct Stats {
  uint64_t requests = 0, gets = 0, sets = 0, deletes = 0, get_keys = 0, hits = 0;
  uint64_t stored = 0, not_stored = 0, errors = 0, bytes_in = 0, bytes_out = 0, bad_values = 0;
  Histogram lat;      // every request
  Histogram get_lat;  // gets only
  Histogram set_lat;  // sets only
  void Reset() {
    requests = gets = sets = deletes = get_keys = hits = stored = not_stored = errors = bytes_in =
        bytes_out = bad_values = 0;
    lat.Reset();
    get_lat.Reset();
    set_lat.Reset();
  }
  void Merge(const Stats& s) {
    requests += s.requests;
    gets += s.gets;
    sets += s.sets;
    deletes += s.deletes;
    get_keys += s.get_keys;
    hits += s.hits;
    stored += s.stored;
    not_stored += s.not_stored;
    errors += s.errors;
    bytes_in += s.bytes_in;
    bytes_out += s.bytes_out;
    bad_values += s.bad_values;
    lat.Merge(s.lat);
    get_lat.Merge(s.get_lat);
    set_lat.Merge(s.set_lat);
  }
};

struct Conn {
  int fd = -1;
  bool dead = false;
  bool want_out = false;  // EPOLLOUT registered
  // Write buffer: [wpos, wbuf.size()) pending.
  std::string wbuf;
  size_t wpos = 0;
  // Requests appended to wbuf since the last flush get their timestamp at flush.
  int unstamped = 0;
  // Read buffer: [rpos, rend) unparsed.
  std::unique_ptr<char[]> rbuf;
  size_t rcap = 0, rpos = 0, rend = 0;
  uint64_t skip = 0;  // bytes of a VALUE data block (+CRLF) still to skip
  // The data block being skipped is compared with w_.value (value + CRLF) from this offset;
  // false when not checked (--no-verify) or already found different.
  bool check = false;
  size_t check_pos = 0;
  // Outstanding requests ring.
  std::vector<Req> ring;
  size_t head = 0, n_out = 0;
  // Fill mode: next key to store and end of this connection's range.
  uint64_t next_key = 0, end_key = 0;
  bool done = false;  // fill: range stored (or connection lost)
  // readthrough: keys whose get missed, to be set next.
  std::vector<uint64_t> pending_sets;

  Req& Front() { return ring[head]; }
  void Pop() {
    head = (head + 1) % ring.size();
    --n_out;
  }
  Req& Push() {
    Req& r = ring[(head + n_out) % ring.size()];
    ++n_out;
    return r;
  }
};

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL) {}
  uint64_t Next() {  // splitmix64
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<__uint128_t>(Next()) * n) >> 64);
  }
  double Unit() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t s_;
};

// ---------------------------------------------------------------- worker --

struct Shared {
  uint64_t start_ns = 0;
  uint64_t measure_ns = 0;  // start of measurement (end of warmup)
  uint64_t end_ns = 0;      // end of measurement
  std::atomic<bool> failed{false};
};

class Worker {
 public:
  Worker(const Options& o, const Workload& w, Shared& sh, int id, int nconns, uint64_t fill_lo,
         uint64_t fill_hi)
      : o_(o), w_(w), sh_(sh), rng_(o.seed * 1000003ULL + static_cast<uint64_t>(id)) {
    conns_.resize(static_cast<size_t>(nconns));
    // Split this worker's fill range across its connections.
    uint64_t span = fill_hi - fill_lo;
    for (int i = 0; i < nconns; ++i) {
      conns_[static_cast<size_t>(i)].next_key =
          fill_lo + span * static_cast<uint64_t>(i) / static_cast<uint64_t>(nconns);
      conns_[static_cast<size_t>(i)].end_key =
          fill_lo + span * static_cast<uint64_t>(i + 1) / static_cast<uint64_t>(nconns);
    }
  }
  ~Worker() {
    for (auto& c : conns_)
      if (c.fd >= 0) close(c.fd);
    if (ep_ >= 0) close(ep_);
  }

  bool Connect();
  void Run();

  Stats stats;
  uint64_t conns_lost = 0;  // not reset at the end of warmup
  uint64_t window_begin_ns = 0, window_end_ns = 0;
  bool fill_complete = false;
  std::vector<Stats> intervals;  // --interval: one entry per interval, in order

 private:
  void Issue(Conn& c);
  void IssueOne(Conn& c);
  bool Flush(Conn& c);
  bool HandleRead(Conn& c, uint64_t now);
  bool Parse(Conn& c, uint64_t now);
  void Complete(Conn& c, uint64_t now, bool ok_reply, bool error);
  void Kill(Conn& c, const char* why);
  // A data block of `bytes` bytes (+CRLF) follows: skip it, comparing it with the stored value.
  void StartValue(Conn& c, uint64_t bytes);
  void BadValue();
  // The reply line of a meta request (VA, MN or an error). Returns false if the connection was
  // killed.
  bool ParseMetaLine(Conn& c, uint64_t now, std::string_view line);
  bool Running() const { return running_; }
  uint64_t PickKey();
  // Ends the intervals whose end is at or before `now`, and at `final` the partial one.
  void CloseIntervals(uint64_t now, bool final);

  const Options& o_;
  const Workload& w_;
  Shared& sh_;
  Rng rng_;
  int ep_ = -1;
  std::vector<Conn> conns_;
  bool running_ = true;  // still issuing new requests
  bool measuring_ = false;
  size_t alive_ = 0;
  size_t fill_done_conns_ = 0;
  Stats interval_;  // the current interval
  uint64_t next_interval_ns_ = 0;
};

uint64_t Worker::PickKey() {
  if (w_.zipf_cdf.empty()) return rng_.Below(o_.keys);
  const double u = rng_.Unit();
  auto it = std::upper_bound(w_.zipf_cdf.begin(), w_.zipf_cdf.end(), u);
  if (it == w_.zipf_cdf.end()) --it;
  return static_cast<uint64_t>(it - w_.zipf_cdf.begin());
}

void Worker::CloseIntervals(uint64_t now, bool final) {
  const size_t n = o_.NumWindows();
  while (intervals.size() < n && (now >= next_interval_ns_ || final)) {
    intervals.push_back(interval_);
    interval_.Reset();
    next_interval_ns_ += static_cast<uint64_t>(o_.interval * 1e9);
    if (final) break;
  }
}

bool Worker::Connect() {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) {
    std::perror("epoll_create1");
    return false;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(o_.port));
  if (inet_pton(AF_INET, o_.host.c_str(), &sa.sin_addr) != 1) {
    std::fprintf(stderr, "mcd_loadgen: --host must be an IPv4 address\n");
    return false;
  }
  for (size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      std::perror("socket");
      return false;
    }
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      std::fprintf(stderr, "mcd_loadgen: connect %s:%d: %s\n", o_.host.c_str(), o_.port,
                   std::strerror(errno));
      return false;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int fl = fcntl(c.fd, F_GETFL, 0);
    if (fl < 0 || fcntl(c.fd, F_SETFL, fl | O_NONBLOCK) != 0) {
      std::perror("fcntl");
      return false;
    }
    c.rcap = 64 * 1024;
    c.rbuf.reset(new char[c.rcap]);
    c.ring.resize(static_cast<size_t>(o_.depth));
    c.wbuf.reserve(4096);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
      std::perror("epoll_ctl");
      return false;
    }
  }
  alive_ = conns_.size();
  return true;
}

void Worker::Kill(Conn& c, const char* why) {
  if (c.dead) return;
  static std::atomic<int> reported{0};
  if (reported.fetch_add(1) < 3) std::fprintf(stderr, "mcd_loadgen: connection lost: %s\n", why);
  epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  c.fd = -1;
  c.dead = true;
  ++stats.errors;
  ++interval_.errors;
  ++conns_lost;
  --alive_;
  if (IsBulk(o_.mode) && !c.done) {
    c.done = true;
    ++fill_done_conns_;
  }
}

void Worker::IssueOne(Conn& c) {
  Req& r = c.Push();
  r.send_ns = 0;
  r.hits = 0;
  r.last_idx = -1;
  std::string& b = c.wbuf;
  bool is_set;
  uint64_t key;
  if (o_.mode == Mode::kDelete) {
    r.type = kDel;
    r.nkeys = 0;
    r.key = c.next_key++;
    b.append("delete ", 7);
    b.append(w_.Key(r.key));
    b.append("\r\n", 2);
    ++c.unstamped;
    return;
  }
  if (o_.mode == Mode::kFill) {
    is_set = true;
    key = c.next_key++;
  } else if (!c.pending_sets.empty()) {  // readthrough: set what just missed
    is_set = true;
    key = c.pending_sets.back();
    c.pending_sets.pop_back();
  } else {
    is_set = o_.ratio < 1.0 && (o_.ratio <= 0.0 || rng_.Unit() >= o_.ratio);
    key = PickKey();
  }
  r.key = key;
  if (is_set) {
    r.type = kSet;
    r.nkeys = 0;
    b.append("set ", 4);
    b.append(w_.Key(key));
    b.append(w_.set_suffix);
    b.append(w_.value);
  } else if (o_.mode == Mode::kMeta) {
    r.type = kMetaGet;
    r.nkeys = static_cast<uint32_t>(o_.multiget);
    for (int i = 0; i < o_.multiget; ++i) {
      b.append("mg ", 3);
      b.append(w_.Key(i == 0 ? key : PickKey()));
      b.append(w_.meta_suffix[static_cast<size_t>(i)]);
    }
    b.append("mn\r\n", 4);
  } else {
    r.type = kGet;
    r.nkeys = static_cast<uint32_t>(o_.multiget);
    b.append("get ", 4);
    b.append(w_.Key(key));
    for (int i = 1; i < o_.multiget; ++i) {
      b.push_back(' ');
      b.append(w_.Key(PickKey()));
    }
    b.append("\r\n", 2);
  }
  ++c.unstamped;
}

void Worker::Issue(Conn& c) {
  if (c.dead || !running_) return;
  const size_t depth = static_cast<size_t>(o_.depth);
  if (IsBulk(o_.mode)) {
    while (c.n_out < depth && c.next_key < c.end_key) IssueOne(c);
    if (!c.done && c.n_out == 0 && c.next_key >= c.end_key) {
      c.done = true;
      ++fill_done_conns_;
    }
    return;
  }
  while (c.n_out < depth) IssueOne(c);
}

bool Worker::Flush(Conn& c) {
  if (c.dead) return false;
  if (c.unstamped > 0) {
    uint64_t now = NowNs();
    size_t n = c.ring.size();
    for (int i = 0; i < c.unstamped; ++i) {
      c.ring[(c.head + c.n_out - 1 - static_cast<size_t>(i)) % n].send_ns = now;
    }
    c.unstamped = 0;
  }
  while (c.wpos < c.wbuf.size()) {
    ssize_t w = write(c.fd, c.wbuf.data() + c.wpos, c.wbuf.size() - c.wpos);
    if (w > 0) {
      c.wpos += static_cast<size_t>(w);
      stats.bytes_out += static_cast<uint64_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c.want_out) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
        c.want_out = true;
      }
      return true;
    }
    Kill(c, "write failed");
    return false;
  }
  c.wbuf.clear();
  c.wpos = 0;
  if (c.want_out) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = false;
  }
  return true;
}

void Worker::Complete(Conn& c, uint64_t now, bool ok_reply, bool error) {
  Req& r = c.Front();
  const uint64_t lat = now >= r.send_ns ? now - r.send_ns : 0;
  auto account = [&](Stats& s) {
    ++s.requests;
    if (r.type == kGet || r.type == kMetaGet) {
      ++s.gets;
      s.get_keys += r.nkeys;
      s.hits += r.hits;
      s.get_lat.Record(lat);
    } else if (r.type == kDel) {
      ++s.deletes;
    } else {
      ++s.sets;
      s.set_lat.Record(lat);
      if (ok_reply)
        ++s.stored;
      else if (!error)
        ++s.not_stored;
    }
    if (error) ++s.errors;
    s.lat.Record(lat);
  };
  account(stats);
  if (o_.interval > 0) account(interval_);
  if (o_.mode == Mode::kReadThrough && r.type == kGet && r.hits == 0 && !error) {
    c.pending_sets.push_back(r.key);
  }
  c.Pop();
}

bool IsErrorLine(std::string_view line) {
  return line == "ERROR" || line.substr(0, 13) == "CLIENT_ERROR " ||
         line.substr(0, 13) == "SERVER_ERROR ";
}

void ReportError(std::string_view line) {
  static std::atomic<int> reported{0};
  if (reported.fetch_add(1) < 5) {
    std::fprintf(stderr, "mcd_loadgen: server error reply: %.*s\n", static_cast<int>(line.size()),
                 line.data());
  }
}

// Parses the decimal number at the start of `s` (1 to 19 digits); sets *used to its length.
bool ParseNumber(std::string_view s, uint64_t* value, size_t* used) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < s.size() && i < 19 && s[i] >= '0' && s[i] <= '9'; ++i)
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  *value = v;
  *used = i;
  return i > 0 && (i == s.size() || s[i] < '0' || s[i] > '9');
}

void Worker::BadValue() {
  static std::atomic<int> reported{0};
  if (reported.fetch_add(1) < 3) std::fprintf(stderr, "mcd_loadgen: value differs\n");
  ++stats.bad_values;
  ++stats.errors;
  ++interval_.bad_values;
  ++interval_.errors;
}

void Worker::StartValue(Conn& c, uint64_t bytes) {
  c.skip = bytes + 2;
  c.check = false;
  c.check_pos = 0;
  if (!o_.verify) return;
  if (bytes + 2 == w_.value.size()) {
    c.check = true;
  } else {
    BadValue();
  }
}

bool Worker::ParseMetaLine(Conn& c, uint64_t now, std::string_view line) {
  Req& r = c.Front();
  if (line.size() > 3 && line.substr(0, 3) == "VA ") {
    // VA <bytes> O<i>: the only return flag asked for
    uint64_t bytes = 0;
    uint64_t idx = 0;
    size_t used = 0;
    size_t idx_used = 0;
    std::string_view rest = line.substr(3);
    if (!ParseNumber(rest, &bytes, &used) || rest.substr(used, 2) != " O") {
      Kill(c, "bad VA line");
      return false;
    }
    rest = rest.substr(used + 2);
    if (!ParseNumber(rest, &idx, &idx_used) || idx_used != rest.size() || idx >= r.nkeys ||
        static_cast<int64_t>(idx) <= r.last_idx) {
      Kill(c, "VA opaque out of order or out of range");
      return false;
    }
    r.last_idx = static_cast<int32_t>(idx);
    ++r.hits;
    StartValue(c, bytes);
    return true;
  }
  if (line == "MN") {
    Complete(c, now, true, false);
    return true;
  }
  if (IsErrorLine(line)) {  // one mg refused; its batch still ends with MN
    ReportError(line);
    ++stats.errors;
    ++interval_.errors;
    return true;
  }
  Kill(c, "unexpected reply to a meta get (a miss not suppressed by q?)");
  return false;
}

// Parses as many complete reply elements as the buffer holds.
// Returns false if the connection was killed.
bool Worker::Parse(Conn& c, uint64_t now) {
  for (;;) {
    if (c.skip > 0) {
      uint64_t avail = c.rend - c.rpos;
      uint64_t n = std::min<uint64_t>(avail, c.skip);
      if (c.check) {
        if (std::memcmp(c.rbuf.get() + c.rpos, w_.value.data() + c.check_pos, n) != 0) {
          c.check = false;
          BadValue();
        }
        c.check_pos += n;
      }
      c.rpos += n;
      c.skip -= n;
      if (c.skip > 0) break;
    }
    if (c.rpos == c.rend) break;
    const char* p = c.rbuf.get() + c.rpos;
    size_t avail = c.rend - c.rpos;
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', avail));
    if (nl == nullptr) {
      if (avail > 8192) {
        Kill(c, "reply line too long");
        return false;
      }
      break;
    }
    size_t len = static_cast<size_t>(nl - p);  // without '\n'
    if (len > 0 && p[len - 1] == '\r') --len;
    std::string_view line(p, len);
    c.rpos += static_cast<size_t>(nl - p) + 1;
    if (c.n_out == 0) {
      Kill(c, "unsolicited reply data");
      return false;
    }
    Req& r = c.Front();
    if (r.type == kMetaGet) {
      if (!ParseMetaLine(c, now, line)) return false;
      continue;
    }
    if (line.size() > 6 && line.substr(0, 6) == "VALUE ") {
      if (r.type != kGet) {
        Kill(c, "VALUE in reply to set");
        return false;
      }
      // VALUE <key> <flags> <bytes> [<cas>]
      size_t k = line.find(' ', 6);
      size_t f = k == std::string_view::npos ? k : line.find(' ', k + 1);
      if (f == std::string_view::npos || f + 1 >= line.size()) {
        Kill(c, "bad VALUE line");
        return false;
      }
      uint64_t bytes = 0;
      size_t i = f + 1;
      for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i)
        bytes = bytes * 10 + static_cast<uint64_t>(line[i] - '0');
      if (i == f + 1 || (i < line.size() && line[i] != ' ')) {
        Kill(c, "bad VALUE bytes");
        return false;
      }
      ++r.hits;
      StartValue(c, bytes);
      continue;
    }
    if (line == "END") {
      if (r.type != kGet) {
        Kill(c, "END in reply to set");
        return false;
      }
      Complete(c, now, true, false);
    } else if (line == "STORED") {
      if (r.type != kSet) {
        Kill(c, "STORED in reply to get");
        return false;
      }
      Complete(c, now, true, false);
    } else if (line == "DELETED" || (line == "NOT_FOUND" && r.type == kDel)) {
      if (r.type != kDel) {
        Kill(c, "DELETED in reply to get or set");
        return false;
      }
      Complete(c, now, true, false);
    } else if (line == "NOT_STORED" || line == "EXISTS" || line == "NOT_FOUND") {
      if (r.type != kSet) {
        Kill(c, "unexpected reply to get");
        return false;
      }
      Complete(c, now, false, false);
    } else if (IsErrorLine(line)) {
      ReportError(line);
      Complete(c, now, false, true);
    } else {
      Kill(c, "unexpected reply line");
      return false;
    }
  }
  // Compact the read buffer.
  if (c.rpos == c.rend) {
    c.rpos = c.rend = 0;
  } else if (c.rpos > c.rcap / 2 || c.rend == c.rcap) {
    std::memmove(c.rbuf.get(), c.rbuf.get() + c.rpos, c.rend - c.rpos);
    c.rend -= c.rpos;
    c.rpos = 0;
  }
  return true;
}

bool Worker::HandleRead(Conn& c, uint64_t /*unused*/) {
  for (int iter = 0; iter < 64; ++iter) {
    size_t space = c.rcap - c.rend;
    ssize_t n = read(c.fd, c.rbuf.get() + c.rend, space);
    if (n > 0) {
      uint64_t now = NowNs();
      c.rend += static_cast<size_t>(n);
      stats.bytes_in += static_cast<uint64_t>(n);
      if (!Parse(c, now)) return false;
      if (static_cast<size_t>(n) < space) return true;
      continue;
    }
    if (n == 0) {
      Kill(c, "server closed the connection");
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    Kill(c, std::strerror(errno));
    return false;
  }
  return true;
}

void Worker::Run() {
  const bool fill = IsBulk(o_.mode);
  measuring_ = fill || sh_.measure_ns <= sh_.start_ns;
  window_begin_ns = sh_.start_ns;
  next_interval_ns_ = sh_.measure_ns + static_cast<uint64_t>(o_.interval * 1e9);
  for (auto& c : conns_) {
    Issue(c);
    Flush(c);
  }
  epoll_event evs[256];
  for (;;) {
    uint64_t now = NowNs();
    if (!measuring_ && now >= sh_.measure_ns) {
      stats.Reset();
      interval_.Reset();
      measuring_ = true;
      window_begin_ns = now;
    }
    if (measuring_ && o_.interval > 0) CloseIntervals(now, false);
    if (now >= sh_.end_ns) {
      window_end_ns = now;
      if (fill) std::fprintf(stderr, "mcd_loadgen: fill timed out\n");
      break;
    }
    if (fill && fill_done_conns_ == conns_.size()) {
      window_end_ns = now;
      fill_complete = alive_ == conns_.size();
      break;
    }
    if (alive_ == 0) {
      window_end_ns = now;
      break;
    }
    uint64_t next = measuring_ ? sh_.end_ns : sh_.measure_ns;
    if (measuring_ && o_.interval > 0) next = std::min(next, next_interval_ns_);
    uint64_t wait_ns = next > now ? next - now : 0;
    int timeout_ms = static_cast<int>(std::min<uint64_t>(100, wait_ns / 1000000 + 1));
    int n = epoll_wait(ep_, evs, 256, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("epoll_wait");
      window_end_ns = NowNs();
      break;
    }
    for (int i = 0; i < n; ++i) {
      Conn& c = conns_[evs[i].data.u64];
      if (c.dead) continue;
      if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (!HandleRead(c, 0)) continue;
      }
      Issue(c);
      Flush(c);
    }
  }
  if (o_.interval > 0) CloseIntervals(NowNs(), true);
  running_ = false;
}

std::string Json(const Options& o, const Stats& s, double window_s, double rate, double key_rate,
                 bool fill_ok, uint64_t conns_lost, double cpu_s, double cpu_user_s,
                 double cpu_sys_s) {
  char buf[4096];
  double hit_ratio =
      s.get_keys ? static_cast<double>(s.hits) / static_cast<double>(s.get_keys) : 0.0;
  auto us = [&](double p) { return s.lat.Percentile(p) / 1000.0; };
  int n = std::snprintf(
      buf, sizeof buf,
      "{\"mode\":\"%s\",\"conns\":%d,\"threads\":%d,\"depth\":%d,\"multiget\":%d,\"ratio\":%.3f,"
      "\"keys\":%" PRIu64
      ",\"key_size\":%d,\"value_size\":%d,\"window_s\":%.3f,"
      "\"requests\":%" PRIu64
      ",\"ops_per_s\":%.1f,\"keys_per_s\":%.1f,"
      "\"gets\":%" PRIu64 ",\"sets\":%" PRIu64 ",\"get_keys\":%" PRIu64 ",\"hits\":%" PRIu64
      ",\"hit_ratio\":%.5f,\"stored\":%" PRIu64 ",\"not_stored\":%" PRIu64 ",\"errors\":%" PRIu64
      ",\"bad_values\":%" PRIu64
      ","
      "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_"
      "us\":%.1f,"
      "\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
      ",\"cpu_s\":%.3f,\"cpu_user_s\":%.3f,"
      "\"cpu_sys_s\":%.3f,\"cpu_util\":%.3f,\"conns_lost\":%" PRIu64 "%s",
      ModeName(o.mode), o.conns, o.threads, o.depth, o.multiget, o.ratio, o.keys, o.key_size,
      o.value_size, window_s, s.requests, rate, key_rate, s.gets, s.sets, s.get_keys, s.hits,
      hit_ratio, s.stored, s.not_stored, s.errors, s.bad_values, us(50), us(90), us(99), us(99.9),
      static_cast<double>(s.lat.max()) / 1000.0, s.lat.mean() / 1000.0, s.bytes_in, s.bytes_out,
      cpu_s, cpu_user_s, cpu_sys_s, window_s > 0 ? cpu_s / window_s : 0.0, conns_lost,
      IsBulk(o.mode) ? (fill_ok ? ",\"complete\":true" : ",\"complete\":false") : "");
  return std::string(buf, static_cast<size_t>(std::max(0, std::min<int>(n, sizeof buf - 1))));
}

// Server counters reported as the change over a window, and levels reported as their value at
// its end.
constexpr const char* kServerCounters[] = {"evictions",
                                           "slabs_moved",
                                           "get_hits",
                                           "get_misses",
                                           "total_items",
                                           "reclaimed",
                                           "evicted_unfetched",
                                           "slab_reassign_rescues",
                                           "slab_reassign_evictions_nomem",
                                           "slab_reassign_inline_reclaim",
                                           "slab_reassign_busy_items"};
constexpr const char* kServerLevels[] = {"curr_items", "bytes", "slab_global_page_pool",
                                         "total_malloced"};

std::string Fmt(const char* fmt, double v) {
  char b[64];
  std::snprintf(b, sizeof b, fmt, v);
  return b;
}

// ,"srv":{...},"pages":{"<chunk_size>":pages,...} for the span between two snapshots.
std::string ServerJson(const ServerSnapshot& a, const ServerSnapshot& b) {
  if (!a.ok || !b.ok) return ",\"srv\":null";
  std::string out = ",\"srv\":{";
  bool first = true;
  auto field = [&](const char* name, uint64_t v) {
    out += first ? "\"" : ",\"";
    out += name;
    out += "\":" + std::to_string(v);
    first = false;
  };
  for (const char* name : kServerCounters) {
    auto ia = a.stats.find(name);
    auto ib = b.stats.find(name);
    if (ia != a.stats.end() && ib != b.stats.end()) field(name, ib->second - ia->second);
  }
  for (const char* name : kServerLevels) {
    auto ib = b.stats.find(name);
    if (ib != b.stats.end()) field(name, ib->second);
  }
  if (auto ib = b.stats.find("slabs_moved"); ib != b.stats.end()) {
    field("slabs_moved_total", ib->second);
  }
  out += "},\"pages\":{";
  first = true;
  for (const auto& [chunk, pages] : b.pages) {
    if (pages == 0) continue;
    out += (first ? "\"" : ",\"") + std::to_string(chunk) + "\":" + std::to_string(pages);
    first = false;
  }
  out += "}";
  return out;
}

// get_* and set_* percentiles (µs); set_* only when there were sets.
std::string LatencyJson(const Stats& s) {
  std::string out;
  auto add = [&](const char* name, const Histogram& h) {
    out += std::string(",\"") + name + "_p50_us\":" + Fmt("%.1f", h.Percentile(50) / 1000.0) +
           ",\"" + name + "_p99_us\":" + Fmt("%.1f", h.Percentile(99) / 1000.0) + ",\"" + name +
           "_max_us\":" + Fmt("%.1f", static_cast<double>(h.max()) / 1000.0);
  };
  add("get", s.get_lat);
  if (s.set_lat.count() > 0) add("set", s.set_lat);
  return out;
}

// The fields beyond the basic ones: get latency, server figures, page moves, intervals.
std::string ExtraJson(const Options& o, const Stats& total, const std::vector<Stats>& intervals,
                      const std::vector<ServerSnapshot>& snaps,
                      const mcd_bench::ReassignCounts* reassign) {
  std::string out = LatencyJson(total);
  if (o.mode == Mode::kDelete) out += ",\"deletes\":" + std::to_string(total.deletes);
  if (o.server_stats && snaps.size() >= 2) out += ServerJson(snaps.front(), snaps.back());
  if (reassign != nullptr) {
    out += ",\"reassign_ok\":" + std::to_string(reassign->ok) +
           ",\"reassign_busy\":" + std::to_string(reassign->busy) +
           ",\"reassign_other\":" + std::to_string(reassign->other);
  }
  if (o.interval > 0) {
    out += ",\"windows\":[";
    for (size_t i = 0; i < intervals.size(); ++i) {
      const Stats& s = intervals[i];
      const double win_s = std::min(o.interval, o.duration - o.interval * static_cast<double>(i));
      const double hit_ratio =
          s.get_keys ? static_cast<double>(s.hits) / static_cast<double>(s.get_keys) : 0.0;
      out += i ? ",{" : "{";
      out += "\"window\":" + std::to_string(i + 1) +
             ",\"end_s\":" + Fmt("%.1f", o.interval * static_cast<double>(i) + win_s) +
             ",\"ops_per_s\":" +
             Fmt("%.1f", win_s > 0 ? static_cast<double>(s.requests) / win_s : 0.0) +
             ",\"gets\":" + std::to_string(s.gets) + ",\"sets\":" + std::to_string(s.sets) +
             ",\"hits\":" + std::to_string(s.hits) + ",\"hit_ratio\":" + Fmt("%.5f", hit_ratio) +
             ",\"errors\":" + std::to_string(s.errors) + LatencyJson(s);
      if (o.server_stats && i + 1 < snaps.size()) out += ServerJson(snaps[i], snaps[i + 1]);
      out += "}";
    }
    out += "]";
  }
  return out;
}

void CpuTimes(double* user, double* sys) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  *user = static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
  *sys = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Options o = ParseArgs(argc, argv);
  Workload w;
  if (!BuildWorkload(o, &w)) return 2;

  Shared sh;
  std::vector<std::unique_ptr<Worker>> workers;
  const uint64_t fill_total = IsBulk(o.mode) ? o.count : 0;
  int conn_base = 0;
  for (int t = 0; t < o.threads; ++t) {
    int nc = o.conns / o.threads + (t < o.conns % o.threads ? 1 : 0);
    uint64_t lo =
        o.first + fill_total * static_cast<uint64_t>(conn_base) / static_cast<uint64_t>(o.conns);
    uint64_t hi = o.first + fill_total * static_cast<uint64_t>(conn_base + nc) /
                                static_cast<uint64_t>(o.conns);
    workers.push_back(std::make_unique<Worker>(o, w, sh, t, nc, lo, hi));
    conn_base += nc;
    if (!workers.back()->Connect()) return 1;
  }
  ControlConn stats_conn;
  ControlConn reassign_conn;
  if (o.server_stats && !stats_conn.Connect(o.host, o.port)) return 1;
  if (o.reassign_src >= 0 && !reassign_conn.Connect(o.host, o.port)) return 1;
  std::FILE* stats_log = nullptr;
  if (!o.stats_log.empty()) {
    stats_log = std::fopen(o.stats_log.c_str(), "a");
    if (stats_log == nullptr) {
      std::fprintf(stderr, "mcd_loadgen: --stats-log %s: ", o.stats_log.c_str());
      std::perror("fopen");
      return 1;
    }
  }

  sh.start_ns = NowNs();
  sh.measure_ns = sh.start_ns + static_cast<uint64_t>(o.warmup * 1e9);
  sh.end_ns = IsBulk(o.mode) ? sh.start_ns + static_cast<uint64_t>(o.timeout * 1e9)
                             : sh.measure_ns + static_cast<uint64_t>(o.duration * 1e9);

  double u0 = 0, s0 = 0;
  if (IsBulk(o.mode) || o.warmup <= 0) CpuTimes(&u0, &s0);

  std::vector<std::thread> threads;
  for (int t = 1; t < o.threads; ++t)
    threads.emplace_back([&, t] { workers[static_cast<size_t>(t)]->Run(); });
  if (o.mode != Mode::kFill && o.warmup > 0) {
    // Sample CPU at the start of the measurement window from a helper thread
    // so that worker 0 can run on the main thread.
    threads.emplace_back([&] {
      for (int i = 0; i < 1000000; ++i) {
        uint64_t now = NowNs();
        if (now >= sh.measure_ns) break;
        uint64_t d = std::min<uint64_t>(sh.measure_ns - now, 50000000);
        timespec ts{static_cast<time_t>(d / 1000000000ULL), static_cast<long>(d % 1000000000ULL)};
        nanosleep(&ts, nullptr);
      }
      CpuTimes(&u0, &s0);
    });
  }
  // Server snapshots at the start of the measurement, at each interval's end, and at its end.
  std::vector<ServerSnapshot> snaps;
  if (o.server_stats) {
    threads.emplace_back([&] {
      std::vector<uint64_t> at{sh.measure_ns};
      for (size_t k = 1; k < o.NumWindows(); ++k) {
        at.push_back(sh.measure_ns +
                     static_cast<uint64_t>(o.interval * 1e9 * static_cast<double>(k)));
      }
      at.push_back(sh.end_ns);
      for (size_t k = 0; k < at.size(); ++k) {
        mcd_bench::SleepUntilNs(at[k]);
        char label[96];
        std::snprintf(label, sizeof label, "snapshot %zu t=%.1fs", k,
                      static_cast<double>(NowNs() - sh.measure_ns) / 1e9);
        snaps.push_back(mcd_bench::TakeSnapshot(stats_conn, stats_log, label));
      }
    });
  }
  mcd_bench::ReassignCounts reassign;
  if (o.reassign_src >= 0) {
    threads.emplace_back([&] {
      mcd_bench::ReassignLoop(reassign_conn, o.reassign_src, o.reassign_dst, o.reassign_rate,
                              sh.end_ns, &reassign);
    });
  }
  workers[0]->Run();
  for (auto& th : threads) th.join();
  if (stats_log != nullptr) std::fclose(stats_log);
  double u1 = 0, s1 = 0;
  CpuTimes(&u1, &s1);

  Stats total;
  double rate = 0, key_rate = 0, window_s = 0;
  bool fill_ok = true;
  uint64_t conns_lost = 0;
  for (auto& wk : workers) {
    conns_lost += wk->conns_lost;
    total.Merge(wk->stats);
    double win = static_cast<double>(wk->window_end_ns - wk->window_begin_ns) / 1e9;
    window_s = std::max(window_s, win);
    if (win > 0) {
      rate += static_cast<double>(wk->stats.requests) / win;
      key_rate += static_cast<double>(wk->stats.get_keys) / win;
    }
    if (IsBulk(o.mode) && !wk->fill_complete) fill_ok = false;
  }
  if (IsBulk(o.mode)) {
    fill_ok = fill_ok && (o.mode == Mode::kFill ? total.stored : total.deletes) == o.count;
    key_rate = 0;
  }
  std::vector<Stats> intervals(o.NumWindows());
  for (auto& wk : workers) {
    for (size_t i = 0; i < wk->intervals.size() && i < intervals.size(); ++i) {
      intervals[i].Merge(wk->intervals[i]);
    }
  }
  std::string line = Json(o, total, window_s, rate, key_rate, fill_ok, conns_lost,
                          (u1 - u0) + (s1 - s0), u1 - u0, s1 - s0);
  line += ExtraJson(o, total, intervals, snaps, o.reassign_src >= 0 ? &reassign : nullptr);
  line += "}";
  if (o.reassign_src >= 0 && reassign.other > 0) {
    std::fprintf(stderr, "mcd_loadgen: %" PRIu64 " reassign requests refused, last: %s\n",
                 reassign.other, reassign.last_other.c_str());
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  if (IsBulk(o.mode) && !fill_ok) return 1;
  if (total.requests == 0 || conns_lost > 0) return 1;
  return 0;
}
