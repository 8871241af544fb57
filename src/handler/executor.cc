#include "executor.h"

namespace mcd::handler {

storage::Item* Executor::Get(const GetRequest& req, storage::MetaGetInfo* info) {
  storage::Item* it;
  storage::LookupResult lookup;
  if (!req.meta && req.hint != nullptr) {
    it = req.touch ? cache_->GetAndTouch(req.key, *req.hint, ToRel(req.exptime), &lookup)
                   : cache_->Get(req.key, *req.hint, &lookup);
  } else if (!req.meta) {
    it = req.touch ? cache_->GetAndTouch(req.key, ToRel(req.exptime), &lookup)
                   : cache_->Get(req.key, &lookup);
  } else {
    storage::MetaGetArgs args;
    args.bump = req.bump;
    if (req.touch) {
      args.set_exptime = true;
      args.exptime = ToRel(req.exptime);
    }
    if (req.vivify) {
      args.vivify = true;
      args.vivify_exptime = ToRel(req.vivify_ttl);
      args.vivify_cas = req.vivify_cas;
      args.vivify_key_binary = req.key_binary;
      args.exptime_after_vivify = req.touch_after_vivify;
    }
    if (req.recache) {
      args.recache = true;
      args.recache_before = ToRel(req.recache_ttl);
    }
    it = req.hint != nullptr ? cache_->MetaGet(req.key, *req.hint, args, info)
                             : cache_->MetaGet(req.key, args, info);
    lookup = info->lookup;
  }
  detail_->RecordGet(req.key, it != nullptr);
  // As memcached counts them: gat counts a get and a touch; mg with T a touch on a hit and a
  // get on a miss.
  const bool as_touch = req.touch && (req.touch_count != TouchCount::kTouchOnHit || it != nullptr);
  const bool as_get = !req.touch || req.touch_count == TouchCount::kGetAndTouch ||
                      (req.touch_count == TouchCount::kTouchOnHit && it == nullptr);
  if (as_get) ts_->cmd_get.Add();
  if (as_touch) ts_->cmd_touch.Add();
  if (it == nullptr) {
    if (as_get) ts_->get_misses.Add();
    if (as_touch) ts_->touch_misses.Add();
    if (lookup == storage::LookupResult::kExpired) ts_->get_expired.Add();
    if (lookup == storage::LookupResult::kFlushed) ts_->get_flushed.Add();
    return nullptr;
  }
  const int cls = cache_->ClassOf(it);
  if (as_get) {
    ts_->get_hits.Add();
    if (ClassOk(cls)) ts_->per_class[cls].get_hits.Add();
  }
  if (as_touch) {
    ts_->touch_hits.Add();
    if (ClassOk(cls)) ts_->per_class[cls].touch_hits.Add();
  }
  return it;
}

AllocOutcome Executor::Allocate(std::string_view key, uint32_t flags, int64_t exptime,
                                uint32_t bytes, storage::Item** out, bool unlink_on_failure) {
  // As memcached, `stats detail` counts every well-formed store, stored or not.
  detail_->RecordSet(key);
  const storage::AllocResult r = cache_->Allocate(key, flags, ToRel(exptime), bytes, out);
  if (r == storage::AllocResult::kOk) return AllocOutcome::kOk;
  (r == storage::AllocResult::kTooLarge ? ts_->store_too_large : ts_->store_no_memory).Add();
  if (unlink_on_failure) cache_->Unlink(key);
  return r == storage::AllocResult::kTooLarge ? AllocOutcome::kTooLarge : AllocOutcome::kNoMemory;
}

void Executor::CountSet(const storage::Item* item) {
  ts_->cmd_set.Add();
  const int cls = cache_->ClassOf(item);
  if (ClassOk(cls)) ts_->per_class[cls].cmd_set.Add();
}

storage::StoreResult Executor::Store(storage::Item* item, const StoreRequest& req,
                                     storage::MetaStoreInfo* info) {
  const int cls = cache_->ClassOf(item);
  const bool cas_mode = req.mode == storage::StoreMode::kCas;
  const storage::StoreResult r = cache_->StoreMeta(item, req.mode, req.compare_cas, req.meta, info);
  switch (r) {
    case storage::StoreResult::kStored:
      if (cas_mode) {
        ts_->cas_hits.Add();
        if (ClassOk(cls)) ts_->per_class[cls].cas_hits.Add();
      }
      break;
    case storage::StoreResult::kExists:
      if (cas_mode) {
        ts_->cas_badval.Add();
        if (ClassOk(cls)) ts_->per_class[cls].cas_badval.Add();
      }
      break;
    case storage::StoreResult::kNotFound:
      ts_->cas_misses.Add();
      break;
    case storage::StoreResult::kNoMemory:
      ts_->store_no_memory.Add();
      break;
    case storage::StoreResult::kNotStored:
      break;
  }
  return r;
}

storage::MetaDeleteResult Executor::Delete(std::string_view key,
                                           const storage::MetaDeleteArgs& args,
                                           bool mismatch_is_miss) {
  detail_->RecordDelete(key);
  int cls = 0;
  const storage::MetaDeleteResult r = cache_->MetaDelete(key, args, &cls);
  switch (r) {
    case storage::MetaDeleteResult::kDeleted:
      // As memcached 1.6.45: `md x` (value emptied) counts too, in the empty item's class.
      ts_->delete_hits.Add();
      if (ClassOk(cls)) ts_->per_class[cls].delete_hits.Add();
      break;
    case storage::MetaDeleteResult::kNotFound:
      ts_->delete_misses.Add();
      break;
    case storage::MetaDeleteResult::kExists:
      if (mismatch_is_miss) ts_->delete_misses.Add();
      break;
    case storage::MetaDeleteResult::kStale:
    case storage::MetaDeleteResult::kNoMemory:
      break;
  }
  return r;
}

storage::DeltaResult Executor::Arithmetic(std::string_view key, const storage::MetaDeltaArgs& args,
                                          storage::MetaDeltaInfo* info) {
  const storage::DeltaResult r = cache_->MetaDelta(key, args, info);
  if (r == storage::DeltaResult::kOk && !info->created) {
    (args.incr ? ts_->incr_hits : ts_->decr_hits).Add();
    if (ClassOk(info->class_id)) {
      (args.incr ? ts_->per_class[info->class_id].incr_hits
                 : ts_->per_class[info->class_id].decr_hits)
          .Add();
    }
  } else if (r == storage::DeltaResult::kNotFound) {
    (args.incr ? ts_->incr_misses : ts_->decr_misses).Add();
  }
  return r;
}

bool Executor::Touch(std::string_view key, int64_t exptime) {
  ts_->cmd_touch.Add();
  int cls = 0;
  const bool hit = cache_->Touch(key, ToRel(exptime), &cls);
  (hit ? ts_->touch_hits : ts_->touch_misses).Add();
  if (hit && ClassOk(cls)) ts_->per_class[cls].touch_hits.Add();
  return hit;
}

storage::Item* Executor::Peek(std::string_view key, storage::MetaGetInfo* info) {
  ts_->cmd_meta.Add();
  storage::MetaGetArgs args;
  args.bump = false;
  args.inspect = true;  // me looks: it hands out no win token
  return cache_->MetaGet(key, args, info);
}

}  // namespace mcd::handler
