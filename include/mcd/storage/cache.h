// The cache facade: the only storage API the handler sees. It speaks the domain (Get, Store with a
// mode, Delete, Delta, Touch, FlushAll) and hides slabs, the hash table and eviction.
//
// Items are reference counted. Every Item* returned to a caller carries one reference that the
// caller must give back with Release() (or hand to Store(), which takes it). While a reference is
// held the item's memory is not reused, so its bytes can be sent without copying.
//
// Thread-safety: all methods may be called from any thread concurrently. Lookups and stores take
// one lock stripe of the hash table; allocation takes the lock of one slab class. There is no
// global lock on the get/set path.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mcd/util/clock.h"

namespace mcd::storage {

struct CacheOptions {
  uint64_t memory_limit = 64ull << 20;  // -m, bytes of item memory (pages)
  uint32_t page_size = 1 << 20;         // slab page size (1 MB from the command line, as memcached)
  uint32_t item_size_max = 0;           // -I, largest item; 0 means page_size
  uint32_t chunk_min = 48;              // -n, minimum space for key+value in the smallest class
  double growth_factor = 1.25;          // -f
  uint32_t slab_chunk_max = 0;          // -o slab_chunk_max; 0 means page_size / 2
  int hashpower = 16;                   // -o hashpower, initial buckets = 2^hashpower
  bool use_cas = true;                  // -C turns off (cas reported as 0)
  bool evict = true;                    // -M turns off: out-of-memory error instead
  bool prealloc = false;                // -L: touch all pages at start
  bool large_pages = false;             // -L: ask for transparent huge pages on the item memory
  // -o slab_sizes: explicit chunk sizes (ascending) used instead of -n/-f; the last class is
  // still slab_chunk_max. Empty: sizes grow by growth_factor.
  std::vector<uint32_t> slab_sizes;
  bool hash_expand = true;  // -o no_hashexpand turns off growth of the hash table
  // Test hook (memcached's T_MEMD_INITIAL_MALLOC, read by app): bytes counted as already
  // allocated against memory_limit and in total_malloced.
  uint64_t initial_malloced = 0;
  // Address space reserved for item pages, so `cache_memlimit` can grow the limit in place;
  // 0 = the allocator's default (256 GB or twice -m). With -k the app asks for -m only: mlockall
  // counts reserved address space against the locked-memory limit.
  uint64_t reserve_bytes = 0;
  // Slab page mover (-o slab_reassign, slab_automove, slab_automove_ratio/window): with
  // slab_reassign a mover thread carries out `slabs reassign`, and with automove 1 or 2 it
  // decides moves itself once a second (automove.h).
  bool slab_reassign = true;
  // memcached's segmented LRU (-o lru_maintainer, the default; off with no_lru_maintainer or
  // no_modern): the CLOCK keeps hot, warm and cold segments, with a maintainer tick once a second
  // (cache_memory.cc). hot_lru_pct / warm_lru_pct: the segments' shares of a class's items the
  // maintainer keeps them to. temp_lru (-o temporary_ttl): items stored with a TTL of at most
  // temporary_ttl seconds are never evicted, only expire.
  bool lru_segmented = true;
  uint32_t hot_lru_pct = 20;
  uint32_t warm_lru_pct = 40;
  bool temp_lru = false;
  RelTime temporary_ttl = 61;
  bool lru_crawler = true;  // -o no_lru_crawler: no background reclaim of dead items
  // -o lru_crawler_sleep: microseconds the crawler pauses after every 1000 chunks (0: none).
  uint32_t lru_crawler_sleep = 100;
  // -o lru_crawler_tocrawl: items a crawl examines per class at most (0: all).
  uint32_t lru_crawler_tocrawl = 0;
  int slab_automove = 1;
  double automove_ratio = 0.8;
  int automove_window = 30;
  // Automove sampling ticks per second (mcd's own, automove.h): 1 is memcached's one tick a
  // second; more lets a decision come as soon as memcached's rule holds. Moves decided by the
  // policy start at most every automove_min_gap_ms apart.
  int automove_phases = 10;
  int automove_min_gap_ms = 500;
  bool start_maintainer = true;  // background thread for hash expansion (tests may drive
                                 // expansion by hand with MaintainOnce())
};

class Item;  // opaque outside storage; see item.h for the accessors the handler may use

enum class StoreMode : uint8_t { kSet, kAdd, kReplace, kAppend, kPrepend, kCas };

enum class StoreResult : uint8_t {
  kStored,
  kNotStored,  // add: exists; replace/append/prepend: missing
  kExists,     // cas: cas unique differs
  kNotFound,   // cas: missing
  kNoMemory,   // append/prepend could not allocate the combined item
};

enum class AllocResult : uint8_t {
  kOk,
  kTooLarge,  // key + value can never fit in -I: "SERVER_ERROR object too large for cache"
  kNoMemory,  // no free memory and eviction impossible or off: "SERVER_ERROR out of memory..."
};

enum class LookupResult : uint8_t { kHit, kMiss, kExpired, kFlushed };

enum class DeltaResult : uint8_t {
  kOk,
  kNotFound,
  kNonNumeric,
  kNoMemory,
  kExists,  // MetaDelta: the cas compare failed
};

// --- meta-protocol operations (Cache::MetaGet etc.) ---
// Times are RelTime (Clock::ExptimeToRel already applied by the caller); a cas of 0 means none.
struct MetaGetArgs {
  bool bump = true;          // !u: mark the item recently used and fetched
  bool set_exptime = false;  // T
  RelTime exptime = 0;
  bool vivify = false;  // N: a miss creates an empty item (flags 0) that expires at vivify_exptime
  RelTime vivify_exptime = 0;
  uint64_t vivify_cas = 0;         // E: the created item's cas (0: the next cas)
  bool vivify_key_binary = false;  // b: the created item's key was sent in base64
  bool recache = false;            // R: win the token if the item expires before recache_before
  RelTime recache_before = 0;
  bool inspect = false;  // me: report only; a stale item's win token is not handed out
  // T and N both given, T after N: a vivified item takes T's exptime (the later flag wins).
  bool exptime_after_vivify = false;
};
struct MetaGetInfo {
  LookupResult lookup = LookupResult::kMiss;  // kHit also when created
  bool created = false;                       // vivified by this request
  bool won = false;                           // W: this client is to recache it
  bool stale = false;                         // X
  bool token_sent = false;                    // Z: a client was sent W before this request
  bool fetched_before = false;                // h
  bool key_binary = false;                    // the stored key is binary (show it in base64)
  RelTime last_access = 0;                    // l: the item's access time before this request
  RelTime exptime_before = 0;                 // t before T/N in the request
  RelTime exptime_after = 0;                  // t after them
  uint64_t cas = 0;
};
struct MetaStoreArgs {
  uint64_t new_cas = 0;      // E: the stored item's cas (0: the next cas)
  bool allow_stale = false;  // I with a cas: an older cas stores the value, marked stale
  bool vivify = false;       // append/prepend with N: a missing item is created
  bool key_binary = false;   // b
};
struct MetaStoreInfo {
  uint64_t cas = 0;         // the stored item's cas
  uint32_t value_size = 0;  // the stored value's size (after append/prepend)
};
enum class MetaDeleteResult : uint8_t {
  kDeleted,  // deleted, or (remove_value) emptied
  kStale,    // marked stale (stale)
  kNotFound,
  kExists,    // the cas compare failed
  kNoMemory,  // remove_value could not allocate the empty item
};
struct MetaDeleteArgs {
  uint64_t compare_cas = 0;  // C
  uint64_t new_cas = 0;      // E
  bool stale = false;        // I: mark stale instead of deleting
  bool set_exptime = false;  // T (with I or x)
  RelTime exptime = 0;
  bool remove_value = false;  // x: keep the key with an empty value
  uint32_t flags = 0;         // x: the emptied item's client flags (F)
};
struct MetaDeltaArgs {
  bool incr = true;
  uint64_t delta = 1;
  uint64_t compare_cas = 0;  // C
  uint64_t new_cas = 0;      // E
  bool vivify = false;       // N: a miss creates the counter with `initial`
  RelTime vivify_exptime = 0;
  uint64_t initial = 0;      // J
  bool set_exptime = false;  // T
  RelTime exptime = 0;
  bool exptime_after_vivify = false;  // T after N: a created counter takes T's exptime
};
struct MetaDeltaInfo {
  int class_id = 0;  // the slab class of the counter changed (a hit; 0 otherwise)
  uint64_t value = 0;
  uint64_t cas = 0;
  bool created = false;
  RelTime exptime_before = 0;  // the counter's exptime before T/N
  RelTime exptime_after = 0;
};

// `slabs reassign SRC DST`, as memcached answers it.
enum class ReassignResult : uint8_t {
  kOk,        // the move started
  kBusy,      // a move is already running
  kBadClass,  // no such class
  kNoSpare,   // the source class has fewer than two pages
  kSame,      // source and destination are the same class
};

// `lru_crawler crawl`, as memcached answers it (the class list is checked by the caller).
enum class CrawlResult : uint8_t {
  kOk,          // the crawl started
  kBusy,        // a crawl asked for earlier has not finished
  kNotStarted,  // no class named
  kDisabled,    // the crawler is off (`lru_crawler disable`, -o no_lru_crawler)
};

// The LRU crawler's state for `stats` and `stats settings`.
struct CrawlerStats {
  bool enabled = false;  // lru_crawler
  bool running = false;  // a crawl (asked for or scheduled) or an item walk is under way
  uint64_t starts = 0;   // crawls and walks started (lru_crawler_starts)
  uint32_t sleep_us = 0;
  uint32_t tocrawl = 0;
};

// One live item as `lru_crawler metadump` reports it.
struct ItemMeta {
  std::string_view key;  // valid only during the callback
  RelTime exptime = 0;   // 0: never expires
  RelTime last_access = 0;
  uint64_t cas = 0;  // 0 when cas is disabled (-C)
  bool fetched = false;
  bool key_binary = false;  // stored with a base64 key (meta b): dumps show it encoded
  int class_id = 0;
  uint64_t size = 0;  // header + key + value + "\r\n", as counted in `bytes`
};

// A walk over the live items of some slab classes (`lru_crawler metadump` and `mgdump`), in
// batches small enough to be interleaved with other work: it holds one class lock at a time, for
// at most 64 chunks, and never while its caller formats or sends. Each class's pages are listed
// when the walk reaches the class; a page that leaves the class meanwhile (page mover) is
// skipped, and items stored in pages the class gains later are not visited. Every item that stays
// linked in a listed page throughout is reported exactly once.
//
// Made by Cache::WalkItems; must not outlive the cache. One thread at a time.
class ItemWalk {
 public:
  ~ItemWalk();
  ItemWalk(const ItemWalk&) = delete;
  ItemWalk& operator=(const ItemWalk&) = delete;
  // Examines up to `max_chunks` more chunks and calls fn for each live item among them (after
  // the class lock is dropped: fn may do anything but call the cache back with this walk).
  // Returns false once every chunk has been examined.
  bool Step(uint64_t max_chunks, const std::function<void(const ItemMeta&)>& fn);

 private:
  friend class Cache;
  struct State;
  explicit ItemWalk(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

// Page-mover counters for `stats` (memcached's names without the slab_reassign_ prefix).
struct MoverStats {
  bool running = false;  // a move is in progress (slab_reassign_running)
  uint64_t slabs_moved = 0;
  uint64_t rescues = 0;          // live items copied elsewhere in their class
  uint64_t chunk_rescues = 0;    // data chunks of chunked items copied elsewhere in their class
  uint64_t inline_reclaim = 0;   // dead items freed by the mover
  uint64_t evictions_nomem = 0;  // live items evicted for want of a free chunk
  uint64_t busy_items = 0;       // times a chunk had to be looked at again
};

// Per-slab-class figures for `stats slabs` and `stats items`.
struct ClassStats {
  int id = 0;
  uint32_t chunk_size = 0;
  uint32_t chunks_per_page = 0;
  uint64_t total_pages = 0;
  uint64_t total_chunks = 0;
  uint64_t used_chunks = 0;
  uint64_t free_chunks = 0;
  uint64_t free_chunks_end = 0;
  uint64_t mem_requested = 0;  // sum of the exact sizes of the items held
  // items
  uint64_t number = 0;  // linked items
  // By segment of the segmented CLOCK (memcached's hot, warm, cold and temporary LRUs), and the
  // moves between them.
  uint64_t number_hot = 0;
  uint64_t number_warm = 0;
  uint64_t number_cold = 0;
  uint64_t number_temp = 0;
  uint64_t moves_to_cold = 0;
  uint64_t moves_to_warm = 0;
  uint64_t moves_within_lru = 0;
  uint64_t age = 0;  // seconds since the least recently used item was accessed
  uint64_t evicted = 0;
  uint64_t evicted_nonzero = 0;  // evicted items that had an exptime
  uint64_t evicted_time = 0;     // seconds since last access of the last evicted item
  uint64_t outofmemory = 0;
  uint64_t reclaimed = 0;  // expired/flushed items whose memory was reused
  uint64_t expired_unfetched = 0;
  uint64_t evicted_unfetched = 0;
  uint64_t evicted_active = 0;
  uint64_t crawler_reclaimed = 0;  // dead items freed by the background crawler
  uint64_t crawler_items_checked = 0;
};

// Whole-cache figures for `stats`.
struct GlobalStats {
  uint64_t curr_items = 0;
  uint64_t total_items = 0;
  uint64_t bytes = 0;  // bytes of the items held (header + key + value)
  uint64_t evictions = 0;
  uint64_t reclaimed = 0;
  uint64_t expired_unfetched = 0;
  uint64_t evicted_unfetched = 0;
  uint64_t evicted_active = 0;
  uint64_t crawler_reclaimed = 0;
  uint64_t crawler_items_checked = 0;
  uint64_t lru_maintainer_juggles = 0;  // ticks of the LRU maintainer
  uint64_t moves_to_cold = 0;           // summed over the classes
  uint64_t moves_to_warm = 0;
  uint64_t moves_within_lru = 0;
  uint64_t total_malloced = 0;  // bytes of pages in classes and the global pool
  uint64_t limit_maxbytes = 0;  // the current limit (-m, or the last cache_memlimit)
  int active_slabs = 0;
  int hash_power_level = 0;
  uint64_t hash_bytes = 0;
  bool hash_is_expanding = false;
};

class Cache {
 public:
  Cache(const CacheOptions& options, const Clock* clock);
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // --- retrieval -------------------------------------------------------------------------
  // Looks key up. On a hit returns the item with a reference held (Release() it) and marks it
  // recently used and fetched. *result says hit, miss, expired or flushed (the last two also
  // unlink the dead item).
  Item* Get(std::string_view key, LookupResult* result);
  // Get and set a new exptime (gat/gats, already converted with Clock::ExptimeToRel).
  Item* GetAndTouch(std::string_view key, RelTime exptime, LookupResult* result);
  // Drops a reference obtained from Get/GetAndTouch/Allocate.
  void Release(Item* item);

  // Multiget pipelining (no side effects, no lock): Prefetch() hashes key and starts loading its
  // bucket; some keys later PrefetchItem() starts loading the first item of that bucket; then
  // Get() with the hint skips the hash and finds the lines in cache.
  struct KeyHint {
    uint64_t hash = 0;
  };
  KeyHint Prefetch(std::string_view key) const;
  void PrefetchItem(KeyHint hint) const;
  Item* Get(std::string_view key, KeyHint hint, LookupResult* result);
  Item* GetAndTouch(std::string_view key, KeyHint hint, RelTime exptime, LookupResult* result);

  // --- storage ---------------------------------------------------------------------------
  // Allocates an unlinked item for key with room for a value of `nbytes` bytes plus "\r\n".
  // On kOk *out holds it with one reference; fill its data (item.h: MutableDataAt) and pass it to
  // Store(), or Release() it to abandon it.
  AllocResult Allocate(std::string_view key, uint32_t flags, RelTime exptime, uint32_t nbytes,
                       Item** out);
  // Stores a filled item by mode, taking the caller's reference. For kCas, cas_unique is the
  // client's value. On kStored, *cas_out (if non-null) receives the item's new cas unique.
  // append/prepend keep the existing item's flags and exptime.
  StoreResult Store(Item* item, StoreMode mode, uint64_t cas_unique, uint64_t* cas_out = nullptr);
  // Store with the meta-protocol's extras (ms): an explicit new cas, a cas compare for every
  // mode, storing an older cas as stale (I), append/prepend that create a missing item, the
  // final value size. cas_unique 0 means no compare.
  StoreResult StoreMeta(Item* item, StoreMode mode, uint64_t cas_unique, const MetaStoreArgs& args,
                        MetaStoreInfo* info);
  // Removes key; false if absent (or expired/flushed).
  bool Delete(std::string_view key);
  // Unlinks key if present without reporting (after a failed too-large/no-memory store, so a
  // stale value does not persist, as memcached does).
  void Unlink(std::string_view key) { Delete(key); }
  // incr/decr. incr wraps at 2^64, decr stops at 0. On kOk *value is the new value. The new value
  // is written in place (padded with spaces) when it is not longer than the old one, else a new
  // item replaces it; either way the cas unique changes.
  DeltaResult Delta(std::string_view key, bool incr, uint64_t delta, uint64_t* value);
  // Sets a new exptime; false if absent. class_id (if given) gets the item's slab class on a hit.
  bool Touch(std::string_view key, RelTime exptime, int* class_id = nullptr);
  // Invalidates every item stored before `when` (a RelTime; 0 or <= now means immediately).
  void FlushAll(RelTime when);

  // --- meta-protocol operations (cache_meta.cc) ----------------------------------------------
  // Each runs under the key's stripe lock, so what it reports and what it changes are one
  // atomic step; the codec decides what to send. See MetaGetArgs etc. above.
  //
  // mg: looks key up (and creates an empty item on a miss with vivify), reporting the item's
  // state as it was before this request, applying a new exptime, and handing out the recache
  // token (W). On a hit (or vivify) returns the item with a reference held (Release() it).
  Item* MetaGet(std::string_view key, const MetaGetArgs& args, MetaGetInfo* info);
  // The same with the key's hash from Prefetch() (a pipelined batch of mg lines).
  Item* MetaGet(std::string_view key, KeyHint hint, const MetaGetArgs& args, MetaGetInfo* info);
  // md: deletes key, or with stale marks it stale (X) and hands its token out again, or with
  // remove_value replaces its value by an empty one. compare_cas != 0 must match. class_id (if
  // given) gets the slab class of the found item, or of its empty replacement (0 if none).
  MetaDeleteResult MetaDelete(std::string_view key, const MetaDeleteArgs& args,
                              int* class_id = nullptr);
  // ma: incr/decr with an optional cas compare, a new cas, a new exptime, and creation of a
  // missing counter (vivify). On kOk, *info has the new value, cas and exptimes.
  DeltaResult MetaDelta(std::string_view key, const MetaDeltaArgs& args, MetaDeltaInfo* info);

  // --- introspection -----------------------------------------------------------------------
  // Slab class of an item (for per-class command counters).
  int ClassOf(const Item* item) const;
  GlobalStats Stats() const;
  // Calls fn for every class that has pages, in id order.
  void VisitClasses(const std::function<void(const ClassStats&)>& fn) const;
  // Largest class id (for per-class counter arrays). Class ids run 1..NumClasses().
  int NumClasses() const;
  uint32_t ChunkSize(int class_id) const;
  // Up to `limit` items of class `class_id` (0 = no limit... as memcached: capped to 2 MB of
  // output by the caller), most recently used first: fn(key, value_bytes, exptime_unix_or_0).
  void Dump(int class_id, uint32_t limit,
            const std::function<void(std::string_view, uint32_t, int64_t)>& fn) const;
  // Histogram of item sizes in 32-byte buckets (stats sizes): fn(bucket_size, count).
  void VisitSizes(const std::function<void(uint32_t, uint64_t)>& fn) const;
  // Human-readable slab class table, one line per class, as memcached prints with -vv:
  // "slab class   1: chunk size        96 perslab   10922"
  std::string ClassTable() const;
  // Resets the counters reported by stats that `stats reset` clears (evictions, reclaimed, ...).
  void ResetStats();

  // --- slab page mover (cache_mover.cc) ------------------------------------------------------
  // Starts moving one page from class src to class dst (0 = the global page pool). The move is
  // done by MoveStep(), repeated until it returns false.
  ReassignResult ReassignPage(int src, int dst);
  // Advances the running move by one batch; false when no move is running any more.
  bool MoveStep();
  // Feeds the automove policy one tick of per-class figures and starts the move it decides on,
  // if any (the mover thread calls it once a second; tests call it themselves). True if it
  // started a move.
  bool AutomoveTick();  // (see Impl::AutomoveTick)
  // --- LRU crawler (cache_crawler.cc) ------------------------------------------------------
  // `lru_crawler crawl`: the crawler thread walks every chunk of the classes in class_mask (bit
  // i: class i) once, at most `tocrawl` items each, freeing expired and flushed items. A
  // scheduled round under way takes them in; another crawl asked for and not finished is kBusy.
  CrawlResult RequestCrawl(uint64_t class_mask);
  // `lru_crawler enable`: false if the crawler is already on. `disable` lets a running crawl
  // finish and starts no more.
  bool EnableCrawler();
  void DisableCrawler();
  // `lru_crawler sleep N` (microseconds after every 1000 chunks) and `lru_crawler tocrawl N`.
  void SetCrawlerSleep(uint32_t us);
  void SetCrawlerToCrawl(uint32_t items);
  CrawlerStats CrawlerCounters() const;
  // A walk over the live items of the classes in class_mask (see ItemWalk). It counts as a
  // crawler start and keeps lru_crawler_running true while it exists.
  std::unique_ptr<ItemWalk> WalkItems(uint64_t class_mask);
  // Runs a crawl asked for with RequestCrawl to its end in the calling thread; false if none
  // was pending. Only for a cache made without the maintainer threads (tests).
  bool CrawlPending();
  // One whole round over every class in the calling thread (the crawler thread runs them paced;
  // tests call this): frees every dead item with no reader. Only for a cache made without the
  // maintainer threads (start_maintainer = false), whose crawler state it shares.
  void CrawlOnce();
  // One tick of the LRU maintainer (segment moves, dead items), for caches without the
  // background thread (tests).
  void MaintainLruOnce();
  // `slabs automove N` at run time (0 off, 1 on, 2 aggressive).
  void SetAutomove(int mode);
  int Automove() const;
  // `slabs automove ratio F` at run time (-o slab_automove_ratio).
  void SetAutomoveRatio(double ratio);
  double AutomoveRatio() const;
  MoverStats MoverCounters() const;
  // Pages in the global pool (stats: slab_global_page_pool).
  uint64_t PoolPages() const;

  // --- memory limit (cache_memlimit) ---------------------------------------------------------
  // Changes -m at run time (bytes). Raised, classes may take more pages at once. Lowered,
  // nothing is evicted for it: pages in the global pool go back to the OS at once, and so does
  // every page that reaches the pool while more memory is held than the limit (automove sends
  // pages of classes with many free chunks there); classes take no new page meanwhile. False
  // (nothing changed) with -L (memory laid out in advance, as memcached refuses too) or past the
  // address space reserved at start-up (slab.h).
  bool SetMemoryLimit(uint64_t bytes);
  // The current limit in bytes (stats: limit_maxbytes, stats settings: maxbytes).
  uint64_t MemoryLimit() const;

  // Runs one step of background maintenance (hash expansion) in the calling thread. Returns
  // true if there is more to do. Used by the maintainer thread and by tests.
  bool MaintainOnce();

 private:
  friend class ItemWalk;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcd::storage
