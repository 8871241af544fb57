#include "mcd/handler/stats_format.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <initializer_list>
#include <string>

#include "mcd/protocol/wire.h"
#include "mcd/util/numbers.h"

namespace mcd::handler {
namespace {

namespace wire = protocol::wire;

// Appends "STAT <prefix><name> <value>\r\n".
class StatWriter {
 public:
  explicit StatWriter(OutBuf* out) : out_(out) {}

  void Str(std::string_view name, std::string_view value) {
    line_.clear();
    line_.append(wire::kStat).append(prefix_).append(name).push_back(' ');
    line_.append(value).append(wire::kCrlf);
    out_->Append(line_);
  }
  void Num(std::string_view name, uint64_t v) {
    char buf[24];
    Str(name, std::string_view(buf, FormatUint64(v, buf)));
  }
  void Signed(std::string_view name, int64_t v) { Str(name, std::to_string(v)); }
  void Prefix(std::string p) { prefix_ = std::move(p); }
  void End() { out_->Append(wire::kEnd); }

 private:
  OutBuf* out_;
  std::string prefix_;
  std::string line_;
};

std::string Rusage(const timeval& tv) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%ld.%06ld", static_cast<long>(tv.tv_sec),
                static_cast<long>(tv.tv_usec));
  return buf;
}

}  // namespace

void FormatGeneralStats(const SharedContext& ctx, OutBuf* out) {
  StatWriter w(out);
  const stats::ThreadTotals t = ctx.stats->Totals();
  const stats::ServerStats& srv = ctx.stats->Server();
  const storage::GlobalStats g = ctx.cache->Stats();
  const RelTime now = ctx.clock->Now();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto load = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  const HandlerOptions& o = ctx.options;
  // The lines memcached prints only while a part of its machinery is on follow the same options
  // (see HandlerOptions); mcd has none of those parts, so their counters are 0.
  auto zeros = [&w](std::initializer_list<const char*> names) {
    for (const char* name : names) w.Num(name, 0);
  };

  w.Num("pid", static_cast<uint64_t>(getpid()));
  w.Num("uptime", now >= ctx.started ? now - ctx.started : 0);
  w.Signed("time", ctx.clock->Epoch() + now);
  w.Str("version", ctx.options.version);
  w.Str("libevent", ctx.options.libevent_version);
  w.Num("pointer_size", sizeof(void*) * 8);
  w.Str("rusage_user", Rusage(ru.ru_utime));
  w.Str("rusage_system", Rusage(ru.ru_stime));
  w.Num("max_connections", ctx.options.max_connections);
  w.Num("curr_connections", load(srv.curr_connections));
  w.Num("total_connections", load(srv.total_connections));
  if (o.maxconns_fast) w.Num("rejected_connections", load(srv.rejected_connections));
  w.Num("connection_structures", load(srv.connection_structures));
  w.Num("response_obj_oom", t.response_obj_oom);
  w.Num("response_obj_count", t.response_obj_count);
  w.Num("response_obj_bytes", t.response_obj_bytes);
  w.Num("read_buf_count", t.read_buf_count);
  w.Num("read_buf_bytes", t.read_buf_bytes);
  w.Num("read_buf_bytes_free", t.read_buf_bytes_free);
  w.Num("read_buf_oom", t.read_buf_oom);
  w.Num("reserved_fds", load(srv.reserved_fds));
  w.Num("cmd_get", t.cmd_get);
  w.Num("cmd_set", t.cmd_set);
  w.Num("cmd_flush", t.cmd_flush);
  w.Num("cmd_touch", t.cmd_touch);
  w.Num("cmd_meta", t.cmd_meta);
  w.Num("get_hits", t.get_hits);
  w.Num("get_misses", t.get_misses);
  w.Num("get_expired", t.get_expired);
  w.Num("get_flushed", t.get_flushed);
  w.Num("delete_misses", t.delete_misses);
  w.Num("delete_hits", t.delete_hits);
  w.Num("incr_misses", t.incr_misses);
  w.Num("incr_hits", t.incr_hits);
  w.Num("decr_misses", t.decr_misses);
  w.Num("decr_hits", t.decr_hits);
  w.Num("cas_misses", t.cas_misses);
  w.Num("cas_hits", t.cas_hits);
  w.Num("cas_badval", t.cas_badval);
  w.Num("touch_hits", t.touch_hits);
  w.Num("touch_misses", t.touch_misses);
  w.Num("store_too_large", t.store_too_large);
  w.Num("store_no_memory", t.store_no_memory);
  w.Num("auth_cmds", t.auth_cmds);
  w.Num("auth_errors", t.auth_errors);
  if (ctx.options.idle_timeout > 0) w.Num("idle_kicks", t.idle_kicks);
  w.Num("bytes_read", t.bytes_read);
  w.Num("bytes_written", t.bytes_written);
  w.Num("limit_maxbytes", g.limit_maxbytes);  // -m, or the last cache_memlimit
  w.Num("accepting_conns", srv.accepting_conns.load(std::memory_order_relaxed) ? 1 : 0);
  w.Num("listen_disabled_num", load(srv.listen_disabled_num));
  w.Num("time_in_listen_disabled_us", load(srv.time_in_listen_disabled_us));
  w.Num("threads", static_cast<uint64_t>(ctx.options.threads));
  w.Num("conn_yields", t.conn_yields);
  w.Num("hash_power_level", static_cast<uint64_t>(g.hash_power_level));
  w.Num("hash_bytes", g.hash_bytes);
  w.Num("hash_is_expanding", g.hash_is_expanding ? 1 : 0);
  // memcached's LRU maintainer and loggers have no counterpart in mcd (see
  // docs/compatibility.md C4); their counters are reported as 0 so tools find every name.
  if (o.slab_reassign) {
    const storage::MoverStats m = ctx.cache->MoverCounters();
    w.Num("slab_reassign_rescues", m.rescues);
    w.Num("slab_reassign_chunk_rescues", m.chunk_rescues);
    w.Num("slab_reassign_evictions_nomem", m.evictions_nomem);
    w.Num("slab_reassign_inline_reclaim", m.inline_reclaim);
    w.Num("slab_reassign_busy_items", m.busy_items);
    w.Num("slab_reassign_busy_deletes", 0);
    w.Num("slab_reassign_running", m.running ? 1 : 0);
    w.Num("slabs_moved", m.slabs_moved);
  }
  // As memcached: shown while the crawler is enabled (`lru_crawler enable|disable`).
  const storage::CrawlerStats crawler = ctx.cache->CrawlerCounters();
  if (crawler.enabled) {
    w.Num("lru_crawler_running", crawler.running ? 1 : 0);
    w.Num("lru_crawler_starts", crawler.starts);
  }
  if (o.lru_maintainer) w.Num("lru_maintainer_juggles", g.lru_maintainer_juggles);
  zeros({"malloc_fails", "log_worker_dropped", "log_worker_written", "log_watcher_skipped",
         "log_watcher_sent", "log_watchers", "unexpected_napi_ids", "round_robin_fallback"});
  w.Num("bytes", g.bytes);
  w.Num("curr_items", g.curr_items);
  w.Num("total_items", g.total_items);
  w.Num("slab_global_page_pool", ctx.cache->PoolPages());
  w.Num("expired_unfetched", g.expired_unfetched);
  w.Num("evicted_unfetched", g.evicted_unfetched);
  if (o.lru_maintainer) w.Num("evicted_active", g.evicted_active);
  w.Num("evictions", g.evictions);
  w.Num("reclaimed", g.reclaimed);
  w.Num("crawler_reclaimed", g.crawler_reclaimed);
  w.Num("crawler_items_checked", g.crawler_items_checked);
  zeros({"lrutail_reflocked"});
  if (o.lru_maintainer) {
    w.Num("moves_to_cold", g.moves_to_cold);
    w.Num("moves_to_warm", g.moves_to_warm);
    w.Num("moves_within_lru", g.moves_within_lru);
    zeros({"direct_reclaims", "lru_bumps_dropped"});
  }
  w.End();
}

void FormatSettingsStats(const SharedContext& ctx, OutBuf* out) {
  StatWriter w(out);
  for (const auto& [name, value] : ctx.options.settings) {
    if (name == "maxbytes") {  // -m, or the last cache_memlimit
      w.Num(name, ctx.cache->MemoryLimit());
    } else if (name == "verbosity") {
      w.Num(name, static_cast<uint64_t>(ctx.verbosity.load(std::memory_order_relaxed)));
    } else if (name == "slab_automove") {  // `slabs automove N`
      w.Num(name, static_cast<uint64_t>(ctx.cache->Automove()));
    } else if (name == "slab_automove_ratio") {  // `slabs automove ratio F`
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.2f", ctx.cache->AutomoveRatio());
      w.Str(name, buf);
    } else if (name == "lru_crawler") {  // `lru_crawler enable|disable`
      w.Str(name, ctx.cache->CrawlerCounters().enabled ? "yes" : "no");
    } else if (name == "lru_crawler_sleep") {  // `lru_crawler sleep N`
      w.Num(name, ctx.cache->CrawlerCounters().sleep_us);
    } else if (name == "lru_crawler_tocrawl") {  // `lru_crawler tocrawl N`
      w.Num(name, ctx.cache->CrawlerCounters().tocrawl);
    } else if (name == "detail_enabled") {
      w.Str(name, ctx.stats->Prefixes().enabled() ? "yes" : "no");  // `stats detail on|off`
    } else {
      w.Str(name, value);
    }
  }
  w.End();
}

void FormatItemsStats(const SharedContext& ctx, OutBuf* out) {
  StatWriter w(out);
  const bool lru = ctx.options.lru_maintainer;
  ctx.cache->VisitClasses([&](const storage::ClassStats& c) {
    if (c.number == 0 && c.evicted == 0 && c.outofmemory == 0) return;
    w.Prefix("items:" + std::to_string(c.id) + ":");
    w.Num("number", c.number);
    // The segments of the per-class CLOCK (docs/compatibility.md C4). As in memcached, the
    // segment lines are printed only with the LRU maintainer option on.
    if (lru) {
      w.Num("number_hot", c.number_hot);
      w.Num("number_warm", c.number_warm);
      w.Num("number_cold", c.number_cold);
      if (ctx.options.temp_lru) w.Num("number_temp", c.number_temp);
      w.Num("age_hot", 0);
      w.Num("age_warm", 0);
    }
    w.Num("age", c.age);
    w.Num("mem_requested", c.mem_requested);
    w.Num("evicted", c.evicted);
    w.Num("evicted_nonzero", c.evicted_nonzero);
    w.Num("evicted_time", c.evicted_time);
    w.Num("outofmemory", c.outofmemory);
    w.Num("tailrepairs", 0);
    w.Num("reclaimed", c.reclaimed);
    w.Num("expired_unfetched", c.expired_unfetched);
    w.Num("evicted_unfetched", c.evicted_unfetched);
    if (lru) w.Num("evicted_active", c.evicted_active);
    w.Num("crawler_reclaimed", c.crawler_reclaimed);
    w.Num("crawler_items_checked", c.crawler_items_checked);
    w.Num("lrutail_reflocked", 0);
    if (!lru) return;
    w.Num("moves_to_cold", c.moves_to_cold);
    w.Num("moves_to_warm", c.moves_to_warm);
    w.Num("moves_within_lru", c.moves_within_lru);
    w.Num("direct_reclaims", 0);
    const stats::ClassTotals ct = ctx.stats->ClassTotal(c.id);
    w.Num("hits_to_hot", 0);
    w.Num("hits_to_warm", 0);
    w.Num("hits_to_cold", ct.get_hits);
    w.Num("hits_to_temp", 0);
  });
  w.End();
}

void FormatSlabsStats(const SharedContext& ctx, OutBuf* out) {
  StatWriter w(out);
  int active = 0;
  ctx.cache->VisitClasses([&](const storage::ClassStats& c) {
    if (c.total_pages == 0) return;
    ++active;
    w.Prefix(std::to_string(c.id) + ":");
    w.Num("chunk_size", c.chunk_size);
    w.Num("chunks_per_page", c.chunks_per_page);
    w.Num("total_pages", c.total_pages);
    w.Num("total_chunks", c.total_chunks);
    w.Num("used_chunks", c.used_chunks);
    w.Num("free_chunks", c.free_chunks);
    w.Num("free_chunks_end", c.free_chunks_end);
    const stats::ClassTotals ct = ctx.stats->ClassTotal(c.id);
#define MCD_SLAB_STAT(name) w.Num(#name, ct.name);
    MCD_CLASS_COUNTERS(MCD_SLAB_STAT)
#undef MCD_SLAB_STAT
  });
  w.Prefix("");
  w.Num("active_slabs", static_cast<uint64_t>(active));
  w.Num("total_malloced", ctx.cache->Stats().total_malloced);
  w.End();
}

void FormatSizesStats(const SharedContext& ctx, OutBuf* out) {
  StatWriter w(out);
  if (!ctx.options.track_sizes) {
    w.Str("sizes_status", "disabled");
    w.End();
    return;
  }
  w.Str("sizes_status", "enabled");
  ctx.cache->VisitSizes([&](uint32_t size, uint64_t count) { w.Num(std::to_string(size), count); });
  w.End();
}

void FormatCacheDump(const SharedContext& ctx, std::string_view args, OutBuf* out) {
  if (!ctx.options.dump_enabled) {
    out->Append(wire::kDumpDisabled);
    return;
  }
  size_t sp = args.find(' ');
  if (args.empty() || sp == std::string_view::npos) {
    out->Append(wire::kBadCommandLine);
    return;
  }
  std::string_view limit_tok = args.substr(sp + 1);
  limit_tok = limit_tok.substr(0, limit_tok.find(' '));
  uint64_t id = 0;
  uint64_t limit = 0;
  if (!ParseUint64(args.substr(0, sp), &id) || !ParseUint64(limit_tok, &limit)) {
    out->Append(wire::kBadFormat);
    return;
  }
  if (id >= static_cast<uint64_t>(stats::kMaxClasses)) {
    out->Append(wire::kIllegalSlabId);
    return;
  }
  // As memcached, the dump stops at 2 MB of output.
  constexpr size_t kMaxDump = 2 << 20;
  size_t written = 0;
  std::string line;
  ctx.cache->Dump(static_cast<int>(id), static_cast<uint32_t>(limit),
                  [&](std::string_view key, uint32_t bytes, int64_t exptime) {
                    if (written >= kMaxDump) return;
                    line.assign("ITEM ").append(key).append(" [");
                    line.append(std::to_string(bytes)).append(" b; ");
                    line.append(std::to_string(exptime)).append(" s]\r\n");
                    written += line.size();
                    out->Append(line);
                  });
  out->Append(wire::kEnd);
}

void FormatConnsStats(const SharedContext& ctx, int caller_conn_id, OutBuf* out) {
  StatWriter w(out);
  if (ctx.list_conns) {
    for (const server::ConnDescription& c : ctx.list_conns(caller_conn_id)) {
      w.Prefix(std::to_string(c.fd) + ":");
      if (c.udp) w.Str("UDP", "UDP");
      w.Str("addr", c.addr);
      if (!c.listen_addr.empty()) w.Str("listen_addr", c.listen_addr);
      w.Str("state", c.state);
      w.Num("secs_since_last_cmd", c.secs_since_last_cmd);
    }
  }
  w.End();
}

void FormatDetailDump(const SharedContext& ctx, OutBuf* out) {
  std::string line;
  char num[24];
  for (const auto& [prefix, c] : ctx.stats->Prefixes().Snapshot()) {
    line.assign(wire::kDetailPrefix).append(prefix);
    line.append(" get ").append(num, FormatUint64(c.gets, num));
    line.append(" hit ").append(num, FormatUint64(c.hits, num));
    line.append(" set ").append(num, FormatUint64(c.sets, num));
    line.append(" del ").append(num, FormatUint64(c.deletes, num));
    line.append(wire::kCrlf);
    out->Append(line);
  }
  out->Append(wire::kEnd);
}

void FormatMcdStats(const SharedContext& ctx, OutBuf* out) {
  StatWriter w(out);
  std::string_view version = ctx.options.version;
  const size_t mcd = version.find("-mcd-");
  if (mcd != std::string_view::npos) version.remove_prefix(mcd + 5);
  w.Str("version", version);
  // Counted whatever maxconns_fast says: mcd always turns away a connection over -c at once,
  // while memcached's `stats` shows the line only with maxconns_fast on.
  w.Num("rejected_connections",
        ctx.stats->Server().rejected_connections.load(std::memory_order_relaxed));
  w.Num("detail_prefixes", ctx.stats->Prefixes().size());
  w.End();
}

}  // namespace mcd::handler
