// The state of one session (private to src/handler): shared by session.cc (framing and the
// classic commands) and meta_commands.cc (the meta commands).
#pragma once

#include <glog/logging.h>

#include <memory>
#include <string>
#include <vector>

#include "executor.h"
#include "lru_crawler_command.h"
#include "mcd/handler/session.h"
#include "mcd/protocol/meta.h"
#include "mcd/protocol/text_parser.h"
#include "mcd/storage/item.h"

namespace mcd::handler {

using protocol::Command;
using protocol::CommandType;

// Logs one protocol line or reply at -vv, by explicit length (data may hold any byte).
inline void LogLine(char dir, int conn_id, std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  LOG(INFO) << dir << conn_id << ' ' << s;
}

// A pipelined mg line's key token (as proxies batch them), hashed and its bucket prefetched some
// lines ahead (session.cc, MgLookahead). MetaGet uses the hash only when the parsed key is that
// very token (the same bytes of the input).
struct MgHint {
  const char* key = nullptr;
  size_t len = 0;
  storage::Cache::KeyHint hint;
};

struct Session::State {
  enum class Phase : uint8_t { kLine, kData, kSwallow, kKeys, kDump };

  State(SharedContext* c, stats::ThreadStats* t, int id, server::BufferBudget* b)
      : ctx(c),
        cache(c->cache),
        ts(t),
        detail(&c->stats->Prefixes()),
        exec(c, t),
        conn_id(id),
        budget(b) {}

  SharedContext* ctx;
  storage::Cache* cache;
  stats::ThreadStats* ts;
  // `stats detail`: each Record* call is one relaxed load while detail is off.
  stats::PrefixStats* detail;
  // Every command meets the cache through it (executor.h).
  Executor exec;
  int conn_id;
  Phase phase = Phase::kLine;

  // kData: the item being filled and what to do with it.
  storage::Item* item = nullptr;
  CommandType store_type = CommandType::kSet;
  uint64_t cas_unique = 0;
  bool store_noreply = false;
  uint32_t data_total = 0;  // value + "\r\n"
  uint32_t data_filled = 0;
  // kSwallow: bytes still to discard.
  uint64_t swallow_left = 0;
  // kKeys: the retrieval command whose line is still arriving.
  Command multi;
  // kDump: the walk over the items being dumped, and the dump's format.
  std::unique_ptr<storage::ItemWalk> walk;
  CrawlerDump::Kind dump_kind = CrawlerDump::Kind::kNone;
  // A command other than a retrieval was served since the output was last flushed in
  // memcached's terms (the start of this read, the end of a retrieval or a dump): memcached
  // refuses to start a dump behind its queued replies.
  bool pipelined = false;

  bool close = false;
  bool yielded = false;
  // Set by Retrieve when it stopped at the output limit before the end of its key list: where
  // the unserved keys start (in the input of the current Consume call).
  const char* keys_resume_at = nullptr;
  size_t max_output = SIZE_MAX;  // of the current Consume call

  // MarkMessages(): where reply messages end (null: not recorded).
  std::vector<size_t>* marks = nullptr;
  void MarkEnd(const OutBuf& out) {
    const size_t at = out.size();
    if (at != 0 && (marks->empty() || marks->back() < at)) marks->push_back(at);
  }

  // -o read_buf_mem_limit (null without it): reply objects taken and not given back yet.
  server::BufferBudget* budget;
  uint64_t replies_held = 0;
  // The retrieval command being served: where its reply starts (usable only in the Consume
  // call that started it: the connection sends between calls), the reply objects it took, how
  // many keys it has served, and whether the rest of its streamed line is to be skipped
  // because it ran out of reply objects.
  OutBuf::Mark cmd_mark;
  bool cmd_mark_valid = false;
  uint64_t cmd_replies = 0;
  uint64_t cmd_keys = 0;
  bool skip_keys = false;

  // A reply object for a new command. Without one, the connection is closed at once (unsent
  // replies dropped), as memcached does.
  bool StartReply(OutBuf* out) {
    if (budget->TakeReply()) {
      ++replies_held;
      return true;
    }
    out->Clear();
    close = true;
    return false;
  }
  // A reply object for the next key of a retrieval (its first key uses the command's).
  bool KeyReply(const Command& cmd, OutBuf* out);
  // The rest of a streamed line already answered for running out of reply objects is consumed
  // without a reply (even an error in it). True while skipping.
  bool SkipKeys(const Command& cmd) {
    if (!skip_keys) return false;
    multi = cmd;
    if (!cmd.more_keys) {
      phase = Phase::kLine;
      skip_keys = false;
    }
    return true;
  }

  int Verbosity() const { return ctx->verbosity.load(std::memory_order_relaxed); }

  void Reply(OutBuf* out, std::string_view s) {
    out->Append(s);
    if (Verbosity() > 1) LogLine('>', conn_id, s);
  }

  void Dispatch(const Command& cmd, OutBuf* out);
  // Appends an item's value and its "\r\n" to out (copied when small, else by reference), and
  // gives up the caller's reference to it.
  void AppendValue(storage::Item* it, OutBuf* out);

  // --- meta commands (meta_commands.cc) ---
  // Serves the meta line at the start of `in` (DetectMeta said kMeta): *used gets the bytes it
  // took. False: no complete line yet (nothing used), or the connection is to close (close set).
  bool MetaLine(std::string_view in, OutBuf* out, size_t* used);
  // The key token of the mg line about to be served, hashed and its bucket prefetched some lines
  // ahead by Consume(); null if there is none.
  const MgHint* mg_hint = nullptr;
  void MetaGet(const protocol::MetaCommand& cmd, OutBuf* out);
  void MetaStartStore(const protocol::MetaCommand& cmd, OutBuf* out);
  void MetaFinishStore(storage::Item* it, OutBuf* out);
  void MetaDelete(const protocol::MetaCommand& cmd, OutBuf* out);
  void MetaArithmetic(const protocol::MetaCommand& cmd, OutBuf* out);
  void MetaDebug(const protocol::MetaCommand& cmd, OutBuf* out);
  // kData for an ms: the command, its views re-pointed into meta_buf (the input goes away).
  bool meta_store = false;
  protocol::MetaCommand meta_cmd;
  std::string meta_buf;
  void Retrieve(const Command& cmd, OutBuf* out);
  void StartStore(const Command& cmd, OutBuf* out);
  void FinishStore(OutBuf* out);
  void Delta(const Command& cmd, OutBuf* out);
  void Stats(const Command& cmd, OutBuf* out);
  void FlushAll(const Command& cmd, OutBuf* out);
  void LruCrawler(const Command& cmd, OutBuf* out);
  // Produces the next bounded piece of the dump; true when it has ended (END sent).
  bool ContinueDump(OutBuf* out);
};

}  // namespace mcd::handler
