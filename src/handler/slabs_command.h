// `slabs reassign <src> <dst>` and `slabs automove <0|1|2> | slabs automove ratio <F>`, with
// memcached's replies. Private to src/handler.
#pragma once

#include <string_view>

#include "mcd/handler/session.h"
#include "mcd/util/out_buf.h"

namespace mcd::handler {

// args: everything after "slabs" (protocol::Command::args).
void SlabsCommand(std::string_view args, const SharedContext& ctx, OutBuf* out);

}  // namespace mcd::handler
