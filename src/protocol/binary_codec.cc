#include <cstring>

#include "mcd/protocol/binary.h"

namespace mcd::protocol::binary {

std::string_view StatusText(Status s) {
  switch (s) {
    case Status::kSuccess:
      return {};
    case Status::kKeyNotFound:
      return "Not found";
    case Status::kKeyExists:
      return "Data exists for key.";
    case Status::kTooLarge:
      return "Too large.";
    case Status::kInvalidArguments:
      return "Invalid arguments";
    case Status::kNotStored:
      return "Not stored.";
    case Status::kDeltaBadValue:
      return "Non-numeric server-side value for incr or decr";
    case Status::kAuthError:
      return "Auth failure.";
    case Status::kAuthContinue:
      return {};
    case Status::kUnknownCommand:
      return "Unknown command";
    case Status::kOutOfMemory:
      return "Out of memory";
  }
  return {};
}

uint32_t LoadBe32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

uint64_t LoadBe64(const char* p) { return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4); }

void StoreBe32(uint32_t v, char* p) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

void StoreBe64(uint64_t v, char* p) {
  StoreBe32(static_cast<uint32_t>(v >> 32), p);
  StoreBe32(static_cast<uint32_t>(v), p + 4);
}

namespace {

uint16_t LoadBe16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

void StoreBe16(uint16_t v, char* p) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
}

}  // namespace

bool DecodeRequestHeader(std::string_view in, RequestHeader* out) {
  if (in.size() < kHeaderSize) return false;
  const char* p = in.data();
  out->magic = static_cast<uint8_t>(p[0]);
  out->opcode = static_cast<uint8_t>(p[1]);
  out->key_length = LoadBe16(p + 2);
  out->extras_length = static_cast<uint8_t>(p[4]);
  out->data_type = static_cast<uint8_t>(p[5]);
  out->vbucket = LoadBe16(p + 6);
  out->body_length = LoadBe32(p + 8);
  out->opaque = LoadBe32(p + 12);
  out->cas = LoadBe64(p + 16);
  return true;
}

bool DecodeResponseHeader(std::string_view in, ResponseHeader* out) {
  RequestHeader h;
  if (!DecodeRequestHeader(in, &h)) return false;
  out->opcode = h.opcode;
  out->status = static_cast<Status>(h.vbucket);
  out->key_length = h.key_length;
  out->extras_length = h.extras_length;
  out->body_length = h.body_length;
  out->opaque = h.opaque;
  out->cas = h.cas;
  return true;
}

DecodeStatus DecodeRequest(std::string_view in, size_t* consumed, Request* out) {
  *consumed = 0;
  if (in.empty()) return DecodeStatus::kNeedMore;
  // memcached looks at the magic once the whole header is in.
  if (!DecodeRequestHeader(in, &out->header)) return DecodeStatus::kNeedMore;
  const RequestHeader& h = out->header;
  if (h.magic != kRequestMagic) return DecodeStatus::kBadMagic;
  const size_t frame = kHeaderSize + h.extras_length + h.key_length;
  if (in.size() < frame) return DecodeStatus::kNeedMore;
  *consumed = frame;
  out->extras = in.substr(kHeaderSize, h.extras_length);
  out->key = in.substr(kHeaderSize + h.extras_length, h.key_length);
  out->value_length = 0;
  if (uint64_t{h.key_length} + h.extras_length > h.body_length) return DecodeStatus::kBadLengths;
  if (h.body_length > kMaxBodyLength) return DecodeStatus::kBodyTooLong;
  out->value_length = h.body_length - h.key_length - h.extras_length;
  return DecodeStatus::kOk;
}

void EncodeResponseHeader(const ResponseHeader& h, char out[kHeaderSize]) {
  out[0] = static_cast<char>(kResponseMagic);
  out[1] = static_cast<char>(h.opcode);
  StoreBe16(h.key_length, out + 2);
  out[4] = static_cast<char>(h.extras_length);
  out[5] = 0;  // raw bytes
  StoreBe16(static_cast<uint16_t>(h.status), out + 6);
  StoreBe32(h.body_length, out + 8);
  StoreBe32(h.opaque, out + 12);
  StoreBe64(h.cas, out + 16);
}

void AppendResponseHead(OutBuf* out, uint8_t opcode, Status status, uint32_t opaque, uint64_t cas,
                        std::string_view extras, std::string_view key, uint32_t value_length) {
  ResponseHeader h;
  h.opcode = opcode;
  h.status = status;
  h.key_length = static_cast<uint16_t>(key.size());
  h.extras_length = static_cast<uint8_t>(extras.size());
  h.body_length = static_cast<uint32_t>(extras.size() + key.size()) + value_length;
  h.opaque = opaque;
  h.cas = cas;
  // Header, extras and key are small (key <= 250 bytes as memcached serves them, extras <= 20):
  // one arena piece.
  const size_t n = kHeaderSize + extras.size() + key.size();
  if (n <= OutBuf::kBlockSize) {
    char* p = out->Reserve(n);
    EncodeResponseHeader(h, p);
    if (!extras.empty()) std::memcpy(p + kHeaderSize, extras.data(), extras.size());
    if (!key.empty()) std::memcpy(p + kHeaderSize + extras.size(), key.data(), key.size());
    out->Commit(n);
    return;
  }
  char head[kHeaderSize];
  EncodeResponseHeader(h, head);
  out->Append(std::string_view(head, kHeaderSize));
  out->Append(extras);
  out->Append(key);
}

void AppendResponse(OutBuf* out, uint8_t opcode, Status status, uint32_t opaque, uint64_t cas,
                    std::string_view extras, std::string_view key, std::string_view value) {
  AppendResponseHead(out, opcode, status, opaque, cas, extras, key,
                     static_cast<uint32_t>(value.size()));
  if (!value.empty()) out->Append(value);
}

void AppendError(OutBuf* out, uint8_t opcode, Status s, uint32_t opaque, std::string_view text) {
  if (text.empty()) text = StatusText(s);
  AppendResponse(out, opcode, s, opaque, 0, {}, {}, text);
}

std::string EncodeRequest(uint8_t opcode, std::string_view extras, std::string_view key,
                          std::string_view value, uint32_t opaque, uint64_t cas) {
  std::string s(kHeaderSize, '\0');
  s[0] = static_cast<char>(kRequestMagic);
  s[1] = static_cast<char>(opcode);
  StoreBe16(static_cast<uint16_t>(key.size()), s.data() + 2);
  s[4] = static_cast<char>(extras.size());
  StoreBe32(static_cast<uint32_t>(extras.size() + key.size() + value.size()), s.data() + 8);
  StoreBe32(opaque, s.data() + 12);
  StoreBe64(cas, s.data() + 16);
  s.append(extras).append(key).append(value);
  return s;
}

}  // namespace mcd::protocol::binary
