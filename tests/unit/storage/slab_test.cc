#include "slab.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <set>

namespace mcd::storage {
namespace {

void ExpectSaneClasses(const SlabAllocator& slab, uint32_t chunk_max, uint32_t page_size) {
  ASSERT_GE(slab.NumClasses(), 1);
  EXPECT_LE(slab.NumClasses(), kMaxClasses);
  uint32_t prev = 0;
  for (int id = 1; id <= slab.NumClasses(); ++id) {
    uint32_t size = slab.ChunkSize(id);
    EXPECT_EQ(size % 8, 0u) << "class " << id;
    EXPECT_GT(size, prev) << "class " << id;
    EXPECT_EQ(slab.PerSlab(id), page_size / size);
    prev = size;
  }
  EXPECT_EQ(slab.LargestChunk(), chunk_max);
}

// memcached 1.6.18's table with the defaults (`memcached -vv`): 39 classes, 96 ... 394840, then
// the half-page largest chunk.
TEST(SlabSizingTest, DefaultsMatchHeaderPlusChunkMinAndEndAtHalfPage) {
  SlabAllocator slab(SlabOptions{});
  EXPECT_EQ(slab.ChunkSize(1), 96u);   // memcached's 48-byte header + 48
  EXPECT_EQ(slab.ChunkSize(2), 120u);  // 96 * 1.25
  EXPECT_EQ(slab.ChunkSize(17), 3632u);
  EXPECT_EQ(slab.ChunkSize(20), 7104u);
  EXPECT_EQ(slab.ChunkSize(31), 82792u);
  EXPECT_EQ(slab.ChunkSize(38), 394840u);
  EXPECT_EQ(slab.NumClasses(), 39);
  ExpectSaneClasses(slab, 512 * 1024, 1 << 20);
}

// memcached ends the list before a size that reaches slab_chunk_max / factor: with 4 KB chunks
// 2904 * 1.25 = 3630 is past 4096 / 1.25, so class 17 is the 4096-byte largest chunk.
TEST(SlabSizingTest, ListEndsLikeMemcachedsBeforeTheLargestChunk) {
  SlabOptions o;
  o.slab_chunk_max = 4096;
  SlabAllocator slab(o);
  EXPECT_EQ(slab.NumClasses(), 17);
  EXPECT_EQ(slab.ChunkSize(16), 2904u);
  EXPECT_EQ(slab.ChunkSize(17), 4096u);
  SlabOptions f4;
  f4.growth_factor = 4;
  SlabAllocator four(f4);
  ASSERT_EQ(four.NumClasses(), 7);  // 96 384 1536 6144 24576 98304 524288
  EXPECT_EQ(four.ChunkSize(6), 98304u);
}

TEST(SlabSizingTest, TinyFactorIsCappedAt63Classes) {
  SlabOptions o;
  o.growth_factor = 1.01;
  o.chunk_min = 5;
  SlabAllocator slab(o);
  EXPECT_EQ(slab.NumClasses(), kMaxClasses);
  EXPECT_EQ(slab.ChunkSize(1), 56u);  // 48 + 5 -> 56
  ExpectSaneClasses(slab, 512 * 1024, 1 << 20);
}

// Regression (found while fuzzing the command line): a growth factor so large that size * factor
// does not fit in 64 bits (-f 1e300, -f inf, both accepted by memcached) was converted to an
// integer anyway, which is undefined (UBSan: float-cast-overflow). Now it ends the list at once,
// as in memcached: the largest chunk is the only class.
TEST(SlabSizingTest, HugeOrInfiniteFactorGivesOnlyTheLargestClass) {
  for (double f : {1e300, std::numeric_limits<double>::infinity(), 1e20}) {
    SlabOptions o;
    o.growth_factor = f;
    SlabAllocator slab(o);
    ASSERT_EQ(slab.NumClasses(), 1) << f;
    ExpectSaneClasses(slab, 512 * 1024, 1 << 20);
  }
}

TEST(SlabSizingTest, OddMinimumFactorAndPageSize) {
  SlabOptions o;
  o.chunk_min = 1001;
  o.growth_factor = 3.3;
  o.page_size = 4 << 20;
  SlabAllocator slab(o);
  EXPECT_EQ(slab.ChunkSize(1), 1056u);  // 48 + 1001 = 1049 -> 1056
  ExpectSaneClasses(slab, 2 << 20, 4 << 20);
}

TEST(SlabSizingTest, ExplicitSlabChunkMax) {
  SlabOptions o;
  o.slab_chunk_max = 16384;
  SlabAllocator slab(o);
  ExpectSaneClasses(slab, 16384, 1 << 20);
}

TEST(SlabSizingTest, ClassTableFormat) {
  SlabAllocator slab(SlabOptions{});
  std::string table = slab.ClassTable();
  EXPECT_EQ(table.substr(0, table.find('\n') + 1),
            "slab class   1: chunk size        96 perslab   10922\n");
  int lines = 0;
  for (char c : table) lines += c == '\n';
  EXPECT_EQ(lines, slab.NumClasses());
}

TEST(SlabSizingTest, ClassForPicksSmallestFit) {
  SlabAllocator slab(SlabOptions{});
  EXPECT_EQ(slab.ClassFor(1), 1);
  EXPECT_EQ(slab.ClassFor(96), 1);
  EXPECT_EQ(slab.ClassFor(97), 2);
  EXPECT_EQ(slab.ClassFor(slab.LargestChunk()), slab.NumClasses());
  EXPECT_EQ(slab.ClassFor(slab.LargestChunk() + 1), 0);
  for (uint64_t b = 1; b < 600000; b += 997) {
    int id = slab.ClassFor(b);
    if (b > slab.LargestChunk()) {
      EXPECT_EQ(id, 0);
      continue;
    }
    EXPECT_GE(slab.ChunkSize(id), b);
    if (id > 1) {
      EXPECT_LT(slab.ChunkSize(id - 1), b);
    }
  }
}

TEST(SlabAllocTest, PagesOnDemandLimitAndFirstPageException) {
  SlabOptions o;
  o.memory_limit = 2 << 20;  // two pages
  SlabAllocator slab(o);
  EXPECT_EQ(slab.PagesInUse(), 0u);
  int big = slab.NumClasses();  // two chunks per page
  std::set<void*> seen;
  {
    std::lock_guard<std::mutex> lock(slab.Mutex(big));
    for (int i = 0; i < 4; ++i) {
      void* p = slab.TakeChunkLocked(big);
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(seen.insert(p).second);
      EXPECT_EQ(slab.ClassOf(p), big);
    }
    EXPECT_EQ(slab.TakeChunkLocked(big), nullptr);  // limit reached
    EXPECT_EQ(slab.ClassLocked(big).used_chunks, 4u);
  }
  EXPECT_EQ(slab.PagesInUse(), 2u);
  {
    // A class without pages may still take its first page beyond the limit.
    std::lock_guard<std::mutex> lock(slab.Mutex(1));
    void* p = slab.TakeChunkLocked(1);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(slab.ClassOf(p), 1);
    slab.ReturnChunkLocked(1, p);
    EXPECT_EQ(slab.TakeChunkLocked(1), p);  // free list first
  }
  EXPECT_EQ(slab.PagesInUse(), 3u);
  {
    std::lock_guard<std::mutex> lock(slab.Mutex(big));
    void* p = *seen.begin();
    slab.ReturnChunkLocked(big, p);
    EXPECT_EQ(slab.ClassLocked(big).free_count, 1u);
    EXPECT_EQ(slab.TakeChunkLocked(big), p);
  }
}

TEST(SlabAllocTest, HandWalksEveryCarvedChunkAndWraps) {
  SlabOptions o;
  o.memory_limit = 4 << 20;
  SlabAllocator slab(o);
  int big = slab.NumClasses();
  std::lock_guard<std::mutex> lock(slab.Mutex(big));
  std::set<void*> taken;
  for (int i = 0; i < 3; ++i) taken.insert(slab.TakeChunkLocked(big));
  EXPECT_EQ(slab.CarvedChunksLocked(big), 3u);
  std::set<void*> walked;
  for (int i = 0; i < 6; ++i) walked.insert(slab.AdvanceHandLocked(big));
  EXPECT_EQ(walked, taken);
}

}  // namespace
}  // namespace mcd::storage

namespace mcd::storage {
namespace {

// -o slab_sizes: the classes are exactly the given sizes (aligned to 8), then slab_chunk_max.
TEST(SlabSizingTest, ExplicitSizesReplaceTheFactor) {
  SlabOptions o;
  o.sizes = {96, 130, 4000, 900000};  // 900000 is above the largest chunk: ignored
  SlabAllocator slab(o);
  ASSERT_EQ(slab.NumClasses(), 4);
  EXPECT_EQ(slab.ClassTable(),
            "slab class   1: chunk size        96 perslab   10922\n"
            "slab class   2: chunk size       136 perslab    7710\n"
            "slab class   3: chunk size      4000 perslab     262\n"
            "slab class   4: chunk size    524288 perslab       2\n");
}

}  // namespace
}  // namespace mcd::storage
