"""Binary network benchmarks: a binary dense layer against a float32 layer, and the
binary network against the float network of the same shape, in one run.

Usage: python benchmarks/bench_bnn.py [--quick] [--threads N] [--json]

Inference: batch 256 through layers of shape 784x1024, 1024x1024 and 4096x4096. The
binary layer takes row-packed input bits and returns row-packed output bits
(`BinaryLayer.forward`: XNOR, popcount and the folded batch-normalization threshold in
one kernel). The float32 layer is NumPy's BLAS matmul, the bias and hard tanh, in
place. Both run with the same number of threads (BLAS capped with threadpoolctl). The
product alone (`xnor_matmul` against the matmul) is reported too.

Training: scikit-learn's digits and the tic-tac-toe boards are split 75/25
(stratified, seeded). The binary network and the float network (`binary=False`: float
weights, hard tanh) train with the same options, and the test accuracy is measured
after every epoch, outside the timed epoch. The target accuracy is the float network's
final test accuracy minus 2 points. The time to reach it is the sum of epoch times up
to the first epoch at or above it. When PyTorch is installed, the same binary network
written in plain PyTorch (a straight-through sign, the same layers, initialization
and optimizer) is timed on the same bits.

The last line with --json is one JSON object of every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from loom.bnn import BinaryLayer, BinaryNetwork
from loom.demo import tic_tac_toe
from loom.kernels import pack_signs, xnor_matmul
from loom.kernels.config import thread_limit

SHAPES = ((784, 1024), (1024, 1024), (4096, 4096))
BATCH = 256
HIDDEN = (256, 256)


def best_time(function: Callable[[], object], repeat: int) -> float:
    """Shortest timed run after one warm-up run, in seconds.

    Runs at least `repeat` times and for at least half a second (at most 5,000
    runs), so that a short call is timed across many scheduler slices and the
    minimum is one that no other process interrupted.
    """
    function()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < repeat or (
        time.perf_counter() - started < 0.5 and len(times) < 5000
    ):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


# ---------------------------------------------------------------------------
# Inference


def inference(threads: int, repeat: int, results: dict[str, Any]) -> None:
    print(f"\nDense layer forward, batch {BATCH}, {threads} thread(s) each")
    print(
        f"  {'shape':>10} {'float32 ms':>11} {'binary ms':>10} {'ratio':>6}   "
        f"{'matmul ms':>10} {'xnor ms':>8} {'ratio':>6}"
    )
    generator = np.random.default_rng(0)
    ratios = []
    for n_in, n_out in SHAPES:
        inputs = generator.standard_normal((BATCH, n_in)).astype(np.float32)
        weights = generator.standard_normal((n_out, n_in)).astype(np.float32)
        transposed = np.ascontiguousarray(weights.T)
        bias = generator.standard_normal(n_out).astype(np.float32)
        buffer = np.empty((BATCH, n_out), dtype=np.float32)

        def float_layer(
            inputs: np.ndarray = inputs,
            transposed: np.ndarray = transposed,
            bias: np.ndarray = bias,
            buffer: np.ndarray = buffer,
        ) -> None:
            np.matmul(inputs, transposed, out=buffer)
            np.add(buffer, bias, out=buffer)
            np.clip(buffer, -1.0, 1.0, out=buffer)

        def matmul(
            inputs: np.ndarray = inputs, transposed: np.ndarray = transposed
        ) -> None:
            np.matmul(inputs, transposed)

        with threadpool_limits(limits=threads, user_api="blas"):
            float_seconds = best_time(float_layer, repeat)
            matmul_seconds = best_time(matmul, repeat)

        input_bits = pack_signs(inputs)
        thresholds = generator.integers(-8, 8, n_out)
        layer = BinaryLayer(pack_signs(weights), thresholds, n_in)
        with thread_limit(threads):
            binary_seconds = best_time(partial(layer.forward, input_bits), repeat)
            product = partial(xnor_matmul, input_bits, layer.weights, n_in)
            xnor_seconds = best_time(product, repeat)
            pack_seconds = best_time(partial(pack_signs, inputs), repeat)

        name = f"{n_in}x{n_out}"
        ratio = float_seconds / binary_seconds
        ratios.append(ratio)
        results[f"inference_speedup_{name}"] = ratio
        results[f"product_speedup_{name}"] = matmul_seconds / xnor_seconds
        results[f"float_layer_ms_{name}"] = float_seconds * 1e3
        results[f"binary_layer_ms_{name}"] = binary_seconds * 1e3
        results[f"pack_inputs_ms_{name}"] = pack_seconds * 1e3
        print(
            f"  {name:>10} {float_seconds * 1e3:11.3f} {binary_seconds * 1e3:10.3f} "
            f"{ratio:6.1f}   {matmul_seconds * 1e3:10.3f} {xnor_seconds * 1e3:8.3f} "
            f"{matmul_seconds / xnor_seconds:6.1f}"
        )
    results["inference_speedup_min"] = min(ratios)
    print(
        f"  smallest layer ratio {min(ratios):.1f}; packing float inputs to bits "
        "(first layer only) is reported as pack_inputs_ms"
    )


# ---------------------------------------------------------------------------
# Training


def datasets() -> dict[str, tuple[Any, Any]]:
    X, y = load_digits(return_X_y=True)
    boards = tic_tac_toe()
    return {
        "digits": (X, y),
        "tictactoe": (boards.drop(columns="y"), boards["y"].to_numpy()),
    }


def train_once(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    binary: bool,
    epochs: int,
    seed: int,
    threads: int,
) -> dict[str, Any]:
    """Train one network; return its test accuracy per epoch and epoch seconds."""
    model = BinaryNetwork(
        hidden_layers=HIDDEN,
        binary=binary,
        max_epochs=epochs,
        patience=None,
        random_state=seed,
        n_jobs=threads,
    )
    curve: list[float] = []

    def measure(record: Any) -> None:
        curve.append(float(model.score(X_test, y_test)))

    model.fit(X_train, y_train, callback=measure)
    return {
        "accuracy": float(model.score(X_test, y_test)),
        "curve": curve,
        "seconds": [record.seconds for record in model.history_],
    }


def time_to(curve: list[float], seconds: list[float], target: float) -> float:
    elapsed = 0.0
    for accuracy, spent in zip(curve, seconds, strict=True):
        elapsed += spent
        if accuracy >= target:
            return elapsed
    return math.inf


def training(
    threads: int, seeds: list[int], epochs: int, results: dict[str, Any]
) -> dict[str, Any]:
    print(
        f"\nTraining {list(HIDDEN)} for {epochs} epochs, batch 64, Adam, "
        f"{threads} thread(s), seeds {seeds}"
    )
    splits = {}
    for name, (X, y) in datasets().items():
        runs: dict[str, list[dict[str, Any]]] = {"bnn": [], "float": []}
        for seed in seeds:
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.25, random_state=seed, stratify=y
            )
            splits.setdefault(name, (X_train, X_test, y_train, y_test))
            for kind in runs:
                runs[kind].append(
                    train_once(
                        X_train,
                        y_train,
                        X_test,
                        y_test,
                        binary=kind == "bnn",
                        epochs=epochs,
                        seed=seed,
                        threads=threads,
                    )
                )
        report_training(name, runs, results)
    return splits


def report_training(
    name: str, runs: dict[str, list[dict[str, Any]]], results: dict[str, Any]
) -> None:
    accuracy = {k: float(np.mean([r["accuracy"] for r in v])) for k, v in runs.items()}
    epoch = {
        k: float(np.mean([np.mean(r["seconds"]) for r in v])) for k, v in runs.items()
    }
    target = accuracy["float"] - 0.02
    reach = {
        k: float(np.mean([time_to(r["curve"], r["seconds"], target) for r in v]))
        for k, v in runs.items()
    }

    results[f"{name}_accuracy_bnn"] = accuracy["bnn"]
    results[f"{name}_accuracy_float"] = accuracy["float"]
    results[f"{name}_epoch_seconds_bnn"] = epoch["bnn"]
    results[f"{name}_epoch_seconds_float"] = epoch["float"]
    results[f"{name}_epoch_time_ratio"] = epoch["bnn"] / epoch["float"]
    results[f"{name}_target_accuracy"] = target
    results[f"{name}_seconds_to_target_bnn"] = reach["bnn"]
    results[f"{name}_seconds_to_target_float"] = reach["float"]
    results[f"{name}_train_time_ratio"] = reach["bnn"] / reach["float"]

    print(f"  {name}:")
    for kind in ("bnn", "float"):
        print(
            f"    {kind:5s} test accuracy {accuracy[kind]:.4f}, "
            f"{epoch[kind]:.3f} s per epoch, {reach[kind]:.2f} s to {target:.4f}"
        )
    gap = 100 * (accuracy["bnn"] - accuracy["float"])
    print(
        f"    binary - float accuracy {gap:+.2f} points; time per epoch ratio "
        f"{epoch['bnn'] / epoch['float']:.2f}; time to target ratio "
        f"{reach['bnn'] / reach['float']:.2f}"
    )


# ---------------------------------------------------------------------------
# PyTorch


def torch_baseline(
    splits: dict[str, Any], threads: int, epochs: int, results: dict[str, Any]
) -> None:
    try:
        import torch
    except ImportError:
        print("\nPyTorch is not installed: its baseline is skipped.")
        results["torch"] = None
        return
    torch.set_num_threads(threads)
    results["torch"] = torch.__version__
    print(
        f"\nThe same binary network in plain PyTorch {torch.__version__}, "
        f"{threads} thread(s)"
    )
    for name, (X_train, X_test, y_train, y_test) in splits.items():
        model = BinaryNetwork(hidden_layers=HIDDEN, max_epochs=1, n_jobs=threads)
        model.fit(X_train, y_train)
        train_inputs = model._encode_rows(X_train).inputs
        test_inputs = model._encode_rows(X_test).inputs
        train_labels = np.searchsorted(model.classes_, y_train)
        test_labels = np.searchsorted(model.classes_, y_test)
        accuracy, seconds = run_torch(
            torch,
            train_inputs,
            train_labels,
            test_inputs,
            test_labels,
            len(model.classes_),
            epochs,
        )
        ours = results[f"{name}_epoch_seconds_bnn"]
        results[f"{name}_accuracy_torch"] = accuracy
        results[f"{name}_epoch_seconds_torch"] = seconds
        results[f"{name}_epoch_time_ratio_torch"] = ours / seconds
        print(
            f"  {name}: test accuracy {accuracy:.4f}, {seconds:.3f} s per epoch; "
            f"loom.bnn epoch time / PyTorch epoch time {ours / seconds:.2f}"
        )


def run_torch(
    torch: Any,
    train_inputs: np.ndarray,
    train_labels: np.ndarray,
    test_inputs: np.ndarray,
    test_labels: np.ndarray,
    n_classes: int,
    epochs: int,
) -> tuple[float, float]:
    """Train the binary network in PyTorch; return test accuracy and mean epoch
    seconds."""
    nn = torch.nn

    class SignSte(torch.autograd.Function):
        @staticmethod
        def forward(context: Any, values: Any) -> Any:
            context.save_for_backward(values)
            return torch.where(values >= 0, 1.0, -1.0)

        @staticmethod
        def backward(context: Any, gradient: Any) -> Any:
            (values,) = context.saved_tensors
            return gradient * (values.abs() <= 1)

    class BinaryLinear(nn.Module):  # type: ignore[misc]
        def __init__(self, n_in: int, n_out: int) -> None:
            super().__init__()
            limit = math.sqrt(6.0 / (n_in + n_out))  # as loom.bnn initializes
            self.weight = nn.Parameter(torch.empty(n_out, n_in).uniform_(-limit, limit))

        def forward(self, values: Any) -> Any:
            return values @ SignSte.apply(self.weight).T

    class Network(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            sizes = (train_inputs.shape[1], *HIDDEN)
            self.hidden = nn.ModuleList(
                BinaryLinear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            )
            self.norms = nn.ModuleList(nn.BatchNorm1d(b, momentum=0.1) for b in HIDDEN)
            self.output = nn.Linear(HIDDEN[-1], n_classes)
            nn.init.normal_(self.output.weight)
            nn.init.zeros_(self.output.bias)

        def forward(self, values: Any) -> Any:
            for layer, norm in zip(self.hidden, self.norms, strict=True):
                values = SignSte.apply(norm(layer(values)))
            return self.output(values / math.sqrt(HIDDEN[-1]))

    torch.manual_seed(0)
    network = Network()
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(epochs - 1, 1), eta_min=0.0001
    )
    inputs = torch.from_numpy(train_inputs)
    labels = torch.from_numpy(train_labels.astype(np.int64))
    loss_function = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        network.train()
        order = torch.randperm(len(inputs), generator=generator)
        for batch in order.split(64):
            optimizer.zero_grad()
            loss = loss_function(network(inputs[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for layer in network.hidden:
                    layer.weight.clamp_(-1, 1)
        schedule.step()
        seconds.append(time.perf_counter() - started)
    network.eval()
    with torch.no_grad():
        predicted = network(torch.from_numpy(test_inputs)).argmax(dim=1).numpy()
    return float(np.mean(predicted == test_labels)), float(np.mean(seconds))


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one seed and 15 epochs per network (default: seeds 0-2, 30 epochs)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for BLAS, the kernels and PyTorch (default: 1)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON object of every figure last"
    )
    options = parser.parse_args(argv)
    if options.threads < 1:
        parser.error(f"--threads must be at least 1, got {options.threads}")

    started = time.perf_counter()
    results: dict[str, Any] = {
        "threads": options.threads,
        "quick": options.quick,
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    repeat = 5 if options.quick else 20
    seeds = [0] if options.quick else [0, 1, 2]
    epochs = 15 if options.quick else 30

    inference(options.threads, repeat, results)
    splits = training(options.threads, seeds, epochs, results)
    results["train_time_ratio"] = results["digits_train_time_ratio"]
    torch_baseline(splits, options.threads, epochs, results)

    results["seconds"] = time.perf_counter() - started
    print(f"\ntotal {results['seconds']:.0f} s")
    if options.json:
        print(json.dumps(results, sort_keys=True))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
