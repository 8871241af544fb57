// Fuzz target for the session: a sequence of commands, decoded from the input, driven through
// handler::Session against a real storage::Cache (FakeClock, no maintainer thread) and compared,
// reply byte for byte, with a reference model: a std::map of key -> value, flags, exptime and a
// version number standing for the cas unique.
//
// Input: byte 0 picks the session's requests-per-event limit (1 or unlimited); then one op after
// another, each an op byte and its arguments (keys from a fixed set of four, one of them 250
// bytes; values of arbitrary bytes, \r\n and NUL included, or numbers for incr/decr; flags;
// exptimes relative, absolute, past and negative; cas uniques right, stale or made up). Each op's
// bytes reach the session in up to three pieces, the way the server delivers them (unconsumed
// bytes carried over, a pending data block sometimes written through DirectDataSpan()).
//
// Invariants:
// - every reply equals the model's, byte for byte, except cas values, which must be consistent:
//   the same item version always shows the same cas, different versions different ones, and
//   later versions larger ones;
// - after each op the session has consumed all of it and does not want to close;
// - nothing is evicted (the memory limit is far above what the four keys can hold), so the model
//   need not guess what eviction removed: Cache::Stats().evictions must stay 0;
// - `lru_crawler metadump all` lists exactly the model's live items, once each, with their
//   URL-encoded key, exptime, size and cas (consistent as above); `mgdump` their keys.
//
// The model follows the documented semantics: set/add/replace/append/prepend/cas, incr wrapping
// at 2^64 and decr stopping at 0, the new number written in place padded with spaces when it is
// not longer than the old value, "non-numeric" for values that are not a number or are chunked,
// touch/gat setting the exptime, flush_all immediate or delayed (a delayed flush kills everything
// stored before the first operation at or past its deadline; a later flush_all replaces it),
// expiry at exptime <= now, oversized stores answered "too large" and removing the old value.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "mcd/handler/session.h"
#include "mcd/stats/stats.h"
#include "mcd/storage/cache.h"
#include "mcd/util/clock.h"
#include "mcd/util/out_buf.h"

namespace mcd::fuzz {
namespace {

constexpr uint32_t kPageSize = 64 * 1024;          // -I: largest item
constexpr uint32_t kLargestChunk = kPageSize / 2;  // items above are chunked
constexpr uint32_t kItemHeader = 40;               // item_layout.h
constexpr uint32_t kBigValue = 40000;              // chunked, and two of them are too large
constexpr RelTime kStart = 1000;
constexpr int64_t kEpoch = 1700000000;
constexpr int kMaxOps = 256;
constexpr int kMaxBigOps = 3;
constexpr const char* kVersion = "1.6.18-mcd-fuzz";

const std::string& Key(size_t i) {
  static const std::string keys[4] = {"a", "b", "foo:1", std::string(250, 'k')};
  return keys[i % 4];
}

uint64_t ItemSize(const std::string& key, uint64_t value_size) {
  return kItemHeader + key.size() + value_size + 2;
}

// Base64 with padding (RFC 4648), written out independently of util/base64.
std::string Base64(const std::string& in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[v & 63] : '=');
  }
  return out;
}

// The expected reply: literal bytes, a cas placeholder, or a stats block checked for form only.
struct Piece {
  // kDump: `lru_crawler metadump` or `mgdump` lines for the model's live items, in any order.
  // kClassId: a slab class id in range (me's cls=).
  enum Kind {
    kLiteral,
    kCas,
    kStatLines,
    kItemLines,
    kMetadump,
    kMgdump,
    kClassId
  } kind = kLiteral;
  std::string text;      // kLiteral
  uint64_t version = 0;  // kCas
};

struct ModelItem {
  std::string value;
  uint32_t flags = 0;
  RelTime exptime = 0;
  uint64_t version = 0;
  // Meta state: a cas the client chose (E; 0: the cache's own, tracked by version), the key was
  // stored in base64 (b), stale (md I), win token handed out (W), fetched, last access time.
  uint64_t fixed_cas = 0;
  bool key_binary = false;
  bool stale = false;
  bool token_sent = false;
  bool fetched = false;
  RelTime atime = 0;
};

class Model {
 public:
  RelTime now = kStart;

  // memcached's exptime rules (Clock::ExptimeToRel), written out independently.
  RelTime ToRel(int64_t exptime) const {
    if (exptime == 0) return 0;
    if (exptime < 0) return 1;
    int64_t rel;
    if (exptime > 60 * 60 * 24 * 30) {
      if (exptime <= kEpoch) return 1;
      rel = exptime - kEpoch;
    } else {
      rel = int64_t{now} + exptime;
    }
    return rel > int64_t{UINT32_MAX} ? UINT32_MAX : static_cast<RelTime>(rel);
  }

  // Every cache operation first fires a delayed flush whose deadline has come.
  void Tick() {
    if (flush_deadline_ != 0 && now >= flush_deadline_) {
      flush_deadline_ = 0;
      items_.clear();
    }
  }

  ModelItem* Find(const std::string& key) {
    auto it = items_.find(key);
    if (it == items_.end()) return nullptr;
    if (it->second.exptime != 0 && it->second.exptime <= now) {
      items_.erase(it);
      return nullptr;
    }
    return &it->second;
  }

  // The live items, for a dump.
  std::map<std::string, ModelItem> Live() {
    Tick();
    std::vector<std::string> keys;
    for (const auto& [key, item] : items_) keys.push_back(key);
    std::map<std::string, ModelItem> live;
    for (const std::string& key : keys) {
      if (const ModelItem* it = Find(key)) live[key] = *it;
    }
    return live;
  }

  // A newly linked item: new cas (client_cas if not 0), no meta bits, not fetched, accessed now.
  ModelItem* Put(const std::string& key, ModelItem item, uint64_t client_cas = 0) {
    item.version = ++versions_;
    item.fixed_cas = client_cas;
    item.stale = item.token_sent = item.fetched = false;
    item.atime = now;
    return &(items_[key] = std::move(item));
  }
  // A read that bumps the item (storage's Bump): fetched, and the access time refreshed when it
  // is at least 60 s old (kTimeUpdateInterval).
  void Bump(ModelItem* it) const {
    it->fetched = true;
    if (now - it->atime >= 60) it->atime = now;
  }
  void NewCas(ModelItem* it, uint64_t client_cas) {
    it->version = ++versions_;
    it->fixed_cas = client_cas;
  }
  // The item's cas if the client chose it or the cache showed it, else 0.
  uint64_t CasKnown(const ModelItem& it) const {
    return it.fixed_cas != 0 ? it.fixed_cas : KnownCas(it.version);
  }
  void Erase(const std::string& key) { items_.erase(key); }
  uint64_t NewVersion() { return ++versions_; }

  void Flush(RelTime when) {
    Tick();
    if (when == 0 || when <= now) {
      flush_deadline_ = 0;
      items_.clear();
    } else {
      flush_deadline_ = when;
    }
  }

  // cas bookkeeping: what the cache showed for each version.
  void Observe(uint64_t version, uint64_t cas, const std::string& ctx) {
    auto v = cas_of_version_.find(version);
    if (v != cas_of_version_.end()) {
      FUZZ_CHECK(v->second == cas, ctx + "\nversion " + std::to_string(version) + " showed cas " +
                                       std::to_string(v->second) + " before");
      return;
    }
    auto c = version_of_cas_.find(cas);
    FUZZ_CHECK(c == version_of_cas_.end(), ctx + "\ncas " + std::to_string(cas) +
                                               " shown for versions " + std::to_string(c->second) +
                                               " and " + std::to_string(version));
    auto next = cas_of_version_.upper_bound(version);
    if (next != cas_of_version_.end()) FUZZ_CHECK(next->second > cas, ctx + "\ncas order");
    if (next != cas_of_version_.begin()) {
      auto prev = std::prev(next);
      FUZZ_CHECK(prev->second < cas, ctx + "\ncas order");
    }
    cas_of_version_[version] = cas;
    version_of_cas_[cas] = version;
  }
  // The cas the cache showed for a version, or 0 if not seen yet.
  uint64_t KnownCas(uint64_t version) const {
    auto v = cas_of_version_.find(version);
    return v == cas_of_version_.end() ? 0 : v->second;
  }
  // Some cas shown for another version than `version` (0 if none).
  uint64_t StaleCas(uint64_t version, size_t pick) const {
    std::vector<uint64_t> stale;
    for (const auto& [v, c] : cas_of_version_) {
      if (v != version) stale.push_back(c);
    }
    return stale.empty() ? 0 : stale[pick % stale.size()];
  }

 private:
  std::map<std::string, ModelItem> items_;
  uint64_t versions_ = 0;
  RelTime flush_deadline_ = 0;
  std::map<uint64_t, uint64_t> cas_of_version_;
  std::map<uint64_t, uint64_t> version_of_cas_;
};

// incr/decr's reading of a stored value (numbers.h ParseStoredCounter), written out
// independently: optional leading whitespace, an optional sign, digits, then the end or a
// whitespace byte; overflow fails; a '-' is accepted only when the wrapped value stays below 2^63.
bool ModelCounter(std::string_view v, uint64_t* out) {
  auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  size_t i = 0;
  while (i < v.size() && space(v[i])) ++i;
  bool neg = false;
  if (i < v.size() && (v[i] == '+' || v[i] == '-')) neg = v[i++] == '-';
  size_t digits = 0;
  unsigned __int128 n = 0;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i, ++digits) {
    n = n * 10 + static_cast<unsigned>(v[i] - '0');
    if (n > UINT64_MAX) return false;
  }
  if (digits == 0 || (i < v.size() && !space(v[i]))) return false;
  uint64_t r = static_cast<uint64_t>(n);
  if (neg) {
    r = 0 - r;
    if (r >= (uint64_t{1} << 63)) return false;
  }
  *out = r;
  return true;
}

class Harness {
 public:
  Harness(const uint8_t* data, size_t size) : in_(data, size), registry_(1) {
    storage::CacheOptions o;
    o.memory_limit = 16 << 20;
    o.page_size = kPageSize;
    o.hashpower = 8;
    o.start_maintainer = false;
    cache_ = std::make_unique<storage::Cache>(o, &clock_);
    ctx_.cache = cache_.get();
    ctx_.stats = &registry_;
    ctx_.clock = &clock_;
    ctx_.options.version = kVersion;
    session_ = std::make_unique<handler::Session>(&ctx_, registry_.Thread(0), 1);
  }

  void Run() {
    max_commands_ = (in_.Byte() & 3) == 0 ? 1 : (1 << 30);
    for (int n = 0; n < kMaxOps && !in_.empty(); ++n) Step();
    FUZZ_CHECK(cache_->Stats().evictions == 0, "evictions" + History());
  }

 private:
  // --- argument decoding ----------------------------------------------------------------------
  const std::string& PickKey() { return Key(in_.Byte()); }
  bool Noreply() { return (in_.Byte() & 7) == 0; }
  uint32_t Flags() { return (in_.Byte() & 3) == 0 ? in_.U32() : in_.Byte(); }
  int64_t Exptime() {
    const int64_t now = model_.now;
    switch (in_.Byte() % 12) {
      case 0:
      case 1:
        return 0;
      case 2:
        return -1;
      case 3:
        return 1;
      case 4:
        return 2;
      case 5:
        return 10;
      case 6:
        return 100;
      case 7:
        return 60 * 60 * 24 * 30;
      case 8:
        return 60 * 60 * 24 * 30 + 1;  // absolute, long before the epoch: already expired
      case 9:
        return kEpoch + now - 5;  // absolute, in the past
      case 10:
        return kEpoch + now + 30;  // absolute, in the future
      default:
        return static_cast<int32_t>(in_.U32());
    }
  }
  std::string Value() {
    static const char* const kNumbers[] = {
        "0",
        "1",
        "9",
        "99",
        "100",
        "18446744073709551615",
        "18446744073709551614",
        " 5",
        "-0",
        "+7",
        "12 ",
        "5\r\n",
        "abc",
        "007",
        "-1",
        "18446744073709551616",
        "\t3\n",
        "99\r\nx",
        "-18446744073709551615",
        "1 2",
    };
    switch (in_.Byte() % 5) {
      case 0:
        return kNumbers[in_.Byte() % (sizeof kNumbers / sizeof kNumbers[0])];
      case 1:
        return std::string();
      default:
        return in_.Bytes(in_.Byte() % 64);
    }
  }
  uint64_t Delta() {
    static const uint64_t kDeltas[] = {0, 1, 2, 9, 10, 100, UINT64_MAX, uint64_t{1} << 63};
    uint8_t b = in_.Byte();
    return b % 9 == 8 ? in_.U64() : kDeltas[b % 9];
  }
  static std::string Num(int64_t v) { return std::to_string(v); }

  // --- ops --------------------------------------------------------------------------------------
  void Step() {
    const uint8_t op = in_.Byte();
    if (op >= 0x80) return MetaStep(op);
    switch (op % 16) {
      case 0:
        return Store("set");
      case 1:
        return Store("add");
      case 2:
        return Store("replace");
      case 3:
        return Store("append");
      case 4:
        return Store("prepend");
      case 5:
        return Store("cas");
      case 6:
        return Retrieve(false);
      case 7:
        return Retrieve(true);
      case 8:
        return Delete();
      case 9:
        return Arith(true);
      case 10:
        return Arith(false);
      case 11:
        return Touch();
      case 12:
        return FlushAll();
      case 13:
        return Advance();
      case 14:
        return Misc();
      default:
        return Big();
    }
  }

  // A storage command; `value` and `term` are the data block (term is "\r\n" unless corrupted).
  void Store(const std::string& cmd) {
    const std::string& key = PickKey();
    const uint32_t flags = Flags();
    const int64_t exptime = Exptime();
    std::string value = Value();
    std::string term = "\r\n";
    if ((in_.Byte() & 15) == 15) term = in_.Bytes(2);
    if (term.size() < 2) term.append(2 - term.size(), 'x');
    const bool noreply = Noreply();
    uint64_t cas = 0;
    if (cmd == "cas") cas = PickCas(key);
    StoreWith(cmd, key, flags, exptime, value, term, noreply, cas);
  }

  uint64_t PickCas(const std::string& key) {
    model_.Tick();  // harmless: the cas command's own lookup would fire a due flush first
    ModelItem* cur = model_.Find(key);
    switch (in_.Byte() % 4) {
      case 0:
      case 1:
        if (cur != nullptr) {
          if (model_.CasKnown(*cur) == 0) {
            // Learn it the way a client does, with gets (checked like any other op).
            Op("gets " + key + "\r\n",
               {Lit("VALUE " + key + " " + Num(cur->flags) + " " +
                    Num(static_cast<int64_t>(cur->value.size())) + " "),
                Cas(cur->version), Lit("\r\n" + cur->value + "\r\nEND\r\n")});
            model_.Bump(cur);
          }
          return model_.CasKnown(*cur);
        }
        return in_.U64();
      case 2:
        return model_.StaleCas(cur != nullptr ? cur->version : 0, in_.Byte());
      default:
        return (in_.Byte() & 1) != 0 ? 0 : (uint64_t{1} << 50) + in_.U32();
    }
  }

  void StoreWith(const std::string& cmd, const std::string& key, uint32_t flags, int64_t exptime,
                 const std::string& value, const std::string& term, bool noreply, uint64_t cas) {
    std::string wire = cmd + " " + key + " " + Num(flags) + " " + Num(exptime) + " " +
                       Num(static_cast<int64_t>(value.size()));
    if (cmd == "cas") wire += " " + std::to_string(cas);
    if (noreply) wire += " noreply";
    wire += "\r\n" + value + term;

    std::string reply;
    model_.Tick();
    const RelTime rel = model_.ToRel(exptime);
    if (ItemSize(key, value.size()) > kPageSize) {
      reply = "SERVER_ERROR object too large for cache\r\n";
      model_.Erase(key);
    } else if (term != "\r\n") {
      reply = "CLIENT_ERROR bad data chunk\r\n";
    } else {
      ModelItem* cur = model_.Find(key);
      ModelItem fresh;
      fresh.value = value;
      fresh.flags = flags;
      fresh.exptime = rel;
      reply = "STORED\r\n";
      if (cmd == "set") {
        model_.Put(key, fresh);
      } else if (cmd == "add") {
        if (cur != nullptr) {
          if (model_.now - cur->atime >= 60) cur->atime = model_.now;  // refreshed, not fetched
          reply = "NOT_STORED\r\n";
        } else {
          model_.Put(key, fresh);
        }
      } else if (cmd == "replace") {
        if (cur == nullptr) {
          reply = "NOT_STORED\r\n";
        } else {
          model_.Put(key, fresh);
        }
      } else if (cmd == "cas") {
        if (cur == nullptr) {
          reply = "NOT_FOUND\r\n";
        } else if (model_.CasKnown(*cur) != cas || cas == 0) {
          reply = "EXISTS\r\n";
        } else {
          model_.Put(key, fresh);
        }
      } else {  // append, prepend
        if (cur == nullptr) {
          reply = "NOT_STORED\r\n";
        } else if (ItemSize(key, cur->value.size() + value.size()) > kPageSize) {
          reply = "SERVER_ERROR out of memory storing object\r\n";
        } else {
          ModelItem joined = *cur;
          joined.value = cmd == "append" ? cur->value + value : value + cur->value;
          model_.Put(key, joined);
        }
      }
    }
    Op(wire, {Lit(noreply ? std::string() : reply)});
  }

  void Retrieve(bool touch) {
    const uint8_t b = in_.Byte();
    const bool with_cas = (b & 1) != 0;
    size_t nkeys = touch ? (b >> 1) % 5 : 1 + (b >> 1) % 4;
    std::string wire = touch ? (with_cas ? "gats" : "gat") : (with_cas ? "gets" : "get");
    RelTime rel = 0;
    if (touch) {
      const int64_t exptime = Exptime();
      wire += " " + Num(exptime);
      rel = model_.ToRel(exptime);
    }
    std::vector<std::string> keys;
    for (size_t i = 0; i < nkeys; ++i) {
      keys.push_back(PickKey());
      wire += " " + keys.back();
    }
    wire += "\r\n";
    model_.Tick();
    std::vector<Piece> expect;
    for (const std::string& key : keys) {
      ModelItem* cur = model_.Find(key);
      if (cur == nullptr) continue;
      if (touch) cur->exptime = rel;
      model_.Bump(cur);
      expect.push_back(Lit("VALUE " + key + " " + Num(cur->flags) + " " +
                           Num(static_cast<int64_t>(cur->value.size()))));
      if (with_cas) {
        expect.push_back(Lit(" "));
        expect.push_back(CasOf(*cur));
      }
      expect.push_back(Lit("\r\n" + cur->value + "\r\n"));
    }
    expect.push_back(Lit("END\r\n"));
    Op(wire, expect);
  }

  void Delete() {
    const std::string& key = PickKey();
    const uint8_t form = in_.Byte() % 3;
    const bool noreply = Noreply();
    std::string wire = "delete " + key + (form == 1 ? " 0" : "") + (noreply ? " noreply" : "");
    wire += "\r\n";
    model_.Tick();
    std::string reply = "NOT_FOUND\r\n";
    if (model_.Find(key) != nullptr) {
      model_.Erase(key);
      reply = "DELETED\r\n";
    }
    Op(wire, {Lit(noreply ? std::string() : reply)});
  }

  void Arith(bool incr) {
    const std::string& key = PickKey();
    const uint64_t delta = Delta();
    const bool noreply = Noreply();
    const std::string wire = std::string(incr ? "incr " : "decr ") + key + " " +
                             std::to_string(delta) + (noreply ? " noreply" : "") + "\r\n";
    model_.Tick();
    std::string reply;
    ModelItem* cur = model_.Find(key);
    uint64_t n = 0;
    if (cur == nullptr) {
      reply = "NOT_FOUND\r\n";
    } else if (cur->value.empty() || ItemSize(key, cur->value.size()) > kLargestChunk ||
               !ModelCounter(cur->value, &n)) {
      reply = "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
    } else {
      reply = std::to_string(ApplyDelta(key, cur, incr, delta, n, 0)) + "\r\n";
    }
    Op(wire, {Lit(noreply ? std::string() : reply)});
  }

  // incr/decr/ma on a numeric item holding n: the new number, written in place (padded) when not
  // longer than the old value, else in a new item. As memcached, a delta does not mark the item
  // fetched; it refreshes the access time like any update. Returns the new number.
  uint64_t ApplyDelta(const std::string& key, ModelItem* cur, bool incr, uint64_t delta, uint64_t n,
                      uint64_t client_cas) {
    n = incr ? n + delta : (delta > n ? 0 : n - delta);
    std::string digits = std::to_string(n);
    if (digits.size() <= cur->value.size()) {
      digits.resize(cur->value.size(), ' ');
      cur->value = digits;
      if (model_.now - cur->atime >= 60) cur->atime = model_.now;
      model_.NewCas(cur, client_cas);
    } else {
      ModelItem fresh = *cur;
      fresh.value = digits;
      model_.Put(key, fresh, client_cas);
    }
    return n;
  }

  void Touch() {
    const std::string& key = PickKey();
    const int64_t exptime = Exptime();
    const bool noreply = Noreply();
    const std::string wire =
        "touch " + key + " " + Num(exptime) + (noreply ? " noreply" : "") + "\r\n";
    model_.Tick();
    const RelTime rel = model_.ToRel(exptime);
    std::string reply = "NOT_FOUND\r\n";
    if (ModelItem* cur = model_.Find(key)) {
      cur->exptime = rel;
      model_.Bump(cur);
      reply = "TOUCHED\r\n";
    }
    Op(wire, {Lit(noreply ? std::string() : reply)});
  }

  void FlushAll() {
    static const int64_t kDelays[] = {0, -1, 1, 2, 5, 60, 60 * 60 * 24 * 30 + 1};
    const uint8_t b = in_.Byte();
    const bool noreply = Noreply();
    std::string wire = "flush_all";
    RelTime when = 0;
    if ((b & 1) != 0) {
      const int64_t delay = (b >> 1) % 8 == 7 ? kEpoch + model_.now + 10 : kDelays[(b >> 1) % 8];
      wire += " " + Num(delay);
      if (delay > 0) when = model_.ToRel(delay);
    }
    if (noreply) wire += " noreply";
    wire += "\r\n";
    model_.Flush(when);
    Op(wire, {Lit(noreply ? std::string() : "OK\r\n")});
  }

  void Advance() {
    static const RelTime kSteps[] = {1, 1, 2, 5, 29, 30, 31, 60, 60 * 60 * 24 * 30};
    const uint8_t b = in_.Byte();
    const RelTime secs = b % 10 == 9 ? in_.Byte() : kSteps[b % 10];
    clock_.Advance(secs);
    model_.now += secs;
    history_ += "[clock +" + std::to_string(secs) + "]\n";
  }

  void Misc() {
    struct Fixed {
      const char* wire;
      const char* reply;
    };
    // Lines that do not touch the items, with their exact replies.
    static const Fixed kFixed[] = {
        {"version\r\n", nullptr},
        {"verbosity 1\r\n", "OK\r\n"},
        {"verbosity 0 noreply\r\n", ""},
        {"bogus\r\n", "ERROR\r\n"},
        {"get\r\n", "ERROR\r\n"},
        {"set a 0 0\r\n", "ERROR\r\n"},
        {"set a 0 0 -1\r\n", "CLIENT_ERROR bad command line format\r\n"},
        {"set a 0 0 x noreply\r\n", ""},
        {"incr a x\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n"},
        {"touch a x\r\n", "CLIENT_ERROR invalid exptime argument\r\n"},
        {"gat x a\r\n", "CLIENT_ERROR invalid exptime argument\r\n"},
        {"delete a 5\r\n",
         "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"},
        {"get a\x01\r\n", "CLIENT_ERROR bad command line format\r\n"},
        {"stats reset\r\n", "RESET\r\n"},
        {"stats detail dump\r\n", "END\r\n"},
        {"stats nonsense\r\n", "ERROR\r\n"},
        {nullptr, nullptr},  // a short line: ShortLine()
        {"lru_crawler sleep 100\r\n", "OK\r\n"},
        {"lru_crawler tocrawl 0\r\n", "OK\r\n"},
        {"lru_crawler enable\r\n", "ERROR failed to start lru crawler thread\r\n"},
        {"lru_crawler bogus\r\n", "ERROR\r\n"},
        {"lru_crawler metadump 99\r\n", "BADCLASS invalid class id\r\n"},
        {"lru_crawler mgdump ,\r\n", "NOTSTARTED no items to crawl\r\n"},
    };
    static const char* const kStats[] = {"stats\r\n", "stats items\r\n", "stats slabs\r\n",
                                         "stats settings\r\n", "stats sizes\r\n"};
    const uint8_t b = in_.Byte();
    const size_t nfixed = sizeof kFixed / sizeof kFixed[0];
    const size_t nstats = sizeof kStats / sizeof kStats[0];
    const size_t pick = b % (nfixed + nstats + 3);
    if (pick < nfixed) {
      const Fixed& f = kFixed[pick];
      if (f.wire == nullptr) {
        // The variant comes from the same byte, so that older corpus inputs decode as before.
        ShortLine(b / (nfixed + nstats + 3));
        return;
      }
      std::string reply =
          f.reply != nullptr ? f.reply : std::string("VERSION ") + kVersion + "\r\n";
      Op(f.wire, {Lit(reply)});
    } else if (pick < nfixed + nstats) {
      Op(kStats[pick - nfixed], {Piece{Piece::kStatLines, "", 0}});
    } else if (pick == nfixed + nstats) {
      Op("stats cachedump " + std::to_string(1 + in_.Byte() % 8) + " 0\r\n",
         {Piece{Piece::kItemLines, "", 0}});
    } else {
      const bool meta = pick == nfixed + nstats + 1;
      dump_ = model_.Live();
      Op(meta ? "lru_crawler metadump all\r\n" : "lru_crawler mgdump hash\r\n",
         {Piece{meta ? Piece::kMetadump : Piece::kMgdump, "", 0}});
    }
  }

  // A line shorter than 4 bytes with its "\n", or just at that length. One made of spaces and
  // "\r" only is a format error, as memcached 1.6.45 answers it; any other is an unknown command,
  // as in memcached 1.6.18 (compatibility.md C28).
  void ShortLine(size_t variant) {
    // Eight variants: Misc() passes the byte that picked this line divided by 31, at most 7.
    static const char* const kLines[] = {"\r\n", "\n",    " \n",  " \r\n",
                                         "  \n", "x\r\n", "ab\n", "  \r\n"};
    const std::string line = kLines[variant % (sizeof kLines / sizeof kLines[0])];
    const std::string_view body(line.data(), line.size() - 1);
    const bool blank = line.size() < 4 && body.find_first_not_of(" \r") == std::string_view::npos;
    Op(line, {Lit(blank ? "CLIENT_ERROR bad command line format\r\n" : "ERROR\r\n")});
  }

  void Big() {
    if (big_ops_ >= kMaxBigOps) return;
    ++big_ops_;
    const std::string& key = PickKey();
    const uint8_t b = in_.Byte();
    const bool noreply = Noreply();
    if (b % 8 == 7) {
      // The same through ms, whose error q does not hide.
      model_.Erase(key);
      Op("ms " + key + " " + std::to_string(2 * kPageSize) + (noreply ? " q" : "") + "\r\n" +
             std::string(2 * kPageSize, 'z') + "\r\n",
         {Lit("SERVER_ERROR object too large for cache\r\n")});
      return;
    }
    if (b % 4 == 3) {
      // Never fits: the session swallows the data block and the old value goes.
      StoreWith("set", key, 0, 0, std::string(2 * kPageSize, 'z'), "\r\n", noreply, 0);
      return;
    }
    static const char* const kModes[] = {"set", "append", "prepend"};
    std::string value(kBigValue, static_cast<char>(in_.Byte()));
    value[0] = static_cast<char>('0' + b % 10);  // numeric-looking, but chunked: not a counter
    StoreWith(kModes[b % 3], key, Flags(), Exptime(), value, "\r\n", noreply, 0);
  }

#include "session_model_meta.inc"

  // --- driving the session and comparing ----------------------------------------------------
  static Piece Lit(std::string s) { return Piece{Piece::kLiteral, std::move(s), 0}; }
  static Piece CasOf(const ModelItem& it) {
    return it.fixed_cas != 0 ? Lit(std::to_string(it.fixed_cas)) : Cas(it.version);
  }
  static Piece Cas(uint64_t version) { return Piece{Piece::kCas, "", version}; }

  // Feeds one op's bytes in up to three pieces, as the server would, and compares the reply.
  void Op(const std::string& wire, const std::vector<Piece>& expect) {
    history_ += Escape(wire, 400) + "\n";
    if (history_.size() > 6000) history_.erase(0, history_.size() - 4000);
    std::vector<size_t> cuts;
    const size_t ncuts = in_.Byte() % 3;
    for (size_t i = 0; i < ncuts; ++i) cuts.push_back(in_.Below(wire.size() + 1));
    cuts.push_back(wire.size());
    std::sort(cuts.begin(), cuts.end());
    const bool direct = in_.Bool();

    OutBuf out(&handler::ReleaseItemRef, cache_.get());
    size_t off = 0;
    for (size_t cut : cuts) {
      while (off < cut) {
        // A pending data block may be read straight into the item (Session::DirectDataSpan).
        std::span<char> span =
            direct && pending_.empty() ? session_->DirectDataSpan() : std::span<char>();
        if (!span.empty()) {
          size_t n = std::min(span.size(), cut - off);
          std::memcpy(span.data(), wire.data() + off, n);
          off += n;
          session_->DataWritten(n, &out);
          continue;
        }
        pending_.append(wire, off, cut - off);
        off = cut;
        for (;;) {
          size_t used = session_->Consume(pending_, &out, max_commands_);
          FUZZ_CHECK(used <= pending_.size(), "consumed too much" + History());
          pending_.erase(0, used);
          if (!session_->yielded()) break;
        }
      }
    }
    FUZZ_CHECK(!session_->want_close(), "session wants to close" + History());
    FUZZ_CHECK(pending_.empty(), "op not consumed: " + Escape(pending_) + History());
    Compare(expect, out.ToString());
  }

  void Compare(const std::vector<Piece>& expect, const std::string& got) {
    auto fail = [&](const std::string& why) {
      std::string want;
      for (const Piece& p : expect) {
        want += p.kind == Piece::kLiteral ? p.text
                : p.kind == Piece::kCas   ? "<cas of version " + std::to_string(p.version) + ">"
                                          : "<lines>";
      }
      return why + "\nwant: " + Escape(want, 2000) + "\ngot:  " + Escape(got, 2000) + History();
    };
    size_t pos = 0;
    for (const Piece& p : expect) {
      switch (p.kind) {
        case Piece::kLiteral:
          FUZZ_CHECK(got.compare(pos, p.text.size(), p.text) == 0, fail("reply differs"));
          pos += p.text.size();
          break;
        case Piece::kCas: {
          size_t end = pos;
          uint64_t cas = 0;
          while (end < got.size() && got[end] >= '0' && got[end] <= '9' && end - pos < 20) {
            cas = cas * 10 + static_cast<uint64_t>(got[end] - '0');
            ++end;
          }
          FUZZ_CHECK(end > pos, fail("no cas value"));
          FUZZ_CHECK(cas != 0, fail("cas 0"));
          model_.Observe(p.version, cas, fail("cas inconsistent"));
          pos = end;
          break;
        }
        case Piece::kClassId: {
          size_t end = pos;
          int cls = 0;
          while (end < got.size() && got[end] >= '0' && got[end] <= '9' && end - pos < 4) {
            cls = cls * 10 + (got[end] - '0');
            ++end;
          }
          FUZZ_CHECK(end > pos && cls >= 1 && cls <= cache_->NumClasses(), fail("class id"));
          pos = end;
          break;
        }
        case Piece::kMetadump:
        case Piece::kMgdump:
          pos = CompareDump(p.kind == Piece::kMetadump, got, pos, fail);
          break;
        case Piece::kStatLines:
        case Piece::kItemLines: {
          const std::string prefix = p.kind == Piece::kStatLines ? "STAT " : "ITEM ";
          while (got.compare(pos, prefix.size(), prefix) == 0) {
            size_t eol = got.find("\r\n", pos);
            FUZZ_CHECK(eol != std::string::npos, fail("unterminated stats line"));
            pos = eol + 2;
          }
          FUZZ_CHECK(got.compare(pos, 5, "END\r\n") == 0, fail("stats not ended by END"));
          pos += 5;
          break;
        }
      }
    }
    FUZZ_CHECK(pos == got.size(), fail("extra reply bytes"));
  }

  static std::string UrlEncode(const std::string& key) {
    static const char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : key) {
      const auto c = static_cast<unsigned char>(ch);
      if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
          c == '.' || c == '_' || c == '~') {
        out.push_back(ch);
      } else {
        out += {'%', kHex[c >> 4], kHex[c & 15]};
      }
    }
    return out;
  }

  // Checks a dump at got[pos] against dump_; returns the position after it.
  template <typename Fail>
  size_t CompareDump(bool meta, const std::string& got, size_t pos, const Fail& fail) {
    std::map<std::string, std::string> want;  // the line's start -> the rest after cas
    for (const auto& [key, item] : dump_) {
      // As memcached 1.6.45: mgdump writes a binary key in base64 followed by " b"
      // (MetaRegression.MgdumpWritesBinaryKeysInBase64).
      const bool b64 = item.key_binary;
      want[meta ? "key=" + UrlEncode(key) : "mg " + (b64 ? Base64(key) + " b" : key)] = "";
    }
    if (!meta) {
      FUZZ_CHECK(got.compare(pos, 4, "OK\r\n") == 0, fail("mgdump without OK"));
      pos += 4;
    }
    const std::string end = meta ? "END\r\n" : "EN\r\n";
    const std::string eol = meta ? "\n" : "\r\n";
    while (got.compare(pos, end.size(), end) != 0) {
      const size_t e = got.find(eol, pos);
      FUZZ_CHECK(e != std::string::npos, fail("unterminated dump line"));
      const std::string line = got.substr(pos, e - pos);
      pos = e + eol.size();
      if (!meta) {
        FUZZ_CHECK(want.erase(line) == 1, fail("unexpected or repeated mgdump line " + line));
        continue;
      }
      const std::string head = line.substr(0, line.find(' '));
      auto w = want.find(head);
      FUZZ_CHECK(w != want.end(), fail("unexpected or repeated metadump line " + line));
      std::string key;
      for (const auto& [k, item] : dump_) {
        if ("key=" + UrlEncode(k) == head) key = k;
      }
      const ModelItem& item = dump_.at(key);
      const std::string exp =
          item.exptime == 0 ? "-1" : std::to_string(kEpoch + int64_t{item.exptime});
      long long la = 0;
      unsigned long long cas = 0;
      char fetch[8] = {};
      int cls = 0;
      unsigned long long size = 0;
      int consumed = 0;
      const std::string fields = line.substr(head.size());
      const std::string exp_field = " exp=" + exp + " ";
      FUZZ_CHECK(fields.compare(0, exp_field.size(), exp_field) == 0, fail("metadump exp"));
      FUZZ_CHECK(std::sscanf(fields.c_str() + exp_field.size(),
                             "la=%lld cas=%llu fetch=%7s cls=%d size=%llu%n", &la, &cas, fetch,
                             &cls, &size, &consumed) == 5 &&
                     static_cast<size_t>(consumed) == fields.size() - exp_field.size(),
                 fail("metadump fields: " + line));
      FUZZ_CHECK(std::string(fetch) == (item.fetched ? "yes" : "no"), fail("metadump fetch"));
      FUZZ_CHECK(la == kEpoch + int64_t{item.atime}, fail("metadump la"));
      FUZZ_CHECK(cls >= 1 && cls <= cache_->NumClasses(), fail("cls"));
      FUZZ_CHECK(size == ItemSize(key, item.value.size()), fail("metadump size"));
      if (item.fixed_cas != 0) {
        FUZZ_CHECK(cas == item.fixed_cas, fail("metadump client cas"));
      } else {
        model_.Observe(item.version, cas, fail("metadump cas inconsistent"));
      }
      want.erase(w);
    }
    FUZZ_CHECK(want.empty(), fail("dump misses " + want.begin()->first));
    return pos + end.size();
  }

  std::string History() const { return "\nops (most recent last):\n" + history_; }

  ByteReader in_;
  FakeClock clock_{kStart, kEpoch};
  stats::Registry registry_;
  std::unique_ptr<storage::Cache> cache_;
  handler::SharedContext ctx_;
  std::unique_ptr<handler::Session> session_;
  Model model_;
  std::string pending_;
  std::string history_;
  int max_commands_ = 1 << 30;
  int big_ops_ = 0;
  std::map<std::string, ModelItem> dump_;  // the live items when a dump was asked for
};

}  // namespace
}  // namespace mcd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mcd::fuzz::Harness(data, size).Run();
  return 0;
}
