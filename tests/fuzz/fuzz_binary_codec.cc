// Fuzz target for the binary-protocol codec (DecodeRequest, EncodeRequest, the response
// encoders).
//
// Input: a 3-byte header, then the byte stream a client sends.
//   bytes 0-1: a split point (big endian, modulo the stream size + 1)
//   byte 2: a piece size for a third feeding (1..256 bytes per read)
// The stream is framed the way a session frames it (unconsumed bytes carried over; after a
// request its value is skipped; a protocol error ends the stream), three times: whole, split in
// two, and in equal pieces.
//
// Invariants:
// - every call: consumed <= input size; kNeedMore iff the header, or (with a 0x80 magic) the
//   header, extras and key, are not all in, with consumed == 0; kBadMagic iff the 24-byte header
//   starts with another byte, consumed == 0;
// - kOk / kBadLengths / kBodyTooLong: consumed == 24 + extras + key; key and extras lie inside
//   the input; kBadLengths iff extras + key > body; kBodyTooLong iff the body exceeds the limit;
//   kOk: value length == body - extras - key;
// - round trip: EncodeRequest of the decoded fields gives back the input's frame (data type and
//   vbucket aside, which it writes as 0) and the same header;
// - a response encoded for each request decodes to the lengths and fields it was given;
// - the sequence of outcomes is the same however the stream is split.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "mcd/protocol/binary.h"

namespace mcd::fuzz {
namespace {

namespace bin = protocol::binary;

class Framer {
 public:
  // Feeds the next piece of the stream; false once the stream has ended (protocol error).
  bool Feed(std::string_view piece) {
    if (ended_) return false;
    pending_.append(piece);
    while (!ended_) {
      if (skip_ > 0) {
        const size_t n = std::min<uint64_t>(skip_, pending_.size());
        pending_.erase(0, n);
        skip_ -= n;
        if (skip_ > 0) return true;
      }
      if (pending_.empty()) return true;
      if (!Step()) return true;
    }
    return false;
  }
  const std::vector<std::string>& outcomes() const { return outcomes_; }

 private:
  // One decode; false when more bytes are needed.
  bool Step() {
    const std::string_view in = pending_;
    bin::Request r;
    size_t used = 7;
    const bin::DecodeStatus st = bin::DecodeRequest(in, &used, &r);
    const std::string ctx = "input=" + Escape(in, 120);
    FUZZ_CHECK(used <= in.size(), ctx);
    const bool header_in = in.size() >= bin::kHeaderSize;
    const bool magic_ok = header_in && static_cast<uint8_t>(in[0]) == bin::kRequestMagic;
    if (!header_in) {
      FUZZ_CHECK(st == bin::DecodeStatus::kNeedMore && used == 0, ctx);
      return false;
    }
    if (!magic_ok) {
      FUZZ_CHECK(st == bin::DecodeStatus::kBadMagic && used == 0, ctx);
      outcomes_.push_back("bad magic");
      ended_ = true;
      return true;
    }
    bin::RequestHeader h;
    FUZZ_CHECK(bin::DecodeRequestHeader(in, &h), ctx);
    const size_t frame = bin::kHeaderSize + h.extras_length + h.key_length;
    if (in.size() < frame) {
      FUZZ_CHECK(st == bin::DecodeStatus::kNeedMore && used == 0, ctx);
      return false;
    }
    FUZZ_CHECK(st != bin::DecodeStatus::kNeedMore && st != bin::DecodeStatus::kBadMagic, ctx);
    FUZZ_CHECK(used == frame, ctx);
    FUZZ_CHECK(r.key.size() == h.key_length && r.extras.size() == h.extras_length, ctx);
    FUZZ_CHECK(r.extras.data() == in.data() + bin::kHeaderSize, ctx);
    FUZZ_CHECK(r.key.data() == in.data() + bin::kHeaderSize + h.extras_length, ctx);
    const bool bad_lengths = uint64_t{h.extras_length} + h.key_length > h.body_length;
    FUZZ_CHECK((st == bin::DecodeStatus::kBadLengths) == bad_lengths, ctx);
    if (!bad_lengths) {
      FUZZ_CHECK((st == bin::DecodeStatus::kBodyTooLong) == (h.body_length > bin::kMaxBodyLength),
                 ctx);
    }
    std::string o = std::to_string(static_cast<int>(st)) + " op=" + std::to_string(h.opcode) +
                    " key=" + Escape(r.key) + " ext=" + Escape(r.extras) +
                    " body=" + std::to_string(h.body_length) +
                    " opaque=" + std::to_string(h.opaque) + " cas=" + std::to_string(h.cas);
    outcomes_.push_back(o);
    if (st != bin::DecodeStatus::kOk) {
      ended_ = true;
      return true;
    }
    FUZZ_CHECK(r.value_length == h.body_length - h.extras_length - h.key_length, ctx);
    CheckRoundTrip(in.substr(0, frame), r, ctx);
    CheckResponse(r, ctx);
    pending_.erase(0, used);
    skip_ = r.value_length;
    return true;
  }

  static void CheckRoundTrip(std::string_view frame, const bin::Request& r,
                             const std::string& ctx) {
    // A value of the right length, so the body length comes out the same.
    const std::string value(std::min<uint32_t>(r.value_length, 4096), 'v');
    std::string again =
        bin::EncodeRequest(r.header.opcode, r.extras, r.key, value, r.header.opaque, r.header.cas);
    if (r.value_length > value.size()) bin::StoreBe32(r.header.body_length, again.data() + 8);
    std::string expect(frame);
    expect[5] = expect[6] = expect[7] = 0;  // data type and vbucket: written as 0
    FUZZ_CHECK(again.substr(0, frame.size()) == expect, ctx + " again=" + Escape(again, 120));
    bin::Request back;
    size_t used = 0;
    FUZZ_CHECK(bin::DecodeRequest(again, &used, &back) == bin::DecodeStatus::kOk, ctx);
    FUZZ_CHECK(back.key == r.key && back.extras == r.extras && used == frame.size(), ctx);
    FUZZ_CHECK(back.header.opaque == r.header.opaque && back.header.cas == r.header.cas, ctx);
    FUZZ_CHECK(back.value_length == r.value_length, ctx);
  }

  static void CheckResponse(const bin::Request& r, const std::string& ctx) {
    OutBuf out;
    const std::string_view extras = r.extras.substr(0, 4);
    bin::AppendResponseHead(&out, r.header.opcode, bin::Status::kSuccess, r.header.opaque,
                            r.header.cas, extras, r.key, r.value_length);
    const std::string s = out.ToString();
    FUZZ_CHECK(s.size() == bin::kHeaderSize + extras.size() + r.key.size(), ctx);
    bin::ResponseHeader h;
    FUZZ_CHECK(bin::DecodeResponseHeader(s, &h), ctx);
    FUZZ_CHECK(static_cast<uint8_t>(s[0]) == bin::kResponseMagic, ctx);
    FUZZ_CHECK(h.opcode == r.header.opcode && h.opaque == r.header.opaque, ctx);
    FUZZ_CHECK(h.cas == r.header.cas && h.status == bin::Status::kSuccess, ctx);
    FUZZ_CHECK(h.key_length == r.key.size() && h.extras_length == extras.size(), ctx);
    FUZZ_CHECK(uint64_t{h.body_length} == extras.size() + r.key.size() + r.value_length, ctx);
    FUZZ_CHECK(s.substr(bin::kHeaderSize) == std::string(extras) + std::string(r.key), ctx);
  }

  std::string pending_;
  uint64_t skip_ = 0;
  bool ended_ = false;
  std::vector<std::string> outcomes_;
};

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += x + "\n";
  return s;
}

}  // namespace
}  // namespace mcd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mcd::fuzz::Framer;
  mcd::fuzz::ByteReader r(data, size);
  const size_t split_raw = (size_t{r.Byte()} << 8) | r.Byte();
  const size_t piece = size_t{r.Byte()} + 1;
  const std::string_view stream = r.Rest();
  const size_t split = split_raw % (stream.size() + 1);

  Framer whole;
  whole.Feed(stream);
  Framer two;
  if (two.Feed(stream.substr(0, split))) two.Feed(stream.substr(split));
  Framer pieces;
  for (size_t off = 0; off < stream.size(); off += piece) {
    if (!pieces.Feed(stream.substr(off, piece))) break;
  }
  const std::string ctx = "stream=" + mcd::fuzz::Escape(stream, 200);
  FUZZ_CHECK(two.outcomes() == whole.outcomes(), ctx + "\nwhole:\n" +
                                                     mcd::fuzz::Join(whole.outcomes()) +
                                                     "split:\n" + mcd::fuzz::Join(two.outcomes()));
  FUZZ_CHECK(pieces.outcomes() == whole.outcomes(),
             ctx + "\nwhole:\n" + mcd::fuzz::Join(whole.outcomes()) + "pieces:\n" +
                 mcd::fuzz::Join(pieces.outcomes()));
  return 0;
}
