// BinarySession tests: a scripted binary conversation fed whole and at every split point, the
// way a socket may deliver it, must give the same reply bytes.
#include "binary_session.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "handler_test_base.h"
#include "mcd/protocol/binary.h"
#include "mcd/storage/cache.h"

namespace mcd::handler {
namespace {

namespace bin = protocol::binary;

uint8_t Op(bin::Opcode o) { return static_cast<uint8_t>(o); }

std::string Be32(uint32_t v) {
  char b[4];
  bin::StoreBe32(v, b);
  return std::string(b, 4);
}

class BinarySessionTest : public HandlerTestBase {
 protected:
  void Reset() { NewCache(); }

  // Feeds `input` in pieces of `piece` bytes (0: all at once), carrying unconsumed bytes over.
  std::string Run(std::string_view input, size_t piece = 0) {
    BinarySession s(&ctx_, registry_.Thread(0), 7);
    return Feed(s, input, piece);
  }
};

TEST_F(BinarySessionTest, ConversationAtEverySplitPoint) {
  const std::string extras = Be32(5) + Be32(0);
  const std::string input =
      bin::EncodeRequest(Op(bin::Opcode::kSet), extras, "key", std::string(3000, 'v'), 1) +
      bin::EncodeRequest(Op(bin::Opcode::kGetQ), {}, "nope", {}, 2) +
      bin::EncodeRequest(Op(bin::Opcode::kGetK), {}, "key", {}, 3) +
      bin::EncodeRequest(Op(bin::Opcode::kAppendQ), {}, "key", "+", 4) +
      // An unknown opcode swallows its body length (13) after its key: its value and 9 more.
      bin::EncodeRequest(0x40, "ex", "unknown", "body", 5) + std::string(9, 'x') +
      bin::EncodeRequest(Op(bin::Opcode::kDelete), {}, "nope", {}, 6) +
      bin::EncodeRequest(Op(bin::Opcode::kNoop), {}, {}, {}, 7) +
      bin::EncodeRequest(Op(bin::Opcode::kQuit), {}, {}, {}, 8) + "ignored after quit";
  const std::string whole = Run(input);
  // set ok, getk hit (3000 + 4 + 3 bytes), unknown, delete miss, noop, quit.
  OutBuf expect;
  bin::AppendResponse(&expect, Op(bin::Opcode::kSet), bin::Status::kSuccess, 1, 1, {}, {}, {});
  bin::AppendResponse(&expect, Op(bin::Opcode::kGetK), bin::Status::kSuccess, 3, 1, Be32(5), "key",
                      std::string(3000, 'v'));
  bin::AppendError(&expect, 0x40, bin::Status::kUnknownCommand, 5);
  bin::AppendError(&expect, Op(bin::Opcode::kDelete), bin::Status::kKeyNotFound, 6);
  bin::AppendResponse(&expect, Op(bin::Opcode::kNoop), bin::Status::kSuccess, 7, 0, {}, {}, {});
  bin::AppendResponse(&expect, Op(bin::Opcode::kQuit), bin::Status::kSuccess, 8, 0, {}, {}, {});
  EXPECT_EQ(whole, expect.ToString());
  for (size_t piece = 1; piece <= input.size(); piece += (piece < 64 ? 1 : 97)) {
    Reset();
    EXPECT_EQ(Run(input, piece), whole) << "piece size " << piece;
  }
}

TEST_F(BinarySessionTest, TooLargeValueIsSwallowedAtEverySplitPoint) {
  const std::string input = bin::EncodeRequest(Op(bin::Opcode::kSet), Be32(0) + Be32(0), "big",
                                               std::string(2 << 20, 'v'), 1) +
                            bin::EncodeRequest(Op(bin::Opcode::kNoop), {}, {}, {}, 2);
  OutBuf expect;
  bin::AppendError(&expect, Op(bin::Opcode::kSet), bin::Status::kTooLarge, 1);
  bin::AppendResponse(&expect, Op(bin::Opcode::kNoop), bin::Status::kSuccess, 2, 0, {}, {}, {});
  for (size_t piece : {size_t{0}, size_t{1000}, size_t{65536}, size_t{1} << 20}) {
    Reset();
    EXPECT_EQ(Run(input, piece), expect.ToString()) << "piece size " << piece;
  }
}

}  // namespace
}  // namespace mcd::handler
