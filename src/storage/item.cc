#include "mcd/storage/item.h"

#include <algorithm>

#include "cache_impl.h"
#include "item_layout.h"

namespace mcd::storage {

std::string_view ItemKey(const Item* item) { return item->key(); }
uint32_t ItemFlags(const Item* item) { return item->client_flags; }
uint32_t ItemValueSize(const Item* item) { return item->nbytes; }
uint64_t ItemCas(const Item* item) {
  return (item->flags() & kItemNoCas) != 0 ? 0 : item->load_cas();
}
uint64_t ItemTotalSize(const Item* item) { return item->total_size(); }

RelTime ItemExptime(const Item* item) { return item->load_exptime(); }

// Readers check after taking their reference, so the count stays below this plus the number of
// threads that can be between Get() and this check: far below 65535.
constexpr uint16_t kHeavilyReferenced = 0xC000;

bool ItemHeavilyReferenced(const Item* item) { return item->refs() >= kHeavilyReferenced; }

std::string_view ItemDataAt(const Item* item, uint32_t offset) {
  uint32_t total = item->nbytes + 2;
  if ((item->flags() & kItemChunked) == 0) {
    return {item->data() + offset, static_cast<size_t>(total - offset)};
  }
  uint32_t cap = item->chunk_capacity();
  uint32_t idx = offset / cap;
  uint32_t within = offset % cap;
  const Item* chunk = item->chunks()[idx];
  return {chunk->key_ptr() + within, static_cast<size_t>(chunk->nbytes - within)};
}

std::span<char> ItemMutableDataAt(Item* item, uint32_t offset) {
  std::string_view piece = ItemDataAt(item, offset);
  return {const_cast<char*>(piece.data()), piece.size()};
}

void CopyValueRegion(Item* dst, uint32_t dst_off, const Item* src, uint32_t src_off, uint32_t len) {
  while (len > 0) {
    std::span<char> out = ItemMutableDataAt(dst, dst_off);
    std::string_view in = ItemDataAt(src, src_off);
    uint32_t n = static_cast<uint32_t>(std::min<size_t>({out.size(), in.size(), len}));
    std::memcpy(out.data(), in.data(), n);
    dst_off += n;
    src_off += n;
    len -= n;
  }
}

}  // namespace mcd::storage
