"""The one-GPU report: its dry run on the CPU, MFU arithmetic, the peak table and the timing."""

from __future__ import annotations

import importlib.util
import json
import sys
import time

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnbook import models
from cnnbook.analysis import gpu_peaks, throughput
from cnnbook.analysis.complexity import count_macs
from cnnbook.results import RESULTS_DIR, ROOT

T = 1e12


def _script():
    spec = importlib.util.spec_from_file_location(
        "gpu_report", ROOT / "benchmarks" / "gpu_report.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_report"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gpu_report = _script()

# --------------------------------------------------------------------------- the dry run


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_report") / "dry.json"
    rc = gpu_report.main(["--dry-run", "--out", str(out)])
    return rc, json.loads(out.read_text())


@pytest.mark.slow  # VGG-16 and ResNet-50 are built six times: about 6 CPU-seconds
def test_dry_run_measures_every_model_and_mode(dry_run):
    rc, result = dry_run
    assert rc == 0
    assert result["dry_run"] is True
    assert (
        result["command"]
        == f"python benchmarks/gpu_report.py --dry-run --out {result_path(result)}"
    )
    assert result["code"] == gpu_report.code_fingerprint()
    assert {"torch", "cpu", "gpu", "date"} <= set(result["runinfo"])
    pairs = [(r["model"], r["mode"]) for r in result["rows"]]
    assert pairs == [(m, mode.name) for m in ("vgg16", "resnet50") for mode in throughput.MODES]
    for row in result["rows"]:
        if row["mode"].endswith("compile"):
            assert "minutes" in row["skipped"]  # says why, on a CPU only
            continue
        assert row["batch_size"] == 2 and row["image_size"] == 32
        assert row["precision"] == ("fp32" if row["mode"] == "fp32 eager" else "bf16")
        assert row["images_per_s"] == pytest.approx(2 / (row["step_ms"] / 1000))
        # a CPU is no GPU of the table: no peak and no MFU, and no crash
        assert row["peak_tflops"] is None and row["mfu"] is None


def result_path(result: dict) -> str:
    return result["command"].rsplit(" ", 1)[1]


@pytest.mark.slow
def test_dry_run_counts_flops_by_the_convention(dry_run):
    _, result = dry_run
    first = result["rows"][0]
    model = models.create("vgg16", **first["options"])
    assert first["model_flops_per_image"] == 6 * count_macs(model, (1, 3, 32, 32))
    assert first["model_tflops"] == pytest.approx(
        first["images_per_s"] * first["model_flops_per_image"] / T
    )
    assert first["speedup_vs_fp32"] == 1.0


@pytest.mark.slow
def test_dry_run_checks_the_degradation_run_without_starting_it(dry_run):
    _, result = dry_run
    assert result["degradation"]["command"] == "cnnbook results record degradation --device cuda"
    assert result["degradation"]["status"] == "dry run: would run it now"


def test_a_dry_run_never_writes_into_the_recorded_results(capsys):
    target = RESULTS_DIR / "gpu_report-dry.json"
    try:
        assert gpu_report.main(["--dry-run", "--out", str(target)]) == 2
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)  # a failing run leaves no file among the results
    assert "does not write into docs/results/" in capsys.readouterr().err
    assert gpu_report.main(["--dry-run"]) == 2
    assert "add --out" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without GPU")
def test_the_real_run_without_a_gpu_says_so(tmp_path, capsys):
    assert gpu_report.main(["--out", str(tmp_path / "r.json")]) == 2
    assert "CUDA" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_a_row_on_a_listed_gpu_gets_its_mfu(monkeypatch):
    monkeypatch.setattr(gpu_report, "device_name", lambda device: "NVIDIA H100 80GB HBM3")
    args = gpu_report.parse(["--dry-run", "--out", "unused.json"])
    case = gpu_report.Case("tiny_cnn", 4, 8, num_classes=4)
    row = gpu_report.measure_case(case, throughput.MODES[0], 1000, args, torch.device("cpu"))
    assert row["precision"] == "fp32" and row["peak_tflops"] == 67
    assert row["mfu"] == pytest.approx(row["images_per_s"] * 1000 / (67 * T))


def test_a_row_on_an_unlisted_gpu_has_no_mfu(monkeypatch):
    monkeypatch.setattr(gpu_report, "device_name", lambda device: "NVIDIA GeForce RTX 4090")
    args = gpu_report.parse(["--dry-run", "--out", "unused.json"])
    row = gpu_report.measure_case(
        gpu_report.Case("tiny_cnn", 4, 8, num_classes=4),
        throughput.MODES[1],
        1000,
        args,
        torch.device("cpu"),
    )
    assert row["images_per_s"] > 0 and row["mfu"] is None and row["peak_tflops"] is None


# --------------------------------------------------------------------------- peaks and MFU


@pytest.mark.parametrize(
    "device_name, entry",
    [
        ("NVIDIA H100 80GB HBM3", "H100 SXM"),
        ("NVIDIA H100 PCIe", "H100 PCIe"),
        ("NVIDIA H100 NVL", "H100 NVL"),
        ("NVIDIA H200", "H200 SXM"),
        ("NVIDIA H200 NVL", "H200 NVL"),
        ("NVIDIA A100-SXM4-80GB", "A100 SXM"),
        ("NVIDIA A100-PCIE-40GB", "A100 PCIe"),
        ("NVIDIA A100 80GB PCIe", "A100 PCIe"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA L40S", "L40S"),
        ("NVIDIA A10G", "A10G"),
        ("NVIDIA A10", "A10"),
        ("Tesla V100-SXM2-16GB", "V100 SXM2"),
        ("Tesla V100-PCIE-32GB", "V100 PCIe"),
        ("Tesla V100S-PCIE-32GB", "V100S PCIe"),
        ("Tesla T4", "T4"),
    ],
)
def test_peak_lookup_by_device_name(device_name, entry):
    peak = gpu_peaks.lookup(device_name)
    assert peak is not None and peak.name == entry


# "NVIDIA L40" is neither an L4 nor an L40S
@pytest.mark.parametrize(
    "device_name", ["NVIDIA L40", "NVIDIA GeForce RTX 4090", "Intel(R) Xeon(R)", ""]
)
def test_an_unknown_device_has_no_peak_and_no_mfu(device_name):
    assert gpu_peaks.lookup(device_name) is None
    assert gpu_peaks.peak_flops(device_name, "bf16") is None
    assert throughput.mfu(1000.0, 24e9, gpu_peaks.peak_flops(device_name, "bf16")) is None


def test_peaks_are_the_data_sheets_dense_rates():
    h100, a100 = (
        gpu_peaks.lookup("NVIDIA H100 80GB HBM3"),
        gpu_peaks.lookup("NVIDIA A100-SXM4-40GB"),
    )
    # the H100 sheet says 1,979 bf16 and 989 tf32 teraFLOP/s "with sparsity"
    assert (h100.bf16, h100.tf32, h100.fp32) == (989.5 * T, 494.5 * T, 67 * T)
    assert (a100.bf16, a100.tf32, a100.fp32) == (312 * T, 156 * T, 19.5 * T)
    assert gpu_peaks.peak_flops("Tesla T4", "fp16") == 65 * T
    assert gpu_peaks.peak_flops("Tesla T4", "bf16") is None  # Turing has no bf16
    for peak in gpu_peaks.PEAKS:
        assert peak.source.startswith("https://"), peak.name
        tensor = [p for p in (peak.bf16, peak.fp16, peak.tf32) if p is not None]
        assert all(p >= peak.fp32 for p in tensor), peak.name
    with pytest.raises(ValueError, match="unknown precision"):
        h100.flops("int8")


def test_mfu_is_model_flops_over_the_peak():
    assert throughput.mfu(100.0, 1e12, 400 * T) == pytest.approx(0.25)
    assert throughput.mfu(2500.0, 24.5e9, 989.5 * T) == pytest.approx(2500 * 24.5e9 / 989.5e12)


def test_precision_follows_autocast_and_tf32(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert throughput.precision(cpu, False) == "fp32"
    assert throughput.precision(cpu, True) == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert throughput.precision(cuda, True) == "bf16"
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    assert throughput.precision(cuda, False) == "tf32"
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    assert throughput.precision(cuda, False) == "fp32"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)  # a V100
    assert throughput.precision(cuda, True) == "fp16"


def test_three_forwards_is_close_to_what_pytorch_counts_for_a_step():
    convention = throughput.training_flops_per_image(models.create("resnet18"), 64)
    with torch.device("meta"):
        model = models.create("resnet18")
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, 64, 64, device="meta")).sum().backward()
    # PyTorch's count is a little lower: the first convolution needs no input gradient.
    assert 0.95 < counter.get_total_flops() / convention <= 1.0


# --------------------------------------------------------------------------- timing


def test_warmup_is_timed_apart_and_the_device_is_waited_for():
    events: list[str] = []
    calls = iter(range(100))

    def step():
        events.append("step")
        if next(calls) < 2:
            time.sleep(0.2)  # a slow first step, as compilation is

    warmup_s, timed_s = throughput.time_steps(step, 3, 2, lambda: events.append("wait"))
    assert events == ["step", "step", "wait", "step", "step", "step", "wait"]
    assert warmup_s >= 0.4 and timed_s < 0.1


def test_measure_trains_the_model_it_times():
    torch.manual_seed(0)
    model = models.create("tiny_cnn", num_classes=4)
    before = [p.detach().clone() for p in model.parameters()]
    m = throughput.measure(model, throughput.MODES[1], 4, 8, torch.device("cpu"), 2, 1, 4)
    assert m.batch_size == 4 and m.precision == "bf16"
    assert m.images_per_s == pytest.approx(4 * 2 / (m.step_ms * 2 / 1000))
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.slow
def test_a_compiled_step_trains_too():
    # aot_eager traces forward and backward as inductor would, without generating code
    torch.manual_seed(0)
    model = models.create("tiny_cnn", num_classes=4)
    before = [p.detach().clone() for p in model.parameters()]
    mode = throughput.MODES[2]
    m = throughput.measure(model, mode, 4, 8, torch.device("cpu"), 1, 1, 4, "aot_eager")
    assert m.images_per_s > 0
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    torch.compiler.reset()


def test_an_out_of_memory_batch_is_halved_until_it_fits():
    tried = []

    def run(batch_size: int) -> str:
        tried.append(batch_size)
        if batch_size > 16:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return f"ran {batch_size}"

    assert throughput.shrink_on_oom(run, 64) == (16, "ran 16")
    assert tried == [64, 32, 16]
    with pytest.raises(torch.OutOfMemoryError):
        throughput.shrink_on_oom(run, 64, min_batch_size=32)
