// -o read_buf_mem_limit: one worker thread's share of the memory its connections may hold for
// read buffers and replies, counted the way memcached 1.6.18 counts it.
//
// memcached gives each worker a cache of 16 KB buffers, limited to (limit / threads) / 16 KB of
// them (at least one). A connection takes a buffer to read into and keeps it while it is in
// the middle of a command; every reply ("response object": one per command, one per key of a
// multiget) lives in a 16 KB bundle of 13 until it is sent. mcd reads into a shared buffer and
// queues replies in an OutBuf, so it does not allocate these; it counts them against the same
// budget so a limit refuses the same work memcached refuses:
//
//   share = limit / threads, in 16 KB buffers (>= 1)
//   in use = read buffers held + ceil(live replies / 13)          must stay <= share
//
// As in memcached, a worker keeps its last reply bundle once it has used one, so from its first
// reply on at least one buffer counts as reply memory even with no reply pending; and buffers
// given back stay cached, so read_buf_count / read_buf_bytes report the most ever in use and
// read_buf_bytes_free the cached ones not in use now.
//
// A reply that does not fit counts response_obj_oom (the session then answers a multiget with
// SERVER_ERROR or closes the connection); a read buffer that does not fit counts read_buf_oom
// (the connection is closed). The levels are published as the response_obj_count,
// response_obj_bytes, read_buf_count, read_buf_bytes and read_buf_bytes_free gauges of the
// worker's counters (server/counters.h).
//
// Without a limit there is no budget at all (callers hold a null pointer), so the default costs
// nothing per request.
//
// Thread-safety: one per worker thread, used by that thread only.
#pragma once

#include <cstdint>

#include "mcd/server/counters.h"

namespace mcd::server {

class BufferBudget {
 public:
  static constexpr uint64_t kBufferSize = 16 * 1024;  // memcached's READ_BUFFER_SIZE
  static constexpr uint64_t kRepliesPerBuffer = 13;   // response objects per 16 KB bundle

  // share_bytes: this worker's part of read_buf_mem_limit (limit / threads). counters: the
  // worker's; the budget uses the -o read_buf_mem_limit ones. Not owned.
  BufferBudget(uint64_t share_bytes, const WorkerCounters* counters);
  BufferBudget(const BufferBudget&) = delete;
  BufferBudget& operator=(const BufferBudget&) = delete;

  // One more reply object; false (counted in response_obj_oom) if it does not fit.
  bool TakeReply();
  // Gives back n reply objects (their bytes were sent or dropped).
  void ReleaseReplies(uint64_t n);
  // A read buffer for a connection; false (counted in read_buf_oom) if it does not fit.
  bool TakeReadBuffer();
  void ReleaseReadBuffer();

  uint64_t limit_buffers() const { return limit_; }
  uint64_t replies() const { return replies_; }
  uint64_t read_buffers() const { return read_buffers_; }
  // Buffers in use: read buffers plus reply bundles.
  uint64_t buffers_in_use() const { return read_buffers_ + ReplyBuffers(replies_); }

 private:
  uint64_t ReplyBuffers(uint64_t replies) const {
    const uint64_t n = (replies + kRepliesPerBuffer - 1) / kRepliesPerBuffer;
    return n == 0 && bundle_kept_ ? 1 : n;
  }
  void Publish();

  uint64_t limit_;
  uint64_t read_buffers_ = 0;
  uint64_t replies_ = 0;
  uint64_t peak_ = 0;         // most buffers ever in use at once
  bool bundle_kept_ = false;  // a reply was ever taken: one bundle stays
  const WorkerCounters* counters_;
};

}  // namespace mcd::server
