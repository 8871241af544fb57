// What the handler may read from an item it holds a reference to. The layout lives in
// src/storage (item_layout.h); these accessors are the whole public surface.
//
// The value region of an item is the value followed by "\r\n", value_size() + 2 bytes. It may be
// stored in one piece or, for items larger than the largest slab chunk, across several chunks;
// DataAt/MutableDataAt return the contiguous piece starting at an offset.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "mcd/util/clock.h"

namespace mcd::storage {

class Item;

std::string_view ItemKey(const Item* item);
uint32_t ItemFlags(const Item* item);
uint32_t ItemValueSize(const Item* item);  // without the trailing "\r\n"
uint64_t ItemCas(const Item* item);        // 0 when cas is disabled (-C)
RelTime ItemExptime(const Item* item);
// Bytes the item takes: header, key, value and "\r\n" (as `lru_crawler metadump` size=).
uint64_t ItemTotalSize(const Item* item);
// The contiguous readable piece of the value region (value + "\r\n") starting at offset
// (offset < value_size() + 2); non-empty.
std::string_view ItemDataAt(const Item* item, uint32_t offset);
// The same, writable, for filling an allocated item before Store().
std::span<char> ItemMutableDataAt(Item* item, uint32_t offset);
// True when the item already has so many references that a reader which would keep its own for
// long (a queued reply) should copy the value and release it instead: the count is 16 bits, and
// this keeps it far from overflowing however many replies name the same item.
bool ItemHeavilyReferenced(const Item* item);

}  // namespace mcd::storage
