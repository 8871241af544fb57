// `lru_crawler crawl|metadump|mgdump|enable|disable|sleep|tocrawl`, with memcached's replies.
// Private to src/handler. The dumps themselves are streamed by the session (session.cc), batch
// by batch as the connection's output drains; this file parses the command and formats the
// lines.
#pragma once

#include <cstdint>
#include <string_view>

#include "mcd/handler/session.h"
#include "mcd/storage/cache.h"
#include "mcd/util/clock.h"
#include "mcd/util/out_buf.h"

namespace mcd::handler {

// A dump the session is to stream after LruCrawlerCommand.
struct CrawlerDump {
  enum class Kind : uint8_t {
    kNone,      // the command is answered in full (or was an error)
    kMetadump,  // "key=... exp=... la=... cas=... fetch=... cls=... size=...\n" lines, END
    kMgdump,    // "OK", then "mg <key>\r\n" lines, "EN" (memcached 1.6.45)
  };
  Kind kind = Kind::kNone;
  uint64_t class_mask = 0;  // bit i: slab class i
};

// args: everything after "lru_crawler" (protocol::Command::args). `pipelined`: replies of other
// commands of the same read are still queued (memcached refuses to start a dump then). Appends
// the reply to out; for a dump that may start, appends its first line if it has one and returns
// its kind and classes.
CrawlerDump LruCrawlerCommand(std::string_view args, const SharedContext& ctx, bool pipelined,
                              OutBuf* out);

// One line of each dump for an item (keys URL-encoded as memcached does: every byte but
// letters, digits and "-._~" as %XX).
void AppendMetadumpLine(const storage::ItemMeta& item, const Clock& clock, OutBuf* out);
void AppendMgdumpLine(const storage::ItemMeta& item, OutBuf* out);
// The line that ends a dump.
std::string_view DumpEnd(CrawlerDump::Kind kind);

}  // namespace mcd::handler
