// Formats the `stats` family of replies from the counters of stats::Registry and the figures the
// cache reports through its visitors, with memcached 1.6.18's names and order.
#pragma once

#include <string_view>

#include "mcd/handler/session.h"
#include "mcd/util/out_buf.h"

namespace mcd::handler {

void FormatGeneralStats(const SharedContext& ctx, OutBuf* out);
void FormatSettingsStats(const SharedContext& ctx, OutBuf* out);
void FormatItemsStats(const SharedContext& ctx, OutBuf* out);
void FormatSlabsStats(const SharedContext& ctx, OutBuf* out);
void FormatSizesStats(const SharedContext& ctx, OutBuf* out);
// `stats cachedump <class> <limit>`; args is "<class> <limit>".
void FormatCacheDump(const SharedContext& ctx, std::string_view args, OutBuf* out);
// `stats conns`, asked by the session with id caller_conn_id (see SharedContext::list_conns).
void FormatConnsStats(const SharedContext& ctx, int caller_conn_id, OutBuf* out);
// `stats detail dump`: "PREFIX <prefix> get <n> hit <n> set <n> del <n>" per prefix (sorted by
// prefix), then END.
void FormatDetailDump(const SharedContext& ctx, OutBuf* out);
// `stats mcd`: mcd's own figures, which memcached's `stats` has no line for
// (docs/compatibility.md).
void FormatMcdStats(const SharedContext& ctx, OutBuf* out);

}  // namespace mcd::handler
