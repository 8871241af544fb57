// memcached's binary protocol: the codec (framing, header decoding, response encoding). Pure: no
// cache, no session; the handler's BinarySession drives it.
//
// Every request and response starts with a 24-byte header, multi-byte fields in network byte
// order (big endian):
//
//   byte   0        1        2        3
//        +--------+--------+--------+--------+
//      0 | magic  | opcode |    key length   |   magic: 0x80 request, 0x81 response
//        +--------+--------+--------+--------+
//      4 | extlen | dtype  | vbucket / status|   request: vbucket (ignored); response: status
//        +--------+--------+--------+--------+
//      8 |        total body length          |   extras + key + value
//        +--------+--------+--------+--------+
//     12 |              opaque               |   copied from request to response
//        +--------+--------+--------+--------+
//     16 |                cas                |
//     20 |                                   |
//        +--------+--------+--------+--------+
//     24 | extras (extlen) | key (key length) | value (body - extlen - key length)
//
// Framing (as memcached frames it): a request is taken once its header, extras and key are
// buffered; its value is left in the input for the session to read (possibly straight into an
// item), so a large value never has to be buffered whole. Lengths are checked only once the
// frame is complete, as memcached checks them.
//
// Thread-safety: plain functions on their arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mcd/util/out_buf.h"

namespace mcd::protocol::binary {

constexpr size_t kHeaderSize = 24;
constexpr uint8_t kRequestMagic = 0x80;
constexpr uint8_t kResponseMagic = 0x81;
// memcached refuses (EINVAL, then closes) a request whose body is larger than this.
constexpr uint32_t kMaxBodyLength = 1024 * 1024 * 1024;
// The longest extras any request of memcached's has (increment/decrement).
constexpr uint8_t kMaxExtrasLength = 20;

enum class Opcode : uint8_t {
  kGet = 0x00,
  kSet = 0x01,
  kAdd = 0x02,
  kReplace = 0x03,
  kDelete = 0x04,
  kIncrement = 0x05,
  kDecrement = 0x06,
  kQuit = 0x07,
  kFlush = 0x08,
  kGetQ = 0x09,
  kNoop = 0x0a,
  kVersion = 0x0b,
  kGetK = 0x0c,
  kGetKQ = 0x0d,
  kAppend = 0x0e,
  kPrepend = 0x0f,
  kStat = 0x10,
  kSetQ = 0x11,
  kAddQ = 0x12,
  kReplaceQ = 0x13,
  kDeleteQ = 0x14,
  kIncrementQ = 0x15,
  kDecrementQ = 0x16,
  kQuitQ = 0x17,
  kFlushQ = 0x18,
  kAppendQ = 0x19,
  kPrependQ = 0x1a,
  kVerbosity = 0x1b,  // defined by the protocol; memcached 1.6 answers it as unknown
  kTouch = 0x1c,
  kGat = 0x1d,
  kGatQ = 0x1e,
  kSaslListMechs = 0x20,
  kSaslAuth = 0x21,
  kSaslStep = 0x22,
  kGatK = 0x23,
  kGatKQ = 0x24,
};

enum class Status : uint16_t {
  kSuccess = 0x00,
  kKeyNotFound = 0x01,
  kKeyExists = 0x02,
  kTooLarge = 0x03,
  kInvalidArguments = 0x04,
  kNotStored = 0x05,
  kDeltaBadValue = 0x06,
  kAuthError = 0x20,
  kAuthContinue = 0x21,
  kUnknownCommand = 0x81,
  kOutOfMemory = 0x82,
};

// The error body memcached sends with a status when it has no more specific text.
std::string_view StatusText(Status s);

struct RequestHeader {
  uint8_t magic = kRequestMagic;
  uint8_t opcode = 0;
  uint16_t key_length = 0;
  uint8_t extras_length = 0;
  uint8_t data_type = 0;
  uint16_t vbucket = 0;
  uint32_t body_length = 0;
  uint32_t opaque = 0;  // echoed back in the response
  uint64_t cas = 0;
};

struct ResponseHeader {
  uint8_t opcode = 0;
  Status status = Status::kSuccess;
  uint16_t key_length = 0;
  uint8_t extras_length = 0;
  uint32_t body_length = 0;
  uint32_t opaque = 0;
  uint64_t cas = 0;
};

// One framed request: views into the input it was decoded from.
struct Request {
  RequestHeader header;
  std::string_view extras;
  std::string_view key;
  // The value's length (body - extras - key), still unread after the frame. Meaningful only
  // when the lengths are consistent (kOk).
  uint32_t value_length = 0;
};

enum class DecodeStatus : uint8_t {
  kNeedMore,     // the header, extras or key are not all buffered yet; nothing consumed
  kOk,           // *out is the request; *consumed = 24 + extras + key
  kBadMagic,     // the first byte is not 0x80: memcached closes without a reply
  kBadLengths,   // extras + key exceed the body: memcached answers unknown command and closes
  kBodyTooLong,  // the body exceeds kMaxBodyLength: memcached answers EINVAL and closes
};

// Frames the request at the start of `in`. For kBadLengths and kBodyTooLong, *out holds the
// header and *consumed the frame (for the reply's opcode and opaque).
DecodeStatus DecodeRequest(std::string_view in, size_t* consumed, Request* out);

// Reads a 24-byte header (either magic); false if `in` is shorter. Tests and clients.
bool DecodeRequestHeader(std::string_view in, RequestHeader* out);
bool DecodeResponseHeader(std::string_view in, ResponseHeader* out);

// Big-endian field helpers.
uint32_t LoadBe32(const char* p);
uint64_t LoadBe64(const char* p);
void StoreBe32(uint32_t v, char* p);
void StoreBe64(uint64_t v, char* p);

// Writes the 24 header bytes of a response.
void EncodeResponseHeader(const ResponseHeader& h, char out[kHeaderSize]);
// Appends a whole response: the header (lengths taken from the parts) and its extras, key and
// value, copied. The value is left out of the copy when `value_follows` is set, for a caller
// that queues it by reference (OutBuf::AppendRef) right after: the body length still counts it.
void AppendResponse(OutBuf* out, uint8_t opcode, Status status, uint32_t opaque, uint64_t cas,
                    std::string_view extras, std::string_view key, std::string_view value);
void AppendResponseHead(OutBuf* out, uint8_t opcode, Status status, uint32_t opaque, uint64_t cas,
                        std::string_view extras, std::string_view key, uint32_t value_length);
// An error response: no extras, no key, the text as the body (StatusText(s) when empty).
void AppendError(OutBuf* out, uint8_t opcode, Status s, uint32_t opaque,
                 std::string_view text = {});

// A request on the wire (tests, fuzzing, clients): the header fields besides the lengths, then
// extras, key and value.
std::string EncodeRequest(uint8_t opcode, std::string_view extras, std::string_view key,
                          std::string_view value, uint32_t opaque = 0, uint64_t cas = 0);

}  // namespace mcd::protocol::binary
