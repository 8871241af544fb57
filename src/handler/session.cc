#include "mcd/handler/session.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstring>

#include "mcd/handler/stats_format.h"
#include "mcd/protocol/text_parser.h"
#include "mcd/protocol/wire.h"
#include "mcd/storage/item.h"
#include "mcd/util/numbers.h"
#include "memlimit_command.h"
#include "session_state.h"
#include "slabs_command.h"

namespace mcd::handler {

using protocol::Command;
using protocol::CommandType;
using protocol::ParseStatus;
namespace wire = protocol::wire;

void ReleaseItemRef(void* cache, void* item) {
  static_cast<storage::Cache*>(cache)->Release(static_cast<storage::Item*>(item));
}

namespace {

// Values up to this size (with their "\r\n") are copied into the reply instead of referenced.
constexpr uint32_t kInlineValueMax = 2048;

// A dump (lru_crawler metadump/mgdump) produces about this much per Consume() call, then yields
// so the worker serves its other connections: bytes queued (checked after each walk step of
// kDumpStepChunks chunks, one class lock hold: at most 64 lines past it), chunks examined.
constexpr size_t kDumpBytesPerCall = 64 * 1024;
constexpr uint64_t kDumpChunksPerCall = 16 * 1024;
constexpr uint64_t kDumpStepChunks = 64;

storage::StoreMode ModeOf(CommandType t) {
  switch (t) {
    case CommandType::kAdd:
      return storage::StoreMode::kAdd;
    case CommandType::kReplace:
      return storage::StoreMode::kReplace;
    case CommandType::kAppend:
      return storage::StoreMode::kAppend;
    case CommandType::kPrepend:
      return storage::StoreMode::kPrepend;
    case CommandType::kCas:
      return storage::StoreMode::kCas;
    default:
      return storage::StoreMode::kSet;
  }
}

// Pipelined mg lines (a proxy's batch: `mg <key> v q O<n>` lines closed by `mn`) are served one
// line at a time, so each would wait on two cache misses (bucket, then item). Within one
// Consume() call this looks ahead over the mg lines that follow the current one, hashes their
// key tokens and loads their buckets (kBucketAhead lines ahead) and first items (kItemAhead
// ahead), as the multiget key loop does. It only reads the input: a line it misjudges (a `b`
// key, a line that is not what it seems) just gets no hint. It stops at the first line that is
// not a complete mg line, so it never looks into an ms data block.
class MgLookahead {
 public:
  explicit MgLookahead(const storage::Cache* cache) : cache_(cache) {}

  // The hint for the meta line starting at `off` of `in` (null if it is not a looked-ahead mg
  // line); first issues the prefetches for the lines after it.
  const MgHint* Before(std::string_view in, size_t off) {
    const char* line = in.data() + off;
    while (head_ < tail_ && ring_[head_ % kRing].key < line) ++head_;  // lines served otherwise
    if (scan_ < off) scan_ = off;
    while (tail_ - head_ < kBucketAhead && Scan(in)) {
    }
    if (head_ + kItemAhead < tail_) cache_->PrefetchItem(ring_[(head_ + kItemAhead) % kRing].hint);
    if (head_ == tail_) return nullptr;
    const MgHint* h = &ring_[head_ % kRing];
    // The key token starts at or after "mg " and before the line's end.
    return h->key > line && h->key < in.data() + scan_ ? h : nullptr;
  }

 private:
  static constexpr size_t kRing = 8;
  static constexpr size_t kBucketAhead = 8;
  static constexpr size_t kItemAhead = 4;

  // Hints the mg line at scan_, if it is one and complete; false to stop looking.
  bool Scan(std::string_view in) {
    size_t line_length = 0;
    const std::string_view key = protocol::PeekMgKey(in.substr(scan_), &line_length);
    if (key.empty() || key.size() > kMaxKeyLength) return false;
    scan_ += line_length;
    MgHint& h = ring_[tail_ % kRing];
    h.key = key.data();
    h.len = key.size();
    h.hint = cache_->Prefetch(key);
    if (tail_ - head_ < kItemAhead) cache_->PrefetchItem(h.hint);
    ++tail_;
    return true;
  }

  const storage::Cache* cache_;
  MgHint ring_[kRing];
  size_t head_ = 0;  // the entry of the next mg line to be served
  size_t tail_ = 0;
  size_t scan_ = 0;  // where the next line to look at starts
};

}  // namespace

Session::Session(SharedContext* ctx, stats::ThreadStats* thread_stats, int conn_id,
                 server::BufferBudget* budget)
    : s_(new State(ctx, thread_stats, conn_id, budget)) {}

Session::~Session() {
  if (s_->item != nullptr) s_->cache->Release(s_->item);
  RepliesSent();
  delete s_;
}

void Session::RepliesSent() {
  State& s = *s_;
  if (s.budget == nullptr || s.replies_held == 0) return;
  s.budget->ReleaseReplies(s.replies_held);
  s.replies_held = 0;
}

size_t Session::Consume(std::string_view in, OutBuf* out, int max_commands, size_t max_output) {
  State& s = *s_;
  size_t off = 0;
  int done = 0;
  s.yielded = false;
  s.max_output = max_output;
  s.cmd_mark_valid = false;
  s.pipelined = false;
  MgLookahead ahead(s.cache);
  while (!s.close) {
    switch (s.phase) {
      case State::Phase::kDump:
        if (!s.ContinueDump(out)) {
          s.yielded = true;
          return off;
        }
        continue;
      case State::Phase::kData: {
        if (off == in.size()) return off;
        uint32_t left = s.data_total - s.data_filled;
        while (left > 0 && off < in.size()) {
          std::span<char> dst = storage::ItemMutableDataAt(s.item, s.data_filled);
          size_t n = std::min({dst.size(), static_cast<size_t>(left), in.size() - off});
          std::memcpy(dst.data(), in.data() + off, n);
          off += n;
          s.data_filled += static_cast<uint32_t>(n);
          left -= static_cast<uint32_t>(n);
        }
        if (left == 0) s.FinishStore(out);
        continue;
      }
      case State::Phase::kSwallow: {
        size_t n = std::min<uint64_t>(s.swallow_left, in.size() - off);
        off += n;
        s.swallow_left -= n;
        if (s.swallow_left > 0) return off;
        s.phase = State::Phase::kLine;
        continue;
      }
      case State::Phase::kKeys:
      case State::Phase::kLine: {
        if (off == in.size()) return off;
        if (done >= max_commands || out->size() > max_output) {
          s.yielded = true;
          return off;
        }
        if (s.marks != nullptr && s.phase == State::Phase::kLine) s.MarkEnd(*out);
        const bool new_command = s.phase == State::Phase::kLine;
        if (new_command) {
          // Meta commands (mg ms md ma mn me) mix freely with classic ones on a connection.
          const protocol::MetaDetect meta = protocol::DetectMeta(in.substr(off));
          if (meta == protocol::MetaDetect::kNeedMore) return off;
          if (meta == protocol::MetaDetect::kMeta) {
            size_t meta_used = 0;
            s.mg_hint = ahead.Before(in, off);
            const bool served = s.MetaLine(in.substr(off), out, &meta_used);
            s.mg_hint = nullptr;
            if (!served) return off;
            off += meta_used;
            ++done;
            s.pipelined = true;
            continue;
          }
        }
        Command cmd;
        size_t used = 0;
        protocol::ParseResult r;
        if (s.phase == State::Phase::kKeys) {
          cmd = s.multi;
          r = protocol::ParseKeysContinuation(in.substr(off), &used, &cmd);
        } else {
          r = protocol::ParseCommand(in.substr(off), &used, &cmd);
        }
        switch (r.status) {
          case ParseStatus::kNeedMore:
            return off;
          case ParseStatus::kClose:
            if (s.Verbosity() > 1)
              LogLine('<', s.conn_id,
                      in.substr(off, std::min<size_t>(used ? used : 200, in.size() - off)));
            s.close = true;
            return off;
          case ParseStatus::kError:
            if (s.Verbosity() > 1) LogLine('<', s.conn_id, in.substr(off, used));
            if (s.budget != nullptr && new_command && !s.StartReply(out)) return off;
            off += used;
            ++done;
            if (!new_command && s.SkipKeys(cmd)) continue;
            if (s.phase == State::Phase::kKeys && s.multi.more_keys) {
              // The rest of the cut line is discarded by the parser's continuation; stay here.
              s.multi = cmd;
              if (!cmd.more_keys) s.phase = State::Phase::kLine;
            } else {
              s.phase = State::Phase::kLine;
            }
            if (!r.noreply) s.Reply(out, wire::ErrorReply(r.error));
            s.pipelined = true;
            continue;
          case ParseStatus::kOk:
            if (s.Verbosity() > 1) LogLine('<', s.conn_id, in.substr(off, used));
            if (s.budget != nullptr && new_command && !s.StartReply(out)) return off;
            off += used;
            ++done;
            if (!new_command && s.SkipKeys(cmd)) continue;
            s.Dispatch(cmd, out);
            if (!protocol::IsRetrieval(cmd.type) && s.phase != State::Phase::kDump) {
              s.pipelined = true;
            }
            if (s.keys_resume_at != nullptr) {
              // The output limit cut a key list: the rest is served once the output drains.
              off = static_cast<size_t>(s.keys_resume_at - in.data());
              s.keys_resume_at = nullptr;
              s.yielded = true;
              return off;
            }
            continue;
        }
        return off;
      }
    }
  }
  return off;
}

bool Session::want_close() const { return s_->close; }
bool Session::yielded() const { return s_->yielded; }
bool Session::InCommand() const { return s_->phase != State::Phase::kLine; }
bool Session::Dumping() const { return s_->phase == State::Phase::kDump; }

std::string_view Session::ConnStateName() const {
  switch (s_->phase) {
    case State::Phase::kData:
      return "conn_nread";
    case State::Phase::kSwallow:
      return "conn_swallow";
    default:
      return "conn_read";
  }
}

void Session::MarkMessages(std::vector<size_t>* ends) { s_->marks = ends; }

void Session::Reset() {
  State& s = *s_;
  if (s.item != nullptr) s.cache->Release(s.item);
  RepliesSent();
  std::vector<size_t>* marks = s.marks;
  s = State(s.ctx, s.ts, s.conn_id, s.budget);
  s.marks = marks;
}

std::span<char> Session::DirectDataSpan() {
  State& s = *s_;
  if (s.phase != State::Phase::kData || s.data_filled == s.data_total) return {};
  std::span<char> dst = storage::ItemMutableDataAt(s.item, s.data_filled);
  return dst.first(std::min<size_t>(dst.size(), s.data_total - s.data_filled));
}

void Session::DataWritten(size_t n, OutBuf* out) {
  State& s = *s_;
  s.data_filled += static_cast<uint32_t>(n);
  if (s.data_filled == s.data_total) s.FinishStore(out);
}

void Session::State::Dispatch(const Command& cmd, OutBuf* out) {
  switch (cmd.type) {
    case CommandType::kGet:
    case CommandType::kGets:
    case CommandType::kGat:
    case CommandType::kGats:
      Retrieve(cmd, out);
      return;
    case CommandType::kSet:
    case CommandType::kAdd:
    case CommandType::kReplace:
    case CommandType::kAppend:
    case CommandType::kPrepend:
    case CommandType::kCas:
      StartStore(cmd, out);
      return;
    case CommandType::kDelete: {
      const bool hit =
          exec.Delete(cmd.key, storage::MetaDeleteArgs{}) == storage::MetaDeleteResult::kDeleted;
      if (!cmd.noreply) Reply(out, hit ? wire::kDeleted : wire::kNotFound);
      return;
    }
    case CommandType::kIncr:
    case CommandType::kDecr:
      Delta(cmd, out);
      return;
    case CommandType::kTouch: {
      const bool hit = exec.Touch(cmd.key, cmd.exptime);
      if (!cmd.noreply) Reply(out, hit ? wire::kTouched : wire::kNotFound);
      return;
    }
    case CommandType::kFlushAll:
      FlushAll(cmd, out);
      return;
    case CommandType::kVersion: {
      std::string v;
      v.reserve(ctx->options.version.size() + 10);
      v.append(wire::kVersionPrefix).append(ctx->options.version).append(wire::kCrlf);
      Reply(out, v);
      return;
    }
    case CommandType::kVerbosity:
      ctx->verbosity.store(static_cast<int>(std::clamp<int64_t>(cmd.level, 0, 16)),
                           std::memory_order_relaxed);
      if (!cmd.noreply) Reply(out, wire::kOk);
      return;
    case CommandType::kQuit:
      close = true;
      return;
    case CommandType::kStats:
      Stats(cmd, out);
      return;
    case CommandType::kSlabs:
      SlabsCommand(cmd.args, *ctx, out);
      return;
    case CommandType::kCacheMemlimit: {
      const std::string_view reply = CacheMemlimitCommand(static_cast<uint64_t>(cmd.level), *ctx);
      if (!cmd.noreply) Reply(out, reply);
      return;
    }
    case CommandType::kLruCrawler:
      LruCrawler(cmd, out);
      return;
    case CommandType::kShutdown:
      if (!ctx->options.shutdown_enabled || !ctx->shutdown) {
        Reply(out, wire::kShutdownDisabled);
        return;
      }
      // `shutdown` stops now, `shutdown graceful` drains first; anything else is refused.
      if (!cmd.args.empty() && cmd.args != "graceful") {
        Reply(out, wire::kShutdownBadMode);
        return;
      }
      ctx->shutdown(!cmd.args.empty());
      close = true;
      return;
  }
}

void Session::State::Retrieve(const Command& cmd, OutBuf* out) {
  const bool touch = cmd.type == CommandType::kGat || cmd.type == CommandType::kGats;
  const bool with_cas = cmd.type == CommandType::kGets || cmd.type == CommandType::kGats;
  GetRequest get;
  get.touch = touch;
  get.exptime = cmd.exptime;
  const bool verbose = Verbosity() > 1;
  const char* const keys_end = cmd.keys.data() + cmd.keys.size();
  protocol::KeyIterator keys(cmd.keys);
  std::string_view key;
  if (budget != nullptr && phase == Phase::kLine) {
    cmd_mark = out->GetMark();
    cmd_mark_valid = true;
    cmd_replies = 1;  // taken for the command line
    cmd_keys = 0;
  }
  // Software pipeline over the key list: the bucket of the key kBucketAhead places ahead and the
  // first item of the bucket kItemAhead places ahead are loaded while this key is served, so the
  // lookup finds both in cache (a 100-key multiget otherwise waits on two cache misses per key).
  constexpr size_t kRing = 16;
  constexpr size_t kBucketAhead = 8;
  constexpr size_t kItemAhead = 4;
  storage::Cache::KeyHint hints[kRing];
  protocol::KeyIterator ahead(cmd.keys);
  size_t n_ahead = 0;
  size_t n_done = 0;
  while (true) {
    std::string_view next;
    while (n_ahead < n_done + kBucketAhead && ahead.Next(&next)) {
      hints[n_ahead % kRing] = cache->Prefetch(next);
      if (n_ahead < kItemAhead) cache->PrefetchItem(hints[n_ahead % kRing]);
      ++n_ahead;
    }
    if (n_done + kItemAhead < n_ahead) cache->PrefetchItem(hints[(n_done + kItemAhead) % kRing]);
    if (!keys.Next(&key)) break;
    const storage::Cache::KeyHint hint = hints[n_done % kRing];
    ++n_done;
    if (budget != nullptr && !KeyReply(cmd, out)) return;
    get.key = key;
    get.hint = &hint;
    storage::Item* it = exec.Get(get, nullptr);
    if (it == nullptr) continue;
    // "VALUE <key> <flags> <bytes>[ <cas>]\r\n": at most 6 + 250 + 3 * 21 + 2 bytes. A small
    // value is copied right behind its header, so a whole multiget reply of small values is one
    // contiguous piece of the arena (one iovec) and the item is released at once; a larger value
    // goes out by reference, without a copy.
    const uint32_t size = storage::ItemValueSize(it);
    const uint32_t total = size + 2;
    std::string_view first = storage::ItemDataAt(it, 0);
    const bool inline_value = total <= kInlineValueMax && first.size() >= total;
    if (marks != nullptr) MarkEnd(*out);  // each VALUE block starts a message
    char* p = out->Reserve(6 + key.size() + 3 * 21 + 2 + (inline_value ? total : 0));
    char* w = p;
    std::memcpy(w, wire::kValue.data(), wire::kValue.size());
    w += wire::kValue.size();
    std::memcpy(w, key.data(), key.size());
    w += key.size();
    *w++ = ' ';
    w += FormatUint64(storage::ItemFlags(it), w);
    *w++ = ' ';
    w += FormatUint64(size, w);
    if (with_cas) {
      *w++ = ' ';
      w += FormatUint64(storage::ItemCas(it), w);
    }
    *w++ = '\r';
    *w++ = '\n';
    if (inline_value) {
      std::memcpy(w, first.data(), total);
      w += total;
      out->Commit(static_cast<size_t>(w - p));
      cache->Release(it);
    } else if (storage::ItemHeavilyReferenced(it)) {
      // So many queued replies reference this item that one more could overflow its 16-bit
      // count: copy the value instead (bounded, like any reply, by the output limit).
      out->Commit(static_cast<size_t>(w - p));
      for (uint32_t off = 0; off < total;) {
        std::string_view piece = storage::ItemDataAt(it, off);
        off += static_cast<uint32_t>(piece.size());
        out->Append(piece);
      }
      cache->Release(it);
    } else {
      out->Commit(static_cast<size_t>(w - p));
      // The item is released after its last piece is sent.
      uint32_t off = 0;
      while (off < total) {
        std::string_view piece = storage::ItemDataAt(it, off);
        off += static_cast<uint32_t>(piece.size());
        out->AppendRef(piece.data(), piece.size(), off >= total ? it : nullptr);
      }
    }
    if (verbose) {
      LOG(INFO) << '>' << conn_id << " sending key " << key;
    }
    const char* key_end = key.data() + key.size();
    if (out->size() > max_output && key_end != keys_end) {
      // Output limit: serve the rest of the key list (parsed again from the input) once the
      // output has drained; the reply is not terminated until then.
      multi = cmd;
      multi.keys = {};
      multi.more_keys = true;
      keys_resume_at = key_end;
      phase = Phase::kKeys;
      return;
    }
  }
  if (cmd.more_keys) {
    multi = cmd;
    phase = Phase::kKeys;
    return;
  }
  phase = Phase::kLine;
  pipelined = false;  // memcached writes a retrieval's replies out before the next command
  Reply(out, wire::kEnd);
}

void Session::State::AppendValue(storage::Item* it, OutBuf* out) {
  const uint32_t total = storage::ItemValueSize(it) + 2;
  std::string_view first = storage::ItemDataAt(it, 0);
  if (total <= kInlineValueMax && first.size() >= total) {
    out->Append(first.substr(0, total));
    cache->Release(it);
    return;
  }
  const bool copy = storage::ItemHeavilyReferenced(it);
  uint32_t off = 0;
  while (off < total) {
    std::string_view piece = storage::ItemDataAt(it, off);
    off += static_cast<uint32_t>(piece.size());
    if (copy) {
      out->Append(piece);
    } else {
      // The item is released after its last piece is sent.
      out->AppendRef(piece.data(), piece.size(), off >= total ? it : nullptr);
    }
  }
  if (copy) cache->Release(it);
}

bool Session::State::KeyReply(const Command& cmd, OutBuf* out) {
  if (cmd_keys++ == 0) return true;
  if (budget->TakeReply()) {
    ++replies_held;
    ++cmd_replies;
    return true;
  }
  if (!cmd_mark_valid) {
    // Part of this reply may have been sent already: it cannot be taken back.
    out->Clear();
    close = true;
    return false;
  }
  // As memcached: drop what this command produced and answer with an error instead (keeping
  // one reply object for it).
  out->Truncate(cmd_mark);
  while (marks != nullptr && !marks->empty() && marks->back() > out->size()) marks->pop_back();
  budget->ReleaseReplies(cmd_replies - 1);
  replies_held -= cmd_replies - 1;
  cmd_replies = 1;
  Reply(out, wire::kOutOfMemoryGet);
  if (cmd.more_keys) {
    multi = cmd;
    multi.keys = {};
    skip_keys = true;
    phase = Phase::kKeys;
  } else {
    phase = Phase::kLine;
  }
  return false;
}

void Session::State::StartStore(const Command& cmd, OutBuf* out) {
  storage::Item* it = nullptr;
  // As memcached, only a failed `set` removes the key's old value (add, replace, append, prepend
  // and cas leave it).
  const AllocOutcome ar =
      exec.Allocate(cmd.key, cmd.flags, cmd.exptime, cmd.bytes, &it, cmd.type == CommandType::kSet);
  if (ar != AllocOutcome::kOk) {
    if (!cmd.noreply)
      Reply(out, ar == AllocOutcome::kTooLarge ? wire::kTooLarge : wire::kOutOfMemory);
    swallow_left = static_cast<uint64_t>(cmd.bytes) + 2;
    phase = Phase::kSwallow;
    return;
  }
  item = it;
  store_type = cmd.type;
  cas_unique = cmd.cas_unique;
  store_noreply = cmd.noreply;
  data_total = cmd.bytes + 2;
  data_filled = 0;
  phase = Phase::kData;
}

void Session::State::FinishStore(OutBuf* out) {
  storage::Item* it = item;
  item = nullptr;
  phase = Phase::kLine;
  const uint32_t size = storage::ItemValueSize(it);
  const bool crlf = storage::ItemDataAt(it, size).front() == '\r' &&
                    storage::ItemDataAt(it, size + 1).front() == '\n';
  if (Verbosity() > 1) {
    std::string_view first = storage::ItemDataAt(it, 0);
    LogLine('<', conn_id, first.substr(0, std::min<size_t>(first.size(), size)));
  }
  if (meta_store) {
    meta_store = false;
    if (!crlf) {  // meta sends this one even with q
      cache->Release(it);
      Reply(out, wire::kBadDataChunk);
      return;
    }
    MetaFinishStore(it, out);
    return;
  }
  if (!crlf) {
    cache->Release(it);
    if (!store_noreply) Reply(out, wire::kBadDataChunk);
    return;
  }
  exec.CountSet(it);
  StoreRequest req;
  req.mode = ModeOf(store_type);
  req.compare_cas = cas_unique;
  storage::MetaStoreInfo info;
  std::string_view reply;
  switch (exec.Store(it, req, &info)) {
    case storage::StoreResult::kStored:
      reply = wire::kStored;
      break;
    case storage::StoreResult::kNotStored:
      reply = wire::kNotStored;
      break;
    case storage::StoreResult::kExists:
      reply = wire::kExists;
      break;
    case storage::StoreResult::kNotFound:
      reply = wire::kNotFound;
      break;
    case storage::StoreResult::kNoMemory:
      reply = wire::kOutOfMemory;
      break;
  }
  if (!store_noreply) Reply(out, reply);
}

void Session::State::Delta(const Command& cmd, OutBuf* out) {
  const bool incr = cmd.type == CommandType::kIncr;
  storage::MetaDeltaArgs args;
  args.incr = incr;
  args.delta = cmd.delta;
  storage::MetaDeltaInfo info;
  const storage::DeltaResult r = exec.Arithmetic(cmd.key, args, &info);
  const uint64_t value = info.value;
  switch (r) {
    case storage::DeltaResult::kOk: {
      if (cmd.noreply) return;
      char buf[24];
      size_t n = FormatUint64(value, buf);
      buf[n++] = '\r';
      buf[n++] = '\n';
      Reply(out, std::string_view(buf, n));
      return;
    }
    case storage::DeltaResult::kNotFound:
      if (!cmd.noreply) Reply(out, wire::kNotFound);
      return;
    case storage::DeltaResult::kNonNumeric:
      if (!cmd.noreply) Reply(out, wire::kNonNumeric);
      return;
    case storage::DeltaResult::kNoMemory:
      if (!cmd.noreply) Reply(out, wire::kOutOfMemory);
      return;
    case storage::DeltaResult::kExists:  // no cas compare in incr/decr
      return;
  }
}

void Session::State::FlushAll(const Command& cmd, OutBuf* out) {
  if (!ctx->options.flush_enabled) {
    Reply(out, wire::kFlushDisabled);
    return;
  }
  ts->cmd_flush.Add();
  RelTime when = 0;
  if (cmd.has_delay && cmd.exptime > 0) when = ctx->clock->ExptimeToRel(cmd.exptime);
  cache->FlushAll(when);
  if (!cmd.noreply) Reply(out, wire::kOk);
}

void Session::State::Stats(const Command& cmd, OutBuf* out) {
  std::string_view args = cmd.args;
  std::string_view sub = args.substr(0, args.find(' '));
  std::string_view rest =
      sub.size() < args.size() ? args.substr(sub.size() + 1) : std::string_view();
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (sub.empty()) {
    FormatGeneralStats(*ctx, out);
  } else if (sub == "settings") {
    FormatSettingsStats(*ctx, out);
  } else if (sub == "items") {
    FormatItemsStats(*ctx, out);
  } else if (sub == "slabs") {
    FormatSlabsStats(*ctx, out);
  } else if (sub == "sizes") {
    FormatSizesStats(*ctx, out);
  } else if (sub == "reset") {
    ctx->stats->Reset();
    cache->ResetStats();
    Reply(out, wire::kReset);
  } else if (sub == "detail") {
    // Only the first argument counts ("stats detail on extra" turns detail on, as in memcached).
    std::string_view what = rest.substr(0, rest.find(' '));
    if (what == "on" || what == "off") {
      detail->SetEnabled(what == "on");
      Reply(out, wire::kOk);
    } else if (what == "dump") {
      FormatDetailDump(*ctx, out);
    } else {
      Reply(out, wire::kStatsDetailUsage);
    }
  } else if (sub == "cachedump") {
    FormatCacheDump(*ctx, rest, out);
  } else if (sub == "conns") {
    FormatConnsStats(*ctx, conn_id, out);
  } else if (sub == "mcd") {
    FormatMcdStats(*ctx, out);
  } else {
    Reply(out, wire::kError);
  }
}

}  // namespace mcd::handler

namespace mcd::handler {

void Session::State::LruCrawler(const Command& cmd, OutBuf* out) {
  const size_t before = out->size();
  const CrawlerDump dump = LruCrawlerCommand(cmd.args, *ctx, pipelined, out);
  if (Verbosity() > 1 && out->size() > before) {
    LogLine('>', conn_id, out->ToString().substr(before));
  }
  if (dump.kind == CrawlerDump::Kind::kNone) return;
  walk = cache->WalkItems(dump.class_mask);
  dump_kind = dump.kind;
  phase = Phase::kDump;
}

bool Session::State::ContinueDump(OutBuf* out) {
  const size_t start = out->size();
  const Clock& clock = *ctx->clock;
  const bool meta = dump_kind == CrawlerDump::Kind::kMetadump;
  bool more = true;
  for (uint64_t chunks = 0; more && chunks < kDumpChunksPerCall &&
                            out->size() - start < kDumpBytesPerCall && out->size() <= max_output;
       chunks += kDumpStepChunks) {
    more = walk->Step(kDumpStepChunks, [&](const storage::ItemMeta& item) {
      if (meta) {
        AppendMetadumpLine(item, clock, out);
      } else {
        AppendMgdumpLine(item, out);
      }
    });
  }
  if (more) return false;
  walk.reset();
  phase = Phase::kLine;
  pipelined = false;
  Reply(out, DumpEnd(dump_kind));
  return true;
}

}  // namespace mcd::handler
