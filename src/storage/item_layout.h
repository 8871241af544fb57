// Memory layout of an item inside a slab chunk. Private to src/storage; the handler sees only the
// accessors of include/mcd/storage/item.h.
//
// A chunk always begins with the 40-byte header below; chunks are 8-byte aligned.
//
//   off  field          size  notes
//   +----+--------------+----+------------------------------------------+
//   |  0 | h_next       |  8 | Item*, hash chain                        |
//   |  8 | cas          |  8 | uint64                                   |
//   | 16 | exptime      |  4 | RelTime, 0 = never                       |
//   | 20 | time         |  4 | RelTime of last access                   |
//   | 24 | nbytes       |  4 | value length without "\r\n"              |
//   | 28 | client_flags |  4 |                                          |
//   | 32 | refcount     |  2 | std::atomic_ref                          |
//   | 34 | nkey         |  1 | key length (<= 250)                      |
//   | 35 | it_flags     |  1 | kItem* bits, std::atomic_ref             |
//   | 36 | lru          |  1 | segment (kLruHot...) | kMeta* bits, atomic |
//   | 37 | aux          |  3 | chunked header: data bytes per chunk     |
//   +----+--------------+----+------------------------------------------+
//   40      key bytes (nkey, no NUL)
//
// Ordinary item (total 40 + nkey + nbytes + 2 <= largest chunk):
//
//   | header (40) | key (nkey) | value (nbytes) | "\r\n" |
//
// Chunked item (total larger than the largest chunk, kChunked set). The header chunk holds the
// key and an array of pointers to the data chunks; `aux` is the data capacity of one full data
// chunk (largest chunk - 40). Every data chunk but the last is from the largest class; the last
// comes from the smallest class that fits its remainder:
//
//   header chunk: | header (40) | key (nkey) | pad to 8 | Item* data[n] |
//   data chunk:   | header (40, kChunkData, nbytes = bytes held, h_next = header chunk) | value |
//
// Data chunks carry kChunkData so that dumps and size scans skip them; the eviction sweep treats
// a data chunk as a stand-in for its owner (h_next), so it can evict large items from any class.
//
// A free chunk has kFree set; on its class's free list it also has kFreeListed and is linked
// through h_next (next) and cas (previous, as an address), so a chunk leaves the list in O(1).
//
// Which fields change, and under what protection:
//   h_next        stripe lock of the item's hash bucket (or the class lock while on a free list;
//                 for a data chunk: the owning header chunk, written once at allocation)
//   cas           stripe lock (in-place incr/decr); written before the item is linked
//   exptime       stripe lock (touch); read without it through std::atomic_ref
//   time          std::atomic_ref relaxed: a hit refreshes it at most once per kTimeUpdateInterval
//   refcount      std::atomic_ref: incremented only under the stripe lock, decremented anywhere
//   it_flags      std::atomic_ref fetch_or / fetch_and (kLinked changes only under the stripe lock)
//   lru           stripe lock (the CLOCK hand and a hit move an item between segments); read
//                 with std::atomic_ref
//   nkey, key, nbytes, client_flags, aux: written once at allocation, then immutable
//
// The slab class of a chunk is not stored: the allocator finds it from the chunk's page.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "mcd/util/clock.h"
#include "mcd/util/limits.h"

namespace mcd::storage {

// Bits of Item::it_flags.
inline constexpr uint8_t kItemLinked = 1 << 0;   // in the hash table (holds one reference)
inline constexpr uint8_t kItemActive = 1 << 1;   // CLOCK reference bit: used since the hand passed
inline constexpr uint8_t kItemFetched = 1 << 2;  // read at least once
inline constexpr uint8_t kItemChunked = 1 << 3;  // value lives in data chunks
inline constexpr uint8_t kItemChunkData = 1 << 4;  // this chunk is a data chunk of a chunked item
inline constexpr uint8_t kItemFree = 1 << 5;       // chunk is on its class's free list
inline constexpr uint8_t kItemNoCas = 1 << 6;      // cas disabled (-C): report 0
// A free chunk on its class's free list (a free chunk of a page being moved is not on it).
inline constexpr uint8_t kItemFreeListed = 1 << 7;

// Segments of memcached's segmented LRU, kept by the per-class CLOCK (see cache_memory.cc):
// Item::lru holds one of these.
inline constexpr uint8_t kLruHot = 0;  // stored, not yet passed by the hand
inline constexpr uint8_t kLruWarm =
    1;  // read twice: kept while read, or while warm is within its share
inline constexpr uint8_t kLruCold = 2;  // the hand evicts it on its next pass unless it is read
inline constexpr uint8_t kLruTemp = 3;  // TTL within temporary_ttl: never evicted, only expires
inline constexpr uint8_t kLruSegmentMask = 0x03;
// Meta-protocol state, in the bits of Item::lru above the segment (no extra header bytes):
inline constexpr uint8_t kMetaStale = 1 << 2;      // invalidated (md I, ms I): served with X
inline constexpr uint8_t kMetaTokenSent = 1 << 3;  // a client was sent W for it: others get Z
inline constexpr uint8_t kMetaKeyBinary = 1 << 4;  // stored with a base64 key (b): shown encoded
// Its cas was given by the client (E): a flush judges it by time, not by cas order.
inline constexpr uint8_t kMetaClientCas = 1 << 5;
inline constexpr int kLruSegments = 4;

// A hit refreshes the access time at most this often (seconds), so hot items cost no writes.
inline constexpr RelTime kTimeUpdateInterval = 60;

using ::mcd::kMaxKeyLength;  // util/limits.h

class Item {
 public:
  Item* h_next;
  uint64_t cas;
  RelTime exptime;
  RelTime time;
  uint32_t nbytes;  // value length without "\r\n" (for a data chunk: bytes held)
  uint32_t client_flags;
  uint16_t refcount;
  uint8_t nkey;
  uint8_t it_flags;
  uint8_t lru;      // segment, kLru*
  uint8_t aux_hi;   // chunked header: data capacity of one full data chunk (24 bits, with
  uint16_t aux_lo;  // aux_lo); else 0

  uint32_t chunk_capacity() const { return (uint32_t{aux_hi} << 16) | aux_lo; }
  void set_chunk_capacity(uint32_t v) {
    aux_hi = static_cast<uint8_t>(v >> 16);
    aux_lo = static_cast<uint16_t>(v);
  }
  uint8_t segment() const { return lru_byte() & kLruSegmentMask; }
  // REQUIRES: stripe lock (as every writer of the byte).
  void set_segment(uint8_t s) {
    std::atomic_ref<uint8_t>(lru).store(static_cast<uint8_t>((lru_byte() & ~kLruSegmentMask) | s),
                                        std::memory_order_relaxed);
  }
  // The meta bits (kMeta*) that share the byte with the segment.
  uint8_t meta() const { return lru_byte() & static_cast<uint8_t>(~kLruSegmentMask); }
  // REQUIRES: stripe lock.
  void set_meta(uint8_t bits, bool on) {
    const uint8_t b = lru_byte();
    std::atomic_ref<uint8_t>(lru).store(
        on ? static_cast<uint8_t>(b | bits) : static_cast<uint8_t>(b & ~bits),
        std::memory_order_relaxed);
  }
  uint8_t lru_byte() const {
    return std::atomic_ref<uint8_t>(const_cast<uint8_t&>(lru)).load(std::memory_order_relaxed);
  }

  char* key_ptr() { return reinterpret_cast<char*>(this) + sizeof(Item); }
  const char* key_ptr() const { return reinterpret_cast<const char*>(this) + sizeof(Item); }
  std::string_view key() const { return {key_ptr(), nkey}; }
  // Value region of an unchunked item (value + "\r\n").
  char* data() { return key_ptr() + nkey; }
  const char* data() const { return key_ptr() + nkey; }

  // Chunked items: the data-chunk pointer array after the (8-aligned) key.
  // Bytes of one entry of a chunked item's data-chunk pointer array.
  static constexpr size_t kChunkPointerSize = sizeof(void*);
  static size_t ChunkArrayOffset(size_t nkey) { return (sizeof(Item) + nkey + 7) & ~size_t{7}; }
  Item** chunks() {
    return reinterpret_cast<Item**>(reinterpret_cast<char*>(this) + ChunkArrayOffset(nkey));
  }
  Item* const* chunks() const {
    return reinterpret_cast<Item* const*>(reinterpret_cast<const char*>(this) +
                                          ChunkArrayOffset(nkey));
  }
  uint32_t num_chunks() const {
    const uint32_t cap = chunk_capacity();
    return (nbytes + 2 + cap - 1) / cap;
  }

  // Bytes the item accounts for in `bytes` and `stats sizes`: header + key + value + "\r\n".
  uint64_t total_size() const { return sizeof(Item) + nkey + uint64_t{nbytes} + 2; }

  // --- atomic accessors ---------------------------------------------------------------------
  uint8_t flags() const { return std::atomic_ref<uint8_t>(const_cast<uint8_t&>(it_flags)).load(); }
  void set_flags(uint8_t bits) { std::atomic_ref<uint8_t>(it_flags).fetch_or(bits); }
  void clear_flags(uint8_t bits) {
    std::atomic_ref<uint8_t>(it_flags).fetch_and(static_cast<uint8_t>(~bits));
  }
  uint16_t refs() const {
    return std::atomic_ref<uint16_t>(const_cast<uint16_t&>(refcount)).load();
  }
  void incref() { std::atomic_ref<uint16_t>(refcount).fetch_add(1, std::memory_order_relaxed); }
  // Returns the count after the decrement.
  uint16_t decref() {
    return static_cast<uint16_t>(
        std::atomic_ref<uint16_t>(refcount).fetch_sub(1, std::memory_order_acq_rel) - 1);
  }
  void set_refs(uint16_t v) { std::atomic_ref<uint16_t>(refcount).store(v); }
  RelTime load_time() const {
    return std::atomic_ref<RelTime>(const_cast<RelTime&>(time)).load(std::memory_order_relaxed);
  }
  void store_time(RelTime t) { std::atomic_ref<RelTime>(time).store(t, std::memory_order_relaxed); }
  RelTime load_exptime() const {
    return std::atomic_ref<RelTime>(const_cast<RelTime&>(exptime)).load(std::memory_order_relaxed);
  }
  void store_exptime(RelTime t) {
    std::atomic_ref<RelTime>(exptime).store(t, std::memory_order_relaxed);
  }
  uint64_t load_cas() const {
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(cas)).load(std::memory_order_relaxed);
  }
  void store_cas(uint64_t v) { std::atomic_ref<uint64_t>(cas).store(v, std::memory_order_relaxed); }
};

static_assert(sizeof(Item) == 40, "item header must stay 40 bytes");
// The header size memcached 1.6 sizes its slab classes by (its item struct on 64-bit builds).
// mcd's classes use the same table, so an item of mcd never needs a larger class than in
// memcached (see SlabAllocator).
inline constexpr uint64_t kMemcachedItemHeader = 48;
static_assert(kMemcachedItemHeader >= sizeof(Item));
static_assert(offsetof(Item, refcount) % alignof(uint16_t) == 0);
static_assert(offsetof(Item, cas) % std::atomic_ref<uint64_t>::required_alignment == 0);

// Total bytes of an unchunked item with this key and value length.
inline uint64_t ItemSizeFor(size_t nkey, uint64_t nbytes) {
  return sizeof(Item) + nkey + nbytes + 2;
}

}  // namespace mcd::storage
