#include "slabs_command.h"

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include "mcd/protocol/wire.h"
#include "mcd/storage/cache.h"
#include "mcd/util/numbers.h"

namespace mcd::handler {
namespace {

namespace wire = protocol::wire;

// A whole token as a double (strtod with nothing left over), as memcached's safe_strtod.
bool ParseDouble(std::string_view token, double* out) {
  const std::string s(token);
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(s.c_str(), &end);
  if (errno != 0 || end == s.c_str() || *end != '\0' || std::isnan(d)) return false;
  *out = d;
  return true;
}

std::string_view ReassignReply(storage::ReassignResult r) {
  switch (r) {
    case storage::ReassignResult::kOk:
      return wire::kOk;
    case storage::ReassignResult::kBusy:
      return wire::kReassignBusy;
    case storage::ReassignResult::kBadClass:
      return wire::kReassignBadClass;
    case storage::ReassignResult::kNoSpare:
      return wire::kReassignNoSpare;
    case storage::ReassignResult::kSame:
      return wire::kReassignSame;
  }
  return wire::kError;
}

}  // namespace

void SlabsCommand(std::string_view args, const SharedContext& ctx, OutBuf* out) {
  // memcached tokenizes the line into at most 23 tokens ("slabs" and 22 more; the rest of a
  // longer line is left unsplit), and its checks count them. noreply is the last of those 22,
  // so "slabs automove 1 ... noreply" is silent only if noreply is among the first 22.
  std::array<std::string_view, 22> t;
  size_t n = 0;
  while (!args.empty() && n < t.size()) {
    const size_t sp = args.find(' ');
    std::string_view tok = args.substr(0, sp);
    if (!tok.empty()) t[n++] = tok;
    args.remove_prefix(sp == std::string_view::npos ? args.size() : sp + 1);
  }
  if (n == 3 && t[0] == "reassign") {
    if (!ctx.options.slab_reassign) {
      out->Append(wire::kReassignDisabled);
      return;
    }
    int32_t src = 0;
    int32_t dst = 0;
    if (!ParseInt32(t[1], &src) || !ParseInt32(t[2], &dst)) {
      out->Append(wire::kBadFormat);
      return;
    }
    out->Append(ReassignReply(ctx.cache->ReassignPage(src, dst)));
    return;
  }
  if (n >= 2 && t[0] == "automove") {
    const bool noreply = t[n - 1] == "noreply";
    std::string_view reply = wire::kOk;
    if (t[1] == "ratio") {
      double ratio = 0;
      if (n < 3 || !ParseDouble(t[2], &ratio)) {
        reply = wire::kError;
      } else {
        ctx.cache->SetAutomoveRatio(ratio);
      }
    } else {
      uint32_t level = 0;
      if (!ParseFlags32(t[1], &level)) {
        reply = wire::kBadFormat;
      } else if (level <= 2) {
        ctx.cache->SetAutomove(static_cast<int>(level));
      } else {
        reply = wire::kError;
      }
    }
    if (!noreply) out->Append(reply);
    return;
  }
  out->Append(wire::kError);
}

}  // namespace mcd::handler
