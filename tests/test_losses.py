"""The mutual-learning loss, each term against a hand computation on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from mrm.model import MRMOutput, MutualLoss, bernoulli_kl, create_model, softmax_kl, symmetric_kl


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def softmax(values: list[float], t: float) -> list[float]:
    e = [math.exp(v / t) for v in values]
    return [x / sum(e) for x in e]


def two_head_output(hr, lr, feat_hr=None, feat_lr=None) -> MRMOutput:
    hr, lr = torch.tensor(hr), torch.tensor(lr)
    return MRMOutput(
        logits=(hr + lr) / 2,
        logits_hr=hr,
        logits_lr=lr,
        feat_hr=None if feat_hr is None else torch.tensor(feat_hr),
        feat_lr=None if feat_lr is None else torch.tensor(feat_lr),
    )


def test_bce_against_hand_computation():
    logits, target = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[1.0, 0.0, 0.0]])
    by_hand = -(math.log(sigmoid(0.5)) + math.log(1 - sigmoid(-1.0)) + math.log(1 - sigmoid(2.0))) / 3
    assert MutualLoss().bce(logits, target).item() == pytest.approx(by_hand, rel=1e-6)


def test_bce_pos_weight_against_hand_computation():
    logits, target = torch.tensor([[0.5, -1.0]]), torch.tensor([[1.0, 1.0]])
    loss = MutualLoss(pos_weight=torch.tensor([3.0, 1.0]))
    by_hand = -(3 * math.log(sigmoid(0.5)) + math.log(sigmoid(-1.0))) / 2
    assert loss.bce(logits, target).item() == pytest.approx(by_hand, rel=1e-6)


def test_softmax_kl_against_hand_computation_with_temperature():
    a, b, t = [[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], [[0.0, 1.0, 0.0], [1.0, -1.0, 3.0]], 2.0
    by_hand = 0.0
    for row_a, row_b in zip(a, b, strict=True):
        p, q = softmax(row_a, t), softmax(row_b, t)
        by_hand += sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    by_hand = by_hand * t**2 / 2  # times T^2, averaged over the batch of 2
    assert softmax_kl(torch.tensor(a), torch.tensor(b), t).item() == pytest.approx(by_hand, rel=1e-5)


def test_softmax_kl_is_the_authors_distill_kl():
    # The authors' DistillKL(y_s, y_t): kl_div(log_softmax(y_s/T), softmax(y_t/T), sum) * T^2 / batch.
    torch.manual_seed(0)
    y_s, y_t, t = torch.randn(4, 5), torch.randn(4, 5), 4.0
    authors = F.kl_div(F.log_softmax(y_s / t, dim=1), F.softmax(y_t / t, dim=1), reduction="sum") * t**2 / 4
    torch.testing.assert_close(softmax_kl(y_t, y_s, t), authors)


def test_bernoulli_kl_against_hand_computation_with_temperature():
    a, b, t = [[1.0, -3.0], [4.0, 0.0]], [[-1.0, 2.0], [4.0, 6.0]], 2.0
    by_hand = 0.0
    for row_a, row_b in zip(a, b, strict=True):
        for za, zb in zip(row_a, row_b, strict=True):
            p, q = sigmoid(za / t), sigmoid(zb / t)
            by_hand += p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))
    by_hand = by_hand * t**2 / 4  # averaged over 2 records x 2 labels, like the BCE
    assert bernoulli_kl(torch.tensor(a), torch.tensor(b), t).item() == pytest.approx(by_hand, rel=1e-5)


def test_bernoulli_kl_finite_on_saturated_logits():
    value = bernoulli_kl(torch.tensor([[200.0]]), torch.tensor([[-200.0]]), temperature=1.0)
    assert torch.isfinite(value)
    assert value.item() == pytest.approx(200.0, rel=1e-3)  # KL(p=1 || q=e^-200) = -log(sigmoid(-200)) = 200


@pytest.mark.parametrize("kind", ["softmax", "bernoulli"])
def test_symmetric_kl_is_symmetric_zero_on_equal_and_sums_both_directions(kind):
    torch.manual_seed(0)
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    one_way = softmax_kl if kind == "softmax" else bernoulli_kl
    assert not torch.isclose(one_way(a, b), one_way(b, a))  # each direction alone is not symmetric
    torch.testing.assert_close(symmetric_kl(a, b, 4.0, kind), symmetric_kl(b, a, 4.0, kind))
    torch.testing.assert_close(symmetric_kl(a, b, 4.0, kind), one_way(a, b, 4.0) + one_way(b, a, 4.0))
    assert symmetric_kl(a, b, 4.0, kind) > 0
    assert abs(symmetric_kl(a, a, 4.0, kind).item()) < 1e-6


def test_softmax_and_bernoulli_differ_on_multi_label_logits():
    # Adding the same constant to every label leaves a softmax unchanged but changes every Bernoulli.
    a = torch.tensor([[1.0, -2.0, 0.5]])
    assert softmax_kl(a, a + 3.0).item() == pytest.approx(0.0, abs=1e-6)
    assert bernoulli_kl(a, a + 3.0).item() > 0.1


def test_mutual_loss_total_combines_the_terms_with_the_authors_weights():
    out = two_head_output([[0.5, -1.0]], [[2.0, 0.0]], feat_hr=[[1.0, 2.0, 0.0, 0.5]], feat_lr=[[0.0, 1.0, 1.0, 3.0]])
    target = torch.tensor([[1.0, 0.0]])
    terms = MutualLoss()(out, target)
    bce_hr = -(math.log(sigmoid(0.5)) + math.log(1 - sigmoid(-1.0))) / 2
    bce_lr = -(math.log(sigmoid(2.0)) + math.log(1 - sigmoid(0.0))) / 2
    kl_logits = symmetric_kl(out.logits_hr, out.logits_lr, 4.0, "softmax").item()
    kl_feat = symmetric_kl(out.feat_hr, out.feat_lr, 4.0, "softmax").item()
    assert terms.bce_hr.item() == pytest.approx(bce_hr, rel=1e-6)
    assert terms.bce_lr.item() == pytest.approx(bce_lr, rel=1e-6)
    assert terms.kl_logits.item() == pytest.approx(kl_logits, rel=1e-6)
    assert terms.kl_features.item() == pytest.approx(kl_feat, rel=1e-6)
    assert terms.total.item() == pytest.approx(bce_hr + bce_lr + 0.1 * kl_logits + 0.01 * kl_feat, rel=1e-6)
    assert kl_logits > 0 and kl_feat > 0


def test_mutual_loss_bernoulli_kind_changes_only_the_logit_term():
    out = two_head_output([[0.5, -1.0]], [[2.0, 0.0]], feat_hr=[[1.0, 2.0]], feat_lr=[[0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0]])
    soft, bern = MutualLoss(kind="softmax")(out, target), MutualLoss(kind="bernoulli")(out, target)
    assert bern.kl_logits.item() == pytest.approx(symmetric_kl(out.logits_hr, out.logits_lr, 4.0, "bernoulli").item())
    assert bern.kl_logits.item() != pytest.approx(soft.kl_logits.item())
    assert bern.kl_features.item() == pytest.approx(soft.kl_features.item())


def test_no_mutual_loss_ablation_is_the_sum_of_bces():
    out = two_head_output([[0.5, -1.0]], [[2.0, 0.0]], feat_hr=[[1.0, 2.0]], feat_lr=[[0.0, 1.0]])
    terms = MutualLoss(w_logit=0, w_feat=0)(out, torch.tensor([[1.0, 0.0]]))
    assert terms.kl_logits.item() == terms.kl_features.item() == 0
    assert terms.total.item() == pytest.approx((terms.bce_hr + terms.bce_lr).item())


def test_one_head_output_is_plain_bce():
    logits, target = torch.tensor([[0.3, -0.7]]), torch.tensor([[0.0, 1.0]])
    terms = MutualLoss(w_fused=1.0)(MRMOutput(logits=logits), target)
    assert terms.total.item() == pytest.approx(F.binary_cross_entropy_with_logits(logits, target).item())
    assert terms.bce_hr is None and terms.bce_fused.item() == 0


def test_fused_term_is_added_when_weighted():
    out = two_head_output([[0.5, -1.0]], [[2.0, 0.0]])
    target = torch.tensor([[1.0, 0.0]])
    base, fused = MutualLoss()(out, target), MutualLoss(w_fused=0.5)(out, target)
    expected = F.binary_cross_entropy_with_logits(out.logits, target).item()
    assert fused.bce_fused.item() == pytest.approx(expected)
    assert fused.total.item() == pytest.approx(base.total.item() + 0.5 * expected)


def test_terms_log_as_floats_from_a_real_forward_pass():
    torch.manual_seed(0)
    model = create_model("tiny", 3).train()
    terms = MutualLoss()(model(torch.randn(2, 12, 250)), torch.tensor([[1, 0, 1], [0, 0, 1]]))
    logged = terms.as_floats()
    assert set(logged) == {"total", "bce", "kl_logits", "kl_features", "bce_fused", "bce_hr", "bce_lr"}
    assert all(isinstance(v, float) and math.isfinite(v) for v in logged.values())
    assert logged["total"] == pytest.approx(
        logged["bce"] + 0.1 * logged["kl_logits"] + 0.01 * logged["kl_features"], rel=1e-5
    )
    terms.total.backward()  # logging did not break the graph


def test_mutual_terms_pull_the_heads_together():
    # One gradient step on the KL term alone must reduce the disagreement between the heads.
    hr = torch.tensor([[2.0, -1.0, 0.0]], requires_grad=True)
    lr = torch.tensor([[-1.0, 1.0, 0.5]], requires_grad=True)
    before = symmetric_kl(hr, lr, 1.0, "bernoulli")
    before.backward()
    with torch.no_grad():
        after = symmetric_kl(hr - 0.5 * hr.grad, lr - 0.5 * lr.grad, 1.0, "bernoulli")
    assert hr.grad.abs().sum() > 0 and lr.grad.abs().sum() > 0  # no stop-gradient on either side
    assert after < before


def test_invalid_settings_raise():
    with pytest.raises(ValueError, match="kind"):
        MutualLoss(kind="jensen")
    with pytest.raises(ValueError, match="temperature"):
        MutualLoss(temperature=0)
    with pytest.raises(ValueError, match="kind"):
        symmetric_kl(torch.zeros(1, 2), torch.zeros(1, 2), kind="l2")
