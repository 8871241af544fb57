// Reply bytes waiting to be sent on one connection, as a list of segments ready for writev.
//
// Two kinds of segment: bytes copied into the buffer's own arena (headers, short replies), and
// bytes owned by someone else (an item's value) that are referenced, not copied, and "released"
// through the buffer's release callback once they are sent or the buffer is cleared.
//
//   segments_: [arena "VALUE k 0 5\r\n"] [ref item->data "hello\r\n"] [arena "END\r\n"] ...
//   arena:     blocks of kBlockSize; appends coalesce into the last arena segment when adjacent.
//
// Not thread-safe: one connection, one thread.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mcd {

// Arena blocks shared by the OutBufs of one thread, so a drained OutBuf holds no memory and no
// reply allocates once the pool is warm. Not thread-safe: one pool per thread.
class OutBlockPool {
 public:
  explicit OutBlockPool(size_t max_free = 64) : max_free_(max_free) {}
  std::unique_ptr<char[]> Get();
  void Put(std::unique_ptr<char[]> block);
  size_t free_blocks() const { return free_.size(); }

 private:
  size_t max_free_;
  std::vector<std::unique_ptr<char[]>> free_;
};

class OutBuf {
 public:
  // Called once for each referenced object when its bytes are no longer needed.
  using ReleaseFn = void (*)(void* ctx, void* obj);

  // With a pool, arena blocks come from it and all go back once everything is sent; without one,
  // the buffer keeps one block for the next replies.
  explicit OutBuf(ReleaseFn release = nullptr, void* release_ctx = nullptr,
                  OutBlockPool* pool = nullptr);
  ~OutBuf();
  OutBuf(const OutBuf&) = delete;
  OutBuf& operator=(const OutBuf&) = delete;

  // Copies s into the arena and queues it.
  void Append(std::string_view s);
  // Returns space for up to n bytes (n <= kBlockSize) in the arena; queue them with Commit(k<=n).
  char* Reserve(size_t n);
  void Commit(size_t n);
  // Queues n bytes at p without copying. If obj is non-null it is passed to the release callback
  // once, after these bytes are consumed or the buffer cleared. Several segments may share one obj
  // only if each carries its own reference (each is released separately).
  void AppendRef(const char* p, size_t n, void* obj);

  // Total bytes queued and not yet consumed.
  size_t size() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }
  // Fills up to max iovecs with the pending bytes in order; returns how many were filled.
  int FillIov(iovec* iov, int max) const;
  // Marks the first n pending bytes as sent, releasing finished references.
  void Consume(size_t n);
  // Drops everything, releasing all references.
  void Clear();

  // A position in the queued bytes, to drop what was appended after it (a reply abandoned half
  // way, e.g. a multiget that ran out of reply memory). Valid until the next Consume() or Clear().
  struct Mark {
    size_t segments = 0;
    size_t last_n = 0;  // length of the last segment then (later appends may extend it)
    size_t bytes = 0;
    size_t block = 0;
    size_t block_used = 0;
    bool last_is_arena_tail = false;
  };
  Mark GetMark() const;
  // Drops everything appended since `m`, releasing its references. REQUIRES: m is valid (no
  // Consume() or Clear() since it was taken).
  void Truncate(const Mark& m);
  // The pending bytes as one string (tests and logging).
  std::string ToString() const;

  static constexpr size_t kBlockSize = 16 * 1024;
  // Segment-list capacity kept after a drain; a huge multiget's list is given back.
  static constexpr size_t kKeepSegments = 1024;

 private:
  struct Segment {
    const char* p;
    size_t n;
    void* obj;  // released when the segment is done; null for arena bytes
  };
  char* ArenaSpace(size_t n);
  std::unique_ptr<char[]> NewBlock();
  // Rewinds the arena once nothing is pending.
  void ResetArena();

  std::vector<Segment> segments_;
  size_t head_ = 0;   // first unconsumed segment
  size_t bytes_ = 0;  // unconsumed bytes
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_ = 0;                 // current arena block
  size_t block_used_ = 0;            // bytes used in the current block
  bool last_is_arena_tail_ = false;  // last segment ends exactly at the arena write position
  ReleaseFn release_;
  void* release_ctx_;
  OutBlockPool* pool_;
};

}  // namespace mcd
