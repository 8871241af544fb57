#include "mcd/util/out_buf.h"

#include <cassert>
#include <cstring>

namespace mcd {

std::unique_ptr<char[]> OutBlockPool::Get() {
  if (free_.empty()) return std::unique_ptr<char[]>(new char[OutBuf::kBlockSize]);
  std::unique_ptr<char[]> b = std::move(free_.back());
  free_.pop_back();
  return b;
}

void OutBlockPool::Put(std::unique_ptr<char[]> block) {
  if (free_.size() < max_free_) free_.push_back(std::move(block));
}

OutBuf::OutBuf(ReleaseFn release, void* release_ctx, OutBlockPool* pool)
    : release_(release), release_ctx_(release_ctx), pool_(pool) {}

std::unique_ptr<char[]> OutBuf::NewBlock() {
  return pool_ != nullptr ? pool_->Get() : std::unique_ptr<char[]>(new char[kBlockSize]);
}

void OutBuf::ResetArena() {
  if (pool_ != nullptr) {
    for (auto& b : blocks_) pool_->Put(std::move(b));
    blocks_.clear();
  } else if (blocks_.size() > 1) {
    blocks_.resize(1);
  }
  block_ = 0;
  block_used_ = 0;
  last_is_arena_tail_ = false;
}

OutBuf::~OutBuf() { Clear(); }

char* OutBuf::ArenaSpace(size_t n) {
  assert(n <= kBlockSize);
  if (blocks_.empty()) {
    blocks_.push_back(NewBlock());
    block_ = 0;
    block_used_ = 0;
  }
  if (kBlockSize - block_used_ < n) {
    ++block_;
    if (block_ == blocks_.size()) blocks_.push_back(NewBlock());
    block_used_ = 0;
    last_is_arena_tail_ = false;
  }
  return blocks_[block_].get() + block_used_;
}

char* OutBuf::Reserve(size_t n) { return ArenaSpace(n); }

void OutBuf::Commit(size_t n) {
  if (n == 0) return;
  char* p = blocks_[block_].get() + block_used_;
  if (last_is_arena_tail_ && segments_.size() > head_) {
    segments_.back().n += n;
  } else {
    segments_.push_back({p, n, nullptr});
  }
  block_used_ += n;
  bytes_ += n;
  last_is_arena_tail_ = true;
}

void OutBuf::Append(std::string_view s) {
  while (!s.empty()) {
    size_t n = s.size() < kBlockSize ? s.size() : kBlockSize;
    // Use what is left of the current block before moving on, so long strings pack densely.
    if (!blocks_.empty() && block_used_ < kBlockSize && kBlockSize - block_used_ < n) {
      n = kBlockSize - block_used_;
    }
    char* p = ArenaSpace(n);
    std::memcpy(p, s.data(), n);
    Commit(n);
    s.remove_prefix(n);
  }
}

void OutBuf::AppendRef(const char* p, size_t n, void* obj) {
  segments_.push_back({p, n, obj});
  bytes_ += n;
  last_is_arena_tail_ = false;
}

int OutBuf::FillIov(iovec* iov, int max) const {
  int k = 0;
  for (size_t i = head_; i < segments_.size() && k < max; ++i) {
    if (segments_[i].n == 0) continue;
    iov[k].iov_base = const_cast<char*>(segments_[i].p);
    iov[k].iov_len = segments_[i].n;
    ++k;
  }
  return k;
}

void OutBuf::Consume(size_t n) {
  assert(n <= bytes_);
  bytes_ -= n;
  while (head_ < segments_.size()) {
    Segment& s = segments_[head_];
    if (s.n > n) {
      s.p += n;
      s.n -= n;
      return;
    }
    n -= s.n;
    if (s.obj != nullptr && release_ != nullptr) release_(release_ctx_, s.obj);
    ++head_;
    if (n == 0 && head_ < segments_.size() && segments_[head_].n != 0) break;
  }
  if (head_ == segments_.size()) {
    // Everything sent: rewind the arena.
    segments_.clear();
    if (segments_.capacity() > kKeepSegments) segments_.shrink_to_fit();
    head_ = 0;
    ResetArena();
  }
}

void OutBuf::Clear() {
  for (size_t i = head_; i < segments_.size(); ++i) {
    if (segments_[i].obj != nullptr && release_ != nullptr)
      release_(release_ctx_, segments_[i].obj);
  }
  segments_.clear();
  head_ = 0;
  bytes_ = 0;
  ResetArena();
}

OutBuf::Mark OutBuf::GetMark() const {
  Mark m;
  m.segments = segments_.size();
  m.last_n = segments_.empty() ? 0 : segments_.back().n;
  m.bytes = bytes_;
  m.block = block_;
  m.block_used = block_used_;
  m.last_is_arena_tail = last_is_arena_tail_;
  return m;
}

void OutBuf::Truncate(const Mark& m) {
  assert(m.segments >= head_ && m.segments <= segments_.size() && m.bytes <= bytes_);
  for (size_t i = m.segments; i < segments_.size(); ++i) {
    if (segments_[i].obj != nullptr && release_ != nullptr)
      release_(release_ctx_, segments_[i].obj);
  }
  segments_.resize(m.segments);
  if (!segments_.empty()) segments_.back().n = m.last_n;
  bytes_ = m.bytes;
  // Later arena blocks stay allocated and are reused by the next appends.
  block_ = m.block;
  block_used_ = m.block_used;
  last_is_arena_tail_ = m.last_is_arena_tail;
  if (head_ == segments_.size()) {
    segments_.clear();
    head_ = 0;
    ResetArena();
  }
}

std::string OutBuf::ToString() const {
  std::string s;
  s.reserve(bytes_);
  for (size_t i = head_; i < segments_.size(); ++i) s.append(segments_[i].p, segments_[i].n);
  return s;
}

}  // namespace mcd
