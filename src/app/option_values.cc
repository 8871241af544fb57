#include "option_values.h"

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include "mcd/util/numbers.h"

namespace mcd::app::internal {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 64;  // EX_USAGE

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

int LenientInt(const std::string& s) {
  // strtol saturates at LONG_MIN/LONG_MAX; the conversion to int then keeps the low 32 bits, as
  // C's atoi does on glibc.
  long v = std::strtol(s.c_str(), nullptr, 10);
  return static_cast<int>(static_cast<uint32_t>(static_cast<unsigned long>(v)));
}

double LenientDouble(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

int LenientOctal(const std::string& s) {
  long v = std::strtol(s.c_str(), nullptr, 8);
  return static_cast<int>(static_cast<uint32_t>(static_cast<unsigned long>(v)));
}

bool StrictUint32(const std::string& s, uint32_t* out) {
  std::string_view v = s;
  while (!v.empty() && IsBlank(v.back())) v.remove_suffix(1);
  if (v.empty() || v.front() == '-') return false;
  uint64_t n = 0;
  if (!ParseUint64(v, &n) || n > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(n);
  return true;
}

bool StrictDouble(const std::string& s, double* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  while (*end != '\0' && IsBlank(*end)) ++end;
  if (errno != 0 || end == s.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

uint64_t MemoryLimitBytes(const std::string& s) {
  return static_cast<uint64_t>(static_cast<int64_t>(LenientInt(s))) << 20;
}

int32_t ItemSizeBytes(const std::string& s) {
  uint32_t unit = 1;
  if (!s.empty()) {
    char last = s.back();
    if (last == 'k' || last == 'K') unit = 1024;
    if (last == 'm' || last == 'M') unit = 1024 * 1024;
  }
  return static_cast<int32_t>(static_cast<uint32_t>(LenientInt(s)) * unit);
}

namespace {

// One -o sub-option: its name and how it applies a value (null when given without '=').
struct SubOption {
  const char* name;
  // Returns an error message, or "" on success.
  std::function<std::string(const char* value, ExtendedOptions* ext, std::string* warnings)> apply;
};

std::string Missing(const char* name) { return std::string("Missing ") + name + " argument"; }
std::string MissingNumeric(const char* name) {
  return std::string("Missing numeric argument for ") + name;
}
std::string CouldNotParse(const char* name) {
  return std::string("could not parse argument to ") + name;
}

// Sub-options that need a capability mcd does not have.
bool IsUnsupported(std::string_view key, std::string* why) {
  if (key.starts_with("ext_")) {
    *why = "external storage (extstore) is not supported by mcd";
    return true;
  }
  if (key.starts_with("ssl_")) {
    *why = "TLS is not supported by mcd";
    return true;
  }
  return false;
}

const std::vector<SubOption>& SubOptions() {
  using W = std::string*;
  using E = ExtendedOptions*;
  static const std::vector<SubOption> kTable = {
      {"maxconns_fast",
       [](const char*, E e, W) {
         e->maxconns_fast = true;
         return std::string();
       }},
      {"no_maxconns_fast",
       [](const char*, E e, W) {
         e->maxconns_fast = false;
         return std::string();
       }},
      {"hashpower",
       [](const char* v, E e, W) {
         if (v == nullptr) return MissingNumeric("hashpower");
         int p = LenientInt(v);
         if (p < 12) {
           return "Initial hashtable multiplier of " + std::to_string(p) + " is too low";
         }
         if (p > 32) {
           return "Initial hashtable multiplier of " + std::to_string(p) +
                  " is too high\nChoose a value based on \"STAT hash_power_level\" from a "
                  "running instance";
         }
         e->hashpower_init = p;
         return std::string();
       }},
      {"tail_repair_time",
       [](const char* v, E e, W) {
         if (v == nullptr) return MissingNumeric("tail_repair_time");
         int t = LenientInt(v);
         if (t < 10) return std::string("Cannot set tail_repair_time to less than 10 seconds");
         e->tail_repair_time = static_cast<uint32_t>(t);
         return std::string();
       }},
      {"hash_algorithm",
       [](const char* v, E e, W) {
         if (v == nullptr) return std::string("Missing hash_algorithm argument");
         std::string a = v;
         if (a != "jenkins" && a != "murmur3" && a != "xxh3") {
           return std::string("Unknown hash_algorithm option (jenkins, murmur3, xxh3)");
         }
         e->hash_algorithm = a;
         return std::string();
       }},
      {"lru_crawler",
       [](const char*, E e, W) {
         e->lru_crawler = true;
         return std::string();
       }},
      {"no_lru_crawler",
       [](const char*, E e, W) {
         e->lru_crawler = false;
         return std::string();
       }},
      {"lru_crawler_sleep",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("lru_crawler_sleep");
         int s = LenientInt(v);
         if (s > 1000000 || s < 0) {
           return std::string("LRU crawler sleep must be between 0 and 1 second");
         }
         e->lru_crawler_sleep = s;
         return std::string();
       }},
      {"lru_crawler_tocrawl",
       [](const char* v, E e, W) {
         if (v == nullptr) return std::string("Missing lru_crawler_tocrawl value");
         if (!StrictUint32(v, &e->lru_crawler_tocrawl)) {
           return std::string("lru_crawler_tocrawl takes a numeric 32bit value");
         }
         return std::string();
       }},
      {"read_buf_mem_limit",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("read_buf_mem_limit");
         uint32_t mb = 0;
         if (!StrictUint32(v, &mb)) return CouldNotParse("read_buf_mem_limit");
         e->read_buf_mem_limit = static_cast<uint64_t>(mb) << 20;
         return std::string();
       }},
      {"lru_maintainer",
       [](const char*, E e, W) {
         e->lru_maintainer = true;
         e->lru_segmented = true;
         return std::string();
       }},
      {"no_lru_maintainer",
       [](const char*, E e, W) {
         e->lru_maintainer = false;
         e->lru_segmented = false;
         return std::string();
       }},
      {"hot_lru_pct",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("hot_lru_pct");
         int p = LenientInt(v);
         if (p < 1 || p >= 80) return std::string("hot_lru_pct must be > 1 and < 80");
         e->hot_lru_pct = p;
         return std::string();
       }},
      {"warm_lru_pct",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("warm_lru_pct");
         int p = LenientInt(v);
         if (p < 1 || p >= 80) return std::string("warm_lru_pct must be > 1 and < 80");
         e->warm_lru_pct = p;
         return std::string();
       }},
      {"hot_max_factor",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("hot_max_factor");
         double f = LenientDouble(v);
         if (f <= 0) return std::string("hot_max_factor must be > 0");
         e->hot_max_factor = f;
         return std::string();
       }},
      {"warm_max_factor",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("warm_max_factor");
         double f = LenientDouble(v);
         if (f <= 0) return std::string("warm_max_factor must be > 0");
         e->warm_max_factor = f;
         return std::string();
       }},
      {"temporary_ttl",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("temporary_ttl");
         e->temp_lru = true;
         e->temporary_ttl = static_cast<uint32_t>(LenientInt(v));
         return std::string();
       }},
      {"idle_timeout",
       [](const char* v, E e, W) {
         if (v == nullptr) return MissingNumeric("idle_timeout");
         e->idle_timeout = LenientInt(v);
         return std::string();
       }},
      {"watcher_logbuf_size",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("watcher_logbuf_size");
         uint32_t kb = 0;
         if (!StrictUint32(v, &kb)) return CouldNotParse("watcher_logbuf_size");
         e->watcher_logbuf_size = kb * 1024;
         return std::string();
       }},
      {"worker_logbuf_size",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("worker_logbuf_size");
         uint32_t kb = 0;
         if (!StrictUint32(v, &kb)) return CouldNotParse("worker_logbuf_size");
         e->worker_logbuf_size = kb * 1024;
         return std::string();
       }},
      {"slab_sizes",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("slab_sizes");
         // Range checks need slab_chunk_max and come after all options are read.
         e->slab_sizes.clear();
         std::string list = v;
         size_t start = 0;
         while (start <= list.size()) {
           size_t dash = list.find('-', start);
           if (dash == std::string::npos) dash = list.size();
           if (dash > start) {
             e->slab_sizes.push_back(
                 static_cast<uint32_t>(LenientInt(list.substr(start, dash - start))));
           }
           start = dash + 1;
         }
         if (e->slab_sizes.empty()) e->slab_sizes.push_back(0);
         return std::string();
       }},
      {"slab_chunk_max",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("slab_chunk_max");
         uint32_t bytes = 0;
         // memcached 1.6.18 goes on with 0 here and dies dividing by it; mcd refuses.
         if (!StrictUint32(v, &bytes) || bytes == 0) return CouldNotParse("slab_chunk_max");
         e->slab_chunk_max = bytes;
         e->slab_chunk_max_set = true;
         e->slab_chunk_max_page = false;
         return std::string();
       }},
      {"track_sizes",
       [](const char*, E e, W) {
         e->track_sizes = true;
         return std::string();
       }},
      {"no_chunked_items",
       [](const char*, E e, W) {
         e->slab_chunk_max = kSlabPageSize;
         e->slab_chunk_max_page = true;
         return std::string();
       }},
      {"no_hashexpand",
       [](const char*, E e, W) {
         e->hash_expand = false;
         return std::string();
       }},
      {"modern", [](const char*, E, W) { return std::string(); }},
      {"no_modern",
       [](const char*, E e, W) {
         if (!e->slab_chunk_max_set) {
           e->slab_chunk_max = kSlabPageSize;
           e->slab_chunk_max_page = true;
         }
         e->slab_reassign = false;
         e->slab_automove = 0;
         e->lru_crawler = false;
         e->lru_maintainer = false;
         e->lru_segmented = false;
         e->maxconns_fast = false;
         e->hash_algorithm = "jenkins";
         return std::string();
       }},
      {"slab_reassign",
       [](const char*, E e, W) {
         e->slab_reassign = true;
         return std::string();
       }},
      {"no_slab_reassign",
       [](const char*, E e, W) {
         e->slab_reassign = false;
         return std::string();
       }},
      {"slab_automove",
       [](const char* v, E e, W) {
         if (v == nullptr) {
           e->slab_automove = 1;
           return std::string();
         }
         int m = LenientInt(v);
         if (m < 0 || m > 2) return std::string("slab_automove must be between 0 and 2");
         e->slab_automove = m;
         return std::string();
       }},
      {"no_slab_automove",
       [](const char*, E e, W) {
         e->slab_automove = 0;
         return std::string();
       }},
      {"slab_automove_ratio",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("slab_automove_ratio");
         double r = LenientDouble(v);
         if (r <= 0 || r >= 1) return std::string("slab_automove_ratio must be > 0 and < 1");
         e->slab_automove_ratio = r;
         return std::string();
       }},
      {"slab_automove_window",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("slab_automove_window");
         int w = LenientInt(v);
         if (w < 3) return std::string("slab_automove_window must be > 2");
         e->slab_automove_window = w;
         return std::string();
       }},
      {"slab_automove_freeratio",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("slab_automove_freeratio");
         if (!StrictDouble(v, &e->slab_automove_freeratio)) {
           return CouldNotParse("slab_automove_freeratio");
         }
         return std::string();
       }},
      {"sock_cookie_id",
       [](const char* v, E e, W) {
         if (v == nullptr) return Missing("sock_cookie_id");
         e->sock_cookie_id = LenientInt(v);
         return std::string();
       }},
      {"drop_privileges",
       [](const char*, E e, W) {
         e->drop_privileges = true;
         return std::string();
       }},
      {"no_drop_privileges",
       [](const char*, E e, W) {
         e->drop_privileges = false;
         return std::string();
       }},
      // Accepted and ignored by memcached 1.6.18 too (responses are never inlined any more).
      {"inline_ascii_resp", [](const char*, E, W) { return std::string(); }},
      {"no_inline_ascii_resp", [](const char*, E, W) { return std::string(); }},
      {"resp_obj_mem_limit",
       [](const char*, E, W w) {
         *w += "DEPRECATED: resp_obj_mem_limit no longer used. See read_buf_mem_limit,\n";
         return std::string();
       }},
  };
  return kTable;
}

}  // namespace

bool ApplyExtended(std::string_view list, ExtendedOptions* ext, std::string* error, int* exit_code,
                   std::string* warnings) {
  // getsubopt-style: tokens separated by ',', a trailing ',' ends the list, an empty token is an
  // error.
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string token(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);

    size_t eq = token.find('=');
    std::string key = token.substr(0, eq);
    std::string value = eq == std::string::npos ? std::string() : token.substr(eq + 1);
    const char* value_ptr = eq == std::string::npos ? nullptr : value.c_str();

    std::string why;
    if (IsUnsupported(key, &why)) {
      *error = std::string("-o ").append(key).append(": ").append(why);
      *exit_code = kExitUsage;
      return false;
    }
    const SubOption* found = nullptr;
    for (const SubOption& s : SubOptions()) {
      if (key == s.name) {
        found = &s;
        break;
      }
    }
    if (found == nullptr) {
      *error = "Illegal suboption \"" + token + "\"";
      *exit_code = kExitFailure;
      return false;
    }
    std::string err = found->apply(value_ptr, ext, warnings);
    if (!err.empty()) {
      *error = err;
      *exit_code = kExitFailure;
      return false;
    }
  }
  return true;
}

}  // namespace mcd::app::internal
