#include "binary_session.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstring>

#include "mcd/handler/stats_format.h"
#include "mcd/storage/item.h"
#include "mcd/util/numbers.h"

namespace mcd::handler {

namespace bin = protocol::binary;
using bin::Opcode;
using bin::Status;

namespace {

// Values up to this size are copied into the reply instead of referenced.
constexpr uint32_t kInlineValueMax = 2048;
// The longest key memcached serves (a longer one is a protocol error).
constexpr size_t kMaxKeyLength = 250;
// An increment's exptime that means "do not create a missing counter".
constexpr uint32_t kNoCreate = 0xffffffff;

constexpr uint8_t Op(Opcode o) { return static_cast<uint8_t>(o); }

// The loud opcode of a quiet one (memcached maps them before dispatch); *quiet says which.
uint8_t BaseOpcode(uint8_t op, bool* quiet) {
  *quiet = true;
  switch (static_cast<Opcode>(op)) {
    case Opcode::kSetQ:
      return Op(Opcode::kSet);
    case Opcode::kAddQ:
      return Op(Opcode::kAdd);
    case Opcode::kReplaceQ:
      return Op(Opcode::kReplace);
    case Opcode::kDeleteQ:
      return Op(Opcode::kDelete);
    case Opcode::kIncrementQ:
      return Op(Opcode::kIncrement);
    case Opcode::kDecrementQ:
      return Op(Opcode::kDecrement);
    case Opcode::kQuitQ:
      return Op(Opcode::kQuit);
    case Opcode::kFlushQ:
      return Op(Opcode::kFlush);
    case Opcode::kAppendQ:
      return Op(Opcode::kAppend);
    case Opcode::kPrependQ:
      return Op(Opcode::kPrepend);
    case Opcode::kGetQ:
      return Op(Opcode::kGet);
    case Opcode::kGetKQ:
      return Op(Opcode::kGetK);
    case Opcode::kGatQ:
      return Op(Opcode::kGat);
    case Opcode::kGatKQ:
      return Op(Opcode::kGatK);
    default:
      *quiet = false;
      return op;
  }
}

// Formats a text `stats` reply with `format` and re-encodes each "STAT <name> <value>" line as
// one binary stat packet (memcached's names and order, one formatter for both protocols).
template <typename Format>
void TextStatsToBinary(Format format, uint32_t opaque, OutBuf* out) {
  OutBuf text;
  format(&text);
  const std::string s = text.ToString();
  std::string_view rest(s);
  constexpr std::string_view kStat = "STAT ";
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 2);
    if (!line.starts_with(kStat)) continue;  // END
    line.remove_prefix(kStat.size());
    const size_t sp = line.find(' ');
    const std::string_view name = line.substr(0, sp);
    const std::string_view value =
        sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    bin::AppendResponse(out, Op(Opcode::kStat), Status::kSuccess, opaque, 0, {}, name, value);
  }
}

}  // namespace

BinarySession::BinarySession(SharedContext* ctx, stats::ThreadStats* thread_stats, int conn_id,
                             server::BufferBudget* budget)
    : ctx_(ctx), ts_(thread_stats), exec_(ctx, thread_stats), conn_id_(conn_id), budget_(budget) {}

BinarySession::~BinarySession() {
  if (item_ != nullptr) exec_.Release(item_);
  RepliesSent();
}

void BinarySession::RepliesSent() {
  if (budget_ == nullptr || replies_held_ == 0) return;
  budget_->ReleaseReplies(replies_held_);
  replies_held_ = 0;
}

void BinarySession::Reset() {
  if (item_ != nullptr) exec_.Release(item_);
  item_ = nullptr;
  RepliesSent();
  phase_ = Phase::kHeader;
  close_ = false;
  yielded_ = false;
  swallow_left_ = 0;
}

std::string_view BinarySession::ConnStateName() const {
  switch (phase_) {
    case Phase::kValue:
      return "conn_nread";
    case Phase::kSwallow:
      return "conn_swallow";
    default:
      return "conn_read";
  }
}

std::span<char> BinarySession::DirectDataSpan() {
  if (phase_ != Phase::kValue || value_filled_ == value_total_) return {};
  std::span<char> dst = storage::ItemMutableDataAt(item_, value_filled_);
  return dst.first(std::min<size_t>(dst.size(), value_total_ - value_filled_));
}

void BinarySession::DataWritten(size_t n, OutBuf* out) {
  value_filled_ += static_cast<uint32_t>(n);
  if (value_filled_ == value_total_) FinishStore(out);
}

size_t BinarySession::Consume(std::string_view in, OutBuf* out, int max_commands,
                              size_t max_output) {
  size_t off = 0;
  int done = 0;
  yielded_ = false;
  while (!close_) {
    switch (phase_) {
      case Phase::kValue: {
        if (off == in.size() && value_filled_ < value_total_) return off;
        while (value_filled_ < value_total_ && off < in.size()) {
          std::span<char> dst = storage::ItemMutableDataAt(item_, value_filled_);
          const size_t n = std::min(
              {dst.size(), static_cast<size_t>(value_total_ - value_filled_), in.size() - off});
          std::memcpy(dst.data(), in.data() + off, n);
          off += n;
          value_filled_ += static_cast<uint32_t>(n);
        }
        if (value_filled_ == value_total_) FinishStore(out);
        continue;
      }
      case Phase::kSwallow: {
        const size_t n = std::min<uint64_t>(swallow_left_, in.size() - off);
        off += n;
        swallow_left_ -= n;
        if (swallow_left_ > 0) return off;
        phase_ = Phase::kHeader;
        continue;
      }
      case Phase::kHeader: {
        if (off == in.size()) return off;
        if (done >= max_commands || out->size() > max_output) {
          yielded_ = true;
          return off;
        }
        bin::Request req;
        size_t used = 0;
        const bin::DecodeStatus st = bin::DecodeRequest(in.substr(off), &used, &req);
        if (st == bin::DecodeStatus::kNeedMore) return off;
        if (st == bin::DecodeStatus::kBadMagic) {
          if (Verbosity() > 0) {
            LOG(INFO) << "Invalid magic: " << std::hex
                      << static_cast<int>(static_cast<uint8_t>(in[off]));
          }
          close_ = true;
          return off;
        }
        if (marks_ != nullptr && out->size() != 0 &&
            (marks_->empty() || marks_->back() < out->size())) {
          marks_->push_back(out->size());
        }
        if (budget_ != nullptr) {
          if (!budget_->TakeReply()) {
            out->Clear();
            close_ = true;
            return off;
          }
          ++replies_held_;
        }
        off += used;
        ++done;
        opcode_ = req.header.opcode;
        opaque_ = req.header.opaque;
        if (st == bin::DecodeStatus::kBadLengths) {
          Error(out, Status::kUnknownCommand);
          close_ = true;
          return off;
        }
        if (st == bin::DecodeStatus::kBodyTooLong) {
          Error(out, Status::kInvalidArguments);
          close_ = true;
          return off;
        }
        if (Verbosity() > 1) {
          LOG(INFO) << '<' << conn_id_ << " binary opcode 0x" << std::hex
                    << static_cast<int>(opcode_) << std::dec << " key "
                    << std::string_view(req.key.data(), std::min<size_t>(req.key.size(), 250))
                    << " body " << req.header.body_length;
        }
        Dispatch(req, out);
        continue;
      }
    }
  }
  return off;
}

void BinarySession::Error(OutBuf* out, Status s, std::string_view text) {
  bin::AppendError(out, opcode_, s, opaque_, text);
}

void BinarySession::ProtocolError(OutBuf* out) {
  Error(out, Status::kInvalidArguments);
  if (Verbosity() > 0) {
    LOG(INFO) << "Protocol error (opcode " << std::hex << static_cast<int>(opcode_)
              << "), close connection " << std::dec << conn_id_;
  }
  close_ = true;
}

void BinarySession::Swallow(uint64_t n) {
  if (n == 0) return;
  swallow_left_ = n;
  phase_ = Phase::kSwallow;
}

void BinarySession::Dispatch(const bin::Request& req, OutBuf* out) {
  const bin::RequestHeader& h = req.header;
  const uint32_t keylen = h.key_length;
  const uint32_t extlen = h.extras_length;
  const uint32_t bodylen = h.body_length;
  if (keylen > kMaxKeyLength) {
    ProtocolError(out);
    return;
  }
  bool quiet = false;
  const uint8_t base = BaseOpcode(h.opcode, &quiet);
  const bool bare = extlen == 0 && keylen == 0 && bodylen == 0;
  switch (static_cast<Opcode>(base)) {
    case Opcode::kVersion:
      if (!bare) return ProtocolError(out);
      bin::AppendResponse(out, opcode_, Status::kSuccess, opaque_, 0, {}, {},
                          ctx_->options.version);
      return;
    case Opcode::kFlush:
      if (keylen != 0 || bodylen != extlen || (extlen != 0 && extlen != 4)) {
        return ProtocolError(out);
      }
      Flush(req, quiet, out);
      return;
    case Opcode::kNoop:
      if (!bare) return ProtocolError(out);
      bin::AppendResponse(out, opcode_, Status::kSuccess, opaque_, 0, {}, {}, {});
      return;
    case Opcode::kSet:
    case Opcode::kAdd:
    case Opcode::kReplace:
      if (extlen != 8 || keylen == 0 || bodylen < keylen + 8) return ProtocolError(out);
      StartStore(req, base, quiet, out);
      return;
    case Opcode::kGet:
    case Opcode::kGetK:
      if (extlen != 0 || bodylen != keylen || keylen == 0) return ProtocolError(out);
      Retrieve(req, base, quiet, out);
      return;
    case Opcode::kDelete:
      if (keylen == 0 || extlen != 0 || bodylen != keylen) return ProtocolError(out);
      Delete(req, quiet, out);
      return;
    case Opcode::kIncrement:
    case Opcode::kDecrement:
      if (keylen == 0 || extlen != 20 || bodylen != keylen + extlen) return ProtocolError(out);
      Arithmetic(req, base, quiet, out);
      return;
    case Opcode::kAppend:
    case Opcode::kPrepend:
      if (keylen == 0 || extlen != 0) return ProtocolError(out);
      StartStore(req, base, quiet, out);
      return;
    case Opcode::kStat:
      if (extlen != 0) return ProtocolError(out);
      Stat(req, out);
      return;
    case Opcode::kQuit:
      if (!bare) return ProtocolError(out);
      if (!quiet) bin::AppendResponse(out, opcode_, Status::kSuccess, opaque_, 0, {}, {}, {});
      close_ = true;
      return;
    case Opcode::kSaslListMechs:
      // mcd has no SASL: answered as memcached answers without -S.
      if (!bare) return ProtocolError(out);
      Error(out, Status::kUnknownCommand);
      return;
    case Opcode::kSaslAuth:
    case Opcode::kSaslStep:
      if (extlen != 0 || keylen == 0) return ProtocolError(out);
      Error(out, Status::kUnknownCommand);
      Swallow(bodylen - keylen);
      return;
    case Opcode::kTouch:
    case Opcode::kGat:
    case Opcode::kGatK:
      // memcached does not check the body length here: bytes past the key are read as the
      // next request.
      if (extlen != 4 || keylen == 0) return ProtocolError(out);
      Retrieve(req, base, quiet, out);
      return;
    default:
      Error(out, Status::kUnknownCommand);
      // memcached swallows the whole body length after the extras and key it has already read.
      Swallow(bodylen);
      return;
  }
}

void BinarySession::AppendValue(storage::Item* it, OutBuf* out) {
  const uint32_t size = storage::ItemValueSize(it);
  std::string_view first = storage::ItemDataAt(it, 0);
  if (size == 0 || (size <= kInlineValueMax && first.size() >= size)) {
    if (size != 0) out->Append(first.substr(0, size));
    exec_.Release(it);
    return;
  }
  const bool copy = storage::ItemHeavilyReferenced(it);
  uint32_t off = 0;
  while (off < size) {
    std::string_view piece = storage::ItemDataAt(it, off);
    piece = piece.substr(0, std::min<size_t>(piece.size(), size - off));
    off += static_cast<uint32_t>(piece.size());
    if (copy) {
      out->Append(piece);
    } else {
      // The item is released after its last piece is sent.
      out->AppendRef(piece.data(), piece.size(), off >= size ? it : nullptr);
    }
  }
  if (copy) exec_.Release(it);
}

void BinarySession::Retrieve(const bin::Request& req, uint8_t base, bool quiet, OutBuf* out) {
  const bool touch = base != Op(Opcode::kGet) && base != Op(Opcode::kGetK);
  const bool with_key = base == Op(Opcode::kGetK) || base == Op(Opcode::kGatK);
  const bool with_value = base != Op(Opcode::kTouch);
  GetRequest get;
  get.key = req.key;
  if (touch) {
    get.touch = true;
    get.exptime = bin::LoadBe32(req.extras.data());
    get.touch_count = TouchCount::kTouchOnly;
  }
  storage::Item* it = exec_.Get(get, nullptr);
  if (it == nullptr) {
    if (quiet) return;
    if (with_key) {
      bin::AppendResponse(out, opcode_, Status::kKeyNotFound, opaque_, 0, {}, req.key, {});
    } else {
      Error(out, Status::kKeyNotFound);
    }
    return;
  }
  char flags[4];
  bin::StoreBe32(storage::ItemFlags(it), flags);
  const uint32_t size = with_value ? storage::ItemValueSize(it) : 0;
  bin::AppendResponseHead(out, opcode_, Status::kSuccess, opaque_, storage::ItemCas(it),
                          std::string_view(flags, 4), with_key ? req.key : std::string_view(),
                          size);
  if (with_value) {
    AppendValue(it, out);
  } else {
    exec_.Release(it);
  }
}

void BinarySession::StartStore(const bin::Request& req, uint8_t base, bool quiet, OutBuf* out) {
  const bool append = base == Op(Opcode::kAppend) || base == Op(Opcode::kPrepend);
  uint32_t flags = 0;
  int64_t exptime = 0;
  if (!append) {
    flags = bin::LoadBe32(req.extras.data());
    exptime = bin::LoadBe32(req.extras.data() + 4);
  }
  const uint32_t vlen = req.value_length;
  storage::Item* it = nullptr;
  const AllocOutcome ar =
      exec_.Allocate(req.key, flags, exptime, vlen, &it, base == Op(Opcode::kSet));
  if (ar != AllocOutcome::kOk) {
    if (ar == AllocOutcome::kTooLarge) {
      Error(out, Status::kTooLarge);
    } else {
      Error(out, Status::kOutOfMemory, "Out of memory allocating item");
    }
    Swallow(vlen);
    return;
  }
  item_ = it;
  store_base_ = base;
  store_quiet_ = quiet;
  store_cas_ = req.header.cas;
  value_total_ = vlen;
  value_filled_ = 0;
  phase_ = Phase::kValue;
}

void BinarySession::FinishStore(OutBuf* out) {
  storage::Item* it = item_;
  item_ = nullptr;
  phase_ = Phase::kHeader;
  // The binary protocol sends no "\r\n" after a value; the item holds one.
  storage::ItemMutableDataAt(it, value_total_)[0] = '\r';
  storage::ItemMutableDataAt(it, value_total_ + 1)[0] = '\n';
  exec_.CountSet(it);
  StoreRequest req;
  req.compare_cas = store_cas_;
  switch (static_cast<Opcode>(store_base_)) {
    case Opcode::kAdd:
      req.mode = storage::StoreMode::kAdd;
      break;
    case Opcode::kReplace:
      req.mode = storage::StoreMode::kReplace;
      break;
    case Opcode::kAppend:
      req.mode = storage::StoreMode::kAppend;
      break;
    case Opcode::kPrepend:
      req.mode = storage::StoreMode::kPrepend;
      break;
    default:
      req.mode = storage::StoreMode::kSet;
      break;
  }
  // A cas on set, add or replace makes it a cas store (append/prepend compare it themselves).
  const bool cas_store = store_cas_ != 0 && (req.mode == storage::StoreMode::kSet ||
                                             req.mode == storage::StoreMode::kAdd ||
                                             req.mode == storage::StoreMode::kReplace);
  if (cas_store) req.mode = storage::StoreMode::kCas;
  storage::MetaStoreInfo info;
  switch (exec_.Store(it, req, &info)) {
    case storage::StoreResult::kStored:
      if (!store_quiet_) {
        bin::AppendResponse(out, opcode_, Status::kSuccess, opaque_, info.cas, {}, {}, {});
      }
      return;
    case storage::StoreResult::kExists:
      Error(out, Status::kKeyExists);
      return;
    case storage::StoreResult::kNotFound:
      Error(out, Status::kKeyNotFound);
      return;
    case storage::StoreResult::kNotStored:
    case storage::StoreResult::kNoMemory:
      if (req.mode == storage::StoreMode::kAdd) {
        Error(out, Status::kKeyExists);
      } else if (req.mode == storage::StoreMode::kReplace) {
        Error(out, Status::kKeyNotFound);
      } else {
        Error(out, Status::kNotStored);
      }
      return;
  }
}

void BinarySession::Delete(const bin::Request& req, bool quiet, OutBuf* out) {
  storage::MetaDeleteArgs args;
  args.compare_cas = req.header.cas;
  // memcached counts a binary delete refused for its cas in no counter.
  switch (exec_.Delete(req.key, args, /*mismatch_is_miss=*/false)) {
    case storage::MetaDeleteResult::kDeleted:
      if (!quiet) bin::AppendResponse(out, opcode_, Status::kSuccess, opaque_, 0, {}, {}, {});
      return;
    case storage::MetaDeleteResult::kExists:
      Error(out, Status::kKeyExists);
      return;
    default:
      Error(out, Status::kKeyNotFound);
      return;
  }
}

void BinarySession::Arithmetic(const bin::Request& req, uint8_t base, bool quiet, OutBuf* out) {
  const char* e = req.extras.data();
  storage::MetaDeltaArgs args;
  args.incr = base == Op(Opcode::kIncrement);
  args.delta = bin::LoadBe64(e);
  const uint64_t initial = bin::LoadBe64(e + 8);
  const uint32_t exptime = bin::LoadBe32(e + 16);
  args.compare_cas = req.header.cas;
  if (exptime != kNoCreate) {
    args.vivify = true;
    args.initial = initial;
    args.vivify_exptime = exec_.ToRel(exptime);
  }
  storage::MetaDeltaInfo info;
  switch (exec_.Arithmetic(req.key, args, &info)) {
    case storage::DeltaResult::kOk: {
      if (quiet) return;
      char value[8];
      bin::StoreBe64(info.value, value);
      bin::AppendResponse(out, opcode_, Status::kSuccess, opaque_, info.cas, {}, {},
                          std::string_view(value, 8));
      return;
    }
    case storage::DeltaResult::kNonNumeric:
      Error(out, Status::kDeltaBadValue);
      return;
    case storage::DeltaResult::kNoMemory:
      Error(out, Status::kOutOfMemory,
            args.vivify ? "Out of memory allocating new item" : "Out of memory incrementing value");
      return;
    case storage::DeltaResult::kNotFound:
      Error(out, Status::kKeyNotFound);
      return;
    case storage::DeltaResult::kExists:
      Error(out, Status::kKeyExists);
      return;
  }
}

void BinarySession::Flush(const bin::Request& req, bool quiet, OutBuf* out) {
  if (!ctx_->options.flush_enabled) {
    Error(out, Status::kAuthError);
    return;
  }
  int64_t exptime = 0;
  if (req.extras.size() == 4) exptime = bin::LoadBe32(req.extras.data());
  ts_->cmd_flush.Add();
  ctx_->cache->FlushAll(exptime > 0 ? ctx_->clock->ExptimeToRel(exptime) : 0);
  if (!quiet) bin::AppendResponse(out, opcode_, Status::kSuccess, opaque_, 0, {}, {}, {});
}

void BinarySession::Stat(const bin::Request& req, OutBuf* out) {
  const std::string_view sub = req.key;
  const SharedContext& ctx = *ctx_;
  // memcached matches reset, settings and detail by prefix, the other groups exactly.
  if (sub.empty()) {
    TextStatsToBinary([&](OutBuf* o) { FormatGeneralStats(ctx, o); }, opaque_, out);
  } else if (sub.starts_with("reset")) {
    ctx_->stats->Reset();
    ctx_->cache->ResetStats();
  } else if (sub.starts_with("settings")) {
    TextStatsToBinary([&](OutBuf* o) { FormatSettingsStats(ctx, o); }, opaque_, out);
  } else if (sub.starts_with("detail")) {
    const std::string_view what = sub.substr(6);
    if (!ctx_->options.dump_enabled) {
      Error(out, Status::kKeyNotFound);
      return;
    }
    if (what.starts_with(" dump")) {
      OutBuf text;
      FormatDetailDump(ctx, &text);
      bin::AppendResponse(out, opcode_, Status::kSuccess, opaque_, 0, {}, "detailed",
                          text.ToString());
    } else if (what.starts_with(" on") || what.starts_with(" off")) {
      ctx_->stats->Prefixes().SetEnabled(what.starts_with(" on"));
    } else {
      Error(out, Status::kKeyNotFound);
      return;
    }
  } else if (sub == "items") {
    TextStatsToBinary([&](OutBuf* o) { FormatItemsStats(ctx, o); }, opaque_, out);
  } else if (sub == "slabs") {
    TextStatsToBinary([&](OutBuf* o) { FormatSlabsStats(ctx, o); }, opaque_, out);
  } else if (sub == "sizes") {
    TextStatsToBinary([&](OutBuf* o) { FormatSizesStats(ctx, o); }, opaque_, out);
  } else {
    Error(out, Status::kKeyNotFound);
    return;
  }
  // The empty packet that ends every stat reply.
  bin::AppendResponse(out, opcode_, Status::kSuccess, opaque_, 0, {}, {}, {});
}

}  // namespace mcd::handler
