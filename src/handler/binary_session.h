// The binary-protocol session of one connection (private to src/handler): frames requests with
// the codec (mcd/protocol/binary.h), runs them through the Executor, the same one the text and
// meta commands use (so `stats` counts them as memcached counts them), and encodes the replies.
//
// Behaviour is memcached 1.6's (proto_bin.c), as seen on the wire:
// - quiet opcodes (getq, setq, ...) send nothing on success (getq/getkq: on a miss), errors
//   always; noop answers, which ends a pipeline of quiet gets;
// - a value is read straight into its item (DirectDataSpan/DataWritten), never buffered whole;
//   a store refused for its size answers E2BIG and swallows its value;
// - malformed requests (a wrong extras/key/body combination, a key over 250 bytes) answer
//   EINVAL and close; a body shorter than its extras and key answers unknown command and closes;
//   a first byte other than 0x80 closes without a reply;
// - unknown opcodes (and SASL, which mcd does not have) answer unknown command and swallow the
//   body length, counted from the end of the key (memcached's own arithmetic).
//
// Thread-safety: as Session, one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "executor.h"
#include "mcd/handler/session.h"
#include "mcd/protocol/binary.h"
#include "mcd/server/session.h"

namespace mcd::handler {

class BinarySession final : public server::Session {
 public:
  // budget: as Session's (one reply object per request; none left closes the connection).
  BinarySession(SharedContext* ctx, stats::ThreadStats* thread_stats, int conn_id,
                server::BufferBudget* budget = nullptr);
  ~BinarySession() override;
  BinarySession(const BinarySession&) = delete;
  BinarySession& operator=(const BinarySession&) = delete;

  size_t Consume(std::string_view in, OutBuf* out, int max_commands = 1 << 30,
                 size_t max_output = SIZE_MAX) override;
  bool want_close() const override { return close_; }
  bool yielded() const override { return yielded_; }
  std::span<char> DirectDataSpan() override;
  void DataWritten(size_t n, OutBuf* out) override;
  std::string_view ConnStateName() const override;
  bool InCommand() const override { return phase_ != Phase::kHeader; }
  bool Dumping() const override { return false; }
  void RepliesSent() override;
  // Each request's replies are one message (a stat request's packets together).
  void MarkMessages(std::vector<size_t>* ends) override { marks_ = ends; }
  void Reset() override;

 private:
  enum class Phase : uint8_t { kHeader, kValue, kSwallow };

  void Dispatch(const protocol::binary::Request& req, OutBuf* out);
  void Retrieve(const protocol::binary::Request& req, uint8_t base, bool quiet, OutBuf* out);
  void StartStore(const protocol::binary::Request& req, uint8_t base, bool quiet, OutBuf* out);
  void FinishStore(OutBuf* out);
  void Delete(const protocol::binary::Request& req, bool quiet, OutBuf* out);
  void Arithmetic(const protocol::binary::Request& req, uint8_t base, bool quiet, OutBuf* out);
  void Flush(const protocol::binary::Request& req, bool quiet, OutBuf* out);
  void Stat(const protocol::binary::Request& req, OutBuf* out);
  // Appends an item's value (without its "\r\n"): copied when small, else by reference; gives
  // up the caller's reference.
  void AppendValue(storage::Item* it, OutBuf* out);
  void Error(OutBuf* out, protocol::binary::Status s, std::string_view text = {});
  // EINVAL, then close (memcached's handle_binary_protocol_error).
  void ProtocolError(OutBuf* out);
  void Swallow(uint64_t n);
  int Verbosity() const { return ctx_->verbosity.load(std::memory_order_relaxed); }

  SharedContext* ctx_;
  stats::ThreadStats* ts_;
  Executor exec_;
  int conn_id_;
  server::BufferBudget* budget_;
  uint64_t replies_held_ = 0;
  std::vector<size_t>* marks_ = nullptr;

  Phase phase_ = Phase::kHeader;
  bool close_ = false;
  bool yielded_ = false;
  // The request being served: its opcode and opaque go into every reply.
  uint8_t opcode_ = 0;
  uint32_t opaque_ = 0;
  // kValue: the item being filled and how to store it.
  storage::Item* item_ = nullptr;
  uint8_t store_base_ = 0;  // set, add, replace, append or prepend
  bool store_quiet_ = false;
  uint64_t store_cas_ = 0;
  uint32_t value_total_ = 0;
  uint32_t value_filled_ = 0;
  // kSwallow: bytes still to discard.
  uint64_t swallow_left_ = 0;
};

}  // namespace mcd::handler
