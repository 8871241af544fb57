#include "mcd/stats/stats.h"

namespace mcd::stats {

Registry::Registry(int threads, char prefix_delimiter, bool detail_enabled)
    : prefixes_(prefix_delimiter, detail_enabled) {
  for (int i = 0; i < threads; ++i) threads_.push_back(std::make_unique<ThreadStats>());
}

ThreadTotals Registry::RawTotals() const {
  ThreadTotals t;
  for (const auto& ts : threads_) {
#define MCD_SUM(name) t.name += ts->name.Get();
    MCD_THREAD_COUNTERS(MCD_SUM)
    MCD_THREAD_GAUGES(MCD_SUM)
#undef MCD_SUM
  }
  return t;
}

ClassTotals Registry::RawClassTotal(int class_id) const {
  ClassTotals t;
  for (const auto& ts : threads_) {
    const ClassCounters& c = ts->per_class[class_id];
#define MCD_SUM(name) t.name += c.name.Get();
    MCD_CLASS_COUNTERS(MCD_SUM)
#undef MCD_SUM
  }
  return t;
}

ThreadTotals Registry::Totals() const {
  ThreadTotals t = RawTotals();
  std::lock_guard<std::mutex> lock(baseline_mu_);
#define MCD_SUB(name) t.name -= baseline_.name;
  MCD_THREAD_COUNTERS(MCD_SUB)
#undef MCD_SUB
  return t;
}

ClassTotals Registry::ClassTotal(int class_id) const {
  if (class_id <= 0 || class_id >= kMaxClasses) return {};
  ClassTotals t = RawClassTotal(class_id);
  std::lock_guard<std::mutex> lock(baseline_mu_);
  const ClassTotals& b = class_baseline_[class_id];
#define MCD_SUB(name) t.name -= b.name;
  MCD_CLASS_COUNTERS(MCD_SUB)
#undef MCD_SUB
  return t;
}

void Registry::Reset() {
  ThreadTotals t = RawTotals();
  ClassTotals c[kMaxClasses];
  for (int i = 1; i < kMaxClasses; ++i) c[i] = RawClassTotal(i);
  std::lock_guard<std::mutex> lock(baseline_mu_);
  baseline_ = t;
  for (int i = 1; i < kMaxClasses; ++i) class_baseline_[i] = c[i];
  server_.total_connections.store(0, std::memory_order_relaxed);
  server_.rejected_connections.store(0, std::memory_order_relaxed);
  server_.listen_disabled_num.store(0, std::memory_order_relaxed);
  prefixes_.Clear();
}

}  // namespace mcd::stats
