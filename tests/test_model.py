"""MRM-Net and the baselines: shapes at every input length, attention maps, ablation switches, fusion, gradients."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch
import torch.nn.functional as F

from mrm.model import CONFIGS, MRMConfig, MutualLoss, count_parameters, create_model, fuse_probabilities, list_models
from mrm.model.blocks import BranchExchange, DualAttention, MultiScaleConv, resize_time

N_CLASSES = 5
LENGTHS = (250, 1000, 333)  # a 2.5-s crop, a whole 10-s record at 100 Hz, an odd length


def expected_lengths(length: int) -> tuple[int, int]:
    """HR: max-pool by 2; LR: stride-2 conv (ceil) then max-pool by 2."""
    return length // 2, ((length + 1) // 2) // 2


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {name: create_model(name, N_CLASSES).eval() for name in list_models()}


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_mrm_output_shapes(models, name, length):
    model = models[name]
    with torch.no_grad():
        out = model(torch.randn(2, 12, length))
    l_hr, l_lr = expected_lengths(length)
    for logits in (out.logits, out.logits_hr, out.logits_lr):
        assert logits.shape == (2, N_CLASSES)
        assert torch.isfinite(logits).all()
    assert out.attn_hr.shape == (2, l_hr)
    assert out.attn_lr.shape == (2, l_lr)
    # Both branches' features flatten to the same size: lr_channels x L_lr values.
    assert out.feat_hr.shape == out.feat_lr.shape == (2, model.config.lr_channels * l_lr)


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("name", ["xresnet1d101", "xresnet1d50", "resnet1d_wang"])
def test_baseline_output_shapes(models, name, length):
    with torch.no_grad():
        out = models[name](torch.randn(2, 12, length))
    assert out.logits.shape == (2, N_CLASSES)
    assert torch.isfinite(out.logits).all()
    assert out.logits_hr is out.logits_lr is out.feat_hr is out.attn_hr is None
    assert not out.has_two_heads


def test_paper_sizes_match_the_authors(models):
    model = models["paper"]
    assert [seq[0].out_channels for seq in model.stem] == [16, 32, 64, 64]
    assert [seq[0].kernel_size[0] for seq in model.stem] == [11, 7, 5, 3]
    assert [c.kernel_size[0] for c in model.split["hr"].main[0].convs] == [3, 13, 23, 33]
    assert model.heads["hr"].linear.in_features == 64
    assert model.heads["lr"].linear.in_features == 128
    # On a whole 10-s record the two maps hold the same number of values, as in the authors' code (64 x 500).
    with torch.no_grad():
        out = model(torch.randn(1, 12, 1000))
    assert out.feat_hr.shape[1] == 64 * 500


def test_parameter_counts_in_range(models):
    counts = {name: count_parameters(m) for name, m in models.items()}
    assert 300_000 <= counts["cpu"] <= 1_000_000
    assert counts["tiny"] < 50_000
    assert counts["paper"] > counts["cpu"]
    assert counts["xresnet1d101"] > counts["xresnet1d50"] > counts["resnet1d_wang"]


@pytest.mark.parametrize("name", ["tiny", "cpu"])
def test_attention_maps_are_gates_in_unit_interval(models, name):
    with torch.no_grad():
        out = models[name](torch.randn(3, 12, 250))
    for attn in (out.attn_hr, out.attn_lr):
        assert attn.min() >= 0 and attn.max() <= 1
        assert attn.std(dim=1).min() > 0  # a map over time, not a constant


@pytest.mark.parametrize("name", ["cpu", "resnet1d_wang"])
def test_eval_mode_is_deterministic_and_batch_independent(models, name):
    model = models[name]
    x = torch.randn(4, 12, 250)
    with torch.no_grad():
        first, second, alone = model(x).logits, model(x).logits, model(x[:1]).logits
    assert torch.equal(first, second)
    # In eval mode BatchNorm uses running statistics, so a record's output does not depend on its batch.
    torch.testing.assert_close(alone, first[:1], rtol=1e-4, atol=1e-5)


def test_train_mode_dropout_changes_outputs():
    torch.manual_seed(1)
    model = create_model("tiny", N_CLASSES, split_dropout=0.5).train()
    x = torch.randn(4, 12, 250)
    assert not torch.equal(model(x).logits, model(x).logits)


def test_fused_probability_is_mean_of_heads(models):
    with torch.no_grad():
        out = models["cpu"](torch.randn(3, 12, 250))
    mean = (torch.sigmoid(out.logits_hr) + torch.sigmoid(out.logits_lr)) / 2
    torch.testing.assert_close(out.probabilities(), mean, rtol=1e-5, atol=1e-6)


def test_fuse_probabilities_weighted_and_saturated():
    a, b = torch.tensor([3.0, -2.0, 80.0]), torch.tensor([-1.0, 0.5, 90.0])
    w = torch.tensor([0.2, 0.7, 0.5])
    expected = w * torch.sigmoid(a) + (1 - w) * torch.sigmoid(b)
    fused = fuse_probabilities(a, b, w)
    torch.testing.assert_close(torch.sigmoid(fused), expected)
    assert torch.isfinite(fused).all()  # where the probability rounds to 1, logit(mean) would be inf
    assert 80 <= fused[2] <= 90


def exchange_calls(model, x) -> int:
    calls = []
    handles = [m.register_forward_hook(lambda *_: calls.append(1)) for m in model.modules()
               if isinstance(m, BranchExchange)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return len(calls)


def test_exchange_runs_after_every_stage_and_the_switch_removes_it():
    x = torch.randn(2, 12, 250)
    with_exchange = create_model("tiny", N_CLASSES).eval()
    without = create_model("tiny", N_CLASSES, exchange=False).eval()
    assert exchange_calls(with_exchange, x) == with_exchange.config.n_stages == 2
    assert exchange_calls(without, x) == 0
    assert not any(isinstance(m, BranchExchange) for m in without.modules())


@pytest.mark.parametrize("exchange", [True, False])
def test_exchange_is_what_links_the_branches(exchange):
    # The HR head depends on the LR branch's parameters only through the exchange.
    torch.manual_seed(0)
    model = create_model("tiny", N_CLASSES, exchange=exchange).eval()
    model(torch.randn(2, 12, 250)).logits_hr.sum().backward()
    lr_grads = [p.grad for p in model.split["lr"].parameters()]
    linked = any(g is not None and g.abs().sum() > 0 for g in lr_grads)
    assert linked == exchange


def test_no_attention_switch():
    model = create_model("tiny", N_CLASSES, attention=False).eval()
    assert not any(isinstance(m, DualAttention) for m in model.modules())
    with torch.no_grad():
        out = model(torch.randn(2, 12, 250))
    assert out.attn_hr is None and out.attn_lr is None
    assert out.feat_hr.shape == out.feat_lr.shape
    assert out.logits.shape == (2, N_CLASSES)


@pytest.mark.parametrize("branch,other", [("hr", "lr"), ("lr", "hr")])
def test_single_branch_switch(branch, other):
    model = create_model("tiny", N_CLASSES, single_branch=branch).eval()
    assert set(model.split) == set(model.heads) == {branch}
    assert model.exchanges is None
    with torch.no_grad():
        out = model(torch.randn(2, 12, 251))
    assert torch.equal(out.logits, getattr(out, f"logits_{branch}"))
    assert getattr(out, f"logits_{other}") is None and getattr(out, f"attn_{other}") is None
    assert getattr(out, f"attn_{branch}").shape == (2, expected_lengths(251)[branch == "lr"])
    assert not out.has_two_heads
    assert count_parameters(model) < count_parameters(create_model("tiny", N_CLASSES))


def test_gradient_reaches_every_parameter_of_both_branches():
    torch.manual_seed(0)
    model = create_model("tiny", N_CLASSES).train()
    x, y = torch.randn(4, 12, 250), torch.randint(0, 2, (4, N_CLASSES)).float()
    MutualLoss()(model(x), y).total.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []
    for branch in ("hr", "lr"):
        assert model.split[branch].main[0].convs[0].weight.grad.abs().sum() > 0


def test_learned_fusion_starts_at_mean_and_learns_only_from_fused_loss():
    torch.manual_seed(0)
    model = create_model("tiny", N_CLASSES, fusion="learned").train()
    x, y = torch.randn(4, 12, 250), torch.randint(0, 2, (4, N_CLASSES)).float()
    out = model(x)
    mean = (torch.sigmoid(out.logits_hr) + torch.sigmoid(out.logits_lr)) / 2
    torch.testing.assert_close(out.probabilities(), mean)
    MutualLoss()(out, y).total.backward()
    assert model.fusion_logit.grad is None  # no loss on the fused logits: nothing trains the weights
    model.zero_grad()
    out = model(x)
    F.binary_cross_entropy_with_logits(out.logits, y).backward()
    assert model.fusion_logit.grad.abs().sum() > 0
    # The heads are detached in the fused path, so the fusion cannot change what the branches learn.
    assert all(p.grad is None for p in model.heads.parameters())


def test_config_round_trips_through_json():
    torch.manual_seed(0)
    model = create_model("cpu", N_CLASSES, exchange=False).eval()
    stored = json.loads(json.dumps(asdict(model.config)))
    assert isinstance(stored["stem_channels"], list)
    rebuilt = create_model("cpu", N_CLASSES, **stored).eval()
    assert rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(1, 12, 1000)
    with torch.no_grad():
        assert torch.equal(rebuilt(x).logits, model(x).logits)


def test_baseline_config_round_trips_through_json():
    model = create_model("xresnet1d50", 3, kernel_size=3)
    stored = json.loads(json.dumps(asdict(model.config)))
    rebuilt = create_model("xresnet1d50", 3, **stored)
    assert rebuilt.config == model.config and rebuilt.config.layers == (3, 4, 6, 3)
    assert rebuilt.state_dict().keys() == model.state_dict().keys()


def test_create_model_rejects_bad_names_and_fields():
    with pytest.raises(ValueError, match="xresnet1d101"):
        create_model("resnet9000", N_CLASSES)
    with pytest.raises(ValueError, match="unknown MRMConfig fields"):
        create_model("tiny", N_CLASSES, exchnage=False)
    with pytest.raises(TypeError):
        create_model("resnet1d_wang", N_CLASSES, exchange=False)
    with pytest.raises(ValueError, match="n_classes"):
        create_model("tiny", 0)


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"lr_channels": 20}, "multiple of hr_channels"),
        ({"ms_kernels": (3, 8)}, "odd"),
        ({"single_branch": "both"}, "single_branch"),
        ({"fusion": "max"}, "fusion"),
        ({"n_stages": 0}, "at least 1"),
    ],
)
def test_config_validation(overrides, match):
    with pytest.raises(ValueError, match=match):
        MRMConfig(**{**asdict(CONFIGS["tiny"]), **overrides})


def test_forward_rejects_wrong_input_shape(models):
    with pytest.raises(ValueError, match="12"):
        models["tiny"](torch.randn(2, 8, 250))
    with pytest.raises(ValueError, match="length"):
        models["tiny"](torch.randn(12, 250))


def test_multiscale_conv_equals_mean_of_parallel_convs():
    torch.manual_seed(0)
    block = MultiScaleConv(3, 4, (3, 7, 11), stride=2)
    x = torch.randn(2, 3, 41)
    parallel = torch.stack(
        [F.conv1d(x, c.weight, stride=2, padding=c.kernel_size[0] // 2) for c in block.convs]
    ).mean(dim=0)
    torch.testing.assert_close(block(x), parallel)


def test_branch_exchange_adds_each_stream_to_the_other_at_odd_lengths():
    torch.manual_seed(0)
    exchange = BranchExchange(4, 8).eval()
    hr, lr = torch.randn(2, 4, 125), torch.randn(2, 8, 62)
    with torch.no_grad():
        new_hr, new_lr = exchange(hr, lr)
        torch.testing.assert_close(new_hr - hr, resize_time(exchange.lr_to_hr(lr), 125))
        torch.testing.assert_close(new_lr - lr, resize_time(exchange.hr_to_lr(hr), 62))
    assert exchange.hr_to_lr(hr).shape[-1] == 63  # stride 2 on 125 steps: one more than the LR stream
