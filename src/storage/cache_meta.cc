// The cache operations behind the meta protocol (mg, ms, md, ma) and the general store and
// delta they share with the classic commands. Every operation runs under the key's stripe lock,
// so what it reports (the state before the request) and what it changes are one atomic step.
//
// Meta state lives in the bits of Item::lru above the segment (item_layout.h): stale (X), token
// sent (W handed out; others see Z), binary key, client-chosen cas.
#include <cstring>

#include "cache_impl.h"
#include "mcd/storage/cache.h"
#include "mcd/storage/item.h"
#include "mcd/util/numbers.h"

namespace mcd::storage {

Item* Cache::MetaGet(std::string_view key, const MetaGetArgs& args, MetaGetInfo* info) {
  return MetaGet(key, KeyHint{HashTable::Hash(key)}, args, info);
}

Item* Cache::MetaGet(std::string_view key, KeyHint hint, const MetaGetArgs& args,
                     MetaGetInfo* info) {
  Impl* d = impl_.get();
  *info = MetaGetInfo{};
  const RelTime now = d->Now();
  const uint64_t hv = hint.hash;
  const uint32_t si = d->table.StripeIndex(hv);
  Item* it = nullptr;
  bool stored = false;
  {
    std::lock_guard<std::mutex> lock(d->table.StripeAt(si).mu);
    it = d->FindLiveLocked(key, hv, now, &info->lookup);
    if (it != nullptr) {
      it->incref();
    } else if (args.vivify) {
      Item* fresh = nullptr;
      if (d->AllocItem(key, 0, 0, 0, si, now, &fresh) == AllocResult::kOk) {
        std::memcpy(fresh->data(), "\r\n", 2);
        d->AssignCas(fresh, args.vivify_cas);
        if (args.vivify_key_binary) fresh->set_meta(kMetaKeyBinary, true);
        d->LinkLocked(fresh, hv, now);  // the allocation's reference becomes the caller's
        it = fresh;
        info->created = true;
        stored = true;
      }
    }
    if (it == nullptr) return nullptr;
    const uint8_t meta = it->meta();
    info->fetched_before = !info->created && (it->flags() & kItemFetched) != 0;
    info->last_access = it->load_time();
    info->exptime_before = it->load_exptime();
    info->key_binary = (meta & kMetaKeyBinary) != 0;
    if (args.set_exptime) d->SetExptime(it, args.exptime);
    bool won = false;
    if (info->created) {
      if (!(args.set_exptime && args.exptime_after_vivify)) d->SetExptime(it, args.vivify_exptime);
      won = true;
    }
    const RelTime exptime = it->load_exptime();
    if (args.recache && (meta & kMetaTokenSent) == 0 && !info->created && exptime != 0 &&
        exptime < args.recache_before) {
      won = true;
    }
    info->token_sent = (meta & kMetaTokenSent) != 0;
    info->stale = (meta & kMetaStale) != 0;
    // The first reader of a stale item wins it (`me` only looks).
    if (info->stale && !info->token_sent && !args.inspect) won = true;
    if (won) it->set_meta(kMetaTokenSent, true);
    info->won = won;
    info->exptime_after = exptime;
    info->cas = ItemCas(it);
    if (args.bump) d->Bump(it, now);
    info->lookup = LookupResult::kHit;
  }
  if (stored) d->MaybeWakeMaintainer();
  return it;
}

StoreResult Cache::StoreMeta(Item* item, StoreMode mode, uint64_t cas_unique,
                             const MetaStoreArgs& args, MetaStoreInfo* info) {
  Impl* d = impl_.get();
  *info = MetaStoreInfo{};
  const RelTime now = d->Now();
  const std::string_view key = item->key();
  const uint64_t hv = HashTable::Hash(key);
  const uint32_t si = d->table.StripeIndex(hv);
  StoreResult r = StoreResult::kStored;
  {
    std::lock_guard<std::mutex> lock(d->table.StripeAt(si).mu);
    LookupResult why;
    Item* old = d->FindLiveLocked(key, hv, now, &why);
    Item* to_link = item;
    item->set_meta(kMetaStale | kMetaTokenSent, false);
    item->set_meta(kMetaKeyBinary, args.key_binary);
    switch (mode) {
      case StoreMode::kSet:
        break;
      case StoreMode::kAdd:
        if (old != nullptr) {
          // memcached refreshes the existing item's access time on a failed add; it is not a
          // fetch.
          if (now - old->load_time() >= kTimeUpdateInterval) old->store_time(now);
          r = StoreResult::kNotStored;
        }
        break;
      case StoreMode::kReplace:
        if (old == nullptr) r = StoreResult::kNotStored;
        break;
      case StoreMode::kCas:
        if (old == nullptr) {
          r = StoreResult::kNotFound;
        } else if (ItemCas(old) == cas_unique) {
          break;
        } else if (args.allow_stale && cas_unique != 0 && cas_unique < ItemCas(old)) {
          // An older cas with I: the value is stored, stale, keeping the old expiry and token.
          d->SetExptime(item, old->load_exptime());
          item->set_meta(kMetaStale, true);
          item->set_meta(kMetaTokenSent, (old->meta() & kMetaTokenSent) != 0);
        } else {
          r = StoreResult::kExists;
        }
        break;
      case StoreMode::kAppend:
      case StoreMode::kPrepend: {
        if (old == nullptr) {
          if (!args.vivify) r = StoreResult::kNotStored;
          break;  // with vivify the value is stored as it is
        }
        if (cas_unique != 0 && ItemCas(old) != cas_unique) {
          r = StoreResult::kExists;
          break;
        }
        Item* combined = nullptr;
        const uint64_t len = uint64_t{old->nbytes} + item->nbytes;
        if (len > UINT32_MAX ||
            d->AllocItem(key, old->client_flags, old->load_exptime(), static_cast<uint32_t>(len),
                         si, now, &combined) != AllocResult::kOk) {
          r = StoreResult::kNoMemory;
          break;
        }
        if (mode == StoreMode::kAppend) {
          CopyValueRegion(combined, 0, old, 0, old->nbytes);
          CopyValueRegion(combined, old->nbytes, item, 0, item->nbytes + 2);
        } else {
          CopyValueRegion(combined, 0, item, 0, item->nbytes);
          CopyValueRegion(combined, item->nbytes, old, 0, old->nbytes + 2);
        }
        combined->set_meta(kMetaKeyBinary, (old->meta() & kMetaKeyBinary) != 0);
        to_link = combined;
        break;
      }
    }
    if (r == StoreResult::kStored) {
      d->AssignCas(to_link, args.new_cas);
      if (old != nullptr) {
        d->ReplaceLocked(old, to_link, hv, now);
      } else {
        d->LinkLocked(to_link, hv, now);
      }
      info->cas = ItemCas(to_link);
      info->value_size = to_link->nbytes;
      if (to_link != item) d->Release(to_link);  // the combined item's allocation reference
    }
  }
  d->Release(item);
  if (r == StoreResult::kStored) d->MaybeWakeMaintainer();
  return r;
}

MetaDeleteResult Cache::MetaDelete(std::string_view key, const MetaDeleteArgs& args,
                                   int* class_id) {
  Impl* d = impl_.get();
  if (class_id != nullptr) *class_id = 0;
  const RelTime now = d->Now();
  const uint64_t hv = HashTable::Hash(key);
  const uint32_t si = d->table.StripeIndex(hv);
  std::lock_guard<std::mutex> lock(d->table.StripeAt(si).mu);
  LookupResult why;
  Item* it = d->FindLiveLocked(key, hv, now, &why);
  if (it == nullptr) return MetaDeleteResult::kNotFound;
  if (class_id != nullptr) *class_id = d->slab.ClassOf(it);
  if (args.compare_cas != 0 && ItemCas(it) != args.compare_cas) return MetaDeleteResult::kExists;
  if (args.remove_value) {
    // The key stays, with an empty value, the given flags and expiry, and the old cas (or E's).
    Item* empty = nullptr;
    if (d->AllocItem(key, args.flags, args.set_exptime ? args.exptime : 0, 0, si, now, &empty) !=
        AllocResult::kOk) {
      return MetaDeleteResult::kNoMemory;
    }
    std::memcpy(empty->data(), "\r\n", 2);
    empty->set_meta(kMetaKeyBinary, (it->meta() & kMetaKeyBinary) != 0);
    if (args.new_cas != 0) {
      d->AssignCas(empty, args.new_cas);
    } else if ((it->meta() & kMetaClientCas) != 0) {
      d->AssignCas(empty, it->load_cas());
    } else {
      empty->store_cas(it->load_cas());
    }
    d->ReplaceLocked(it, empty, hv, now);
    d->Release(empty);
    it = empty;
    if (class_id != nullptr) *class_id = d->slab.ClassOf(it);
  }
  if (args.stale) {
    // Invalidated, not deleted: the next reader wins the token to recache it.
    if (args.set_exptime) d->SetExptime(it, args.exptime);
    it->set_meta(kMetaStale, true);
    it->set_meta(kMetaTokenSent, false);
    d->AssignCas(it, args.new_cas);
    return MetaDeleteResult::kStale;
  }
  if (!args.remove_value) d->UnlinkLocked(it, hv);
  return MetaDeleteResult::kDeleted;
}

DeltaResult Cache::MetaDelta(std::string_view key, const MetaDeltaArgs& args, MetaDeltaInfo* info) {
  Impl* d = impl_.get();
  *info = MetaDeltaInfo{};
  const RelTime now = d->Now();
  const uint64_t hv = HashTable::Hash(key);
  const uint32_t si = d->table.StripeIndex(hv);
  bool stored = false;
  DeltaResult r = DeltaResult::kOk;
  {
    std::lock_guard<std::mutex> lock(d->table.StripeAt(si).mu);
    LookupResult why;
    Item* it = d->FindLiveLocked(key, hv, now, &why);
    char buf[24];
    if (it == nullptr) {
      if (!args.vivify) return DeltaResult::kNotFound;
      // A missing counter is created with the initial value (J), as memcached's add would.
      const uint32_t len = static_cast<uint32_t>(FormatUint64(args.initial, buf));
      Item* fresh = nullptr;
      if (d->AllocItem(key, 0, 0, len, si, now, &fresh) != AllocResult::kOk) {
        return DeltaResult::kNoMemory;
      }
      std::memcpy(fresh->data(), buf, len);
      std::memcpy(fresh->data() + len, "\r\n", 2);
      d->AssignCas(fresh, args.new_cas);
      // T and N in request order: the later one sets the exptime.
      d->SetExptime(fresh, args.set_exptime && args.exptime_after_vivify ? args.exptime
                                                                         : args.vivify_exptime);
      d->LinkLocked(fresh, hv, now);
      info->value = args.initial;
      info->cas = ItemCas(fresh);
      info->created = true;
      info->exptime_after = fresh->load_exptime();
      d->Release(fresh);
      stored = true;
    } else {
      if (args.compare_cas != 0 && ItemCas(it) != args.compare_cas) return DeltaResult::kExists;
      if (it->nbytes == 0 || (it->flags() & kItemChunked) != 0) return DeltaResult::kNonNumeric;
      uint64_t cur;
      if (!ParseStoredCounter(std::string_view(it->data(), it->nbytes), &cur)) {
        return DeltaResult::kNonNumeric;
      }
      info->class_id = d->slab.ClassOf(it);
      const uint64_t next =
          args.incr ? cur + args.delta : (args.delta > cur ? 0 : cur - args.delta);
      const uint32_t len = static_cast<uint32_t>(FormatUint64(next, buf));
      info->value = next;
      info->exptime_before = it->load_exptime();
      // As memcached's incr: the access time is refreshed, the item is not marked fetched.
      if (now - it->load_time() >= kTimeUpdateInterval) it->store_time(now);
      Item* target = it;
      if (len <= it->nbytes && it->refs() == 1) {
        // Only the table holds it, and new readers need this stripe lock: rewrite in place,
        // padded with spaces to the old length.
        std::memcpy(it->data(), buf, len);
        std::memset(it->data() + len, ' ', it->nbytes - len);
      } else {
        Item* fresh = nullptr;
        if (d->AllocItem(key, it->client_flags, it->load_exptime(), len, si, now, &fresh) !=
            AllocResult::kOk) {
          return DeltaResult::kNoMemory;
        }
        std::memcpy(fresh->data(), buf, len);
        std::memcpy(fresh->data() + len, "\r\n", 2);
        fresh->set_meta(kMetaKeyBinary, (it->meta() & kMetaKeyBinary) != 0);
        d->ReplaceLocked(it, fresh, hv, now);
        d->Release(fresh);
        target = fresh;
        stored = true;
      }
      d->AssignCas(target, args.new_cas);
      if (args.set_exptime) d->SetExptime(target, args.exptime);
      info->cas = ItemCas(target);
      info->exptime_after = target->load_exptime();
    }
  }
  if (stored) d->MaybeWakeMaintainer();
  return r;
}

}  // namespace mcd::storage
