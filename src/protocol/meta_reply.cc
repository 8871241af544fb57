#include "mcd/protocol/meta_reply.h"

#include <cstring>

#include "mcd/protocol/wire.h"
#include "mcd/util/base64.h"
#include "mcd/util/numbers.h"

namespace mcd::protocol {
namespace {

// Which return flags each reply writes (beyond O and k, which every keyed reply writes).
enum ReturnSet : uint8_t { kKeyOnly, kGetHit, kSetAny, kArithHit };

class Writer {
 public:
  explicit Writer(char* buf) : p_(buf) {}
  char* pos() const { return p_; }
  void Raw(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Char(char c) { *p_++ = c; }
  void Unsigned(uint64_t v) { p_ += FormatUint64(v, p_); }
  void Signed(int64_t v) {
    if (v < 0) {
      Char('-');
      Unsigned(~static_cast<uint64_t>(v) + 1);
    } else {
      Unsigned(static_cast<uint64_t>(v));
    }
  }
  // " <letter>"
  void Flag(char letter) {
    Char(' ');
    Char(letter);
  }
  void Key(std::string_view key, bool binary) {
    if (binary) {
      p_ += Base64Encode(key, p_);
    } else {
      Raw(key);
    }
  }

 private:
  char* p_;
};

std::string_view CodeText(MetaCode c) {
  switch (c) {
    case MetaCode::kHd:
      return wire::kMetaHd;
    case MetaCode::kVa:
      return wire::kMetaVa;
    case MetaCode::kEn:
      return wire::kMetaEn;
    case MetaCode::kNs:
      return wire::kMetaNs;
    case MetaCode::kEx:
      return wire::kMetaEx;
    case MetaCode::kNf:
      return wire::kMetaNf;
  }
  return wire::kMetaHd;
}

ReturnSet SetFor(MetaCommandType t, MetaCode c) {
  const bool hit = c == MetaCode::kHd || c == MetaCode::kVa;
  switch (t) {
    case MetaCommandType::kGet:
      return hit ? kGetHit : kKeyOnly;
    case MetaCommandType::kSet:
      return kSetAny;
    case MetaCommandType::kArithmetic:
      return hit ? kArithHit : kKeyOnly;
    case MetaCommandType::kDelete:
    case MetaCommandType::kNoop:
    case MetaCommandType::kDebug:
      break;
  }
  return kKeyOnly;
}

void WriteTtl(Writer* w, int64_t ttl) {
  if (ttl == kMetaNoExpiry) {
    w->Raw("-1");
  } else {
    w->Unsigned(static_cast<uint32_t>(static_cast<uint64_t>(ttl)));
  }
}

}  // namespace

bool MetaReplySuppressed(const MetaCommand& cmd, MetaCode code) {
  if (!cmd.quiet()) return false;
  switch (cmd.type) {
    case MetaCommandType::kGet:
      return code == MetaCode::kEn;
    case MetaCommandType::kSet:
    case MetaCommandType::kDelete:
      return code == MetaCode::kHd;
    case MetaCommandType::kArithmetic:
      return code == MetaCode::kHd || code == MetaCode::kVa;
    case MetaCommandType::kNoop:
    case MetaCommandType::kDebug:
      break;
  }
  return false;
}

size_t EncodeMetaReply(const MetaCommand& cmd, const MetaReplyValues& v, char* buf) {
  Writer w(buf);
  w.Raw(CodeText(v.code));
  if (v.code == MetaCode::kVa) {
    w.Char(' ');
    w.Unsigned(cmd.type == MetaCommandType::kArithmetic ? v.number.size() : v.value_length);
  }
  const ReturnSet set = SetFor(cmd.type, v.code);
  const bool key_binary = set == kGetHit ? v.item_key_binary : cmd.key_binary;
  for (size_t i = 0; i < cmd.num_flags; ++i) {
    const char c = cmd.order[i];
    if (c == 'O') {
      w.Char(' ');
      w.Raw(cmd.opaque);
      continue;
    }
    if (c == 'k') {
      w.Flag('k');
      w.Key(cmd.Key(), key_binary);
      if (key_binary) w.Flag('b');
      continue;
    }
    switch (set) {
      case kKeyOnly:
        continue;
      case kGetHit:
        if (c == 'f') {
          w.Flag('f');
          w.Unsigned(v.client_flags);
        } else if (c == 'l') {
          w.Flag('l');
          w.Unsigned(v.last_access);
        } else if (c == 'h') {
          w.Flag('h');
          w.Char(v.hit_before ? '1' : '0');
        } else if (c != 's' && c != 't' && c != 'c') {
          continue;
        }
        break;
      case kSetAny:
        if (c != 's' && c != 'c') continue;
        break;
      case kArithHit:
        if (c != 't' && c != 'c') continue;
        break;
    }
    if (c == 's') {
      w.Flag('s');
      w.Unsigned(v.size);
    } else if (c == 't') {
      w.Flag('t');
      WriteTtl(&w, v.ttl);
    } else if (c == 'c') {
      w.Flag('c');
      w.Unsigned(v.cas);
    }
  }
  if (set == kGetHit) {
    if (v.win_sent) w.Flag('Z');
    if (v.stale) w.Flag('X');
    if (v.won) w.Flag('W');
  }
  w.Raw(wire::kCrlf);
  if (v.code == MetaCode::kVa && cmd.type == MetaCommandType::kArithmetic) {
    w.Raw(v.number);
    w.Raw(wire::kCrlf);
  }
  return static_cast<size_t>(w.pos() - buf);
}

void AppendMetaReply(const MetaCommand& cmd, const MetaReplyValues& v, OutBuf* out) {
  char* p = out->Reserve(kMetaReplyMax);
  out->Commit(EncodeMetaReply(cmd, v, p));
}

size_t EncodeMetaDebug(const MetaDebugValues& v, char* buf) {
  Writer w(buf);
  w.Raw(wire::kMetaMe);
  w.Key(v.key, v.key_binary);
  w.Raw(" exp=");
  w.Signed(v.exp);
  w.Raw(" la=");
  w.Unsigned(v.last_access);
  w.Raw(" cas=");
  w.Unsigned(v.cas);
  w.Raw(v.fetched ? " fetch=yes" : " fetch=no");
  w.Raw(" cls=");
  w.Unsigned(v.class_id);
  w.Raw(" size=");
  w.Unsigned(v.total_size);
  w.Raw(wire::kCrlf);
  return static_cast<size_t>(w.pos() - buf);
}

void AppendMetaDebug(const MetaDebugValues& v, OutBuf* out) {
  char* p = out->Reserve(kMetaReplyMax);
  out->Commit(EncodeMetaDebug(v, p));
}

}  // namespace mcd::protocol
