#include "mcd/server/buffer_budget.h"

#include <algorithm>

namespace mcd::server {

BufferBudget::BufferBudget(uint64_t share_bytes, const WorkerCounters* counters)
    : limit_(std::max<uint64_t>(share_bytes / kBufferSize, 1)), counters_(counters) {}

bool BufferBudget::TakeReply() {
  if (read_buffers_ + ReplyBuffers(replies_ + 1) > limit_) {
    counters_->response_obj_oom->Add();
    return false;
  }
  ++replies_;
  bundle_kept_ = true;
  Publish();
  return true;
}

void BufferBudget::ReleaseReplies(uint64_t n) {
  replies_ -= std::min(n, replies_);
  Publish();
}

bool BufferBudget::TakeReadBuffer() {
  if (read_buffers_ + 1 + ReplyBuffers(replies_) > limit_) {
    counters_->read_buf_oom->Add();
    return false;
  }
  ++read_buffers_;
  Publish();
  return true;
}

void BufferBudget::ReleaseReadBuffer() {
  if (read_buffers_ > 0) --read_buffers_;
  Publish();
}

void BufferBudget::Publish() {
  const uint64_t reply_buffers = ReplyBuffers(replies_);
  const uint64_t in_use = read_buffers_ + reply_buffers;
  peak_ = std::max(peak_, in_use);
  counters_->response_obj_count->Set(replies_);
  counters_->response_obj_bytes->Set(reply_buffers * kBufferSize);
  counters_->read_buf_count->Set(peak_);
  counters_->read_buf_bytes->Set(peak_ * kBufferSize);
  counters_->read_buf_bytes_free->Set((peak_ - in_use) * kBufferSize);
}

}  // namespace mcd::server
