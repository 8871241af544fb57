#include "lru_crawler_command.h"

#include <array>
#include <cstring>

#include "mcd/protocol/wire.h"
#include "mcd/util/base64.h"
#include "mcd/util/numbers.h"

namespace mcd::handler {
namespace {

namespace wire = protocol::wire;

// memcached's slab class ids run 1..63 (MAX_NUMBER_OF_SLAB_CLASSES is 64); "all" is every one.
constexpr uint32_t kLargestClassId = 63;
constexpr uint64_t kAllClasses = ~uint64_t{1};  // bits 1..63
// memcached's sleep limit: one second.
constexpr uint32_t kMaxSleepUs = 1000000;

enum class ClassList : uint8_t { kOk, kHash, kBad };

// "all", "hash", or ids separated by commas (empty pieces skipped, each parsed as memcached's
// safe_strtoul into 32 bits).
ClassList ParseClassList(std::string_view s, uint64_t* mask) {
  *mask = 0;
  if (s == "all") {
    *mask = kAllClasses;
    return ClassList::kOk;
  }
  if (s == "hash") {
    *mask = kAllClasses;
    return ClassList::kHash;
  }
  while (!s.empty()) {
    const size_t comma = s.find(',');
    const std::string_view piece = s.substr(0, comma);
    s.remove_prefix(comma == std::string_view::npos ? s.size() : comma + 1);
    if (piece.empty()) continue;
    uint32_t id = 0;
    if (!ParseFlags32(piece, &id) || id < 1 || id > kLargestClassId) return ClassList::kBad;
    *mask |= uint64_t{1} << id;
  }
  return ClassList::kOk;
}

std::string_view CrawlReply(storage::CrawlResult r) {
  switch (r) {
    case storage::CrawlResult::kOk:
      return wire::kOk;
    case storage::CrawlResult::kBusy:
      return wire::kCrawlerBusy;
    case storage::CrawlResult::kNotStarted:
      return wire::kCrawlerNotStarted;
    case storage::CrawlResult::kDisabled:
      return wire::kCrawlerDisabled;
  }
  return wire::kError;
}

void Crawl(std::string_view list, const SharedContext& ctx, OutBuf* out) {
  uint64_t mask = 0;
  switch (ParseClassList(list, &mask)) {
    case ClassList::kBad:
      out->Append(wire::kCrawlerBadClass);
      return;
    case ClassList::kHash: {
      // memcached walks the hash table only for dumps: a crawl of it fails once it is known
      // that no other crawl is running (asking for no class tells exactly that).
      const storage::CrawlResult r = ctx.cache->RequestCrawl(0);
      out->Append(r == storage::CrawlResult::kNotStarted ? wire::kCrawlerError : CrawlReply(r));
      return;
    }
    case ClassList::kOk:
      out->Append(CrawlReply(ctx.cache->RequestCrawl(mask)));
      return;
  }
}

CrawlerDump Dump(CrawlerDump::Kind kind, std::string_view list, const SharedContext& ctx,
                 bool pipelined, OutBuf* out) {
  const bool meta = kind == CrawlerDump::Kind::kMetadump;
  if (!ctx.options.dump_enabled) {
    out->Append(meta ? wire::kMetadumpDisabled : wire::kMgdumpDisabled);
    return {};
  }
  if (pipelined) {
    out->Append(meta ? wire::kMetadumpPipelined : wire::kMgdumpPipelined);
    return {};
  }
  uint64_t mask = 0;
  if (ParseClassList(list, &mask) == ClassList::kBad) {
    out->Append(wire::kCrawlerBadClass);
    return {};
  }
  if (mask == 0) {
    out->Append(wire::kCrawlerNotStarted);
    return {};
  }
  // memcached 1.6.18 starts a metadump with its first line; 1.6.45 starts mgdump with "OK".
  if (!meta) out->Append(wire::kOk);
  return CrawlerDump{kind, mask};
}

// memcached's unreserved bytes: ASCII letters, digits and "-._~".
bool Unreserved(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

char* UriEncode(std::string_view s, char* w) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c)) {
      *w++ = ch;
    } else {
      *w++ = '%';
      *w++ = kHex[c >> 4];
      *w++ = kHex[c & 15];
    }
  }
  return w;
}

char* Put(std::string_view s, char* w) {
  std::memcpy(w, s.data(), s.size());
  return w + s.size();
}

char* PutNumber(uint64_t v, char* w) { return w + FormatUint64(v, w); }

}  // namespace

CrawlerDump LruCrawlerCommand(std::string_view args, const SharedContext& ctx, bool pipelined,
                              OutBuf* out) {
  // memcached 1.6.18 counts the tokens: two after "lru_crawler" for crawl, metadump, tocrawl and
  // sleep (mgdump as in 1.6.45), one for enable and disable; anything else is ERROR.
  std::array<std::string_view, 3> t;
  size_t n = 0;
  while (!args.empty() && n < t.size()) {
    const size_t sp = args.find(' ');
    const std::string_view tok = args.substr(0, sp);
    if (!tok.empty()) t[n++] = tok;
    args.remove_prefix(sp == std::string_view::npos ? args.size() : sp + 1);
  }
  storage::Cache& cache = *ctx.cache;
  if (n == 2) {
    const bool enabled = cache.CrawlerCounters().enabled;
    if (t[0] == "crawl") {
      if (!enabled) {
        out->Append(wire::kCrawlerDisabled);
      } else {
        Crawl(t[1], ctx, out);
      }
      return {};
    }
    if (t[0] == "metadump" || t[0] == "mgdump") {
      if (!enabled) {
        out->Append(wire::kCrawlerDisabled);
        return {};
      }
      return Dump(t[0] == "metadump" ? CrawlerDump::Kind::kMetadump : CrawlerDump::Kind::kMgdump,
                  t[1], ctx, pipelined, out);
    }
    if (t[0] == "tocrawl" || t[0] == "sleep") {
      uint32_t v = 0;
      if (!ParseFlags32(t[1], &v)) {
        out->Append(wire::kBadFormat);
      } else if (t[0] == "tocrawl") {
        cache.SetCrawlerToCrawl(v);
        out->Append(wire::kOk);
      } else if (v > kMaxSleepUs) {
        out->Append(wire::kCrawlerSleepTooLong);
      } else {
        cache.SetCrawlerSleep(v);
        out->Append(wire::kOk);
      }
      return {};
    }
  } else if (n == 1) {
    if (t[0] == "enable") {
      out->Append(cache.EnableCrawler() ? wire::kOk : wire::kCrawlerStartFailed);
      return {};
    }
    if (t[0] == "disable") {
      cache.DisableCrawler();
      out->Append(wire::kOk);
      return {};
    }
  }
  out->Append(wire::kError);
  return {};
}

void AppendMetadumpLine(const storage::ItemMeta& item, const Clock& clock, OutBuf* out) {
  // At most 4 + 3 * 250 for the key, 6 numbers of up to 20 digits, and the names: < 1 KB.
  char* const p = out->Reserve(1024);
  char* w = Put("key=", p);
  w = UriEncode(item.key, w);
  w = Put(" exp=", w);
  if (item.exptime == 0) {
    w = Put("-1", w);
  } else {
    w = PutNumber(static_cast<uint64_t>(clock.Epoch() + item.exptime), w);
  }
  w = Put(" la=", w);
  w = PutNumber(static_cast<uint64_t>(clock.Epoch() + item.last_access), w);
  w = Put(" cas=", w);
  w = PutNumber(item.cas, w);
  w = Put(item.fetched ? " fetch=yes cls=" : " fetch=no cls=", w);
  w = PutNumber(static_cast<uint64_t>(item.class_id), w);
  w = Put(" size=", w);
  w = PutNumber(item.size, w);
  *w++ = '\n';
  out->Commit(static_cast<size_t>(w - p));
}

void AppendMgdumpLine(const storage::ItemMeta& item, OutBuf* out) {
  // A binary key (stored with meta b) is written in base64 and flagged b, as memcached does.
  char* const p = out->Reserve(3 + Base64EncodedLength(item.key.size()) + 2 + 2);
  char* w = Put("mg ", p);
  if (item.key_binary) {
    w += Base64Encode(item.key, w);
    w = Put(" b", w);
  } else {
    w = Put(item.key, w);
  }
  w = Put("\r\n", w);
  out->Commit(static_cast<size_t>(w - p));
}

std::string_view DumpEnd(CrawlerDump::Kind kind) {
  return kind == CrawlerDump::Kind::kMgdump ? wire::kMgdumpEnd : wire::kEnd;
}

}  // namespace mcd::handler
