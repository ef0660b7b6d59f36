#!/usr/bin/env python3
"""Inference latency of MobileNetV2-1.0 (224x224, batch 1) in PyTorch, fp32 and int8, for
comparison with edgenas's bench_runtime (zoo/mobilenet_v2/edgenas and .../edgenas_int8).

    python3 benchmarks/peers/pytorch_int8_mobilenet.py [--seconds 5] [--threads 1]

PyTorch in its best configuration for each precision:
  fp32  torchvision's MobileNetV2 in channels_last, under torch.inference_mode
  int8  torchvision's quantizable MobileNetV2, fused (conv+bn+relu), post-training quantized
        with torch.ao.quantization for each quantized engine this build has (fbgemm / x86 /
        onednn on x86, qnnpack on ARM and x86), with each engine's default qconfig
Weights are random (no download): latency does not depend on them; the calibration pass uses
random images. Prints one line per configuration: name, median ms over repeated timings.
Optional: with no PyTorch/torchvision installed (Debian: python3-torch, python3-torchvision)
it says so and exits 0.
"""
import argparse
import statistics
import sys
import time

try:
    import torch
    from torchvision.models import mobilenet_v2
    from torchvision.models.quantization import mobilenet_v2 as quantizable_mobilenet_v2
except ImportError:
    print("pytorch_int8_mobilenet: PyTorch or torchvision is not installed "
          "(apt-get install python3-torch python3-torchvision); skipping")
    sys.exit(0)


def median_ms(fn, seconds):
    for _ in range(3):  # warm-up
        fn()
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(1, 3, 224, 224)
    print(f"PyTorch {torch.__version__}, {args.threads} thread(s), engines {torch.backends.quantized.supported_engines}")

    # fp32 in both layouts: channels_last is PyTorch's advice for CPU inference, but a build
    # without oneDNN may be faster in its default layout; the faster one is PyTorch's best.
    for layout in (torch.channels_last, torch.contiguous_format):
        fp32 = mobilenet_v2().eval().to(memory_format=layout)
        xc = x.contiguous(memory_format=layout)
        with torch.inference_mode():
            name = "channels_last" if layout == torch.channels_last else "contiguous"
            print(f"mobilenet_v2 fp32 {name:<14} {median_ms(lambda: fp32(xc), args.seconds):8.3f} ms")

    for engine in ("fbgemm", "x86", "onednn", "qnnpack"):
        if engine not in torch.backends.quantized.supported_engines:
            continue
        torch.backends.quantized.engine = engine
        q = quantizable_mobilenet_v2(quantize=False).eval()
        q.fuse_model()
        q.qconfig = torch.ao.quantization.get_default_qconfig(engine)
        torch.ao.quantization.prepare(q, inplace=True)
        with torch.inference_mode():
            for _ in range(4):
                q(torch.randn(1, 3, 224, 224))
        torch.ao.quantization.convert(q, inplace=True)
        with torch.inference_mode():
            print(f"mobilenet_v2 int8 {engine:<14} {median_ms(lambda: q(x), args.seconds):8.3f} ms")


if __name__ == "__main__":
    main()
