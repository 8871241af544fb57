// The meta commands (mg ms md ma mn me): a parsed MetaCommand becomes one cache operation
// (storage's Meta* calls, which report and change an item under one lock), its stats are counted
// as memcached counts them, and the outcome is encoded by the meta codec (meta_reply.h).
// docs/meta-notes.md lists the rules followed here.
#include <cstring>

#include "mcd/protocol/meta.h"
#include "mcd/protocol/meta_reply.h"
#include "mcd/protocol/wire.h"
#include "mcd/storage/item.h"
#include "mcd/util/numbers.h"
#include "session_state.h"

namespace mcd::handler {

using protocol::MetaCode;
using protocol::MetaCommand;
using protocol::MetaCommandType;
using protocol::MetaReplyValues;
namespace wire = protocol::wire;

namespace {

// `t`: seconds left as memcached writes them (modulo 2^32), or "-1".
int64_t TtlOf(RelTime exptime, RelTime now) {
  if (exptime == 0) return protocol::kMetaNoExpiry;
  return static_cast<int64_t>(static_cast<uint32_t>(exptime - now));
}

// The exptime `t` shows: memcached applies T (and N on a created item) while it writes the
// return flags in request order, so `t` before them shows the old TTL.
RelTime ExptimeSeenByT(const MetaCommand& cmd, bool created, RelTime before, RelTime after) {
  if (!cmd.Has('t') || (!cmd.Has('T') && !(created && cmd.Has('N')))) return before;
  const int t = cmd.IndexOf('t');
  const int ttl = cmd.IndexOf('T');
  const int viv = created ? cmd.IndexOf('N') : -1;
  if ((ttl >= 0 && ttl < t) || (viv >= 0 && viv < t)) return after;
  return before;
}

}  // namespace

bool Session::State::MetaLine(std::string_view in, OutBuf* out, size_t* used) {
  MetaCommand cmd;
  const protocol::MetaParseResult r = protocol::ParseMetaCommand(in, used, &cmd);
  switch (r.status) {
    case protocol::ParseStatus::kNeedMore:
      *used = 0;
      return false;
    case protocol::ParseStatus::kClose:
      if (Verbosity() > 1) LogLine('<', conn_id, in.substr(0, std::min<size_t>(200, in.size())));
      close = true;
      *used = 0;
      return false;
    case protocol::ParseStatus::kError:
      if (Verbosity() > 1) LogLine('<', conn_id, in.substr(0, *used));
      if (budget != nullptr && !StartReply(out)) {
        *used = 0;
        return false;
      }
      Reply(out, wire::MetaErrorReply(r.error));  // errors are sent even with q
      if (r.swallow > 0) {
        swallow_left = r.swallow;
        phase = Phase::kSwallow;
      }
      return true;
    case protocol::ParseStatus::kOk:
      break;
  }
  if (Verbosity() > 1) LogLine('<', conn_id, in.substr(0, *used));
  if (budget != nullptr && !StartReply(out)) {
    *used = 0;
    return false;
  }
  switch (cmd.type) {
    case MetaCommandType::kGet:
      MetaGet(cmd, out);
      break;
    case MetaCommandType::kSet:
      MetaStartStore(cmd, out);
      break;
    case MetaCommandType::kDelete:
      MetaDelete(cmd, out);
      break;
    case MetaCommandType::kArithmetic:
      MetaArithmetic(cmd, out);
      break;
    case MetaCommandType::kNoop:
      Reply(out, wire::kMetaMn);
      break;
    case MetaCommandType::kDebug:
      MetaDebug(cmd, out);
      break;
  }
  return true;
}

void Session::State::MetaGet(const MetaCommand& cmd, OutBuf* out) {
  // Only `t` and `l` need the clock.
  const RelTime now =
      (cmd.flag_mask & (MetaCommand::Bit('t') | MetaCommand::Bit('l'))) != 0 ? exec.Now() : 0;
  GetRequest req;
  req.key = cmd.Key();
  if (mg_hint != nullptr && mg_hint->key == req.key.data() && mg_hint->len == req.key.size()) {
    req.hint = &mg_hint->hint;
  }
  req.meta = true;
  req.touch_count = TouchCount::kTouchOnHit;
  req.bump = !cmd.Has('u');
  req.touch = cmd.Has('T');
  req.exptime = cmd.ttl;
  req.vivify = cmd.Has('N');
  req.vivify_ttl = cmd.vivify_ttl;
  req.vivify_cas = cmd.Has('E') ? cmd.new_cas : 0;
  req.key_binary = cmd.key_binary;
  req.recache = cmd.Has('R');
  req.recache_ttl = cmd.recache_ttl;
  req.touch_after_vivify = req.touch && req.vivify && cmd.IndexOf('T') > cmd.IndexOf('N');
  storage::MetaGetInfo info;
  storage::Item* it = exec.Get(req, &info);
  if (it == nullptr) {
    MetaReplyValues v;
    v.code = MetaCode::kEn;
    if (!protocol::MetaReplySuppressed(cmd, v.code)) protocol::AppendMetaReply(cmd, v, out);
    return;
  }
  MetaReplyValues v;
  const bool same_cas = cmd.Has('C') && cmd.compare_cas == info.cas;
  const bool with_value = cmd.Has('v') && !same_cas;
  v.code = with_value ? MetaCode::kVa : MetaCode::kHd;
  v.value_length = storage::ItemValueSize(it);
  v.item_key_binary = info.key_binary;
  v.client_flags = storage::ItemFlags(it);
  v.cas = info.cas;
  v.ttl = TtlOf(ExptimeSeenByT(cmd, info.created, info.exptime_before, info.exptime_after), now);
  v.size = storage::ItemValueSize(it);
  v.last_access = now >= info.last_access ? now - info.last_access : 0;
  v.hit_before = info.fetched_before;
  v.win_sent = info.token_sent;
  v.stale = info.stale;
  v.won = info.won;
  if (protocol::MetaReplySuppressed(cmd, v.code)) {
    cache->Release(it);
    return;
  }
  protocol::AppendMetaReply(cmd, v, out);
  if (with_value) {
    AppendValue(it, out);
  } else {
    cache->Release(it);
  }
}

void Session::State::MetaStartStore(const MetaCommand& cmd, OutBuf* out) {
  const std::string_view key = cmd.Key();
  int64_t exptime = cmd.Has('T') ? cmd.ttl : 0;
  const bool append = cmd.mode == 'A' || cmd.mode == 'P';
  if (append && cmd.Has('N')) exptime = cmd.vivify_ttl;
  storage::Item* it = nullptr;
  const AllocOutcome ar =
      exec.Allocate(key, cmd.Has('F') ? cmd.client_flags : 0, exptime, cmd.datalen, &it);
  if (ar != AllocOutcome::kOk) {
    Reply(out, ar == AllocOutcome::kTooLarge ? wire::kTooLarge : wire::kOutOfMemory);
    swallow_left = static_cast<uint64_t>(cmd.datalen) + 2;
    phase = Phase::kSwallow;
    return;
  }
  exec.CountSet(it);  // memcached counts an ms once its item is allocated
  // The command outlives this input buffer: keep its key and opaque views in meta_buf.
  meta_cmd = cmd;
  meta_buf.assign(cmd.wire_key);
  meta_buf.append(cmd.opaque);
  meta_cmd.wire_key = std::string_view(meta_buf).substr(0, cmd.wire_key.size());
  meta_cmd.opaque = std::string_view(meta_buf).substr(cmd.wire_key.size());
  meta_store = true;
  item = it;
  store_noreply = false;
  data_total = cmd.datalen + 2;
  data_filled = 0;
  phase = Phase::kData;
}

void Session::State::MetaFinishStore(storage::Item* it, OutBuf* out) {
  const MetaCommand& cmd = meta_cmd;
  storage::StoreMode mode = storage::StoreMode::kSet;
  switch (cmd.mode) {
    case 'E':
      mode = storage::StoreMode::kAdd;
      break;
    case 'A':
      mode = storage::StoreMode::kAppend;
      break;
    case 'P':
      mode = storage::StoreMode::kPrepend;
      break;
    case 'R':
      mode = storage::StoreMode::kReplace;
      break;
    default:
      break;
  }
  const bool has_cas = cmd.Has('C');
  // With a cas, set and replace compare it (a cas store); add ignores it.
  if (has_cas && (mode == storage::StoreMode::kSet || mode == storage::StoreMode::kReplace)) {
    mode = storage::StoreMode::kCas;
  }
  uint64_t compare = has_cas ? cmd.compare_cas : 0;
  if (mode == storage::StoreMode::kCas && compare == 0) compare = UINT64_MAX;  // C0 never matches
  StoreRequest req;
  req.mode = mode;
  req.compare_cas = compare;
  req.meta.new_cas = cmd.Has('E') ? cmd.new_cas : 0;
  req.meta.allow_stale = cmd.Has('I') && mode == storage::StoreMode::kCas;
  req.meta.vivify = cmd.Has('N');
  req.meta.key_binary = cmd.key_binary;
  const uint32_t request_size = storage::ItemValueSize(it);
  storage::MetaStoreInfo info;
  const storage::StoreResult r = exec.Store(it, req, &info);
  MetaReplyValues v;
  v.size = request_size;
  v.item_key_binary = cmd.key_binary;
  switch (r) {
    case storage::StoreResult::kStored:
      v.code = MetaCode::kHd;
      v.cas = info.cas;
      v.size = info.value_size;
      break;
    case storage::StoreResult::kNotStored:
      v.code = MetaCode::kNs;
      break;
    case storage::StoreResult::kExists:
      v.code = MetaCode::kEx;
      break;
    case storage::StoreResult::kNotFound:
      v.code = MetaCode::kNf;
      break;
    case storage::StoreResult::kNoMemory:
      Reply(out, wire::kOutOfMemory);
      return;
  }
  if (!protocol::MetaReplySuppressed(cmd, v.code)) protocol::AppendMetaReply(cmd, v, out);
}

void Session::State::MetaDelete(const MetaCommand& cmd, OutBuf* out) {
  storage::MetaDeleteArgs args;
  args.compare_cas = cmd.Has('C') ? cmd.compare_cas : 0;
  if (cmd.Has('C') && args.compare_cas == 0) args.compare_cas = UINT64_MAX;  // C0: never matches
  args.new_cas = cmd.Has('E') ? cmd.new_cas : 0;
  args.stale = cmd.Has('I');
  args.remove_value = cmd.Has('x');
  args.flags = cmd.Has('F') ? cmd.client_flags : 0;
  if (cmd.Has('T') && (args.stale || args.remove_value)) {
    args.set_exptime = true;
    args.exptime = exec.ToRel(cmd.ttl);
  }
  MetaReplyValues v;
  switch (exec.Delete(cmd.Key(), args)) {
    case storage::MetaDeleteResult::kDeleted:
    case storage::MetaDeleteResult::kStale:  // marked stale: also HD
      v.code = MetaCode::kHd;
      break;
    case storage::MetaDeleteResult::kNotFound:
      v.code = MetaCode::kNf;
      break;
    case storage::MetaDeleteResult::kExists:
      v.code = MetaCode::kEx;
      break;
    case storage::MetaDeleteResult::kNoMemory:
      Reply(out, wire::kMetaOutOfMemory);
      return;
  }
  if (!protocol::MetaReplySuppressed(cmd, v.code)) protocol::AppendMetaReply(cmd, v, out);
}

void Session::State::MetaArithmetic(const MetaCommand& cmd, OutBuf* out) {
  const RelTime now = exec.Now();
  storage::MetaDeltaArgs args;
  args.incr = !(cmd.mode == 'D' || cmd.mode == '-');
  args.delta = cmd.Has('D') ? cmd.delta : 1;
  args.compare_cas = cmd.Has('C') ? cmd.compare_cas : 0;
  args.new_cas = cmd.Has('E') ? cmd.new_cas : 0;
  if (cmd.Has('N')) {
    args.vivify = true;
    args.vivify_exptime = exec.ToRel(cmd.vivify_ttl);
    args.initial = cmd.Has('J') ? cmd.initial : 0;
  }
  if (cmd.Has('T')) {
    args.set_exptime = true;
    args.exptime = exec.ToRel(cmd.ttl);
    args.exptime_after_vivify = cmd.IndexOf('T') > cmd.IndexOf('N');
  }
  storage::MetaDeltaInfo info;
  MetaReplyValues v;
  switch (exec.Arithmetic(cmd.Key(), args, &info)) {
    case storage::DeltaResult::kOk:
      break;
    case storage::DeltaResult::kNotFound:
      v.code = MetaCode::kNf;
      if (!protocol::MetaReplySuppressed(cmd, v.code)) protocol::AppendMetaReply(cmd, v, out);
      return;
    case storage::DeltaResult::kExists:
      v.code = MetaCode::kEx;
      if (!protocol::MetaReplySuppressed(cmd, v.code)) protocol::AppendMetaReply(cmd, v, out);
      return;
    case storage::DeltaResult::kNonNumeric:
      Reply(out, wire::kNonNumeric);
      return;
    case storage::DeltaResult::kNoMemory:
      Reply(out, args.vivify ? wire::kMetaVivifyOutOfMemory : wire::kMetaOutOfMemory);
      return;
  }
  char number[24];
  const size_t n = FormatUint64(info.value, number);
  v.code = cmd.Has('v') ? MetaCode::kVa : MetaCode::kHd;
  v.number = std::string_view(number, n);
  v.cas = info.cas;
  v.ttl = TtlOf(ExptimeSeenByT(cmd, info.created, info.exptime_before, info.exptime_after), now);
  if (!protocol::MetaReplySuppressed(cmd, v.code)) protocol::AppendMetaReply(cmd, v, out);
}

void Session::State::MetaDebug(const MetaCommand& cmd, OutBuf* out) {
  const RelTime now = exec.Now();
  storage::MetaGetInfo info;
  storage::Item* it = exec.Peek(cmd.Key(), &info);
  if (it == nullptr) {
    Reply(out, wire::kMetaEnLine);
    return;
  }
  protocol::MetaDebugValues v;
  v.key = storage::ItemKey(it);
  v.key_binary = info.key_binary;
  v.exp = info.exptime_after == 0
              ? -1
              : static_cast<int64_t>(info.exptime_after) - static_cast<int64_t>(now);
  v.last_access = now >= info.last_access ? now - info.last_access : 0;
  v.cas = info.cas;
  v.fetched = info.fetched_before;
  v.class_id = static_cast<uint32_t>(cache->ClassOf(it));
  v.total_size = storage::ItemTotalSize(it);
  protocol::AppendMetaDebug(v, out);
  cache->Release(it);
}

}  // namespace mcd::handler
