#!/usr/bin/env python3
"""Training throughput of the Fashion-MNIST reference network in PyTorch, for comparison with
edgenas's benchmarks/bench_train (same network, batch 128, forward + backward + SGD step).

    python3 benchmarks/peers/pytorch_reference_net.py [--seconds 10] [--threads 1 2]

Optional: with no PyTorch installed (Debian: python3-torch) it says so and exits 0. Prints one
line per thread count and memory format: threads, images/s.
"""
import argparse
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("pytorch_reference_net: PyTorch is not installed (apt-get install python3-torch); skipping")
    sys.exit(0)


class SqueezeExcite(nn.Module):
    def __init__(self, channels):
        super().__init__()
        reduced = max(8, (channels // 4 + 4) // 8 * 8)
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(s))))


class MBConv(nn.Module):
    def __init__(self, cin, cout, expand, kernel, stride):
        super().__init__()
        e = cin * expand
        self.residual = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, e, 1, bias=False), nn.BatchNorm2d(e), nn.Hardswish(),
            nn.Conv2d(e, e, kernel, stride, kernel // 2, groups=e, bias=False), nn.BatchNorm2d(e), nn.Hardswish(),
            SqueezeExcite(e),
            nn.Conv2d(e, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


def reference_net():
    # edgenas genotype: in:28x28x1 stem:16:k3:s1:hswish mb:16:e4:k3:s1:se:hswish
    #   mb:24:e4:k3:s2:se:hswish mb:24:e4:k5:s1:se:hswish mb:40:e4:k5:s2:se:hswish
    #   mb:40:e4:k3:s1:se:hswish mb:80:e4:k3:s1:se:hswish head:128:hswish fc:10
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish(),
        MBConv(16, 16, 4, 3, 1), MBConv(16, 24, 4, 3, 2), MBConv(24, 24, 4, 5, 1),
        MBConv(24, 40, 4, 5, 2), MBConv(40, 40, 4, 3, 1), MBConv(40, 80, 4, 3, 1),
        nn.Conv2d(80, 128, 1, bias=False), nn.BatchNorm2d(128), nn.Hardswish(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


def throughput(threads, seconds, channels_last, batch=128):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = reference_net()
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=4e-5)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y, label_smoothing=0.1)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    params = sum(p.numel() for p in reference_net().parameters())
    print(f"pytorch {torch.__version__}, reference network {params} parameters, batch 128")
    for threads in args.threads:
        for channels_last in (False, True):
            rate = throughput(threads, args.seconds, channels_last)
            fmt = "channels_last" if channels_last else "contiguous"
            print(f"threads {threads}  {fmt:13s} {rate:8.1f} img/s")


if __name__ == "__main__":
    main()
