// The reference runtime allocates nothing: every allocation function is counted (operator new
// replaced here, malloc & co. wrapped at link time), and a typed network's inference into a
// static arena of exactly Net's constexpr size must leave the counters unchanged. Its logits
// must also equal the trainer's (eval mode, same weights) within 1e-4 relative.
#include <cstdio>
#include <cstdlib>
#include <edgenas/blocks.hpp>
#include <edgenas/runtime/reference/inference.hpp>
#include <edgenas/train.hpp>
#include <new>

namespace {
long allocations = 0;
}

extern "C" {
void* __real_malloc(std::size_t);
void* __real_calloc(std::size_t, std::size_t);
void* __real_realloc(void*, std::size_t);
int __real_posix_memalign(void**, std::size_t, std::size_t);
void* __real_aligned_alloc(std::size_t, std::size_t);
void* __wrap_malloc(std::size_t n) { return ++allocations, __real_malloc(n); }
void* __wrap_calloc(std::size_t a, std::size_t b) { return ++allocations, __real_calloc(a, b); }
void* __wrap_realloc(void* p, std::size_t n) { return ++allocations, __real_realloc(p, n); }
int __wrap_posix_memalign(void** p, std::size_t a, std::size_t n) { return ++allocations, __real_posix_memalign(p, a, n); }
void* __wrap_aligned_alloc(std::size_t a, std::size_t n) { return ++allocations, __real_aligned_alloc(a, n); }
}
void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = __real_malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  ++allocations;
  void* p = nullptr;
  if (__real_posix_memalign(&p, static_cast<std::size_t>(a), n ? n : 1) != 0) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }

using namespace edgenas;

// Every feature the runtime handles: stem, expansion, SE, stride 2, k5/k7, residuals, a head
// with a hidden layer.
using Net = Sequential<Input<20, 18, 3>, Stem<16, 3, 2, HSwish>, MBConv<16, 16, Expand<1>, SE<>, ReLU>,
                       MBConv<16, 24, Expand<4>, Kernel<5>, Stride<2>, HSwish>, MBConv<24, 24, Expand<3>, Kernel<7>, SE<>, HSwish>,
                       MBConv<24, 40, Expand<6>, Stride<2>, SE<>, Swish>, Head<64, 7, HSwish, 32>>;

alignas(16) static float arena[reference::arena_floats_v<Net>];

int main() {
  set_num_threads(1);
  const Genotype g = genotype_of<Net>();
  train::Network net(g, 5);
  Rng rng(3);
  for (auto* p : net.parameters()) {  // non-trivial batch norm and weights
    for (float& v : p->value) v += rng.uniform(-0.2f, 0.2f);
  }
  for (const auto& b : net.buffers())
    for (float& v : *b.values) v = b.name.find("var") != std::string::npos ? rng.uniform(0.5f, 1.5f) : rng.uniform(-0.2f, 0.2f);
  const std::vector<float> weights = net.inference_weights();
  Tensor image({1, 20, 18, 3});
  for (std::int64_t i = 0; i < image.size(); ++i) image.data()[i] = rng.uniform(-1.0f, 1.0f);
  const ConstTensorView expected = net.forward(image, false);

  float logits[7];
  const long before = allocations;
  reference::infer<Net>(weights, image, arena, logits);
  const long during = allocations - before;

  int failures = 0;
  for (int k = 0; k < 7; ++k) {
    const float want = expected.data()[k];
    if (std::abs(logits[k] - want) > 1e-4f * std::max(1.0f, std::abs(want))) {
      std::printf("logit %d: reference %.7g, trainer %.7g\n", k, double{logits[k]}, double{want});
      ++failures;
    }
  }
  std::printf("arena %lld bytes (static), %ld allocations during inference, %d logits differ\n",
              static_cast<long long>(sizeof arena), during, failures);
  if (allocations == before + during && during == 0 && failures == 0 && allocations > 0) {
    std::printf("PASS\n");
    return 0;
  }
  std::printf("FAIL\n");
  return 1;
}
